"""The vendored Swagger UI (/api/docs) is the version scripts/vendor_swagger.sh pins."""

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
