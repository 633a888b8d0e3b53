"""The plenary: every table's top priorities side by side, the themes that came up at several
tables (suggested, then confirmed or dismissed by the event's moderator, never touching a
table's tallies), the needs no action answers and the resources offered; live over the
event's one stream, with no figure where a table hides its results."""

import io
import json
import re
from dataclasses import dataclass
from html import unescape

from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from app.models import Event, PlenaryTheme, Proposal, Table, Vote
from app.services import (
    links,
    outcomes,
    phases,
    plenary,
    privacy,
    proposals,
    screen,
    themes,
    voting,
)
from app.services.errors import Invalid, NotFound
from app.services.ranking import adopted_ranking
from tests.conftest import ADMIN_TOKEN, make_event, make_participant, make_table
from tests.test_consensus import TITLES, _worked_table

TRANSPORT_A = "Trasporto sociale a chiamata per le persone con disabilità nelle frazioni"
TRANSPORT_B = "Trasporti sociali a chiamata per gli anziani delle frazioni più lontane"
DAY_CENTRE = "Centro diurno aperto anche il sabato e nei mesi estivi"
SAD = "Sportello unico per l'assistenza domiciliare (SAD e ADI) in ogni Comune"
NEED = "Mancano educatori per l'assistenza domiciliare dei ragazzi con autismo"
RESOURCE = "Due educatori della cooperativa, 10 ore a settimana"
HIDDEN = "Doposcuola gratuito nei quartieri con mediatori culturali"


@dataclass
class Hall:
    event: Event
    moderator: str
    disability: Table
    elderly: Table
    schools: Table
    transport_a: Proposal
    transport_b: Proposal


def _rename(session: Session, table: Table, title: str) -> Table:
    table.title = title
    session.add(table)
    session.commit()
    return table


def _hall(session: Session) -> Hall:
    event, moderator = make_event(session)
    disability = make_table(session, event)
    elderly = _rename(session, make_table(session, event), "Anziani e domiciliarità")
    schools = _rename(session, make_table(session, event), "Povertà educativa e scuola")
    posts: dict[str, Proposal] = {}
    for table, items in (
        (
            disability,
            [
                (TRANSPORT_A, "proposal"),
                (DAY_CENTRE, "proposal"),
                (NEED, "need"),
                (RESOURCE, "resource"),
            ],
        ),
        (elderly, [(TRANSPORT_B, "proposal"), (SAD, "proposal")]),
        (schools, [(HIDDEN, "proposal")]),
    ):
        author, _ = make_participant(session, table, name="Giulia Bianchi", organisation="Caritas")
        for title, kind in items:
            posts[title] = proposals.post_proposal(
                session, participant=author, kind=kind, title=title
            ).proposal
    # The resource is pledged to the day centre (services/links.py): the plenary lists the
    # resources pledged across the event.
    links.pledge(
        session,
        disability,
        proposal_id=posts[DAY_CENTRE].id or 0,
        resource_id=posts[RESOURCE].id or 0,
        offer="10 ore a settimana",
        organisation="Cooperativa Il Melograno",
        by=None,
    )
    for table, votes in (
        (disability, {TRANSPORT_A: 3, DAY_CENTRE: 1}),
        (elderly, {TRANSPORT_B: 2, SAD: 1}),
        (schools, {HIDDEN: 2}),
    ):
        phases.set_phase(session, table, "voting")
        voters = [make_participant(session, table)[0] for _ in range(3)]
        for title, count in votes.items():
            for voter in voters[:count]:
                voting.set_vote(
                    session, participant=voter, proposal_id=posts[title].id or 0, dots=1
                )
        phases.set_phase(session, table, "closed")
    schools = session.get(Table, schools.id, populate_existing=True) or schools
    schools.results_hidden = True
    session.add(schools)
    session.commit()
    return Hall(
        event, moderator, disability, elderly, schools, posts[TRANSPORT_A], posts[TRANSPORT_B]
    )


def test_themes_fold_accents_and_apostrophes_and_need_two_tables() -> None:
    a = themes.ThemePost(1, 10, "Più attività per l'autonomia", kind="proposal")
    b = themes.ThemePost(2, 11, "Piu' attivita per l’autonomia dei ragazzi", kind="proposal")
    c = themes.ThemePost(3, 10, "Più attività per l'autonomia", kind="proposal")  # a's table
    groups = themes.suggest([a, b, c])
    assert [sorted(p.id for p in g) for g in groups] == [[1, 2, 3]]
    # Two posts of one table alone are never a theme (the table merges its duplicates).
    assert themes.suggest([a, c]) == []
    # Unrelated wording is not grouped; an offer never joins a request.
    assert themes.suggest([a, themes.ThemePost(4, 11, "Orti urbani condivisi")]) == []
    offer = themes.ThemePost(5, 11, "Più attività per l'autonomia", kind="resource")
    assert themes.suggest([a, offer]) == []
    # The field's glossary: an abbreviation meets its expansion.
    sad = themes.ThemePost(6, 10, "Potenziare il SAD nei piccoli Comuni", kind="proposal")
    long = themes.ThemePost(
        7, 11, "Potenziare l'assistenza domiciliare nei piccoli Comuni", kind="proposal"
    )
    assert [sorted(p.id for p in g) for g in themes.suggest([sad, long])] == [[6, 7]]


