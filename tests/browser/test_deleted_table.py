"""A table deleted while its projector and a phone are open: both say so and stay put."""

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_live_table import PROJECTOR, RUNNERS, create_table, phone

pytestmark = pytest.mark.browser


def test_a_deleted_table_tells_its_screens_and_they_do_not_reconnect(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    giulia = phone(browser, live_server, code)
    projector = browser.new_context(viewport=PROJECTOR).new_page()
    projector.goto(f"{live_server}/t/{code}/screen")
    expect(projector.locator("#stage")).to_be_visible()
    sockets: dict[str, int] = {"phone": 0, "projector": 0}
    for name, page in (("phone", giulia), ("projector", projector)):
        page.on("websocket", lambda _ws, n=name: sockets.__setitem__(n, sockets[n] + 1))

    answer = httpx.delete(
        f"{live_server}/api/tables/{code}",
        headers={"Authorization": f"Bearer {RUNNERS[code]}"},
    )
    assert answer.status_code == 204

    pages: tuple[tuple[str, Page], ...] = (("phone", giulia), ("projector", projector))
    for name, page in pages:
        expect(page.get_by_role("heading", name="Questo tavolo è stato eliminato.")).to_be_visible()
        expect(page.get_by_role("link", name="Pagina iniziale")).to_have_attribute("href", "/")
        expect(page.locator("#connection")).to_have_count(0)  # no "reconnecting" line
        expect(page.locator("#dots-left")).to_have_count(0)  # no votes left to count
        page.screenshot(path=screenshots / f"deleted-table-{name}.png")
    giulia.wait_for_timeout(3000)  # htmx-ext-ws would have retried within a few seconds
    assert sockets == {"phone": 0, "projector": 0}
    for _name, page in pages:
        page.context.close()
