"""Questions and answers ("Domande e risposte", issue 20): a table's format, questions posted
and supported in one phase, the wall sorted by support (ties by time), questions marked
answered with a note (their support frozen), names only with consent, the minutes in every
format, and every door (the API, its table-scoped path, the console's form, the stream)."""

import io
import json
import threading
from typing import Any

import pytest
from docx import Document
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session

from app import i18n
from app.models import Participant, Table
from app.reports import data, formats
from app.services import (
    moderation,
    participants,
    phases,
    proposals,
    questions,
    screen,
    tables,
    voting,
)
from app.services import state as state_service
from app.services.errors import Conflict, Invalid
from tests.conftest import make_event
from tests.server import bearer
from tests.test_api import RUNNERS, create_event, join
from tests.test_live import participant_cookie, receive_until
from tests.test_pages import HTMX, csrf_of

QUESTIONS = (
    "Come si garantisce la continuità dei servizi quando cambia l'ente gestore?",
    "Perché le famiglie con disabilità aspettano più di sei mesi per la valutazione?",
    "È previsto un tavolo permanente con le realtà del Terzo Settore dopo il corso?",
    "Qual è il ruolo dei Comuni più piccoli nella co-programmazione dell'Ambito?",
)


# --- helpers -------------------------------------------------------------------------------


def qa_table(
    client: TestClient, phase: str = "collect", **fields: Any
) -> tuple[dict[str, Any], str]:
    event = create_event(client)
    response = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Welfare generativo: domande e risposte", "format": "qa", **fields},
        headers=bearer(event["moderator_token"]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "qa"
    code = str(response.json()["code"])
    RUNNERS[code] = event["moderator_token"]
    if phase != "preparation":
        moved = client.put(
            f"/api/tables/{code}/phase", json={"phase": phase}, headers=bearer(RUNNERS[code])
        )
        assert moved.status_code == 200, moved.text
    return event, code


def ask(client: TestClient, code: str, token: str, title: str) -> int:
    response = client.post(
        f"/api/tables/{code}/proposals",
        json={"kind": "proposal", "title": title},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def support(client: TestClient, token: str, pid: int, dots: int = 1) -> Any:
    return client.put(f"/api/proposals/{pid}/vote", json={"dots": dots}, headers=bearer(token))


def answered(client: TestClient, pid: int, token: str, **body: Any) -> Any:
    return client.put(
        f"/api/proposals/{pid}/answered", json={"answered": True, **body}, headers=bearer(token)
    )


def table_of(client: TestClient, code: str, token: str | None = None) -> dict[str, Any]:
    response = client.get(f"/api/tables/{code}", headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    return dict(response.json())


def db_table(session: Session, **fields: Any) -> Table:
    event, _ = make_event(session)
    table = tables.create_table(
        session,
        event=event,
        title="Welfare generativo",
        voting=tables.VotingRules.checked("approval"),
        format="qa",
    )
    phases.set_phase(session, table, "collect")
    return table


def person(session: Session, table: Table, **fields: Any) -> Participant:
    return participants.join(
        session, table=table, event=tables.event_of(session, table), **fields
    ).participant


# --- the format ------------------------------------------------------------------------------


def test_the_format_is_set_at_creation_and_shown_by_every_door(client: TestClient) -> None:
    _event, code = qa_table(client, phase="preparation")
    assert table_of(client, code)["format"] == "qa"
    assert table_of(client, code, RUNNERS[code])["format"] == "qa"
    # A tavolo is the default, as before.
    event = create_event(client)
    plain = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Tutela minori"},
        headers=bearer(event["moderator_token"]),
    )
    assert plain.json()["format"] == "tavolo"
    # An unknown format is a 422 that changes nothing.
    wrong = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Tutela minori", "format": "slido"},
        headers=bearer(event["moderator_token"]),
    )
    assert wrong.status_code == 422


def test_a_q_and_a_table_takes_one_support_per_question_and_refuses_dots(
    client: TestClient,
) -> None:
    event = create_event(client)
    refused = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Domande", "format": "qa", "voting": {"mode": "dots", "dots": 5}},
        headers=bearer(event["moderator_token"]),
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "voting"
    _event, code = qa_table(client, phase="preparation")
    patched = client.patch(
        f"/api/tables/{code}",
        json={"voting": {"mode": "dots", "dots": 5}},
        headers=bearer(RUNNERS[code]),
    )
    assert patched.status_code == 422 and patched.json()["field"] == "voting"
    assert table_of(client, code)["voting"] == {"mode": "approval", "weighting": "person"}


def test_patch_changes_the_format_until_the_table_opens(client: TestClient) -> None:
    event = create_event(client)
    made = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Tutela minori", "voting": {"mode": "dots", "dots": 5}},
        headers=bearer(event["moderator_token"]),
    )
    code = made.json()["code"]
    token = event["moderator_token"]
    to_qa = client.patch(f"/api/tables/{code}", json={"format": "qa"}, headers=bearer(token))
    assert to_qa.status_code == 200, to_qa.text
    # The format fixes its method: the dots give way to one support per question.
    assert to_qa.json()["format"] == "qa" and to_qa.json()["voting"] == {
        "mode": "approval",
        "weighting": "person",
    }
    back = client.patch(f"/api/tables/{code}", json={"format": "tavolo"}, headers=bearer(token))
    assert back.json()["format"] == "tavolo"
    client.put(f"/api/tables/{code}/phase", json={"phase": "collect"}, headers=bearer(token))
    client.put(f"/api/tables/{code}/phase", json={"phase": "preparation"}, headers=bearer(token))
    late = client.patch(f"/api/tables/{code}", json={"format": "qa"}, headers=bearer(token))
    assert late.status_code == 409 and late.json()["field"] == "format"
    assert table_of(client, code)["format"] == "tavolo"