def test_the_plenary_puts_the_tables_side_by_side(client: TestClient, session: Session) -> None:
    hall = _hall(session)
    page = client.get(f"/m/{hall.moderator}/plenary")
    assert page.status_code == 200
    text = unescape(page.text)
    assert f'ws-connect="/m/{hall.moderator}/plenary/ws"' in page.text
    # Each table's top priorities, in the ranking it adopted, with their figures.
    assert text.index(TRANSPORT_A) < text.index(DAY_CENTRE)
    assert "3 voti" in text and "2 voti" in text
    # A table that hides its results shows neither its order nor its figures.
    assert "I risultati di questo tavolo non sono ancora mostrati." in text
    assert HIDDEN not in text.split('id="plenary-themes"')[0]
    # Unanswered needs, resources offered.
    assert NEED in text and RESOURCE in text
    # A theme across the two tables that both asked for transport, suggested.
    [theme] = plenary.plenary(session, hall.event).suggested
    assert {i.title for i in theme.items} == {TRANSPORT_A, TRANSPORT_B}
    assert theme.tables == 2
    assert "Giulia Bianchi" not in text and "Caritas" not in text
    # The event's page links to it.
    assert f"/m/{hall.moderator}/plenary" in client.get(f"/m/{hall.moderator}").text


def test_the_moderator_confirms_a_theme_and_no_tally_moves(
    client: TestClient, session: Session
) -> None:
    hall = _hall(session)
    votes_before = sorted(
        (v.participant_id, v.proposal_id, v.dots) for v in session.exec(select(Vote))
    )
    page = client.get(f"/m/{hall.moderator}/plenary")
    csrf = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page.text)
    assert csrf
    key = plenary.theme_key([hall.transport_a.id or 0, hall.transport_b.id or 0])
    path = f"/m/{hall.moderator}/plenary/themes"
    assert client.post(path, data={"posts": key, "decision": "confirmed"}).status_code == 403
    done = client.post(
        path,
        data={"posts": key, "decision": "confirmed"},
        headers={"hx-request": "true", "x-csrf-token": csrf[1]},
    )
    assert done.status_code == 200 and "Tema confermato" in done.text
    now = plenary.plenary(session, hall.event)
    assert [t.title for t in now.confirmed] == [
        TRANSPORT_B if len(TRANSPORT_B) < len(TRANSPORT_A) else TRANSPORT_A
    ]
    assert now.suggested == ()
    votes_after = sorted(
        (v.participant_id, v.proposal_id, v.dots) for v in session.exec(select(Vote))
    )
    assert votes_after == votes_before
    api = client.get(
        f"/api/tables/{hall.disability.code}", headers={"authorization": f"Bearer {hall.moderator}"}
    ).json()
    assert {p["title"]: p["tally"] for p in api["proposals"]}[TRANSPORT_A] == 3
    # Taken back, it is a suggestion again; dismissed, it is gone for good.
    [row] = session.exec(select(PlenaryTheme)).all()
    client.post(
        f"/m/{hall.moderator}/plenary/themes/{row.id}/forget",
        headers={"hx-request": "true", "x-csrf-token": csrf[1]},
    )
    assert len(plenary.plenary(session, hall.event).suggested) == 1
    client.post(
        path,
        data={"posts": key, "decision": "dismissed"},
        headers={"hx-request": "true", "x-csrf-token": csrf[1]},
    )
    session.expire_all()  # the app's sessions wrote; this one's cache is older
    again = plenary.plenary(session, hall.event)
    assert again.suggested == () and again.confirmed == ()


def test_bad_themes_are_refused(session: Session) -> None:
    hall = _hall(session)
    other, _ = make_event(session, title="Un altro evento")
    one_table = [hall.transport_a.id or 0]
    for ids, error in (
        (one_table, Invalid),
        ([hall.transport_a.id or 0, 999_999], NotFound),
    ):
        try:
            plenary.decide_theme(session, event=hall.event, post_ids=ids, decision="confirmed")
        except error:
            pass
        else:
            raise AssertionError(ids)
    try:
        plenary.decide_theme(
            session,
            event=other,
            post_ids=[hall.transport_a.id or 0, hall.transport_b.id or 0],
            decision="confirmed",
        )
    except NotFound:
        pass
    else:
        raise AssertionError("another event's moderator decided this event's theme")
    assert session.exec(select(PlenaryTheme)).all() == []


