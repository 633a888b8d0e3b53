"""What the event day found on the console (1366×768) and the phone (390×844), in a real
browser: the selection clears after a tag, the synthesis is wide with a preview and a saved
time, a paper ballot, a closed table's locked controls, the facilitator link's QR and copy
button, and + handing the focus to − when it runs out."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.content import WALL
from tests.browser.test_console import console
from tests.browser.test_console_more import Api
from tests.browser.test_live_table import RUNNERS, assert_accessible, create_table, phone

pytestmark = pytest.mark.browser

SYNTHESIS = """## Priorità emerse

Il tavolo ha indicato **tre priorità**:

1. trasporto accessibile dalle frazioni;
2. un budget di progetto unico tra Comune e ASL;
3. più posti nei gruppi appartamento.

| Priorità | Voti |
| --- | --- |
| Trasporto | 14 |
"""


def test_the_console_of_an_event_day(browser: Browser, live_server: str, screenshots: Path) -> None:
    code = create_table(live_server, {"mode": "dots", "dots": 5, "max_per_proposal": 2})
    api = Api(live_server, code)
    people = [api.join() for _ in range(4)]
    ids = [
        api.post(people[i % 4][1], kind, title, body)
        for i, (kind, title, body) in enumerate(WALL[:8])
    ]
    for name in ("Trasporti", "Abitare"):
        created = api.http.post(
            f"/api/tables/{code}/tags",
            json={"name": name},
            headers={"Authorization": f"Bearer {RUNNERS[code]}"},
        )
        assert created.status_code == 201, created.text
    desk = console(browser, live_server, code)

    # Tag two posts: the selection clears, so the next tag does not land on them too.
    for pid in ids[:2]:
        desk.locator(f"#sel-{pid}").check()
    desk.locator("#bulk-tag").select_option(label="Trasporti")
    desk.get_by_role("button", name="Aggiungi etichetta").click()
    expect(desk.locator(f"#p-{ids[0]} .tag-chip")).to_have_text("Trasporti")
    expect(desk.locator('input[name="proposal_ids"][form="bulk"]:checked')).to_have_count(0)
    desk.locator(f"#sel-{ids[2]}").check()
    desk.locator("#bulk-tag").select_option(label="Abitare")
    desk.get_by_role("button", name="Aggiungi etichetta").click()
    expect(desk.locator(f"#p-{ids[2]} .tag-chip")).to_have_text("Abitare")
    expect(desk.locator(f"#p-{ids[0]} .tag-chip")).to_have_text("Trasporti")  # only that one

    # The synthesis: wide, previewed through the minutes' renderer, saved with its time.
    panel = desk.locator(".synthesis-panel")
    panel.scroll_into_view_if_needed()
    box = desk.locator("#synthesis").bounding_box()
    assert box is not None and box["width"] >= 600, box
    desk.locator("#synthesis").fill(SYNTHESIS)
    panel.get_by_role("button", name="Anteprima").click()
    expect(desk.locator("#synthesis-preview strong")).to_have_text("tre priorità")
    expect(desk.locator("#synthesis-preview ol li")).to_have_count(3)
    panel.get_by_role("button", name="Salva la sintesi").click()
    expect(desk.locator("#flash .flash-ok")).to_have_text(
        re.compile(r"Sintesi salvata alle \d{2}:\d{2}\.")
    )
    expect(desk.locator("#synthesis")).to_have_value(SYNTHESIS)
    desk.screenshot(path=str(screenshots / "event-day-console-synthesis-1366.png"))
    assert_accessible(desk, "console with the synthesis previewed")

    # A paper ballot: every proposal by its number, several votes in one submit.
    added = api.http.post(
        f"/api/tables/{code}/paper-participants",
        json={"name": "Rosaria Esposito", "organisation": "Associazione Genitori Insieme"},
        headers={"Authorization": f"Bearer {RUNNERS[code]}"},
    )
    assert added.status_code == 201, added.text
    api.moderate("PUT", "/phase", {"phase": "voting"})
    person = desk.locator("details.paper-person", has_text="Rosaria Esposito")
    person.locator("summary").click()
    expect(person.locator(".ballot-number")).to_have_text([str(n) for n in range(1, 9)])
    person.locator(f"#ballot-{added.json()['id']}-{ids[0]}").fill("2")
    person.locator(f"#ballot-{added.json()['id']}-{ids[3]}").fill("1")
    person.locator(f"#ballot-{added.json()['id']}-{ids[5]}").fill("2")
    person.get_by_role("button", name="Registra i voti").click()
    expect(desk.locator("#flash .flash-ok")).to_contain_text("Voti registrati")
    person = desk.locator("details.paper-person", has_text="Rosaria Esposito")
    expect(person.locator(".paper-vote")).to_have_count(3)
    expect(person.locator(".paper-entered")).to_contain_text("n. 1 «Trasporto accessibile")
    person.locator(".ballot").scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "event-day-console-ballot-1366.png"))

    # Merged posts are named in the list of merges.
    merged = api.http.post(
        f"/api/tables/{code}/merges",
        json={"survivor_id": ids[1], "proposal_ids": [ids[4]]},
        headers={"Authorization": f"Bearer {RUNNERS[code]}"},
    )
    assert merged.status_code == 201, merged.text
    expect(desk.locator(".merge-item")).to_contain_text(WALL[4][1][:40])

    # Closed: moderation is disabled with a note; the phase and the synthesis still work.
    api.moderate("PUT", "/phase", {"phase": "closed"})
    expect(desk.locator("#locked-note")).to_contain_text("Il tavolo è chiuso")
    expect(desk.get_by_role("button", name="Aggiungi etichetta")).to_be_disabled()
    expect(
        desk.locator(f"#p-{ids[0]}").get_by_role("button", name="Nascondi", exact=False)
    ).to_be_disabled()
    expect(desk.locator(".merge-item").get_by_role("button")).to_be_disabled()
    expect(desk.get_by_role("button", name="Fase precedente", exact=False)).to_be_enabled()
    expect(desk.get_by_role("button", name="Salva la sintesi")).to_be_enabled()
    desk.locator("#locked-note").scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "event-day-console-closed-1366.png"))
    assert_accessible(desk, "a closed table's console")


def test_the_facilitator_link_page_has_a_qr_and_copies_the_link(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    api = Api(live_server, code)
    link = api.http.post(
        f"/api/tables/{code}/facilitator-link",
        headers={"Authorization": f"Bearer {RUNNERS[code]}"},
    ).json()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="it-IT")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{live_server}/run/{link['token']}/{code}/link")
    qr = page.get_by_role("img", name="Codice QR del link del facilitatore")
    expect(qr).to_be_visible()
    assert page.evaluate("document.querySelector('.handout-qr img').naturalWidth") > 0
    page.get_by_role("button", name="Copia il link").click()
    expect(page.locator(".copy-status")).to_have_text("Link copiato")
    assert page.evaluate("navigator.clipboard.readText()") == link["url"]
    page.screenshot(path=str(screenshots / "event-day-facilitator-link-1366.png"), full_page=True)
    assert_accessible(page, "the facilitator link page")


def test_when_plus_runs_out_the_focus_moves_to_minus(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "dots", "dots": 5, "max_per_proposal": 2})
    api = Api(live_server, code)
    _, author = api.join()
    pid = api.post(author, "proposal", "Centro diurno aperto anche il sabato")
    api.moderate("PUT", "/phase", {"phase": "voting"})
    page = phone(browser, live_server, code)
    plus = page.locator(f"#vote-{pid}-plus")
    plus.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#vote-{pid} .my-dots strong")).to_have_text("1")
    page.keyboard.press("Enter")
    expect(page.locator(f"#vote-{pid} .my-dots strong")).to_have_text("2")
    expect(plus).to_be_disabled()
    assert page.evaluate("document.activeElement.id") == f"vote-{pid}-minus"
    page.keyboard.press("Enter")  # the keyboard carries on from there: one dot back
    expect(page.locator(f"#vote-{pid} .my-dots strong")).to_have_text("1")
    page.goto(f"{live_server}/t/{code}/my-data")
    expect(page.locator("main")).to_contain_text("Hai dato 1 bollino a «Centro diurno")
    expect(page.locator("main")).not_to_contain_text("UTC")
    page.screenshot(path=str(screenshots / "event-day-my-data-390.png"), full_page=True)
