"""What the event day found on the console and the phone, read from the answers: merges by
title, a closed table's console that says what it refuses, a replaced link that says so,
the synthesis previewed and its save timed, paper ballots typed in at once, the facilitator
link with its QR code, "I miei dati" in words and Rome's time."""

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Participant
from tests.server import bearer
from tests.test_api import create_table, join, post
from tests.test_console import console_url
from tests.test_console_more import console_headers
from tests.test_facilitation_api import public, run
from tests.test_organiser import admin_page
from tests.test_pages import csrf_of


def test_the_merges_list_names_what_was_merged_into_what(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    survivor = post(client, code, me, "Trasporto sociale per le frazioni")
    twin = post(client, code, me, "Un pulmino per chi abita lontano")
    merged = run(
        client, "POST", code, "/merges", json={"survivor_id": survivor, "proposal_ids": [twin]}
    )
    assert merged.status_code == 201, merged.text
    page = client.get(console_url(code)).text
    merges = page[page.index('id="merges-title"') : page.index('id="paper-title"')]
    assert "1 contributo unito in «Trasporto sociale per le frazioni»" in merges
    assert "«Un pulmino per chi abita lontano»" in merges


def disabled_fieldsets(html: str) -> int:
    return len(re.findall(r'<fieldset class="lock" disabled', html))


def test_a_closed_tables_console_disables_what_it_refuses_and_says_why(
    client: TestClient,
) -> None:
    _, code = create_table(client)
    me = join(client, code)
    post(client, code, me, "Sportello unico per le famiglie")
    run(client, "POST", code, "/tags", json={"name": "Servizi"})
    run(client, "POST", code, "/paper-participants", json={"name": "Anna Ferri"})
    open_page = client.get(console_url(code)).text
    assert disabled_fieldsets(open_page) == 0 and "locked-note" not in open_page
    run(client, "PUT", code, "/phase", json={"phase": "closed"})
    closed = client.get(console_url(code)).text
    assert "Il tavolo è chiuso: contributi, etichette, unioni" in closed
    # The bulk bar, the card's moderation, the tags and the paper panel: locked.
    assert disabled_fieldsets(closed) >= 4
    assert 'name="proposal_ids" value=' not in closed  # no selection boxes to tick
    # What a closed table still takes stays open: the phase, the screen, the synthesis.
    live = closed[closed.index('class="console-controls"') : closed.index('class="console-main')]
    assert "disabled" not in live.replace('data-shortcut="n" disabled', "")
    assert 'id="synthesis"' in closed and "Anteprima" in closed


def test_a_replaced_link_says_it_was_replaced_and_what_to_do(client: TestClient) -> None:
    event, code = create_table(client)
    first = client.post(
        f"/api/tables/{code}/facilitator-link", headers=bearer(event["moderator_token"])
    ).json()["token"]
    client.post(f"/api/tables/{code}/facilitator-link", headers=bearer(event["moderator_token"]))
    page = client.get(console_url(code, first))
    assert page.status_code == 403
    assert "è stato sostituito da un link più recente" in page.text
    assert "Chiedi il link attuale" in page.text


def test_the_synthesis_is_previewed_as_the_minutes_print_it_and_its_save_is_timed(
    client: TestClient,
) -> None:
    _, code = create_table(client)
    headers = console_headers(client, code)
    text = "## Priorità\n\n- **Trasporto** sociale\n- Sportello <script>alert(1)</script>"
    preview = client.post(
        console_url(code) + "synthesis/preview", data={"synthesis": text}, headers=headers
    )
    assert preview.status_code == 200
    assert "<strong>Trasporto</strong>" in preview.text and "<li>" in preview.text
    assert "<script>" not in preview.text and "&lt;script&gt;" in preview.text
    assert public(client, code)["seq"] == public(client, code)["seq"]  # nothing saved
    assert client.get(console_url(code)).text.count("Trasporto") == 0
    saved = client.post(
        console_url(code) + "synthesis",
        data={"facilitator_name": "Giulia Russo", "synthesis": text},
        headers=headers,
    )
    assert saved.status_code == 200
    assert re.search(r"Sintesi salvata alle \d{2}:\d{2}\.", saved.text), saved.text[-600:]


def test_a_paper_ballot_records_several_votes_at_once_or_none(client: TestClient, db: str) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 5, "max_per_proposal": 3})
    me = join(client, code)
    ids = [post(client, code, me, title) for title in ("Centro diurno", "Doposcuola", "Orti")]
    person: dict[str, Any] = run(
        client, "POST", code, "/paper-participants", json={"name": "Anna Ferri"}
    ).json()
    run(client, "PUT", code, "/phase", json={"phase": "voting"})
    page = client.get(console_url(code)).text
    ballot = page[
        page.index('class="ballot"') : page.index("</form>", page.index('class="ballot"'))
    ]
    # Every proposal by its number, as on the wall.
    assert [int(n) for n in re.findall(r'class="ballot-number">(\d+)<', ballot)] == [1, 2, 3]
    headers = console_headers(client, code)
    url = console_url(code) + f"paper/{person['id']}/ballot"
    seq = public(client, code)["seq"]
    recorded = client.post(
        url, data={"proposal_ids": [str(i) for i in ids], "dots": ["2", "0", "3"]}, headers=headers
    )
    assert recorded.status_code == 200 and "Voti registrati" in recorded.text
    tallies = {p["id"]: p["tally"] for p in public(client, code)["proposals"]}
    assert tallies == {ids[0]: 2, ids[1]: 0, ids[2]: 3}
    assert public(client, code)["seq"] == seq + 1  # one unit of work, one seq
    # Moving dots between proposals fits the budget whatever the order of the rows.
    moved = client.post(
        url, data={"proposal_ids": [str(i) for i in ids], "dots": ["0", "2", "3"]}, headers=headers
    )
    assert moved.status_code == 200
    # Over the budget: refused, and nothing of that ballot is kept.
    over = client.post(
        url, data={"proposal_ids": [str(i) for i in ids], "dots": ["3", "2", "3"]}, headers=headers
    )
    assert over.status_code == 409 and "bollini" in over.text.lower()
    tallies = {p["id"]: p["tally"] for p in public(client, code)["proposals"]}
    assert tallies == {ids[0]: 0, ids[1]: 2, ids[2]: 3}
    # The API takes the same ballot.
    api = run(
        client,
        "PUT",
        code,
        f"/paper-participants/{person['id']}/votes",
        json={"proposal_ids": ids, "dots": [1, 1, 1]},
    )
    assert api.status_code == 200, api.text
    assert {p["tally"] for p in public(client, code)["proposals"]} == {1}