def test_the_plenary_api(client: TestClient, session: Session) -> None:
    hall = _hall(session)
    auth = {"authorization": f"Bearer {hall.moderator}"}
    assert client.get(f"/api/events/{hall.event.id}/plenary").status_code == 401
    body = client.get(f"/api/events/{hall.event.id}/plenary", headers=auth).json()
    by_title = {t["title"]: t for t in body["tables"]}
    assert by_title["Povertà educativa e scuola"]["tallies_shown"] is False
    assert by_title["Povertà educativa e scuola"]["priorities"] == []
    assert [p["tally"] for p in by_title["Anziani e domiciliarità"]["priorities"]] == [2, 1]
    assert [n["title"] for n in body["unanswered_needs"]] == [NEED]
    [theme] = body["themes"]
    ids = [p["id"] for p in theme["posts"]]
    confirmed = client.post(
        f"/api/events/{hall.event.id}/plenary/themes",
        json={"posts": ids, "decision": "confirmed"},
        headers=auth,
    )
    assert confirmed.status_code == 200
    assert [t["decision"] for t in confirmed.json()["themes"]] == ["confirmed"]
    bad = client.post(
        f"/api/events/{hall.event.id}/plenary/themes",
        json={"posts": ids, "decision": "maybe"},
        headers=auth,
    )
    assert bad.status_code == 422
    theme_id = confirmed.json()["themes"][0]["id"]
    gone = client.delete(f"/api/events/{hall.event.id}/plenary/themes/{theme_id}", headers=auth)
    assert [t["decision"] for t in gone.json()["themes"]] == [None]


def test_the_plenary_follows_the_tables_live(client: TestClient, session: Session) -> None:
    hall = _hall(session)
    phases.set_phase(session, hall.elderly, "collect")
    with client.websocket_connect(f"/m/{hall.moderator}/plenary/ws") as ws:
        assert 'id="plenary"' in ws.receive_text()  # the first drawing
        joined = client.post(f"/api/tables/{hall.elderly.code}/participants", json={})
        token = joined.json()["token"]
        new = "Telesoccorso gratuito per chi vive solo"
        posted = client.post(
            f"/api/tables/{hall.elderly.code}/proposals",
            json={"kind": "need", "title": new},
            headers={"authorization": f"Bearer {token}"},
        )
        assert posted.status_code == 201
        for _ in range(20):
            if new in unescape(ws.receive_text()):
                break
        else:
            raise AssertionError("the plenary never showed the new need")


def test_the_plenary_is_the_first_chapter_of_the_minutes_in_every_format(
    client: TestClient, session: Session
) -> None:
    hall = _hall(session)
    plenary.decide_theme(
        session,
        event=hall.event,
        post_ids=[hall.transport_a.id or 0, hall.transport_b.id or 0],
        decision="confirmed",
    )
    auth = {"authorization": f"Bearer {hall.moderator}"}

    def get(fmt: str) -> bytes:
        answer = client.get(f"/api/events/{hall.event.id}/report.{fmt}", headers=auth)
        assert answer.status_code == 200, fmt
        return answer.content

    theme = min(TRANSPORT_A, TRANSPORT_B, key=len)
    for fmt in ("html", "md"):
        text = unescape(get(fmt).decode())
        first = text.index("La plenaria")
        assert first < text.index("Partecipazione per tipologia e tavolo"), fmt
        assert text.index(theme, first) and text.index(NEED, first) and text.index(RESOURCE, first)
    doc = json.loads(get("json"))
    chapter = doc["plenary"]
    assert [t["title"] for t in chapter["themes"]] == [theme]
    assert [n["title"] for n in chapter["unanswered_needs"]] == [NEED]
    by_table = {p["table"]: p for p in chapter["priorities"]}
    assert [x["title"] for x in by_table["Anziani e domiciliarità"]["top"]] == [TRANSPORT_B, SAD]
    # The minutes print every tally: the table that hid its results from the room too.
    assert [x["votes"] for x in by_table["Povertà educativa e scuola"]["top"]] == [2]
    word = Document(io.BytesIO(get("docx")))
    headings = [
        p.text for p in word.paragraphs if p.style is not None and "Heading" in p.style.name
    ]
    assert headings.index("La plenaria") < headings.index("Partecipazione per tipologia e tavolo")
    assert any(theme in p.text for p in word.paragraphs)
    book = load_workbook(io.BytesIO(get("xlsx")))
    assert book.sheetnames[:2] == ["Sintesi", "La plenaria"]
    cells = [c.value for row in book["La plenaria"].iter_rows() for c in row]
    assert NEED in cells and RESOURCE in cells and f"Tema: {theme}" in cells


