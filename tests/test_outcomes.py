"""What became of it: the coordinator records each priority's outcome (form, API), the public
page, its Atom feed and the public API list them with their history, with no personal data,
before and after the retention sweep."""

import datetime as dt
import io
import re
from dataclasses import dataclass
from html import unescape
from xml.etree import ElementTree as ET

import httpx
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from app.models import Event, OutcomeChange, Proposal, Table
from app.services import events, moderation, phases, privacy, proposals, voting
from app.services.access import new_facilitator_link
from tests.conftest import make_event, make_participant, make_table

ATOM = "{http://www.w3.org/2005/Atom}"
NAME = "Gianfranca Esposito"
ORG = "Cooperativa Sociale Il Girasole"
LONG = (
    "Un servizio di trasporto sociale a chiamata per le persone con disabilità che vivono "
    "nelle frazioni più lontane dell'Ambito"
)


@dataclass
class Closed:
    event: Event
    table: Table
    moderator: str
    coordinator: str
    first: Proposal  # most votes
    second: Proposal
    need: Proposal
    merged: Proposal


def _closed(session: Session) -> Closed:
    event, moderator = make_event(session)
    table = make_table(session, event, phase="collect")
    author, _ = make_participant(
        session, table, name=NAME, organisation=ORG, category="Ente del Terzo Settore"
    )
    voters = [make_participant(session, table)[0] for _ in range(3)]

    def post(title: str, kind: str = "proposal") -> Proposal:
        return proposals.post_proposal(session, participant=author, kind=kind, title=title).proposal

    first = post(LONG[:140])
    second = post("Sportello unico per l'ISEE e le pratiche della disabilità")
    need = post("Mancano educatori il sabato", kind="need")
    dup = post("Trasporto a chiamata nelle frazioni")
    merged = moderation.merge(session, table, survivor_id=first.id or 0, merged_ids=[dup.id or 0])
    assert merged
    phases.set_phase(session, table, "voting")
    for v in voters:
        voting.set_vote(session, participant=v, proposal_id=first.id or 0, dots=1)
    voting.set_vote(session, participant=voters[0], proposal_id=second.id or 0, dots=1)
    phases.set_phase(session, table, "closed")
    coordinator = events.new_coordinator_link(session, event)
    return Closed(event, table, moderator, coordinator, first, second, need, dup)


def _put(client: TestClient, token: str | None, pid: int, **body: object) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return client.put(f"/api/proposals/{pid}/outcome", json=body, headers=headers)