def test_one_phase_opens_posting_and_supporting_together(session: Session) -> None:
    table = db_table(session)
    assert phases.can_post(table) and phases.can_vote(table)
    # Its phases: preparation, the questions, closed; a tavolo's others do not exist.
    with pytest.raises(Invalid):
        phases.set_phase(session, table, "voting")
    phases.step_phase(session, table, 1)
    assert session.get(Table, table.id).phase == "closed"  # type: ignore[union-attr]
    phases.step_phase(session, table, -1)
    assert session.get(Table, table.id).phase == "collect"  # type: ignore[union-attr]


def test_supports_are_shown_to_the_room_as_they_come(client: TestClient) -> None:
    _event, code = qa_table(client)
    alice, bob = join(client, code), join(client, code)
    pid = ask(client, code, alice, QUESTIONS[0])
    done = support(client, bob, pid)
    assert done.status_code == 200 and done.json()["tally"] == 1
    assert table_of(client, code)["proposals"][0]["tally"] == 1


# --- sorting ---------------------------------------------------------------------------------


def test_the_wall_sorts_by_support_and_ties_by_time(client: TestClient, app: FastAPI) -> None:
    _event, code = qa_table(client)
    people = [join(client, code) for _ in range(3)]
    first, second, third, fourth = (ask(client, code, people[0], q) for q in QUESTIONS)
    for token in people[:2]:
        support(client, token, third)
    support(client, people[0], second)
    support(client, people[1], fourth)
    # third (2), then the tie at 1 by time (second before fourth), then first (0).
    assert table_of(client, code)["order"] == [third, second, fourth, first]
    page = client.get(f"/t/{code}", headers=participant_cookie(app, people[2]))
    wall = page.text[page.text.index('id="cards-open"') :]
    positions = [wall.index(f'id="p-{pid}"') for pid in (third, second, fourth, first)]
    assert positions == sorted(positions)
    assert f'data-order="{third},{second},{fourth},{first}"' in page.text


