"""A phone told to wait (429) counts the Retry-After seconds down in Italian and sends the
same request again by itself; a tap lost to the network is dealt with once the phone is back
online (a vote sent again by itself, a post said not to be recorded)."""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_TOKEN, FlakyLink
from tests.browser.test_live_table import run
from tests.browser.test_phone import PHONE, phone, table_with
from tests.server import bearer, running_server

pytestmark = pytest.mark.browser

JOIN_WAIT = 4  # seconds: one join per address in this window
COUNTDOWN = re.compile(r"Troppe richieste insieme: riprovo da solo tra (\d+) secondi")


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose limits are on and tiny: the browser (127.0.0.1) meets them at once;
    the set-up speaks from 127.0.0.2."""
    data = tmp_path_factory.mktemp("waits")
    with running_server(
        f"sqlite:///{data}/tavoli.db",
        data / "server.log",
        TAVOLI_ADMIN_TOKEN=ADMIN_TOKEN,
        TAVOLI_SECRET_KEY="browser-secret-key",
        TAVOLI_RATE_LIMITS="true",
        TAVOLI_LIMITS=f"join=1/{JOIN_WAIT} seconds, vote=2/{JOIN_WAIT} seconds",
    ) as base:
        yield base


def _table(base: str) -> tuple[str, list[int]]:
    """A voting table with four posts, set up from 127.0.0.2 (not the phones' address)."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, base_url=base) as api:
        event = api.post(
            "/api/events",
            json={"title": "Stati Generali", "date": "2024-11-09"},
            headers=bearer(ADMIN_TOKEN),
        ).json()
        moderator = bearer(event["moderator_token"])
        code = api.post(
            f"/api/events/{event['id']}/tables", json={"title": "Abitare"}, headers=moderator
        ).json()["code"]
        api.put(f"/api/tables/{code}/phase", json={"phase": "collect"}, headers=moderator)
        author = bearer(api.post(f"/api/tables/{code}/participants", json={}).json()["token"])
        ids = [
            api.post(
                f"/api/tables/{code}/proposals", json={"title": f"Proposta {n}"}, headers=author
            ).json()["id"]
            for n in range(4)
        ]
        api.put(f"/api/tables/{code}/phase", json={"phase": "voting"}, headers=moderator)
    return str(code), [int(i) for i in ids]


def _seconds(page: Page) -> int:
    match = COUNTDOWN.search(page.locator("#wait").inner_text())
    assert match, page.locator("#wait").inner_text()
    return int(match[1])


def _new_phone(browser: Browser) -> Page:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="it-IT")
    return context.new_page()


def test_a_phone_refused_at_the_door_counts_down_and_joins_by_itself(
    browser: Browser, limited_server: str, screenshots: Path
) -> None:
    code, _ids = _table(limited_server)
    first = _new_phone(browser)
    first.goto(f"{limited_server}/t/{code}")
    first.locator("button[type=submit]").click()
    expect(first.locator("#status .status-phase")).to_be_visible()

    second = _new_phone(browser)  # the next phone in the hall, a moment later
    second.goto(f"{limited_server}/t/{code}")
    second.locator("button[type=submit]").click()
    wait = second.locator("#wait")
    expect(wait).to_be_visible()
    expect(wait).to_contain_text("Troppe richieste insieme: riprovo da solo tra")
    told = _seconds(second)
    assert 1 <= told <= JOIN_WAIT
    second.screenshot(path=str(screenshots / "phone-join-countdown.png"))
    box = wait.bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]  # in sight
    if told >= 2:
        second.wait_for_timeout(1100)
        assert _seconds(second) < told  # it counts down
    assert "/join" not in second.url and second.locator("#status").count() == 0  # still waiting
    expect(second.locator("#status .status-phase")).to_be_visible(timeout=(JOIN_WAIT + 5) * 1000)
    expect(wait).to_have_count(1)  # the table's page has its own, hidden
    expect(wait).to_be_hidden()
    with httpx.Client(base_url=limited_server) as api:
        assert api.get(f"/api/tables/{code}").json()["participants"] >= 3  # author, two phones