def test_the_facilitator_link_page_has_a_qr_code_and_a_copy_button(client: TestClient) -> None:
    event, code = create_table(client)
    link = client.post(
        f"/api/tables/{code}/facilitator-link", headers=bearer(event["moderator_token"])
    ).json()
    page = client.get(console_url(code, link["token"]) + "link")
    assert page.status_code == 200
    assert 'data-copy="#facilitator-url"' in page.text and "Copia il link" in page.text
    assert '<script src="/static/js/copy.js" defer></script>' in page.text
    qr = client.get(console_url(code, link["token"]) + "link/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.headers["cache-control"] == "no-store"
    # The moderator's own token shows no facilitator link, nor its QR.
    assert client.get(console_url(code) + "link/qr.svg").status_code == 404


def test_a_new_moderator_link_asks_for_a_second_click(client: TestClient) -> None:
    create_table(client)
    page = admin_page(client)
    block = page[page.index('class="confirm"') :]
    block = block[: block.index("</details>")]
    # The first click only opens the details; the form that replaces the link is inside.
    assert "<summary" in block and "Nuovo link del moderatore…" in block
    assert block.index("<summary") < block.index("<form")
    assert "smette subito di funzionare" in block
    assert "Sì, sostituisci il link del moderatore" in block


def test_my_data_speaks_in_words_and_romes_time(client: TestClient, session: Session) -> None:
    for voting, said in (
        ({"mode": "approval"}, "Sostieni «Orti urbani condivisi»"),
        ({"mode": "dots", "dots": 5, "max_per_proposal": 3}, "Hai dato 2 bollini a «Orti"),
    ):
        _, code = create_table(client, voting)
        other = join(client, code)
        pid = post(client, code, other, "Orti urbani condivisi")
        page = client.get(f"/t/{code}").text
        client.post(f"/t/{code}/join", data={"csrf_token": csrf_of(page), "name": "Maria"})
        participant_id = max(p.id or 0 for p in session.exec(select(Participant)).all())
        run(client, "PUT", code, "/phase", json={"phase": "voting"})
        csrf = csrf_of(client.get(f"/t/{code}").text)
        dots = "1" if voting["mode"] == "approval" else "2"
        voted = client.post(
            f"/t/{code}/proposals/{pid}/vote", data={"dots": dots, "csrf_token": csrf}
        )
        assert voted.status_code in (200, 303), voted.text
        mine = client.get(f"/t/{code}/my-data").text
        assert said in mine, mine[mine.index("I miei voti") :][:400]
        assert "UTC" not in mine and ": 1<" not in mine
        joined = session.get(Participant, participant_id)
        assert joined is not None
        rome = joined.created_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Europe/Rome"))
        day = r"(lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica) \d+ \w+ \d{4}"
        assert re.search(rf"{day}, {rome:%H:%M}<", mine), mine[mine.index("Entrato il") :][:200]