def test_hidden_results_order_the_room_by_time_alone(client: TestClient) -> None:
    _event, code = qa_table(client)
    a, b = join(client, code), join(client, code)
    first, second = ask(client, code, a, QUESTIONS[0]), ask(client, code, a, QUESTIONS[1])
    support(client, b, second)
    client.patch(
        f"/api/tables/{code}/settings", json={"results_hidden": True}, headers=bearer(RUNNERS[code])
    )
    # The order would tell the tallies: the room sees posting order, the moderator the support.
    assert table_of(client, code)["order"] == [first, second]
    assert table_of(client, code, RUNNERS[code])["order"] == [second, first]


def test_the_stream_carries_the_order_after_each_support(client: TestClient) -> None:
    _event, code = qa_table(client)
    a, b = join(client, code), join(client, code)
    first, second = ask(client, code, a, QUESTIONS[0]), ask(client, code, a, QUESTIONS[1])
    with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["order"] == [first, second]
        support(client, b, second)
        text = receive_until(ws, lambda t: json.loads(t).get("order") == [second, first])
        assert json.loads(text)["tallies"][str(second)] == 1


def test_a_phone_s_push_carries_the_order_and_new_questions_go_last(
    client: TestClient, app: FastAPI
) -> None:
    _event, code = qa_table(client)
    a, b = join(client, code), join(client, code)
    first = ask(client, code, a, QUESTIONS[0])
    with client.websocket_connect(f"/t/{code}/ws", headers=participant_cookie(app, b)) as phone:
        phone.receive_text()
        second = ask(client, code, a, QUESTIONS[1])
        text = receive_until(phone, lambda t: QUESTIONS[1][:20] in t)
        # At the end of the open questions: the cards above it do not move under a thumb.
        assert 'hx-swap-oob="beforeend:#cards-open"' in text
        support(client, b, second)
        text = receive_until(phone, lambda t: f'data-order="{second},{first}"' in t)
        assert 'id="wall-order"' in text and 'hx-swap-oob="true"' in text


def test_the_projector_lists_the_open_questions_by_support(client: TestClient) -> None:
    _event, code = qa_table(client)
    a, b = join(client, code), join(client, code)
    first, second = ask(client, code, a, QUESTIONS[0]), ask(client, code, a, QUESTIONS[1])
    support(client, b, second)
    client.put(f"/api/tables/{code}/screen", json={"mode": "wall"}, headers=bearer(RUNNERS[code]))
    page = client.get(f"/t/{code}/screen").text
    assert 'class="qa-board"' in page
    assert page.index(f'id="screen-q-{second}"') < page.index(f'id="screen-q-{first}"')
    with client.websocket_connect(f"/t/{code}/screen/ws") as screen_ws:
        screen_ws.receive_text()
        support(client, a, first)
        support(client, a, second)
        # A support is a patch, not a redraw: the new numbers and the order, which the
        # projector applies to its list (tests/browser/test_qa.py watches it move).
        text = receive_until(
            screen_ws, lambda t: f'id="screen-support-{second}"' in t and "2</strong>" in t
        )
        assert 'class="qa-board"' not in text
        assert f'data-order="{second},{first}"' in text


# --- answered --------------------------------------------------------------------------------


def test_an_answered_question_leaves_the_order_and_its_support_is_frozen(
    client: TestClient,
) -> None:
    _event, code = qa_table(client)
    a, b, c = join(client, code), join(client, code), join(client, code)
    first, second = ask(client, code, a, QUESTIONS[0]), ask(client, code, a, QUESTIONS[1])
    support(client, b, first)
    done = answered(client, first, RUNNERS[code], note="Risponde l'assessora: entro marzo")
    assert done.status_code == 200, done.text
    shown = table_of(client, code)
    assert shown["order"] == [second]
    card = next(p for p in shown["proposals"] if p["id"] == first)
    assert card["answered"] is True and card["answer_note"] == "Risponde l'assessora: entro marzo"
    # Frozen: neither a new support nor a withdrawn one, with a clear error.
    refused = support(client, c, first)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "This question has been answered: its support is closed"
    assert support(client, b, first, 0).status_code == 409
    assert table_of(client, code)["proposals"][0]["tally"] == 1
    # Opened again, it takes supports and is sorted with the others.
    reopened = client.put(
        f"/api/proposals/{first}/answered", json={"answered": False}, headers=bearer(RUNNERS[code])
    )
    assert reopened.status_code == 200
    assert support(client, c, first).status_code == 200
    assert table_of(client, code)["order"] == [first, second]


