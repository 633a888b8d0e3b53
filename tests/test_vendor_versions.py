"""The vendored Swagger UI (/api/docs) is the version scripts/vendor_swagger.sh pins; the
vendored htmx-ext-ws retries only the close codes the server means it to."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWAGGER = ROOT / "app" / "static" / "vendor" / "swagger-ui"


def _pinned() -> str:
    script = (ROOT / "scripts" / "vendor_swagger.sh").read_text()
    match = re.search(r"^SWAGGER_UI_VERSION=(5\.\d+\.\d+)$", script, re.MULTILINE)
    assert match, "scripts/vendor_swagger.sh pins no Swagger UI 5.x (OpenAPI 3.1 needs 5)"
    return match.group(1)


def test_vendored_swagger_ui_is_the_pinned_version() -> None:
    version = _pinned()
    bundle = (SWAGGER / "swagger-ui-bundle.js").read_text()
    assert f'PACKAGE_VERSION:"{version}"' in bundle
    assert (SWAGGER / "VERSION").read_text().startswith(f"swagger-ui-dist {version} ")


def test_vendored_swagger_ui_has_its_licences_and_no_source_maps() -> None:
    names = {path.name for path in SWAGGER.iterdir()}
    assert names == {
        "swagger-ui-bundle.js",
        "swagger-ui-bundle.js.LICENSE.txt",
        "swagger-ui.css",
        "LICENSE",
        "NOTICE",
        "VERSION",
    }
    assert "Apache License" in (SWAGGER / "LICENSE").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert "sourceMappingURL=" not in (SWAGGER / name).read_text(), name


def test_the_socket_close_codes_meant_for_good_are_not_retried() -> None:
    """The server ends a socket for good with 1000 (table deleted) or 1008 (link replaced,
    participant removed, flooding) and asks it back with 1013: htmx-ext-ws reconnects on
    exactly 1006, 1011, 1012 and 1013. A new version retrying others must be noticed."""
    from app.routers.sockets import CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TRY_AGAIN

    ws = (ROOT / "app" / "static" / "vendor" / "htmx-ext-ws-2.0.4.min.js").read_text()
    retried = re.findall(r"\[(1\d{3}(?:,1\d{3})*)\]\.indexOf\(\w+\.code\)", ws)
    assert retried == ["1006,1011,1012,1013"]
    codes = {int(code) for code in retried[0].split(",")}
    assert CLOSE_TRY_AGAIN in codes
    assert not {CLOSE_NORMAL, CLOSE_POLICY} & codes
