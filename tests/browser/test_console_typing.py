"""What a moderator types on the console survives their own actions and everybody's pushes.

The push alone draws the console's live region, morphed in place (issue 17); a console
action's answer carries only the flash and gives the sent form back fresh. When an answer
drew the region too, the two raced: when the push came first, the answer took the fields a
moderator types in (synthesis, facilitator, selection, edit blocks) out of the page for good,
and "Salva la sintesi" then saved them empty (issue 8, point 5). Here the answers to the tag
actions are held until their push has been shown, so they come last every time.
"""

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import APIResponse, Browser, Locator, Page, Route, expect

from tests.browser.test_console import console
from tests.browser.test_live_table import create_table, run

pytestmark = pytest.mark.browser

POSTS = (
    "Trasporto accessibile dalle frazioni montane",
    "Un budget di progetto unico per ogni persona",
    "Sportello unico per le famiglie nei piccoli comuni",
)
SYNTHESIS = "Il tavolo chiede **trasporto** e un budget di progetto unico.\n\nPriorità: frazioni."
FACILITATOR = "Marta Esposito"


def join(base: str, code: str) -> str:
    with httpx.Client(base_url=base) as api:
        response = api.post(f"/api/tables/{code}/participants", json={})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


def post(base: str, code: str, token: str, title: str) -> int:
    response = httpx.post(
        f"{base}/api/tables/{code}/proposals",
        json={"kind": "proposal", "title": title},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def vote(base: str, token: str, proposal_id: int) -> None:
    response = httpx.put(
        f"{base}/api/proposals/{proposal_id}/vote",
        json={"dots": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


def table_with_posts(base: str) -> tuple[str, str]:
    code = create_table(base, {"mode": "approval"})
    token = join(base, code)
    for title in POSTS:
        post(base, code, token, title)
    return code, token


class HeldAnswers:
    """Lets a console request reach the server but holds its answer until `release`."""

    def __init__(self, page: Page, path: str) -> None:
        self.page = page
        self.held: list[tuple[Route, APIResponse]] = []
        self.pattern = f"**/run/*/*/{path}"
        page.route(self.pattern, self._hold)

    def _hold(self, route: Route) -> None:
        self.held.append((route, route.fetch()))  # the server acts and pushes now

    def release(self) -> None:
        """Deliver the held answer and wait until htmx has put it in the page."""
        for _ in range(250):  # the handler may still be inside route.fetch()
            if self.held:
                break
            self.page.wait_for_timeout(20)
        assert len(self.held) == 1, "the action was not sent"
        route, response = self.held.pop()
        assert response.status == 200, response.text()
        self.page.evaluate(
            "() => { window.answered = false; document.addEventListener('htmx:afterRequest',"
            " () => { window.answered = true; }, { once: true }); }"
        )
        route.fulfill(response=response)
        # Handled by htmx, or (the bug) the typed-in fields taken out of the page by it.
        self.page.wait_for_function(
            "() => window.answered || !document.getElementById('synthesis')"
        )
        self.page.unroute(self.pattern)


def answer_after_push(
    page: Page, path: str, act: Callable[[], object], pushed: Callable[[], object]
) -> None:
    """Do `act`, wait until its push shows (`pushed` expects it), then let the answer in."""
    held = HeldAnswers(page, path)
    act()
    pushed()
    held.release()


def add_tag(field: Locator, name: str) -> None:
    field.fill(name)
    field.press("Enter")


def assert_typing_kept(desk: Page, synthesis: str, facilitator: str) -> None:
    """The typed-in fields are in the page once each, with what was typed."""
    expect(desk.get_by_label("Sintesi scritta")).to_have_value(synthesis)
    expect(desk.get_by_label("Facilitatore")).to_have_value(facilitator)
    cards = desk.locator(".wall-moderator .card")
    expect(cards).to_have_count(len(POSTS))
    expect(desk.locator('.wall-moderator input[name="proposal_ids"]')).to_have_count(len(POSTS))
    expect(desk.locator(".wall-moderator details.card-edit")).to_have_count(len(POSTS))
    for id_ in ("synthesis", "facilitator-name"):  # one of each, nothing left behind
        assert desk.locator(f"[id='{id_}']").count() == 1
    assert desk.locator("#--htmx-preserve-pantry--").count() == 0


def save_and_reload(desk: Page, synthesis: str, facilitator: str) -> None:
    with desk.expect_response(lambda r: r.url.endswith("/synthesis")) as answer:
        desk.get_by_role("button", name="Salva la sintesi").click()
    assert answer.value.status == 200
    desk.reload()
    expect(desk.get_by_label("Sintesi scritta")).to_have_value(synthesis)
    expect(desk.get_by_label("Facilitatore")).to_have_value(facilitator)


def test_tag_actions_keep_the_synthesis_and_clear_the_selection(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code, _ = table_with_posts(live_server)
    desk = console(browser, live_server, code)
    expect(desk.locator(".wall-moderator .card")).to_have_count(len(POSTS))
    desk.get_by_label("Sintesi scritta").fill(SYNTHESIS)
    desk.get_by_label("Facilitatore").fill(FACILITATOR)
    edit = desk.locator(".card", has_text=POSTS[2]).locator("details.card-edit")
    edit.locator("summary").click()  # an edit block left open
    expect(edit).to_have_attribute("open", "")

    # A new tag, typed and confirmed with Enter; its push arrives before its answer.
    new_tag = desk.get_by_label("Nuova etichetta")
    answer_after_push(
        desk,
        "tags",
        lambda: add_tag(new_tag, "Mobilità"),
        lambda: expect(desk.locator(".tag-list")).to_contain_text("Mobilità"),
    )
    assert_typing_kept(desk, SYNTHESIS, FACILITATOR)
    expect(desk.get_by_label("Nuova etichetta")).to_have_value("")  # the answer's fresh form

    # The bulk action on one selected post, the same way round.
    card = desk.locator(".wall-moderator .card", has_text=POSTS[1])
    card.get_by_text("Seleziona").click()
    expect(card.locator('input[name="proposal_ids"]')).to_be_checked()
    answer_after_push(
        desk,
        "bulk",
        lambda: desk.get_by_role("button", name="Aggiungi etichetta").click(),
        lambda: expect(card.locator(".tag-chip")).to_have_text("Mobilità"),
    )
    assert_typing_kept(desk, SYNTHESIS, FACILITATOR)
    # Done with it: the selection clears, so the next tag does not land on it too (issue 16).
    expect(card.locator('input[name="proposal_ids"]')).not_to_be_checked()
    expect(edit).to_have_attribute("open", "")
    desk.screenshot(path=str(screenshots / "console-after-tag-action.png"))
    desk.get_by_label("Sintesi scritta").scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "console-after-tag-action-synthesis.png"))

    # What is shown is what is saved.
    save_and_reload(desk, SYNTHESIS, FACILITATOR)
    with httpx.Client(base_url=live_server) as api:
        tagged = [p for p in api.get(f"/api/tables/{code}").json()["proposals"] if p.get("tags")]
    assert [p["title"] for p in tagged] == [POSTS[1]]


def test_tag_actions_with_the_answer_first(browser: Browser, live_server: str) -> None:
    """The other way round (the answer before its push), as it mostly happens."""
    code, _ = table_with_posts(live_server)
    desk = console(browser, live_server, code)
    expect(desk.locator(".wall-moderator .card")).to_have_count(len(POSTS))
    desk.get_by_label("Sintesi scritta").fill(SYNTHESIS)
    desk.get_by_label("Facilitatore").fill(FACILITATOR)
    for name in ("Mobilità", "Casa", "Lavoro"):
        desk.get_by_label("Nuova etichetta").fill(name)
        desk.get_by_label("Nuova etichetta").press("Enter")
        expect(desk.locator(".tag-list")).to_contain_text(name)
        assert_typing_kept(desk, SYNTHESIS, FACILITATOR)
    card = desk.locator(".wall-moderator .card", has_text=POSTS[0])
    card.get_by_text("Seleziona").click()
    desk.locator("#bulk-tag").select_option(label="Casa")
    desk.get_by_role("button", name="Aggiungi etichetta").click()
    expect(card.locator(".tag-chip")).to_have_text("Casa")
    assert_typing_kept(desk, SYNTHESIS, FACILITATOR)
    save_and_reload(desk, SYNTHESIS, FACILITATOR)


def test_pushes_from_others_do_not_touch_what_is_being_typed(
    browser: Browser, live_server: str
) -> None:
    code, token = table_with_posts(live_server)
    desk = console(browser, live_server, code)
    expect(desk.locator(".wall-moderator .card")).to_have_count(len(POSTS))
    desk.get_by_label("Facilitatore").fill(FACILITATOR)
    synthesis = desk.get_by_label("Sintesi scritta")
    synthesis.click()
    desk.keyboard.type("Il tavolo chiede ")

    # A participant posts (a new card), the other moderator opens the vote (the whole
    # region redrawn), the participant votes (a tally): the moderator keeps typing.
    extra = post(live_server, code, token, "Formazione congiunta tra scuole e servizi")
    expect(desk.locator(".wall-moderator .card")).to_have_count(len(POSTS) + 1)
    desk.keyboard.type("trasporto ")
    run(live_server, code, "phase", {"phase": "voting"})
    expect(desk.locator(".phase-steps [aria-current=step]")).to_have_text("Votazione")
    desk.keyboard.type("e formazione.")
    vote(live_server, token, extra)
    expect(desk.locator(f"#p-{extra} .tally-count")).to_have_text("1")
    expect(synthesis).to_be_focused()
    desk.keyboard.type(" Fine.")

    typed = "Il tavolo chiede trasporto e formazione. Fine."
    expect(synthesis).to_have_value(typed)
    expect(desk.get_by_label("Facilitatore")).to_have_value(FACILITATOR)
    expect(desk.locator('.wall-moderator input[name="proposal_ids"]')).to_have_count(len(POSTS) + 1)
    expect(desk.locator(".wall-moderator details.card-edit")).to_have_count(len(POSTS) + 1)
    save_and_reload(desk, typed, FACILITATOR)


def test_a_push_keeps_a_half_typed_field_without_hx_preserve(
    browser: Browser, live_server: str
) -> None:
    """The new tag's field is redrawn by pushes (it must clear after its own answer)."""
    code, _ = table_with_posts(live_server)
    desk = console(browser, live_server, code)
    desk.get_by_label("Minuti").fill("7")  # changed, not sent
    new_tag = desk.get_by_label("Nuova etichetta")
    new_tag.click()
    desk.keyboard.type("Mobi")
    run(live_server, code, "phase", {"phase": "discussion"})  # the whole region redrawn
    expect(desk.locator(".phase-steps [aria-current=step]")).to_have_text("Discussione")
    expect(new_tag).to_be_focused()
    desk.keyboard.type("lità")
    expect(new_tag).to_have_value("Mobilità")
    expect(desk.get_by_label("Minuti")).to_have_value("7")
    new_tag.press("Enter")
    expect(desk.locator(".tag-list")).to_contain_text("Mobilità")
    expect(new_tag).to_have_value("")  # sent: its answer's fresh field
    expect(desk.get_by_label("Minuti")).to_have_value("7")  # not sent: kept