def test_the_answered_door_is_the_runners_alone(client: TestClient) -> None:
    _event, code = qa_table(client)
    a = join(client, code)
    pid = ask(client, code, a, QUESTIONS[0])
    assert client.put(f"/api/proposals/{pid}/answered", json={"answered": True}).status_code == 401
    assert answered(client, pid, a).status_code == 403  # a participant
    assert answered(client, pid, "nonsense").status_code == 403
    _other_event, other = qa_table(client)
    assert answered(client, pid, RUNNERS[other]).status_code == 403  # another table's moderator
    # An unknown id answers as a table the token does not run: ids are not told apart.
    assert answered(client, 999999, RUNNERS[code]).status_code == 403
    # The facilitator's link runs it too.
    link = client.post(f"/api/tables/{code}/facilitator-link", headers=bearer(RUNNERS[code]))
    assert link.status_code in (200, 201), link.text
    assert answered(client, pid, link.json()["token"]).status_code == 200
    # Bad input: a note too long, a field unknown; nothing changes.
    long = answered(client, pid, RUNNERS[code], note="x" * 301)
    assert long.status_code == 422 and long.json()["field"] == "note"
    extra = answered(client, pid, RUNNERS[code], who="me")
    assert extra.status_code == 422
    assert table_of(client, code)["proposals"][0]["answer_note"] == ""
    # The table-scoped path of the actions' list reaches the same service.
    scoped = client.put(
        f"/api/tables/{code}/proposals/{pid}/answered",
        json={"answered": True, "note": "Risposta in aula"},
        headers=bearer(RUNNERS[code]),
    )
    assert scoped.status_code == 200
    assert table_of(client, code)["proposals"][0]["answer_note"] == "Risposta in aula"


def test_a_tavolo_marks_nothing_answered(client: TestClient) -> None:
    from tests.test_api import create_table, post

    _event, code = create_table(client)
    pid = post(client, code, join(client, code))
    refused = answered(client, pid, RUNNERS[code])
    assert refused.status_code == 409
    assert refused.json()["detail"] == "Only a questions and answers table marks questions answered"


def test_the_console_marks_a_question_answered_with_its_note(client: TestClient) -> None:
    _event, code = qa_table(client)
    pid = ask(client, code, join(client, code), QUESTIONS[2])
    console = f"/run/{RUNNERS[code]}/{code}/"
    page = client.get(console).text
    assert f'action="proposals/{pid}/answered"' in page
    refused = client.post(console + f"proposals/{pid}/answered", data={"answered": "true"})
    assert refused.status_code == 403  # no CSRF token
    done = client.post(
        console + f"proposals/{pid}/answered",
        data={"answered": "true", "note": "Sì, da gennaio", "csrf_token": csrf_of(page)},
        headers=HTMX,
    )
    assert done.status_code == 200, done.text
    page = client.get(console).text
    assert "Sì, da gennaio" in page and "Riapri la domanda" in page


def test_an_answered_question_is_not_merged_but_can_be_hidden(session: Session) -> None:
    table = db_table(session)
    me = person(session, table)
    one = proposals.post_proposal(session, participant=me, kind="proposal", title=QUESTIONS[0])
    two = proposals.post_proposal(session, participant=me, kind="proposal", title=QUESTIONS[1])
    ids = (one.proposal.id or 0, two.proposal.id or 0)
    questions.set_answered(session, table, ids[0], answered=True, note="")
    with pytest.raises(Conflict):
        moderation.merge(session, table, survivor_id=ids[1], merged_ids=[ids[0]])
    moderation.hide(session, table, ids[0])
    with pytest.raises(Conflict):  # only a question on the wall
        questions.set_answered(session, table, ids[0], answered=False)
    # The same state again changes nothing: no seq spent, nothing pushed.
    assert questions.set_answered(session, table, ids[1], answered=False).seq is None