def test_coordinator_records_and_changes_an_outcome_and_the_public_sees_its_history(
    client: TestClient, session: Session
) -> None:
    known = _closed(session)
    pid = known.first.id or 0
    answer = client.put(
        f"/api/proposals/{pid}/outcome",
        json={
            "status": "in valutazione",
            "note": "All'esame dell'Ufficio di Piano",
            "date": "2025-01-20",
        },
        headers={"authorization": f"Bearer {known.coordinator}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] is True
    # The moderator can record it too; a double click records nothing new.
    for _ in range(2):
        again = client.put(
            f"/api/proposals/{pid}/outcome",
            json={
                "status": "accolta",
                "note": "Inserita nel Piano di Zona 2025-2027",
                "date": "2025-03-14",
            },
            headers={"authorization": f"Bearer {known.moderator}"},
        )
        assert again.status_code == 200, again.text
    assert again.json()["recorded"] is False
    public = client.get(f"/api/events/{known.event.id}/outcomes")
    assert public.status_code == 200
    body = public.json()
    [table] = body["tables"]
    first = table["priorities"][0]
    assert first["title"] == LONG[:140] and first["rank"] == 1
    assert first["outcome"] == {
        "status": "accolta",
        "note": "Inserita nel Piano di Zona 2025-2027",
        "date": "2025-03-14",
        "recorded_at": first["outcome"]["recorded_at"],
    }
    assert [h["status"] for h in first["history"]] == ["in valutazione", "accolta"]
    second = table["priorities"][1]
    assert second["outcome"] is None and second["history"] == []
    # Only proposals (actions) are priorities: not the need, not the merged duplicate.
    titles = [p["title"] for p in table["priorities"]]
    assert "Mancano educatori il sabato" not in titles
    assert "Trasporto a chiamata nelle frazioni" not in titles


def test_the_public_outcomes_carry_no_personal_data_nor_any_link(
    client: TestClient, session: Session
) -> None:
    known = _closed(session)
    _put(client, known.coordinator, known.first.id or 0, status="realizzata", date="2025-06-01")
    for path in (
        f"/api/events/{known.event.id}/outcomes",
        f"/esiti/{known.event.id}",
        f"/esiti/{known.event.id}/feed.atom",
    ):
        text = client.get(path).text
        assert NAME not in text and "Gianfranca" not in text, path
        assert ORG not in text and "Girasole" not in text, path
        assert "Ente del Terzo Settore" not in text, path  # no category, no figure by it
        assert known.coordinator not in text and known.moderator not in text, path
        assert known.table.code not in text, path  # the join code is not published either


def test_bad_outcomes_are_refused_and_change_nothing(client: TestClient, session: Session) -> None:
    known = _closed(session)
    pid = known.first.id or 0
    good = {"status": "accolta", "note": "", "date": "2025-03-14"}
    cases = [
        ({**good, "status": "approvata"}, 422, "status"),
        ({**good, "date": "14/03/2025"}, 422, "date"),
        ({**good, "date": "2025-02-30"}, 422, "date"),
        ({**good, "note": "x" * 301}, 422, "note"),
    ]
    for body, status, field in cases:
        answer = client.put(
            f"/api/proposals/{pid}/outcome",
            json=body,
            headers={"authorization": f"Bearer {known.coordinator}"},
        )
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["field"] == field
    assert _put(client, None, pid, **good).status_code == 401
    _other, other_moderator = make_event(session, title="Un altro evento")
    assert _put(client, other_moderator, pid, **good).status_code == 404
    assert _put(client, "not-a-token", pid, **good).status_code == 403
    facilitator = new_facilitator_link(session, known.table)  # runs the day's table only
    assert _put(client, facilitator, pid, **good).status_code == 403
    # Not priorities: a need, a merged duplicate.
    for not_a_priority in (known.need.id, known.merged.id):
        answer = _put(client, known.coordinator, not_a_priority or 0, **good)
        assert answer.status_code == 409, answer.text
    # A table reopened: its proposals are not priorities until it closes again.
    phases.set_phase(session, known.table, "voting")
    assert _put(client, known.coordinator, pid, **good).status_code == 409
    assert session.exec(select(OutcomeChange)).all() == []


def test_the_coordinator_records_an_outcome_on_its_page_with_htmx(
    client: TestClient, session: Session
) -> None:
    known = _closed(session)
    downloads = client.get(f"/c/{known.coordinator}")
    assert f"/c/{known.coordinator}/outcomes" in downloads.text
    page = client.get(f"/c/{known.coordinator}/outcomes")
    assert page.status_code == 200
    assert LONG[:140] in unescape(page.text) and "Sportello unico per l'ISEE" in unescape(page.text)
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert csrf
    path = f"/c/{known.coordinator}/outcomes/{known.second.id}"
    form = {"status": "non accolta", "date": "2025-04-02", "note": "Fuori dalle risorse del Fondo"}
    refused = client.post(path, data=form, headers={"hx-request": "true"})
    assert refused.status_code == 403  # no CSRF token
    saved = client.post(path, data={**form, "csrf_token": csrf[1]}, headers={"hx-request": "true"})
    assert saved.status_code == 200, saved.text
    assert "Non accolta" in saved.text and "Fuori dalle risorse del Fondo" in saved.text
    bad = client.post(
        path, data={**form, "date": "", "csrf_token": csrf[1]}, headers={"hx-request": "true"}
    )
    assert bad.status_code == 422 and bad.headers["hx-retarget"] == "#flash"
    public = client.get(f"/esiti/{known.event.id}")
    assert "Non accolta" in public.text and "Fuori dalle risorse del Fondo" in public.text


def test_the_atom_feed_parses_and_has_one_entry_per_recording(
    client: TestClient, session: Session
) -> None:
    known = _closed(session)
    _put(client, known.coordinator, known.first.id or 0, status="in valutazione", date="2025-01-20")
    _put(
        client,
        known.coordinator,
        known.first.id or 0,
        status="accolta",
        date="2025-03-14",
        note="Nel Piano <b>2025</b> & oltre",
    )
    feed = client.get(f"/esiti/{known.event.id}/feed.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)  # noqa: S314 (our own server's answer)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    newest = entries[0]
    assert newest.findtext(f"{ATOM}title") == f"{LONG[:140]}: Accolta"
    assert "Nel Piano <b>2025</b> & oltre" in (newest.findtext(f"{ATOM}summary") or "")
    ids = {e.findtext(f"{ATOM}id") for e in entries}
    assert len(ids) == 2
    for entry in entries:
        dt.datetime.fromisoformat((entry.findtext(f"{ATOM}updated") or "").replace("Z", "+00:00"))


def test_the_follow_up_outlives_the_retention_sweep(client: TestClient, session: Session) -> None:
    known = _closed(session)
    _put(client, known.coordinator, known.first.id or 0, status="accolta", date="2025-03-14")
    before = client.get(f"/api/events/{known.event.id}/outcomes").json()
    assert privacy.purge_expired(session, today=dt.date(2030, 1, 1))  # it erased people
    after = client.get(f"/api/events/{known.event.id}/outcomes").json()
    assert after == before
    page = client.get(f"/esiti/{known.event.id}")
    assert LONG[:140] in unescape(page.text) and "Accolta" in page.text
    # The privacy notice says so.
    notice = unescape(client.get(f"/t/{known.table.code}/privacy").text)
    assert "restano pubblici sulla pagina degli esiti" in notice


def test_the_closed_table_and_the_minutes_link_to_the_follow_up(
    client: TestClient, session: Session
) -> None:
    known = _closed(session)
    link = f"/esiti/{known.event.id}"
    assert link in client.get(f"/t/{known.table.code}").text
    auth = {"authorization": f"Bearer {known.moderator}"}
    for fmt in ("html", "md", "json"):
        report = client.get(f"/api/events/{known.event.id}/report.{fmt}", headers=auth)
        assert f"http://testserver{link}" in report.text, fmt
        table_report = client.get(f"/api/tables/{known.table.code}/report.{fmt}", headers=auth)
        assert f"http://testserver{link}" in table_report.text, fmt
    word = Document(
        io.BytesIO(client.get(f"/api/events/{known.event.id}/report.docx", headers=auth).content)
    )
    assert any(link in p.text for p in word.paragraphs)
    book = load_workbook(
        io.BytesIO(client.get(f"/api/events/{known.event.id}/report.xlsx", headers=auth).content)
    )
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert any(link in c for c in cells)


def test_an_open_table_is_not_on_the_follow_up_page(client: TestClient, session: Session) -> None:
    event, _ = make_event(session)
    table = make_table(session, event, phase="collect")
    who, _ = make_participant(session, table)
    proposals.post_proposal(
        session, participant=who, kind="proposal", title="Ancora in discussione"
    )
    assert client.get(f"/api/events/{event.id}/outcomes").json()["tables"] == []
    page = client.get(f"/esiti/{event.id}")
    assert "Ancora in discussione" not in page.text
    assert client.get("/esiti/999999").status_code == 404


def test_deleting_a_table_deletes_its_outcomes(client: TestClient, session: Session) -> None:
    known = _closed(session)
    _put(client, known.coordinator, known.first.id or 0, status="accolta", date="2025-03-14")
    privacy.delete_table(session, table=known.table)
    assert session.exec(select(OutcomeChange)).all() == []
