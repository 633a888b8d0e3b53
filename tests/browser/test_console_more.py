"""The console on a 1366×768 laptop: a long queue beside the wall, a removal that says what it
does, a paper participant's vote confirmed, and the merge panel opening in view."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.content import WALL
from tests.browser.test_console import console
from tests.browser.test_live_table import RUNNERS, assert_accessible, create_table

pytestmark = pytest.mark.browser

HEIGHT = 768


class Api:
    def __init__(self, base: str, code: str) -> None:
        self.http = httpx.Client(base_url=base)
        self.code = code

    def __del__(self) -> None:  # closed however the test ends: an open socket would warn
        self.http.close()

    def join(self) -> tuple[int, str]:
        answer = self.http.post(f"/api/tables/{self.code}/participants", json={})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["participant_id"]), str(answer.json()["token"])

    def post(self, token: str, kind: str, title: str, body: str = "") -> int:
        answer = self.http.post(
            f"/api/tables/{self.code}/proposals",
            json={"kind": kind, "title": title, "body": body},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def moderate(self, method: str, path: str, body: dict[str, Any]) -> None:
        answer = self.http.request(
            method,
            f"/api/tables/{self.code}{path}",
            json=body,
            headers={"Authorization": f"Bearer {RUNNERS[self.code]}"},
        )
        assert answer.status_code == 200, answer.text

    def vote(self, token: str, proposal_id: int, dots: int) -> None:
        answer = self.http.put(
            f"/api/proposals/{proposal_id}/vote",
            json={"dots": dots},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text


def in_view(page: Page, selector: str) -> None:
    """In the viewport once the page settles (a push may redraw the wall meanwhile)."""
    box = None
    for _ in range(30):
        box = page.locator(selector).bounding_box()
        if box is not None and -2 <= box["y"] < HEIGHT - 40:
            return
        page.wait_for_timeout(100)
    raise AssertionError((selector, box))


def test_a_busy_console_on_a_laptop(browser: Browser, live_server: str, screenshots: Path) -> None:
    code = create_table(live_server, {"mode": "dots", "dots": 5, "max_per_proposal": 2})
    api = Api(live_server, code)
    desk = console(browser, live_server, code)
    people = [api.join() for _ in range(8)]
    _, troll = people[0]

    # Ten posts reach the wall while the console is open: its count follows without a reload.
    wall_ids = [
        api.post(people[1 + i % 7][1], kind, title, body)
        for i, (kind, title, body) in enumerate(WALL[:10])
    ]
    supported = api.post(troll, "proposal", "Laboratori di autonomia nelle case famiglia")
    expect(desk.locator(".wall-moderator .card")).to_have_count(11)
    expect(desk.locator("#wall-count")).to_have_text("11")

    # Then the moderator checks posts first, and fifteen wait in the queue.
    api.moderate("PATCH", "/settings", {"premoderation": True})
    api.post(troll, "proposal", "Siete tutti incompetenti, questo tavolo è una farsa!!!")
    for i, (kind, title, body) in enumerate(WALL[10:24]):
        api.post(people[1 + i % 7][1], kind, title, body)
    expect(desk.locator(".queue-item")).to_have_count(15)
    expect(desk.get_by_role("button", name="Accetta tutti (15)")).to_be_visible()
    desk.evaluate("window.scrollTo(0, 0)")
    desk.screenshot(path=str(screenshots / "console-long-queue-1366.png"))
    in_view(desk, "#mod-wall-title")  # the wall still starts on the first screen
    desk.screenshot(path=str(screenshots / "console-long-queue-1366.png"))
    assert_accessible(desk, "console with a long queue")

    # Voting: someone supports the troll's earlier post; remove the troll from the queue.
    api.moderate("PUT", "/phase", {"phase": "voting"})
    api.vote(people[1][1], supported, 2)
    api.vote(troll, wall_ids[0], 1)
    abusive = desk.locator(".queue-item", has_text="una farsa")
    abusive.get_by_role("button", name="Allontana l'autore").click()
    panel = desk.locator("#remove-panel")
    expect(panel).to_contain_text("I voti dati da altri ai suoi contributi tornano")
    expect(panel.get_by_label("Tieni in bacheca", exact=False)).to_have_count(1)
    in_view(desk, "#remove-panel")
    panel.get_by_label("Tieni in bacheca", exact=False).check()
    desk.screenshot(path=str(screenshots / "console-remove-confirm-1366.png"))
    assert_accessible(desk, "console, removal panel")
    panel.get_by_role("button", name="Allontana dal tavolo").click()
    expect(panel).to_be_empty()
    expect(desk.locator(".queue-item")).to_have_count(14)
    expect(
        desk.locator(".wall-moderator .card", has_text="Laboratori di autonomia")
    ).to_be_visible()
    expect(desk.locator("#wall-count")).to_have_text("11")

    # A paper participant with organisation and consent; a vote typed in for her.
    side = desk.locator(".paper")
    side.get_by_label("Nome", exact=True).fill("Rosaria Esposito")
    side.get_by_label("Organizzazione", exact=False).first.fill("Associazione Genitori Insieme")
    side.get_by_label("Tipologia di soggetto").select_option("Ente del Terzo Settore")
    side.get_by_label("Accetta che nome e organizzazione").check()
    side.get_by_role("button", name="Aggiungi un partecipante su carta").click()
    expect(side).to_contain_text("inserisci i loro voti")
    person = side.locator("details.paper-person", has_text="Rosaria Esposito")
    person.locator("summary").click()
    # The ballot lists every proposal by its number; the row of the supported one gets 2.
    person.locator(f'input[id$="-{supported}"]').fill("2")
    person.get_by_role("button", name="Registra i voti").click()
    expect(desk.locator("#flash .flash-ok")).to_contain_text("Voti registrati")
    desk.locator("#flash .flash-ok").click()  # it floats over the foot: a click puts it away
    expect(desk.locator("#flash .flash-message")).to_have_count(0)
    person = side.locator("details.paper-person", has_text="Rosaria Esposito")
    expect(person).to_have_attribute("open", "")
    expect(person.locator(".paper-entered")).to_contain_text("2 bollini")
    person.locator(".paper-entered").scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "console-paper-vote-1366.png"))

    # A post filed under the wrong kind: the edit block changes it, and the card moves.
    card = desk.locator(".wall-moderator .card", has_text="Laboratori di autonomia")
    card.locator("summary").click()
    card.get_by_label("Tipo").select_option("need")
    card.scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "console-edit-kind-1366.png"))
    card.get_by_role("button", name="Cambia tipo").click()
    expect(desk.locator("#cards-need .card", has_text="Laboratori di autonomia")).to_be_visible()

    # Merge from the bottom of the wall: the panel opens where the moderator can see it.
    cards = desk.locator(".wall-moderator .card")
    cards.nth(9).get_by_text("Seleziona").click()
    cards.nth(10).get_by_text("Seleziona").click()
    desk.get_by_role("button", name="Unisci…").click()
    expect(desk.locator("#merge-panel")).to_contain_text("quale testo resta?")
    in_view(desk, "#merge-panel")
    desk.screenshot(path=str(screenshots / "console-merge-panel-1366.png"))
    api.http.close()