def test_a_spotlit_question_can_be_answered_and_stays_in_the_spotlight(session: Session) -> None:
    table = db_table(session)
    me = person(session, table)
    pid = proposals.post_proposal(
        session, participant=me, kind="proposal", title=QUESTIONS[3]
    ).proposal.id
    screen.set_mode(session, table, "spotlight", spotlight_id=pid)
    questions.set_answered(session, table, pid or 0, answered=True, note="Vedi slide 12")
    current = state_service.table_state(session, table)
    assert current.spotlight is not None and current.spotlight.answered


# --- pre-moderation and names ----------------------------------------------------------------


def test_pre_moderated_questions_enter_the_order_once_accepted(client: TestClient) -> None:
    _event, code = qa_table(client)
    client.patch(
        f"/api/tables/{code}/settings", json={"premoderation": True}, headers=bearer(RUNNERS[code])
    )
    a = join(client, code)
    pid = ask(client, code, a, "Domanda offensiva o fuori tema?")
    assert table_of(client, code)["order"] == []
    assert support(client, join(client, code), pid).status_code == 409  # not on the wall
    client.post(f"/api/tables/{code}/proposals/{pid}/accept", headers=bearer(RUNNERS[code]))
    assert table_of(client, code)["order"] == [pid]


def test_questions_are_anonymous_unless_their_author_consented(session: Session) -> None:
    table = db_table(session)
    named = person(session, table, name="Maria Rossi", named_in_minutes=True)
    shy = person(session, table, name="Luca Bianchi")  # a name, but no consent
    post = proposals.post_proposal
    signed = post(session, participant=named, kind="proposal", title=QUESTIONS[0]).proposal
    anonymous = post(session, participant=shy, kind="proposal", title=QUESTIONS[1]).proposal
    views = {p.id: p for p in state_service.table_state(session, table).proposals}
    assert views[signed.id or 0].author_name == "Maria Rossi"
    assert views[anonymous.id or 0].author_name == ""
    # A tavolo never names an author on its wall, consent or not.
    event, _ = make_event(session)
    tavolo = tables.create_table(
        session, event=event, title="Tutela minori", voting=tables.VotingRules.checked("approval")
    )
    phases.set_phase(session, tavolo, "collect")
    also = person(session, tavolo, name="Maria Rossi", named_in_minutes=True)
    post(session, participant=also, kind="proposal", title=QUESTIONS[2])
    assert state_service.table_state(session, tavolo).proposals[0].author_name == ""


def test_the_join_page_asks_consent_for_the_questions(client: TestClient) -> None:
    _event, code = qa_table(client)
    page = client.get(f"/t/{code}").text  # not joined yet: the join form
    assert "Il mio nome può comparire con le mie domande, sullo schermo e nel verbale" in page
    assert "le tue domande sono anonime" in page


def test_the_phone_asks_a_question_without_choosing_a_kind(
    client: TestClient, app: FastAPI
) -> None:
    _event, code = qa_table(client)
    token = join(client, code)
    page = client.get(f"/t/{code}", headers=participant_cookie(app, token))
    assert "Fai una domanda" in page.text and 'name="kind" value="proposal"' in page.text
    assert 'id="kind-need"' not in page.text
    assert 'id="new-order"' in page.text and "Nuove domande" in page.text
    assert "Domande aperte" in page.text  # the phase, in the format's words


# --- the minutes -----------------------------------------------------------------------------


def closed_table_with_answers(session: Session) -> Table:
    table = db_table(session)
    people = [
        person(session, table, name=f"Persona {i}", category="Ente del Terzo Settore")
        for i in range(3)
    ]
    named = person(session, table, name="Maria Rossi", named_in_minutes=True)
    post = proposals.post_proposal
    asked = [
        post(session, participant=who, kind="proposal", title=title).proposal.id or 0
        for who, title in zip((named, *people), QUESTIONS, strict=True)
    ]
    for who in people:
        voting.set_vote(session, participant=who, proposal_id=asked[2], dots=1)
    voting.set_vote(session, participant=people[0], proposal_id=asked[1], dots=1)
    questions.set_answered(
        session, table, asked[2], answered=True, note="Sì: un tavolo ogni tre mesi, dal 2025"
    )
    phases.set_phase(session, table, "closed")
    return session.get(Table, table.id) or table