def test_a_vote_refused_for_going_too_fast_is_sent_again_after_the_wait(
    browser: Browser, limited_server: str
) -> None:
    code, ids = _table(limited_server)
    time.sleep(JOIN_WAIT)  # the previous test's join has left the window
    page = _new_phone(browser)
    page.goto(f"{limited_server}/t/{code}")
    page.locator("button[type=submit]").click()
    expect(page.locator("#status .status-phase")).to_be_visible()
    for pid in ids:  # four taps in a row: two a window, so those after the second wait
        page.locator(f"#vote-{pid}-toggle").click()
    expect(page.locator("#wait")).to_be_visible()
    assert 1 <= _seconds(page) <= JOIN_WAIT
    # Which taps wait depends on the clicks' pace: on a slow machine the first tap may
    # leave the moving window before the third, which then counts. Never the first two.
    buttons = [page.locator(f"#vote-{pid}-toggle") for pid in ids]
    refused = [b for b in buttons[2:] if b.get_attribute("aria-pressed") == "false"]
    assert refused, "no tap waited"  # not counted yet
    for button in buttons[:2]:
        expect(button).to_have_attribute("aria-pressed", "true")
    for button in refused:  # each sent again after the wait
        expect(button).to_have_attribute("aria-pressed", "true", timeout=(JOIN_WAIT + 5) * 1000)
    expect(page.locator("#wait")).to_be_hidden()
    with httpx.Client(base_url=limited_server) as api:
        stored = {p["id"]: p["tally"] for p in api.get(f"/api/tables/{code}").json()["proposals"]}
    assert [stored[pid] for pid in ids] == [1, 1, 1, 1]


def test_back_online_a_lost_vote_is_sent_again_and_a_lost_post_is_said_not_recorded(
    browser: Browser, live_server: str, flaky_link: FlakyLink
) -> None:
    code, ids = table_with(live_server, phase="collect", posts=3)
    page = phone(browser, f"http://127.0.0.1:{flaky_link.port}", code)  # the venue Wi-Fi
    banner = page.locator("#retry")

    # A post lost to the network is not sent behind the person's back (it could be there
    # twice): once the connection is back, the banner says it was not recorded.
    flaky_link.cut()
    page.locator("#title").fill("Un tavolo permanente con le famiglie")
    page.locator("#compose button[type=submit]").click()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Connessione persa: riprova")
    flaky_link.restore()
    expect(banner).to_contain_text("Connessione tornata: non registrato", timeout=30_000)
    expect(banner).not_to_contain_text("Connessione persa", use_inner_text=True)
    expect(page.locator("#connection")).to_be_empty()
    with httpx.Client(base_url=live_server) as api:
        titles = [p["title"] for p in api.get(f"/api/tables/{code}").json()["proposals"]]
    assert "Un tavolo permanente con le famiglie" not in titles
    page.get_by_role("button", name="Riprova").click()
    expect(banner).to_be_hidden()
    with httpx.Client(base_url=live_server) as api:
        titles = [p["title"] for p in api.get(f"/api/tables/{code}").json()["proposals"]]
    assert titles.count("Un tavolo permanente con le famiglie") == 1

    # A vote names the state it asks for: back online, it is sent again by itself.
    run(live_server, code, "phase", {"phase": "voting"})
    card = page.locator(f"#p-{ids[1]}")
    expect(card.get_by_role("button", name="Sostengo")).to_be_visible()
    flaky_link.cut()
    card.get_by_role("button", name="Sostengo").click()
    expect(banner).to_be_visible()
    flaky_link.restore()  # nobody taps "Riprova"
    expect(banner).to_be_hidden(timeout=30_000)
    expect(card.get_by_role("button", name="Sostengo")).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".tally-count")).to_have_text("1")
    with httpx.Client(base_url=live_server) as api:
        stored = {p["id"]: p["tally"] for p in api.get(f"/api/tables/{code}").json()["proposals"]}
    assert stored[ids[1]] == 1
