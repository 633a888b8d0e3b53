"""A participant removed while their phone is open is told at once, without a reload, and
the phone does not reconnect; a console on a replaced link says so."""

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_console import console
from tests.browser.test_live_table import RUNNERS, create_table, phone, post_from

pytestmark = pytest.mark.browser


def test_a_removed_phone_is_told_at_once_and_stays_put(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    giulia = phone(browser, live_server, code)
    post_from(giulia, "Proposta", "Siete tutti incompetenti, questo tavolo è una farsa")
    desk = console(browser, live_server, code)
    sockets = {"opened": 0}
    giulia.on("websocket", lambda _ws: sockets.__setitem__("opened", sockets["opened"] + 1))

    card = desk.locator(".wall-moderator .card", has_text="una farsa")
    card.locator("details.card-edit summary").click()
    card.get_by_role("button", name="Allontana l'autore").click()
    desk.locator("#remove-panel").get_by_role("button", name="Allontana dal tavolo").click()

    expect(giulia.get_by_text("Il moderatore ti ha allontanato da questo tavolo.")).to_be_visible()
    expect(giulia.locator("#compose, #post-form")).to_have_count(0)  # nothing left to send
    expect(giulia.locator("#connection")).to_have_count(0)  # no "reconnecting" line
    giulia.screenshot(path=screenshots / "removed-phone.png")
    giulia.wait_for_timeout(3000)  # htmx-ext-ws would have retried within a few seconds
    assert sockets == {"opened": 0}
    giulia.context.close()
    desk.context.close()


def test_a_console_on_a_replaced_link_says_so(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    desk = console(browser, live_server, code)
    link = f"{live_server}/api/tables/{code}/facilitator-link"
    moderator = {"Authorization": f"Bearer {RUNNERS[code]}"}
    old = httpx.post(link, headers=moderator).json()["token"]
    helper = desk.context.new_page()
    helper.goto(f"{live_server}/run/{old}/{code}/")
    expect(helper.get_by_role("heading", name="Fase")).to_be_visible()
    assert httpx.post(link, headers=moderator).status_code == 201

    expect(helper.get_by_role("heading", name="Questo link è stato sostituito")).to_be_visible()
    expect(helper.get_by_role("button")).to_have_count(0)  # no control left that would fail
    helper.screenshot(path=screenshots / "console-link-replaced.png")
    expect(desk.get_by_role("heading", name="Fase")).to_be_visible()  # the moderator's holds
    desk.context.close()
