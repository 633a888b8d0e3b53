"""Nothing scrolls sideways on a 390 px phone: the console, the phone, the organiser's and the
moderator's pages, with a full table (forty posts, one waiting in the queue)."""

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_TOKEN
from tests.browser.test_live_table import RUNNERS
from tests.browser.test_phone import PHONE, phone, table_with

pytestmark = pytest.mark.browser

# The page wider than the screen, or a box inside it that scrolls sideways (a table in an
# overflow-x wrapper does not widen the page, but the moderator still has to swipe it).
SIDEWAYS = """() => {
  const boxes = [];
  for (const e of document.querySelectorAll("body *")) {
    const x = getComputedStyle(e).overflowX;
    if ((x === "auto" || x === "scroll") && e.scrollWidth > e.clientWidth + 1)
      boxes.push(`${e.tagName}.${e.className} ${e.scrollWidth}>${e.clientWidth}`);
  }
  return {page: document.documentElement.scrollWidth, boxes};
}"""


def assert_nothing_sideways(page: Page, what: str) -> None:
    found = page.evaluate(SIDEWAYS)
    assert found["page"] <= PHONE["width"], (what, found)
    assert found["boxes"] == [], (what, found)


def test_no_page_scrolls_sideways_on_a_phone(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code, _ = table_with(live_server, phase="collect", posts=40)
    token = RUNNERS[code]
    with httpx.Client(base_url=live_server) as api:
        runner = {"Authorization": f"Bearer {token}"}
        api.patch(f"/api/tables/{code}/settings", json={"premoderation": True}, headers=runner)
        person = api.post(f"/api/tables/{code}/participants", json={}).json()["token"]
        api.post(
            f"/api/tables/{code}/proposals",
            json={
                "kind": "need",
                "title": "Trasporto sociale per le visite all'ospedale di Mercato San Severino",
                "body": "Chi non guida resta a casa: https://www.comune.esempio.it/servizi-sociali",
            },
            headers={"Authorization": f"Bearer {person}"},
        )
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="it-IT"
    )
    page = context.new_page()
    pages = {
        "console": f"/run/{token}/{code}/",
        "moderator": f"/m/{token}",
        "organiser": f"/admin/{ADMIN_TOKEN}",
    }
    for name, path in pages.items():
        page.goto(live_server + path)
        expect(page.locator("h1")).to_be_visible()
        assert_nothing_sideways(page, name)
        page.screenshot(path=str(screenshots / f"narrow-{name}.png"))
    # The moderator's table of tables: each table a card, its numbers named.
    page.goto(f"{live_server}/m/{token}")
    row = page.locator(f"tr:has(a[href$='/{code}/'])")
    expect(row.locator("td[data-label='in attesa']")).to_have_text("1")
    expect(row.locator("td[data-label='in bacheca']")).to_have_text("40")
    # The console's "Edit the table", opened, fits too.
    page.goto(f"{live_server}/run/{token}/{code}/")
    page.get_by_text("Modifica il tavolo").click()
    expect(page.get_by_label("Tema")).to_be_visible()
    page.get_by_role("button", name="Salva il tavolo").scroll_into_view_if_needed()
    assert_nothing_sideways(page, "console, editing the table")
    page.screenshot(path=str(screenshots / "narrow-console-edit.png"))
    mobile = phone(browser, live_server, code)
    assert_nothing_sideways(mobile, "phone")
    mobile.locator("#wall-title").scroll_into_view_if_needed()
    mobile.screenshot(path=str(screenshots / "narrow-phone.png"))