def test_the_minutes_list_the_questions_by_support_with_their_answers(session: Session) -> None:
    table = closed_table_with_answers(session)
    report = data.build_table_report(session, table, min_group=3)
    assert report.questions and [line.title for line in report.lines] == [
        QUESTIONS[2],
        QUESTIONS[1],
        QUESTIONS[0],
        QUESTIONS[3],
    ]
    note = "Sì: un tavolo ogni tre mesi, dal 2025"
    with i18n.using_locale("it"):
        rendered = {f.key: f.table(report, None) for f in formats.FORMATS}
    html = rendered["html"].decode()
    assert "Domande per sostegno" in html and "Proposte per tipologia" not in html
    assert "Domande aperte" in html and "Raccolta idee" not in html  # the timeline's words
    assert html.index(QUESTIONS[2]) < html.index(QUESTIONS[1].replace("'", "&#39;"))
    assert f"Risposta data: {note}" in html and "Senza risposta" in html
    assert "posta da Maria Rossi" in html and "anonima" in html
    md = rendered["md"].decode()
    assert "## Domande per sostegno" in md and f"Risposta data: {note}" in md
    assert md.index(QUESTIONS[2][:30]) < md.index(QUESTIONS[0][:30])
    csv_rows = rendered["csv"].decode("utf-8-sig").splitlines()
    assert csv_rows[0].endswith("Risposta data;Nota sulla risposta;Posta da")
    assert note in csv_rows[1] and csv_rows[1].startswith("Welfare generativo;1;")
    opendata = json.loads(rendered["json"])
    assert opendata["format"] == "qa"
    first = opendata["proposals"][0]
    assert first["answered"] is True and first["answer_note"] == note
    assert [p["asked_by"] for p in opendata["proposals"]] == [None, None, "Maria Rossi", None]
    doc = Document(io.BytesIO(rendered["docx"]))
    cells = " ".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert f"Risposta data: {note}" in cells and "posta da Maria Rossi" in cells
    sheet = load_workbook(io.BytesIO(rendered["xlsx"])).worksheets[0]
    values = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert note in values and "Maria Rossi" in values
    pdf = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered["pdf"])).pages)
    assert "Domande per sostegno" in pdf and "un tavolo ogni tre mesi" in pdf


def test_a_draft_names_no_asker(session: Session) -> None:
    table = db_table(session)
    named = person(session, table, name="Maria Rossi", named_in_minutes=True)
    for i in range(3):
        person(session, table, name=f"Persona {i}")
    proposals.post_proposal(session, participant=named, kind="proposal", title=QUESTIONS[0])
    report = data.build_table_report(session, table, min_group=3)
    assert report.draft and report.lines[0].asker == ""
    with i18n.using_locale("it"):
        assert "Maria Rossi" not in formats.get("html").table(report, None).decode()


def test_the_next_spotlight_is_the_most_supported_open_question(session: Session) -> None:
    table = db_table(session)
    me, other = person(session, table), person(session, table)
    post = proposals.post_proposal
    first, second, third = (
        post(session, participant=me, kind="proposal", title=q).proposal.id or 0
        for q in QUESTIONS[:3]
    )
    voting.set_vote(session, participant=other, proposal_id=third, dots=1)
    questions.set_answered(session, table, third, answered=True, note="")
    voting.set_vote(session, participant=other, proposal_id=second, dots=1)
    screen.step_spotlight(session, table, 1)
    assert session.get(Table, table.id).spotlight_id == second  # type: ignore[union-attr]
    screen.step_spotlight(session, table, 1)  # then the next open one; the answered is skipped
    assert session.get(Table, table.id).spotlight_id == first  # type: ignore[union-attr]


