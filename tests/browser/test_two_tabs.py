"""One phone, two tabs (the QR code scanned twice): two pages of one browser context share the
participant's cookie. Three dots in one tab, then + in the other: the total is 4, never 1,
and both tabs show it."""

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.browser.conftest import ADMIN_TOKEN
from tests.browser.test_live_table import RUNNERS, run

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SYNCED = "document.addEventListener('htmx:wsAfterMessage', () => { window.tavoliSynced = true; })"


def dots_table(base: str) -> tuple[str, int]:
    """A table voting with 5 dots (at most 3 on one proposal) and one proposal on the wall."""
    with httpx.Client(base_url=base) as api:
        event = api.post(
            "/api/events",
            json={"title": "Stati Generali — Ambito S6", "date": "2024-11-09"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()
        table = api.post(
            f"/api/events/{event['id']}/tables",
            json={
                "title": "Anziani e domiciliarità",
                "voting": {"mode": "dots", "dots": 5, "max_per_proposal": 3},
            },
            headers={"Authorization": f"Bearer {event['moderator_token']}"},
        ).json()
        code = str(table["code"])
        RUNNERS[code] = event["moderator_token"]
        run(base, code, "phase", {"phase": "collect"})
        author = api.post(f"/api/tables/{code}/participants", json={}).json()["token"]
        pid = api.post(
            f"/api/tables/{code}/proposals",
            json={"kind": "proposal", "title": "Assistenza domiciliare anche nel fine settimana"},
            headers={"Authorization": f"Bearer {author}"},
        ).json()["id"]
        run(base, code, "phase", {"phase": "voting"})
    return code, int(pid)


def synced(page: Page) -> None:
    """The socket's snapshot is in (wait_for_function would need eval, refused by the CSP)."""
    for _ in range(200):
        if page.evaluate("() => window.tavoliSynced === true"):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page's socket never delivered its snapshot")


def two_tabs(browser: Browser, base: str, code: str, *, hold_second: bool) -> list[Page]:
    """A phone joins in one tab and opens the table again in a second one. With
    `hold_second`, the second tab's socket delivers its snapshot and then nothing: a page
    left behind (a tab in the background, a socket not yet back)."""
    context: BrowserContext = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="it-IT"
    )
    context.add_init_script(SYNCED)
    first = context.new_page()
    first.goto(f"{base}/t/{code}")
    first.locator("button[type=submit]").click()  # join without saying who
    expect(first.locator("#status .status-phase")).to_be_visible()
    synced(first)
    second = context.new_page()
    if hold_second:

        def hold(page_side: WebSocketRoute) -> None:
            delivered: list[bool] = []

            def arrived(message: str | bytes) -> None:
                if not delivered:  # the snapshot only
                    delivered.append(True)
                    page_side.send(message)

            page_side.connect_to_server().on_message(arrived)

        second.route_web_socket("**/ws", hold)
    second.goto(f"{base}/t/{code}")
    synced(second)
    return [first, second]


def mine(page: Page, pid: int) -> str:
    return page.locator(f"#vote-{pid} .my-dots strong").inner_text()


def stored(base: str, code: str) -> int:
    with httpx.Client(base_url=base) as api:
        return int(api.get(f"/api/tables/{code}").json()["proposals"][0]["tally"])


def test_three_dots_in_one_tab_then_plus_in_the_other(browser: Browser, live_server: str) -> None:
    code, pid = dots_table(live_server)
    tab1, tab2 = two_tabs(browser, live_server, code, hold_second=False)
    plus1 = tab1.locator(f"#vote-{pid}-plus")
    for count in ("1", "2", "3"):
        plus1.click()
        expect(tab1.locator(f"#vote-{pid} .my-dots strong")).to_have_text(count)
    expect(plus1).to_be_disabled()  # 3 is the cap on one proposal
    # The second tab follows the first: its own votes and dots left came over its socket.
    expect(tab2.locator(f"#vote-{pid} .my-dots strong")).to_have_text("3")
    expect(tab2.locator("#dots-left strong")).to_have_text("2")
    expect(tab2.locator(f"#vote-{pid}-plus")).to_be_disabled()
    tab2.locator(f"#vote-{pid}-minus").click()
    for tab in (tab2, tab1):
        expect(tab.locator(f"#vote-{pid} .my-dots strong")).to_have_text("2")
        expect(tab.locator("#dots-left strong")).to_have_text("3")
    assert stored(live_server, code) == 2
    tab1.context.close()


def test_a_tab_left_behind_never_lowers_the_count(browser: Browser, live_server: str) -> None:
    """The issue's story exactly: the second tab still shows no dots when + is pressed in
    it. Before, its form sent "1" and the total dropped from 3 to 1."""
    code, pid = dots_table(live_server)
    tab1, tab2 = two_tabs(browser, live_server, code, hold_second=True)
    for count in ("1", "2", "3"):
        tab1.locator(f"#vote-{pid}-plus").click()
        expect(tab1.locator(f"#vote-{pid} .my-dots strong")).to_have_text(count)
    tab2.wait_for_timeout(300)  # what the socket would have brought is held back
    assert mine(tab2, pid) == "0"

    tab2.locator(f"#vote-{pid}-plus").click()
    expect(tab2.locator(f"#vote-{pid} .my-dots strong")).to_have_text("3")  # as it stands
    expect(tab2.locator("#dots-left strong")).to_have_text("2")
    flash = tab2.locator("#flash")
    expect(flash).to_contain_text("Il tuo voto qui è cambiato in un'altra finestra")
    expect(tab2.locator(f"#vote-{pid}-plus")).to_be_disabled()
    assert stored(live_server, code) == 3
    assert mine(tab1, pid) == "3"

    tab2.locator(f"#vote-{pid}-minus").click()  # now a deliberate change, from what it shows
    expect(tab2.locator(f"#vote-{pid} .my-dots strong")).to_have_text("2")
    expect(tab1.locator(f"#vote-{pid} .my-dots strong")).to_have_text("2")  # pushed to tab 1
    expect(tab1.locator("#dots-left strong")).to_have_text("3")
    assert stored(live_server, code) == 2
    tab1.context.close()
