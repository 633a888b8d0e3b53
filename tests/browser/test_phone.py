"""The phone at the table: taps that count once, taps that did not arrive, long texts, the
header and the sticky phase line, the language, on a 390×844 screen with a full wall."""

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import APIResponse, Browser, Page, Route, expect

from tests.browser.conftest import ADMIN_TOKEN, FlakyLink
from tests.browser.content import WALL
from tests.browser.test_live_table import RUNNERS, assert_accessible, run

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
THEME = "Governance partecipata e co-programmazione dei servizi sociali dell'Ambito"


def table_with(
    base: str, *, phase: str, posts: int = 0, title: str = THEME
) -> tuple[str, list[int]]:
    """A table in `phase` with the first `posts` posts of the realistic wall."""
    with httpx.Client(base_url=base) as api:
        event = api.post(
            "/api/events",
            json={
                "title": "Stati Generali dell'Innovazione Sociale — Ambito S6",
                "date": "2024-11-09",
                "place": "Fisciano, Aula Magna",
                "organiser": "Ufficio di Piano",
            },
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()
        table = api.post(
            f"/api/events/{event['id']}/tables",
            json={
                "title": title,
                "question": "Come decidiamo insieme, e chi manca oggi a questo tavolo?",
                "voting": {"mode": "approval"},
            },
            headers={"Authorization": f"Bearer {event['moderator_token']}"},
        ).json()
        code = str(table["code"])
        RUNNERS[code] = event["moderator_token"]
        run(base, code, "phase", {"phase": "collect"})
        people = [
            api.post(f"/api/tables/{code}/participants", json={}).json()["token"] for _ in range(8)
        ]
        ids = []
        for index, (kind, text, body) in enumerate(WALL[:posts]):
            response = api.post(
                f"/api/tables/{code}/proposals",
                json={"kind": kind, "title": text, "body": body},
                headers={"Authorization": f"Bearer {people[index % len(people)]}"},
            )
            ids.append(int(response.json()["id"]))
        if phase != "collect":
            run(base, code, "phase", {"phase": phase})
    return code, ids


def phone(browser: Browser, base: str, code: str, locale: str = "it-IT") -> Page:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
    )
    page = context.new_page()
    # The socket's first message (the snapshot) redraws the wall: wait for it before tapping.
    page.add_init_script(
        "document.addEventListener('htmx:wsAfterMessage', () => { window.tavoliSynced = true; })"
    )
    page.goto(f"{base}/t/{code}")
    page.locator("button[type=submit]").click()  # join without saying who
    expect(page.locator("#status .status-phase")).to_be_visible()
    for _ in range(200):  # wait_for_function would need eval, which the CSP refuses
        if page.evaluate("() => window.tavoliSynced === true"):
            break
        page.wait_for_timeout(50)
    return page


def tally(page: Page, pid: int) -> str:
    return page.locator(f"#p-{pid} .tally-count").inner_text()


# Two taps on a button, `gap` ms apart: the second finds the button as the first left it
# (its answer back by then, or not yet, and the card perhaps redrawn by a push).
TWO_TAPS = """([id, gap]) => new Promise(done => {
  document.getElementById(id).click();
  setTimeout(() => { document.getElementById(id).click(); done(); }, gap);
})"""


def test_a_double_tap_gives_one_vote(browser: Browser, live_server: str) -> None:
    code, ids = table_with(live_server, phase="voting", posts=3)
    page = phone(browser, live_server, code)
    for pid, gap in zip(ids, (0, 150, 350), strict=True):
        button = page.locator(f"#vote-{pid}-toggle")
        if gap == 0:
            button.dblclick()  # the two clicks of a double tap
        else:  # the second tap `gap` ms after the first by the page's clock (two separate
            # clicks from here could land far apart on a busy machine: a change of mind)
            page.evaluate(TWO_TAPS, [f"vote-{pid}-toggle", gap])
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(page.locator(f"#p-{pid} .tally-count")).to_have_text("1")
    page.wait_for_timeout(700)
    with httpx.Client(base_url=live_server) as api:
        stored = {p["id"]: p["tally"] for p in api.get(f"/api/tables/{code}").json()["proposals"]}
    assert [stored[pid] for pid in ids] == [1, 1, 1]
    # A deliberate second tap, a moment later, still withdraws.
    page.locator(f"#vote-{ids[0]}-toggle").click()
    expect(page.locator(f"#vote-{ids[0]}-toggle")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(f"#p-{ids[0]} .tally-count")).to_have_text("0")


