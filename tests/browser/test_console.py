"""A whole table run from the console: phases, moderation, projector modes, keyboard."""

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from tests.browser.content import WALL
from tests.browser.test_live_table import (
    PROJECTOR,
    RUNNERS,
    assert_accessible,
    create_table,
    phone,
    post_from,
)

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


# Counts the pushes a page has taken (window.__pushes), from its socket's first snapshot on.
PUSH_COUNTER = (
    "window.__pushes = 0;"
    " document.addEventListener('htmx:wsAfterMessage', () => { window.__pushes += 1; });"
)


class HeldSocket:
    """The page's socket, through Playwright's route_web_socket: what the server sends while
    `hold()` is on waits until `release()`, so a push can come after an answer, or while a
    button is pressed."""

    def __init__(self) -> None:
        self.held: list[str | bytes] = []
        self.holding = False
        self.sockets: list[WebSocketRoute] = []

    def route(self, page_side: WebSocketRoute) -> None:
        self.sockets.append(page_side)

        def arrived(message: str | bytes) -> None:
            if self.holding:
                self.held.append(message)
            else:
                page_side.send(message)

        page_side.connect_to_server().on_message(arrived)

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.holding = False
        for message in self.held:
            self.sockets[-1].send(message)
        self.held.clear()


def console(browser: Browser, base: str, code: str, held: HeldSocket | None = None) -> Page:
    """The console once its socket's first snapshot is in: it redraws the live regions, and
    would replace a button being clicked or a panel being scrolled."""
    context = browser.new_context(viewport=LAPTOP, locale="it-IT")
    context.add_init_script(PUSH_COUNTER)
    page = context.new_page()
    if held is not None:
        page.route_web_socket("**/ws", held.route)
    page.goto(f"{base}/run/{RUNNERS[code]}/{code}/")
    expect(page.get_by_role("heading", name="Fase")).to_be_visible()
    page.wait_for_function("() => window.__pushes > 0")
    return page


def settled(page: Page) -> None:
    """Waits for the push of the state the console shows: until it is in, it may still
    redraw the controls, and a click that lands on a button being replaced is lost."""
    page.wait_for_function(
        "() => +document.getElementById('seq').dataset.seq"
        " >= +document.getElementById('console-live').dataset.seq"
    )


def click_phase(page: Page, name: str) -> None:
    page.locator(".phase-steps").get_by_role("button", name=name).click()
    expect(page.locator(".phase-steps").get_by_role("button", name=name)).to_have_attribute(
        "aria-current", "step"
    )
    settled(page)


def screen_mode(page: Page, name: str) -> None:
    page.locator(".screen-modes").get_by_role("button", name=name, exact=True).click()
    expect(
        page.locator(".screen-modes").get_by_role("button", name=name, exact=True)
    ).to_have_attribute("aria-pressed", "true")
    settled(page)


def switch(page: Page, name: str, checked: bool) -> None:
    page.get_by_role("switch", name=name).click()
    expect(page.get_by_role("switch", name=name)).to_have_attribute(
        "aria-checked", "true" if checked else "false"
    )
    settled(page)


