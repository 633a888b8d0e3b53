"""/api/docs in Debian's chromium: Swagger UI from Tavoli's own static files renders every
operation under the app's CSP, with no violation and no request leaving the server."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.browser

# Records CSP violations from the page's first script on (init scripts are not subject to CSP).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_api_docs_render_offline_under_the_csp(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))

    response = page.goto(f"{live_server}/api/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]

    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=15_000)
    expect(page.locator(".info .title")).to_contain_text("Tavoli")
    assert operations.count() >= 30

    # One operation opened: its error answers are documented with the one error model.
    page.locator('.opblock-summary-path[data-path="/api/tables/{code}/participants"]').click()
    responses = page.locator(".opblock.is-open .responses-table")
    for status in ("401", "404", "409", "422"):
        expect(responses.locator(f"tr.response[data-code='{status}']")).to_have_count(1)
    expect(page.locator(".opblock.is-open")).to_contain_text('"detail"')
    page.screenshot(path=str(screenshots / "api-docs-1366x768.png"))

    violations = page.evaluate("window.__cspViolations")
    assert violations == []
    assert errors == []
    server = urlsplit(live_server).netloc
    leaving = [url for url in requests if urlsplit(url).netloc != server]
    assert leaving == [], leaving
    assert f"{live_server}/openapi.json" in requests
    context.close()