def test_a_vote_that_did_not_arrive_says_so_and_lands_on_retry(
    browser: Browser, live_server: str, flaky_link: FlakyLink, screenshots: Path
) -> None:
    code, ids = table_with(live_server, phase="voting", posts=40)
    page = phone(browser, f"http://127.0.0.1:{flaky_link.port}", code)  # the venue Wi-Fi
    card = page.locator(f"#p-{ids[5]}")
    card.scroll_into_view_if_needed()
    flaky_link.cut()
    card.get_by_role("button", name="Sostengo").click()
    banner = page.locator("#retry")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Connessione persa: riprova")
    button = card.get_by_role("button", name="Sostengo")
    expect(button).to_have_attribute("aria-pressed", "false")  # its true state: not counted
    expect(button).not_to_have_attribute("aria-busy", "true")
    page.screenshot(path=str(screenshots / "phone-offline-banner.png"))
    banner_box = banner.bounding_box()
    assert banner_box and banner_box["y"] + banner_box["height"] <= PHONE["height"]  # in sight

    page.get_by_role("button", name="Riprova").click()  # still cut: it says so again
    expect(banner).to_be_visible()
    flaky_link.restore()
    page.get_by_role("button", name="Riprova").click()
    expect(banner).to_be_hidden()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".tally-count")).to_have_text("1")
    with httpx.Client(base_url=live_server) as api:
        stored = {p["id"]: p["tally"] for p in api.get(f"/api/tables/{code}").json()["proposals"]}
    assert stored[ids[5]] == 1


def test_the_reconnecting_line_stays_in_sight_far_down_a_long_wall(
    browser: Browser, live_server: str, flaky_link: FlakyLink, screenshots: Path
) -> None:
    code, _ = table_with(live_server, phase="collect", posts=40)
    page = phone(browser, f"http://127.0.0.1:{flaky_link.port}", code)  # the venue Wi-Fi
    region = page.locator("#connection")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_be_empty()  # connected: nothing said, nothing shown
    page.locator(".wall .card").nth(30).scroll_into_view_if_needed()
    assert page.evaluate("() => window.scrollY") > 3 * PHONE["height"]  # far from the top

    flaky_link.cut()
    line = page.get_by_text("Connessione persa: mi sto ricollegando…")
    expect(line).to_be_visible()
    box = line.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]  # in the viewport
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(screenshots / "phone-reconnecting.png"))
    # At the very bottom of the page the line covers nothing: the page made room for it.
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_timeout(200)
    box = line.bounding_box()
    footer = page.locator(".site-footer").bounding_box()
    assert box is not None and footer is not None
    assert footer["y"] + footer["height"] <= box["y"]
    page.screenshot(path=str(screenshots / "phone-reconnecting-bottom.png"))

    flaky_link.restore()
    expect(line).to_be_hidden(timeout=30_000)  # the socket is back: the line goes
    expect(region).to_be_empty()


def test_long_texts_show_a_counter_and_are_never_cut(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code, _ = table_with(live_server, phase="collect", posts=40)
    page = phone(browser, live_server, code)
    title, body = page.get_by_label("Titolo", exact=True), page.locator("#body")
    expect(page.locator("#title-count")).to_have_text("Caratteri rimasti: 140")
    title.fill("Più posti nei gruppi appartamento per il «dopo di noi»")
    expect(page.locator("#title-count")).to_have_text("Caratteri rimasti: 86")
    paste = ("Le liste d'attesa superano i due anni e le famiglie restano sole. " * 80)[:5000]
    body.fill(paste)
    assert len(body.input_value()) == 5000  # the whole paste, not cut at 1,000
    counter = page.locator("#body-count")
    over = len(paste.strip()) - 1000
    expect(counter).to_have_text(f"{over} caratteri oltre il limite")
    assert counter.evaluate("e => getComputedStyle(e).color") == "rgb(164, 22, 26)"
    page.get_by_role("button", name="Pubblica").click()
    expect(page.locator("#flash")).to_contain_text(
        f"I dettagli hanno {over} caratteri di troppo: accorciali per pubblicare."
    )
    expect(body).to_be_focused()
    assert len(body.input_value()) == 5000  # still all there, to shorten
    page.locator("#compose").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "phone-compose-over-limit.png"))
    with httpx.Client(base_url=live_server) as api:
        assert len(api.get(f"/api/tables/{code}").json()["proposals"]) == 40  # nothing sent

    # Shortened, it goes; the kind goes back to the default for the next post.
    body.fill(paste[:1000])
    expect(counter).to_have_text(f"Caratteri rimasti: {1000 - len(paste[:1000].strip())}")
    page.locator("#post-form label", has_text="Bisogno").click()
    page.get_by_role("button", name="Pubblica").click()
    expect(page.get_by_text("Pubblicato:")).to_be_visible()
    expect(page.locator("#kind-proposal")).to_be_checked()
    expect(page.locator("#title-count")).to_have_text("Caratteri rimasti: 140")
    expect(page.locator(".my-posts .count")).to_have_text("1")