def test_the_console_s_edit_form_changes_the_format_until_the_table_opens(
    client: TestClient,
) -> None:
    event = create_event(client)
    made = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Tutela minori"},
        headers=bearer(event["moderator_token"]),
    ).json()
    code, token = made["code"], event["moderator_token"]
    console = f"/run/{token}/{code}/"
    page = client.get(console).text
    assert 'name="format" value="qa"' in page
    saved = client.post(
        console + "table",
        data={"format": "qa", "csrf_token": csrf_of(page), "title": "Tutela minori"},
        headers=HTMX,
    )
    assert saved.status_code == 200, saved.text
    assert table_of(client, code)["format"] == "qa"
    client.put(f"/api/tables/{code}/phase", json={"phase": "collect"}, headers=bearer(token))
    page = client.get(console).text
    assert "il formato non può più cambiare" in page
    refused = client.post(
        console + "table",
        data={"format": "tavolo", "csrf_token": csrf_of(page), "title": "Tutela minori"},
        headers=HTMX,
    )
    assert refused.status_code == 409
    assert table_of(client, code)["format"] == "qa"


def test_supports_racing_the_answer_are_all_counted_or_refused(client: TestClient) -> None:
    """Supports sent while the moderator marks the question answered: each is either in the
    frozen tally or refused with 409, never lost nor counted after the freeze."""
    _event, code = qa_table(client)
    pid = ask(client, code, join(client, code), QUESTIONS[1])
    tokens = [join(client, code) for _ in range(24)]
    statuses: list[int] = []
    lock = threading.Lock()

    def one(token: str) -> None:
        status = support(client, token, pid).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one, args=(t,)) for t in tokens]
    for thread in threads[:12]:
        thread.start()
    assert answered(client, pid, RUNNERS[code], note="Risposta in diretta").status_code == 200
    for thread in threads[12:]:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) <= [200, 409] and len(statuses) == 24
    tally = table_of(client, code)["proposals"][0]["tally"]
    assert tally == statuses.count(200) and statuses.count(409) >= 12


def test_hostile_text_stays_text_on_every_screen_and_in_the_minutes(
    client: TestClient, app: FastAPI
) -> None:
    _event, code = qa_table(client)
    token = join(client, code)
    pid = ask(client, code, token, '<script>alert("x")</script> è vero?')
    answered(client, pid, RUNNERS[code], note='<img src=x onerror="alert(1)"> sì')
    client.put(f"/api/tables/{code}/screen", json={"mode": "wall"}, headers=bearer(RUNNERS[code]))
    for page in (
        client.get(f"/t/{code}/screen").text,
        client.get(f"/t/{code}", headers=participant_cookie(app, token)).text,
        client.get(f"/run/{RUNNERS[code]}/{code}/").text,
    ):
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=" in client.get(f"/run/{RUNNERS[code]}/{code}/").text


def test_the_event_s_minutes_count_a_q_and_a_table_s_supports(session: Session) -> None:
    table = closed_table_with_answers(session)
    event = tables.event_of(session, table)
    report = data.build_event_report(session, event, min_group=3)
    with i18n.using_locale("it"):
        html = formats.get("html").event(report, None).decode()
        assert "Domande e risposte" in html and "3 sostegni" in html
        md = formats.get("md").event(report, None).decode()
        assert "Domande e risposte" in md and "**3** sostegni" in md
        doc = Document(io.BytesIO(formats.get("docx").event(report, None)))
        words = " ".join(p.text for p in doc.paragraphs)
        assert "Domande e risposte" in words and "3 sostegni" in words


def test_the_api_names_a_consenting_asker_only(client: TestClient) -> None:
    _event, code = qa_table(client)
    named = join(client, code, name="Maria Rossi", named_in_minutes=True)  # type: ignore[arg-type]
    shy = join(client, code, name="Luca Bianchi")
    ask(client, code, named, QUESTIONS[0])
    ask(client, code, shy, QUESTIONS[1])
    assert [p["asked_by"] for p in table_of(client, code)["proposals"]] == ["Maria Rossi", None]
