"""The vendored Swagger UI (/api/docs) is the version scripts/vendor_swagger.sh pins; the
vendored htmx-ext-ws retries only the close codes the server means it to."""

import hashlib
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


def test_vendored_idiomorph_is_the_pinned_version_and_never_evaluates_code() -> None:
    """idiomorph 0.8 (the morph swap of the live regions) as scripts/vendor_htmx.sh pins it:
    its minified file names no version, so the script pins the file's hash too. Its htmx
    extension evaluates a `morph:{...}` swap's options with Function(), which the CSP
    refuses: no template may ask for one (plain `morph` takes no options)."""
    script = (ROOT / "scripts" / "vendor_htmx.sh").read_text()
    version = re.search(r"^IDIOMORPH_VERSION=(0\.8\.\d+)$", script, re.MULTILINE)
    digest = re.search(r"^IDIOMORPH_SHA256=([0-9a-f]{64})$", script, re.MULTILINE)
    assert version and digest, "scripts/vendor_htmx.sh pins no idiomorph 0.8.x and its hash"
    vendor = ROOT / "app" / "static" / "vendor"
    bundle = vendor / f"idiomorph-ext-{version.group(1)}.min.js"
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == digest.group(1)
    assert 'defineExtension("morph"' in bundle.read_text()
    assert "Zero-Clause BSD" in (vendor / "idiomorph-LICENSE.txt").read_text()
    from app.templating import templates

    assert templates.env.globals["IDIOMORPH"] == f"vendor/{bundle.name}"
    for template in (ROOT / "app" / "templates").rglob("*.html"):
        assert not re.search(r"hx-swap(-oob)?=[\"']morph:", template.read_text()), template