class SlowAnswers:
    """The venue Wi-Fi on a bad day: a post reaches the server at once (it is stored and
    pushed to the wall), but its answer comes back only when `deliver` lets it in."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.held: list[tuple[Route, APIResponse]] = []
        page.route("**/t/*/proposals", self._hold)

    def _hold(self, route: Route) -> None:
        self.held.append((route, route.fetch()))

    def deliver(self, sent_at: float, delay: float = 1.5) -> None:
        """Let the answer in `delay` seconds after the post was sent."""
        for _ in range(250):  # the handler may still be inside route.fetch()
            if self.held:
                break
            self.page.wait_for_timeout(20)
        assert len(self.held) == 1, "the post was not sent"
        left = sent_at + delay - time.monotonic()
        if left > 0:
            self.page.wait_for_timeout(left * 1000)
        route, response = self.held.pop()
        assert response.status == 200, response.text()
        route.fulfill(response=response)


def test_what_is_typed_while_a_post_is_on_its_way_stays(browser: Browser, live_server: str) -> None:
    code, _ = table_with(live_server, phase="collect", posts=3)
    page = phone(browser, live_server, code)
    slow = SlowAnswers(page)
    title, notice = page.get_by_label("Titolo", exact=True), page.locator("#post-form .notice-ok")
    first = "Uno sportello unico per le famiglie nei piccoli comuni"
    second = "Navette accessibili dalle frazioni montane il sabato mattina"
    title.fill(first)
    page.get_by_role("button", name="Pubblica").click()
    sent_at = time.monotonic()
    # The next one, started before the answer of the first is back: its kind, then its title.
    page.locator("#post-form label", has_text="Bisogno").click()
    title.clear()  # the first title is still there until its answer comes
    title.press_sequentially(second[:30])
    slow.deliver(sent_at)
    expect(notice).to_contain_text(first)  # the answer is in: the form was redrawn
    expect(title).to_have_value(second[:30])  # and what was typed meanwhile is still there
    expect(title).to_be_focused()
    expect(page.locator("#kind-need")).to_be_checked()
    expect(page.locator("#title-count")).to_have_text(f"Caratteri rimasti: {140 - 30}")
    expect(page.locator(".wall .card", has_text=first)).to_have_count(1)
    page.keyboard.type(second[30:])  # typing goes on where it was, at the end
    expect(title).to_have_value(second)

    # Sent with nothing typed meanwhile, the form is fresh again: empty, the default kind.
    page.get_by_role("button", name="Pubblica").click()
    sent_at = time.monotonic()
    slow.deliver(sent_at)
    expect(notice).to_contain_text(second)
    expect(title).to_have_value("")
    expect(page.locator("#kind-proposal")).to_be_checked()
    expect(page.locator("#title-count")).to_have_text("Caratteri rimasti: 140")
    for text in (first, second):
        expect(page.locator(".wall .card", has_text=text)).to_have_count(1)
    expect(page.locator(".my-posts .count")).to_have_text("2")
    with httpx.Client(base_url=live_server) as api:
        stored = {p["title"]: p["kind"] for p in api.get(f"/api/tables/{code}").json()["proposals"]}
    assert (stored[first], stored[second]) == ("proposal", "need")


def test_the_full_wall_on_a_phone(browser: Browser, live_server: str, screenshots: Path) -> None:
    code, ids = table_with(live_server, phase="collect", posts=40)
    page = phone(browser, live_server, code)
    bar = page.locator(".table-bar")
    name = page.locator(".table-bar-name")
    expect(name).to_have_text(THEME)
    # The theme wraps (smaller) instead of "Govern…": at most two lines, none cut mid-line.
    lines = name.evaluate(
        "e => Math.round(e.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(e).lineHeight))"
    )
    assert lines <= 3
    assert name.evaluate("e => e.scrollHeight <= e.clientHeight + 1")  # nothing clipped
    page.screenshot(path=str(screenshots / "phone-wall-top.png"))
    page.locator("#wall-title").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "phone-wall.png"))
    # An anchor (where a post without JavaScript comes back to) is not under the bars.
    page.goto(f"{live_server}/t/{code}#p-{ids[20]}")
    expect(page.locator(f"#p-{ids[20]}")).to_be_visible()
    page.wait_for_timeout(300)
    status = page.locator("#status").bounding_box()
    card = page.locator(f"#p-{ids[20]} .card-title").bounding_box()
    bar_box = bar.bounding_box()
    assert status and card and bar_box
    assert status["y"] >= bar_box["y"] + bar_box["height"] - 1  # the phase line under the bar
    assert card["y"] >= status["y"] + status["height"]  # and the card's title under both
    page.screenshot(path=str(screenshots / "phone-wall-anchor.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page, "phone with a full wall")


def test_the_phone_speaks_the_browsers_language(browser: Browser, live_server: str) -> None:
    code, _ = table_with(live_server, phase="collect", posts=2)
    page = phone(browser, live_server, code, locale="en-GB")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#compose-title")).to_have_text("Add to the table")
    # Pushed fragments come in English too.
    run(live_server, code, "phase", {"phase": "voting"})
    expect(page.locator("#status .status-phase")).to_contain_text("Voting")
    expect(page.get_by_role("button", name=re.compile("^Support")).first).to_be_visible()
    # ?lang=it is remembered over the browser's languages.
    page.goto(f"{live_server}/t/{code}?lang=it")
    page.goto(f"{live_server}/t/{code}")
    expect(page.locator("html")).to_have_attribute("lang", "it")