def test_hostile_ids_and_text_are_refused_or_inert(client: TestClient, session: Session) -> None:
    hall = _hall(session)
    auth = {"authorization": f"Bearer {hall.moderator}"}
    huge = client.post(
        f"/api/events/{hall.event.id}/plenary/themes",
        json={"posts": [hall.transport_a.id, -5, 2**70], "decision": "confirmed"},
        headers=auth,
    )
    assert huge.status_code == 404
    gone = client.delete(f"/api/events/{hall.event.id}/plenary/themes/{2**40}", headers=auth)
    assert gone.status_code == 404
    table = make_table(session, hall.event, phase="collect")
    who, _ = make_participant(session, table)
    script = "<script>alert('plenaria')</script> Trasporto sociale a chiamata frazioni"
    proposals.post_proposal(session, participant=who, kind="proposal", title=script)
    page = client.get(f"/m/{hall.moderator}/plenary").text
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_a_replaced_moderator_link_closes_the_plenary(client: TestClient, session: Session) -> None:
    hall = _hall(session)
    with client.websocket_connect(f"/m/{hall.moderator}/plenary/ws") as ws:
        assert 'id="plenary"' in ws.receive_text()
        reissued = client.post(
            f"/api/events/{hall.event.id}/moderator-link",
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert reissued.status_code == 201
        for _ in range(10):
            if "Questo link è stato sostituito" in ws.receive_text():
                break
        else:
            raise AssertionError("the plenary kept following the event with a replaced link")
    assert client.get(f"/m/{hall.moderator}/plenary").status_code == 403


def test_the_adopted_ranking_of_proposals_keeps_the_tables_ties(session: Session) -> None:
    """Needs ranked among proposals do not shift the proposals' places; ties stay ties."""
    event, _ = make_event(session)
    table = make_table(session, event)
    author, _ = make_participant(session, table)
    made = {
        title: proposals.post_proposal(session, participant=author, kind=kind, title=title)
        for kind, title in (
            ("need", "Mancano posti nei centri diurni"),
            ("proposal", "Centro diurno aperto il sabato"),
            ("proposal", "Trasporto a chiamata nelle frazioni"),
            ("proposal", "Sportello unico per l'ISEE"),
        )
    }
    phases.set_phase(session, table, "voting")
    voters = [make_participant(session, table)[0] for _ in range(5)]
    for title, count in (
        ("Mancano posti nei centri diurni", 5),
        ("Centro diurno aperto il sabato", 3),
        ("Trasporto a chiamata nelle frazioni", 3),
        ("Sportello unico per l'ISEE", 1),
    ):
        for voter in voters[:count]:
            voting.set_vote(
                session, participant=voter, proposal_id=made[title].proposal.id or 0, dots=1
            )
    ranked = adopted_ranking(session, table, kinds=("proposal",))
    assert [(rank, view.title) for rank, view in ranked] == [
        (1, "Centro diurno aperto il sabato"),
        (1, "Trasporto a chiamata nelle frazioni"),
        (3, "Sportello unico per l'ISEE"),
    ]


def test_deleting_the_event_deletes_its_themes(session: Session) -> None:
    hall = _hall(session)
    plenary.decide_theme(
        session,
        event=hall.event,
        post_ids=[hall.transport_a.id or 0, hall.transport_b.id or 0],
        decision="dismissed",
    )
    privacy.delete_event(session, event=hall.event)
    assert session.exec(select(PlenaryTheme)).all() == []


def test_the_plenary_follows_the_ranking_each_table_adopted(session: Session) -> None:
    """A table that chose the ranking across categories (issue 18) reports that order to
    the plenary, the follow-up page and the minutes' first chapter; its tallies stay."""
    table, _ids = _worked_table(session)
    phases.set_phase(session, table, "closed")
    event = session.get(Event, table.event_id)
    assert event is not None
    by_votes = [i.title for i in plenary.plenary(session, event).tables[0].priorities]
    assert by_votes == [TITLES[0], TITLES[1], TITLES[2]]  # 5, 5, 4 votes
    screen.set_ranking(session, table, "bridging")
    [column] = plenary.plenary(session, event).tables
    assert [(i.rank, i.title, i.tally) for i in column.priorities] == [
        (1, TITLES[1], 5),
        (2, TITLES[2], 4),
        (3, TITLES[0], 5),
    ]
    followed = outcomes.follow_up(session, event).tables[0].priorities
    assert [p.title for p in followed] == [TITLES[1], TITLES[2], TITLES[0]]