def test_a_facilitator_runs_a_whole_table(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(
        live_server,
        {"mode": "dots", "dots": 3, "max_per_proposal": 2},
        phase="preparation",
        screen="join",
    )
    desk = console(browser, live_server, code)
    projector = browser.new_context(viewport=PROJECTOR).new_page()
    projector.goto(f"{live_server}/t/{code}/screen")
    expect(projector.locator(".join-code")).to_contain_text(code[:3])
    anna, bruno = phone(browser, live_server, code), phone(browser, live_server, code)
    expect(anna.locator("#status")).to_contain_text("Il tavolo sta per iniziare")
    expect(anna.locator("#compose")).to_be_hidden()
    anna.screenshot(path=str(screenshots / "phase-1-preparation-phone.png"))
    projector.screenshot(path=str(screenshots / "projector-join.png"))
    assert_accessible(projector, "projector, join mode")
    assert_accessible(desk, "console")
    desk.screenshot(path=str(screenshots / "console-preparation.png"), full_page=True)

    # Collect: the phones can post; the projector shows the wall when the console says so.
    click_phase(desk, "Raccolta")
    expect(anna.locator("#compose")).to_be_visible()
    screen_mode(desk, "Bacheca")
    expect(projector.locator(".stage")).to_have_class("stage mode-wall")
    for index, (kind, title, _body) in enumerate(WALL[:8]):
        label = {"need": "Bisogno", "proposal": "Proposta", "resource": "Risorsa"}[kind]
        post_from(anna if index % 2 else bruno, label, title)
    expect(projector.locator(".card")).to_have_count(8)
    expect(desk.locator(".wall-moderator .card")).to_have_count(8)
    anna.screenshot(path=str(screenshots / "phase-2-collect-phone.png"), full_page=True)
    projector.set_viewport_size({"width": 1280, "height": 720})
    projector.screenshot(path=str(screenshots / "projector-wall-1280.png"))
    projector.set_viewport_size(PROJECTOR)

    # Keep the wall clean: a duplicate is merged, a typo fixed, a tag given.
    post_from(bruno, "Bisogno", "Trasporto per i centri diurni dalle frazioni")
    duplicate = desk.locator(
        ".wall-moderator .card", has_text="Trasporto per i centri diurni dalle"
    )
    original = desk.locator(".wall-moderator .card", has_text=WALL[0][1])
    duplicate.get_by_text("Seleziona").click()
    original.get_by_text("Seleziona").click()
    desk.get_by_role("button", name="Unisci…").click()
    desk.locator("#merge-panel").get_by_label(WALL[0][1]).check()
    desk.locator("#merge-panel").get_by_role("button", name="Unisci", exact=True).click()
    expect(desk.locator(".wall-moderator .card")).to_have_count(8)
    expect(projector.locator(".card")).to_have_count(8)
    expect(desk.locator(".wall-moderator .card", has_text=WALL[0][1])).to_contain_text(
        "unisce 1 contributo simile"
    )
    settled(desk)
    desk.get_by_label("Nuova etichetta").fill("Mobilità")
    desk.get_by_role("button", name="Aggiungi", exact=True).click()
    expect(desk.locator(".tag-list")).to_contain_text("Mobilità")

    # Discussion with the projector on one proposal at a time, driven by the keyboard.
    desk.keyboard.press("n")
    expect(desk.locator(".phase-steps [aria-current=step]")).to_have_text("Discussione")
    expect(anna.locator("#status")).to_contain_text("Discussione")
    expect(anna.locator("#compose")).to_be_hidden()
    desk.keyboard.press("ArrowRight")
    expect(projector.locator(".stage")).to_have_class("stage mode-spotlight")
    expect(projector.locator(".spotlight-title")).to_be_visible()
    expect(desk.locator(".card.in-spotlight")).to_have_count(1)  # the console caught up
    first = projector.locator(".spotlight-title").inner_text()
    desk.keyboard.press("ArrowRight")
    expect(projector.locator(".spotlight-title")).not_to_have_text(first)
    projector.screenshot(path=str(screenshots / "projector-spotlight.png"))
    assert_accessible(projector, "projector, spotlight mode")

    # Voting, results hidden until the reveal.
    desk.keyboard.press("n")
    expect(desk.locator(".phase-steps [aria-current=step]")).to_have_text("Votazione")
    expect(bruno.locator("#status")).to_contain_text("Votazione")
    switch(desk, "Nascondi i risultati fino alla rivelazione", checked=True)
    screen_mode(desk, "Risultati")
    expect(projector.locator(".results-hidden")).to_be_visible()
    projector.screenshot(path=str(screenshots / "projector-results-hidden.png"))
    plus = bruno.locator(".card", has_text=WALL[0][1]).get_by_role("button", name="Dai un bollino")
    plus.click()
    expect(bruno.locator("#dots-left strong")).to_have_text("2")
    plus.click()
    expect(bruno.locator("#dots-left strong")).to_have_text("1")
    expect(plus).to_be_disabled()  # at most 2 on one proposal
    # Anna votes with the keyboard alone.
    anna.locator(".card", has_text=WALL[1][1]).get_by_role("button", name="Dai un bollino").focus()
    anna.keyboard.press("Enter")
    expect(anna.locator("#dots-left strong")).to_have_text("2")
    expect(anna.locator(".tally-count")).to_have_count(0)  # results are hidden from phones
    bruno.screenshot(path=str(screenshots / "phase-4-voting-phone.png"))
    bruno.set_viewport_size({"width": 320, "height": 640})  # the smallest phones
    bruno.screenshot(path=str(screenshots / "phase-4-voting-phone-320.png"))
    assert bruno.evaluate("document.documentElement.scrollWidth") <= 320
    assert_accessible(bruno, "participant page, voting")
    desk.keyboard.press("r")  # reveal
    expect(projector.locator(".result").first).to_contain_text(WALL[0][1])
    expect(projector.locator(".result-count").first).to_contain_text("2")
    projector.screenshot(path=str(screenshots / "projector-results.png"))
    assert_accessible(projector, "projector, results mode")
    for width, height in ((1366, 768), (1280, 720)):
        projector.set_viewport_size({"width": width, "height": height})
        projector.screenshot(path=str(screenshots / f"projector-results-{width}.png"))
        assert projector.evaluate("document.documentElement.scrollWidth") <= width
    projector.set_viewport_size(PROJECTOR)

    # A timer on the projector and on the phones.
    desk.get_by_label("Minuti").fill("5")
    desk.get_by_label("Minuti").blur()
    desk.keyboard.press("t")
    expect(anna.locator("#status .timer")).to_be_visible()
    screen_mode(desk, "Timer")
    expect(projector.locator(".timer-huge")).to_contain_text("0")
    projector.screenshot(path=str(screenshots / "projector-timer.png"))
    assert_accessible(projector, "projector, timer mode")
    desk.screenshot(path=str(screenshots / "console-voting.png"), full_page=True)
    desk.screenshot(path=str(screenshots / "console-voting-viewport.png"))
    assert_accessible(desk, "console while voting")

    click_phase(desk, "Chiuso")
    expect(anna.locator("#status")).to_contain_text("Il tavolo è chiuso")
    expect(anna.get_by_role("button", name="Dai un bollino")).to_have_count(0)
    anna.screenshot(path=str(screenshots / "phase-5-closed-phone.png"))
    assert_accessible(anna, "participant page, closed")
    with httpx.Client(base_url=live_server) as api:
        table = api.get(f"/api/tables/{code}").json()
    assert table["phase"] == "closed"
    assert sum(p["tally"] for p in table["proposals"]) == 3


REDRAWS = """() => {
  window.__redraws = 0;
  new MutationObserver(changes => {
    for (const change of changes) for (const node of change.addedNodes) {
      if (node.id === "console-live") window.__redraws += 1;
    }
  }).observe(document.getElementById("console-live").parentNode, { childList: true });
}"""


def test_a_console_action_is_drawn_by_its_push_alone(browser: Browser, live_server: str) -> None:
    """The answer draws nothing shared; the push draws the controls, morphed in place: the
    region and the button just clicked stay the same elements (a click on them is not lost).
    (Until issue 17 the answer drew them and the push of the same seq was skipped.)"""
    code = create_table(live_server, {"mode": "approval"}, phase="collect", screen="wall")
    socket = HeldSocket()
    desk = console(browser, live_server, code, held=socket)
    desk.evaluate(REDRAWS)
    for mode in ("Risultati", "Bacheca"):
        socket.hold()  # the push waits until the answer is in
        button = desk.locator(".screen-modes").get_by_role("button", name=mode, exact=True)
        button.evaluate("el => { el.tavoliMark = true; }")
        with desk.expect_response(lambda r: r.url.endswith("/screen")) as answer:
            button.click()
        assert answer.value.status == 200
        desk.wait_for_timeout(200)  # the answer is in: it changed nothing shared
        expect(button).to_have_attribute("aria-pressed", "false")
        socket.release()
        expect(button).to_have_attribute("aria-pressed", "true")  # drawn by the push
        assert button.evaluate("el => el.tavoliMark === true")  # morphed, not replaced
        assert desk.evaluate("window.__redraws") == 0
    desk.context.close()


def test_the_console_help_opens_with_the_keyboard(browser: Browser, live_server: str) -> None:
    code = create_table(live_server, {"mode": "approval"})
    desk = console(browser, live_server, code)
    desk.keyboard.press("?")
    expect(desk.get_by_role("dialog", name="Scorciatoie da tastiera")).to_be_visible()
    desk.keyboard.press("Escape")
    expect(desk.get_by_role("dialog")).to_be_hidden()
    desk.get_by_role("button", name="Scorciatoie").focus()
    desk.keyboard.press("Enter")
    expect(desk.get_by_role("dialog", name="Scorciatoie da tastiera")).to_be_visible()
