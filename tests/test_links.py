"""Needs → actions → resources: the moderator links any post, a participant their own; the
links are on the wall, survive a merge and its undo exactly, and nothing else changes."""

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app import ratelimit
from app.models import Answer, Pledge, Table
from app.services import links, moderation, proposals
from app.services.state import table_state
from tests.conftest import make_participant, make_table
from tests.server import bearer
from tests.test_api import RUNNERS, create_table, join, set_phase
from tests.test_facilitation_api import add_table, join_with_id, public, run
from tests.test_pages import HTMX, csrf_of, joined


def post_kind(client: TestClient, code: str, token: str, kind: str, title: str) -> int:
    response = client.post(
        f"/api/tables/{code}/proposals",
        json={"kind": kind, "title": title},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def answers(client: TestClient, token: str, proposal: int, needs: list[int]) -> Any:
    return client.put(
        f"/api/proposals/{proposal}/answers", json={"needs": needs}, headers=bearer(token)
    )


def pledge(
    client: TestClient, token: str, proposal: int, resource: int, offer: str, **kw: str
) -> Any:
    return client.put(
        f"/api/proposals/{proposal}/pledges",
        json={"resource": resource, "offer": offer, **kw},
        headers=bearer(token),
    )


def by_title(client: TestClient, code: str) -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in public(client, code)["proposals"]}


class Room:
    """A table collecting: Anna posts a need and a proposal, Bruno a need and a resource."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.event, self.code = create_table(client)
        self.moderator = RUNNERS[self.code]
        self.anna = join(client, self.code)
        self.bruno = join(client, self.code)
        self.need_trasporti = post_kind(
            client,
            self.code,
            self.anna,
            "need",
            "Gli anziani delle frazioni non arrivano ai servizi",
        )
        self.need_solitudine = post_kind(
            client, self.code, self.bruno, "need", "Solitudine dei caregiver familiari"
        )
        self.navetta = post_kind(
            client, self.code, self.anna, "proposal", "Navetta sociale a chiamata per le frazioni"
        )
        self.pulmino = post_kind(
            client, self.code, self.bruno, "resource", "Pulmino da nove posti della parrocchia"
        )


def test_a_participant_links_their_own_proposal_and_the_wall_shows_it(client: TestClient) -> None:
    room = Room(client)
    done = answers(client, room.anna, room.navetta, [room.need_trasporti, room.need_solitudine])
    assert done.status_code == 200, done.text
    wall = by_title(client, room.code)
    assert wall["Navetta sociale a chiamata per le frazioni"]["answers"] == [
        room.need_trasporti,
        room.need_solitudine,
    ]
    # PUT replaces the set; DELETE empties it.
    assert answers(client, room.anna, room.navetta, [room.need_solitudine]).status_code == 200
    assert by_title(client, room.code)["Navetta sociale a chiamata per le frazioni"]["answers"] == [
        room.need_solitudine
    ]
    gone = client.delete(f"/api/proposals/{room.navetta}/answers", headers=bearer(room.anna))
    assert gone.status_code == 200, gone.text
    assert (
        by_title(client, room.code)["Navetta sociale a chiamata per le frazioni"]["answers"] == []
    )


def test_a_participant_pledges_their_own_resource_to_anyones_proposal(client: TestClient) -> None:
    room = Room(client)
    done = pledge(
        client,
        room.bruno,
        room.navetta,
        room.pulmino,
        "il pulmino il martedì e il giovedì, con autista volontario",
        organisation="Parrocchia San Michele Arcangelo",
    )
    assert done.status_code == 200, done.text
    resource = by_title(client, room.code)["Pulmino da nove posti della parrocchia"]
    assert resource["pledges"] == [
        {
            "proposal": room.navetta,
            "organisation": "Parrocchia San Michele Arcangelo",
            "offer": "il pulmino il martedì e il giovedì, con autista volontario",
        }
    ]
    # Sent again: the offer is replaced, not doubled.
    again = pledge(client, room.bruno, room.navetta, room.pulmino, "il pulmino il martedì")
    assert again.status_code == 200
    resource = by_title(client, room.code)["Pulmino da nove posti della parrocchia"]
    assert [p["offer"] for p in resource["pledges"]] == ["il pulmino il martedì"]
    assert resource["pledges"][0]["organisation"] == ""  # never filled in from the profile
    gone = client.request(
        "DELETE",
        f"/api/proposals/{room.navetta}/pledges",
        json={"resource": room.pulmino},
        headers=bearer(room.bruno),
    )
    assert gone.status_code == 200, gone.text
    assert by_title(client, room.code)["Pulmino da nove posti della parrocchia"]["pledges"] == []


def test_nobody_links_someone_elses_post(client: TestClient) -> None:
    room = Room(client)
    # Bruno cannot say what Anna's proposal answers, nor pledge a resource he did not post.
    refused = answers(client, room.bruno, room.navetta, [room.need_solitudine])
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only its author can link this proposal to needs"
    anna_pledges = pledge(client, room.anna, room.navetta, room.pulmino, "un pulmino")
    assert anna_pledges.status_code == 403
    assert anna_pledges.json()["detail"] == "Only its author can pledge this resource"
    # Without a token, or with another table's token: refused before anything is read.
    assert (
        client.put(f"/api/proposals/{room.navetta}/answers", json={"needs": []}).status_code == 401
    )
    other = add_table(client, room.event, "Disabilità e progetti di vita")
    stranger = join(client, other)
    assert answers(client, stranger, room.navetta, []).status_code == 403
    # The moderator links anyone's post; so does the table's facilitator.
    assert answers(client, room.moderator, room.navetta, [room.need_solitudine]).status_code == 200
    link = run(client, "POST", room.code, "/facilitator-link").json()["token"]
    assert pledge(client, link, room.navetta, room.pulmino, "un pulmino").status_code == 200
    wall = by_title(client, room.code)
    assert wall["Navetta sociale a chiamata per le frazioni"]["answers"] == [room.need_solitudine]
    assert len(wall["Pulmino da nove posti della parrocchia"]["pledges"]) == 1


def test_wrong_kinds_other_tables_and_posts_off_the_wall_are_refused(client: TestClient) -> None:
    room = Room(client)
    cases = [
        # a need cannot answer a need; a resource cannot be answered
        (answers(client, room.moderator, room.need_trasporti, [room.need_solitudine]), 422),
        (answers(client, room.moderator, room.navetta, [room.pulmino]), 422),
        # pledging a need, or to a need
        (pledge(client, room.moderator, room.navetta, room.need_trasporti, "x"), 422),
        (pledge(client, room.moderator, room.need_trasporti, room.pulmino, "x"), 422),
        # an empty or too long offer
        (pledge(client, room.moderator, room.navetta, room.pulmino, "  "), 422),
        (pledge(client, room.moderator, room.navetta, room.pulmino, "ore " * 40), 422),
        # a proposal that does not exist
        (answers(client, room.moderator, 987654, []), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.json()["detail"]
    # Another table's need: a 404 naming the field, never a link across tables.
    other = add_table(client, room.event, "Famiglia e rete antiviolenza")
    set_phase(client, other, "collect")
    far = post_kind(client, other, join(client, other), "need", "Case rifugio")
    across = answers(client, room.moderator, room.navetta, [far])
    assert across.status_code == 404
    assert across.json()["field"] == "needs"
    # A hidden need, and a need merged into another, cannot be linked.
    assert (
        run(client, "POST", room.code, f"/proposals/{room.need_solitudine}/hide").status_code == 200
    )
    hidden = answers(client, room.anna, room.navetta, [room.need_solitudine])
    assert hidden.status_code == 409
    assert hidden.json()["detail"] == "Only posts on the wall can be linked"
    twin = post_kind(client, room.code, room.anna, "need", "Anziani isolati nelle frazioni")
    merged = run(
        client,
        "POST",
        room.code,
        "/merges",
        json={"survivor_id": room.need_trasporti, "proposal_ids": [twin]},
    )
    assert merged.status_code == 201
    into = answers(client, room.anna, room.navetta, [twin])
    assert into.status_code == 409
    assert "merged" in into.json()["detail"]
    after = public(client, room.code)
    assert all(not p.get("answers") and not p.get("pledges") for p in after["proposals"])


def test_phases_participants_link_while_the_room_works_the_moderator_until_closed(
    client: TestClient,
) -> None:
    room = Room(client)
    for phase in ("discussion", "voting"):
        set_phase(client, room.code, phase)
        assert answers(client, room.anna, room.navetta, [room.need_trasporti]).status_code == 200
        assert answers(client, room.anna, room.navetta, []).status_code == 200
    set_phase(client, room.code, "preparation")
    refused = answers(client, room.anna, room.navetta, [room.need_trasporti])
    assert refused.status_code == 409
    assert answers(client, room.moderator, room.navetta, [room.need_trasporti]).status_code == 200
    set_phase(client, room.code, "closed")
    for token in (room.anna, room.moderator):
        closed = answers(client, token, room.navetta, [])
        assert closed.status_code == 409, closed.text
    assert by_title(client, room.code)["Navetta sociale a chiamata per le frazioni"]["answers"] == [
        room.need_trasporti
    ]


def test_a_removed_participant_links_nothing(client: TestClient) -> None:
    room = Room(client)
    pid, carla = join_with_id(client, room.code)
    mine = post_kind(client, room.code, carla, "proposal", "Orti sociali intergenerazionali")
    keep = {"keep_ids": [mine]}  # her post stays on the wall, her token stops
    assert run(client, "DELETE", room.code, f"/participants/{pid}", json=keep).status_code == 200
    refused = answers(client, carla, mine, [room.need_trasporti])
    assert refused.status_code == 403


def test_a_merge_carries_links_and_pledges_and_undo_restores_them_exactly(
    client: TestClient, session: Session
) -> None:
    room = Room(client)
    navetta_bis = post_kind(
        client, room.code, room.bruno, "proposal", "Bus a chiamata per chi vive lontano dal centro"
    )
    sportello = post_kind(client, room.code, room.anna, "proposal", "Sportello di ascolto")
    aula = post_kind(client, room.code, room.bruno, "resource", "Sala riunioni dell'oratorio")
    assert answers(client, room.anna, room.navetta, [room.need_trasporti]).status_code == 200
    assert answers(client, room.bruno, navetta_bis, [room.need_solitudine]).status_code == 200
    assert answers(client, room.anna, sportello, [room.need_solitudine]).status_code == 200
    assert pledge(client, room.bruno, navetta_bis, room.pulmino, "il pulmino").status_code == 200
    assert pledge(client, room.bruno, room.navetta, room.pulmino, "due viaggi").status_code == 200
    assert pledge(client, room.bruno, navetta_bis, aula, "la sala il lunedì").status_code == 200
    before = public(client, room.code)["proposals"]

    merged = run(
        client,
        "POST",
        room.code,
        "/merges",
        json={"survivor_id": room.navetta, "proposal_ids": [navetta_bis]},
    )
    assert merged.status_code == 201, merged.text
    wall = by_title(client, room.code)
    survivor = wall["Navetta sociale a chiamata per le frazioni"]
    assert survivor["answers"] == [room.need_trasporti, room.need_solitudine]
    pulmino = wall["Pulmino da nove posti della parrocchia"]["pledges"]
    assert pulmino == [{"proposal": room.navetta, "organisation": "", "offer": "due viaggi"}]
    assert wall["Sala riunioni dell'oratorio"]["pledges"][0]["proposal"] == room.navetta

    # Someone links after the merge: undo keeps what people did since.
    assert (
        answers(
            client, room.moderator, sportello, [room.need_solitudine, room.need_trasporti]
        ).status_code
        == 200
    )
    undone = run(client, "DELETE", room.code, f"/merges/{merged.json()['id']}")
    assert undone.status_code == 200, undone.text
    after = {p["id"]: p for p in public(client, room.code)["proposals"]}
    for p in before:
        if p["id"] == sportello:
            assert after[p["id"]]["answers"] == [room.need_trasporti, room.need_solitudine]
        else:
            assert after[p["id"]].get("answers") == p.get("answers"), p["title"]
            assert after[p["id"]].get("pledges") == p.get("pledges"), p["title"]


def test_merging_two_needs_moves_their_answers_to_the_survivor(session: Session) -> None:
    table = make_table(session)
    person, _ = make_participant(session, table)

    def new(kind: str, title: str) -> int:
        return (
            proposals.post_proposal(session, participant=person, kind=kind, title=title).proposal.id
            or 0
        )

    a, b = new("need", "Trasporti nelle frazioni"), new("need", "Mancano i trasporti")
    p, q = new("proposal", "Navetta"), new("proposal", "Car pooling solidale")
    links.set_answers(session, table, proposal_id=p, need_ids=[a], by=None)
    links.set_answers(session, table, proposal_id=q, need_ids=[b], by=None)
    links.set_answers(session, table, proposal_id=p, need_ids=[a, b], by=None)
    done = moderation.merge(session, table, survivor_id=a, merged_ids=[b])
    current = table_state(session, session.get(Table, table.id) or table)
    assert current.links.needs_of(p) == (a,)
    assert current.links.needs_of(q) == (a,)
    moderation.undo_merge(session, table, done.merge_id)
    current = table_state(session, session.get(Table, table.id) or table)
    assert current.links.needs_of(p) == (a, b)
    assert current.links.needs_of(q) == (b,)


# --- the console, the phone and the wall ------------------------------------------------------


def test_the_console_links_and_pledges_and_every_wall_shows_the_chain(client: TestClient) -> None:
    room = Room(client)
    console = f"/run/{room.moderator}/{room.code}/"
    headers = {**HTMX, "X-CSRF-Token": csrf_of(client.get(console).text)}
    linked = client.post(
        console + f"proposals/{room.navetta}/answers",
        data={"needs": [str(room.need_trasporti)]},
        headers=headers,
    )
    assert linked.status_code == 200, linked.text
    assert "Collegamenti ai bisogni salvati." in linked.text
    pledged = client.post(
        console + "pledges",
        data={
            "resource": str(room.pulmino),
            "proposal": str(room.navetta),
            "offer": "il pulmino il martedì e il giovedì",
            "organisation": "Parrocchia San Michele <b>Arcangelo</b>",
        },
        headers=headers,
    )
    assert pledged.status_code == 200, pledged.text
    panel = client.get(console + f"proposals/{room.navetta}/links", headers=HTMX)
    assert panel.status_code == 200
    assert 'id="link-panel"' in panel.text and "Spunta i bisogni" in panel.text
    assert f'value="{room.need_trasporti}" checked' in panel.text
    assert client.get(console + f"proposals/{room.need_trasporti}/links").status_code == 404
    page = client.get(console).text
    assert "Spunta i bisogni" not in page  # no form per card: one panel at a time
    assert "Risponde a:" in page and "«Gli anziani delle frazioni non arrivano ai servizi»" in page
    assert "Parrocchia San Michele &lt;b&gt;Arcangelo&lt;/b&gt;" in page  # escaped
    assert "Nessuna proposta risponde ancora a questo bisogno" in page  # Bruno's need
    # The moderator's refusal comes back in Italian, and nothing changes.
    wrong = client.post(
        console + f"proposals/{room.navetta}/answers",
        data={"needs": [str(room.pulmino)]},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert "non è un bisogno" in wrong.text
    # Unticking every need unlinks them all.
    client.post(console + f"proposals/{room.navetta}/answers", data={}, headers=headers)
    assert (
        by_title(client, room.code)["Navetta sociale a chiamata per le frazioni"]["answers"] == []
    )
    withdrawn = client.post(
        console + "pledges/delete",
        data={"resource": str(room.pulmino), "proposal": str(room.navetta)},
        headers=headers,
    )
    assert withdrawn.status_code == 200
    assert by_title(client, room.code)["Pulmino da nove posti della parrocchia"]["pledges"] == []


def test_the_phone_links_its_own_posts_only(client: TestClient) -> None:
    _, code = create_table(client)
    moderator = RUNNERS[code]
    page = joined(client, code, organisation="Cooperativa sociale Il Faro")
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    other = join(client, code)
    need = post_kind(client, code, other, "need", "Mancano educatori per il doposcuola")
    mine = client.post(
        f"/t/{code}/proposals",
        data={"kind": "proposal", "title": "Doposcuola diffuso nelle parrocchie"},
        headers=headers,
    )
    assert mine.status_code == 200
    resource = client.post(
        f"/t/{code}/proposals",
        data={"kind": "resource", "title": "Due educatori della cooperativa"},
        headers=headers,
    )
    ids = {p["title"]: p["id"] for p in public(client, code)["proposals"]}
    proposal = ids["Doposcuola diffuso nelle parrocchie"]
    assert resource.status_code == 200
    # The phone's own posts offer the link forms, its organisation filled in for the pledge.
    me = client.get(f"/t/{code}").text
    assert "Bisogni a cui risponde" in me and "Offri a una proposta" in me
    assert 'value="Cooperativa sociale Il Faro"' in me
    assert "sono pubbliche" in me
    linked = client.post(
        f"/t/{code}/proposals/{proposal}/answers", data={"needs": [str(need)]}, headers=headers
    )
    assert linked.status_code == 200, linked.text
    assert "Collegamenti ai bisogni salvati." in linked.text  # in the phone's flash
    pledged = client.post(
        f"/t/{code}/pledges",
        data={
            "resource": str(ids["Due educatori della cooperativa"]),
            "proposal": str(proposal),
            "offer": "due educatori, 10 ore a settimana",
            "organisation": "Cooperativa sociale Il Faro",
        },
        headers=headers,
    )
    assert pledged.status_code == 200, pledged.text
    wall = client.get(f"/t/{code}").text
    assert "due educatori, 10 ore a settimana" in wall
    # Someone else's proposal: refused, in Italian, in the flash region.
    theirs = post_kind(client, code, other, "proposal", "Borse di studio per lo sport")
    refused = client.post(
        f"/t/{code}/proposals/{theirs}/answers", data={"needs": [str(need)]}, headers=headers
    )
    assert refused.status_code == 403
    assert "Solo chi l&#39;ha scritta può collegare" in refused.text
    assert by_title(client, code)["Borse di studio per lo sport"]["answers"] == []
    assert moderator  # the console was not needed for any of this


def test_the_wall_groups_by_need_on_phone_console_and_projector(client: TestClient) -> None:
    room = Room(client)
    sportello = post_kind(
        client, room.code, room.anna, "proposal", "Sportello di ascolto per caregiver"
    )
    answers(client, room.anna, room.navetta, [room.need_trasporti, room.need_solitudine])
    answers(client, room.anna, sportello, [room.need_solitudine])
    pledge(client, room.bruno, room.navetta, room.pulmino, "il pulmino", organisation="Parrocchia")
    turned = run(client, "PATCH", room.code, "/settings", json={"group_by_need": True})
    assert turned.status_code == 200, turned.text
    run(client, "PUT", room.code, "/screen", json={"mode": "wall"})
    screen = client.get(f"/t/{room.code}/screen").text
    first = screen.index("Bisogno n. 1")
    second = screen.index("Bisogno n. 2")
    last = screen.index("Non collegati ancora a un bisogno")
    navetta = screen.index("Navetta sociale a chiamata per le frazioni")
    pulmino = screen.index("Pulmino da nove posti della parrocchia")
    ascolto = screen.index("Sportello di ascolto per caregiver")
    # The navetta answers both needs: under the first, with its pledged pulmino; the
    # sportello under the second; nothing is left unlinked.
    assert first < navetta < pulmino < second < ascolto < last
    assert screen.count(f'id="p-{room.navetta}"') == 1
    assert "2 azioni proposte" in screen and "1 azione proposta" in screen
    # One grouping at a time: by tag turns by need off.
    run(client, "PATCH", room.code, "/settings", json={"group_by_tag": True})
    assert "Bisogno n. 1" not in client.get(f"/t/{room.code}/screen").text
    both = run(
        client, "PATCH", room.code, "/settings", json={"group_by_tag": True, "group_by_need": True}
    )
    assert both.status_code == 422


def test_a_table_with_links_can_be_deleted_with_everything_in_it(client: TestClient) -> None:
    room = Room(client)
    assert answers(client, room.anna, room.navetta, [room.need_trasporti]).status_code == 200
    assert pledge(client, room.bruno, room.navetta, room.pulmino, "il pulmino").status_code == 200
    gone = client.delete(f"/api/tables/{room.code}", headers=bearer(room.moderator))
    assert gone.status_code == 204, gone.text
    assert client.get(f"/api/tables/{room.code}").status_code == 404


def test_concurrent_pledges_and_links_of_one_pair_end_as_one_row_each(
    client: TestClient, engine: Engine
) -> None:
    """Eight consoles at once (the table is locked first): one pledge per pair, the last
    offer kept, one answer per need; nobody gets a 500."""
    room = Room(client)
    offers = [f"offerta numero {n}: il pulmino" for n in range(8)]
    statuses: list[int] = []

    def act(n: int) -> None:
        if n % 2:
            done = pledge(client, room.moderator, room.navetta, room.pulmino, offers[n])
        else:
            done = answers(client, room.moderator, room.navetta, [room.need_trasporti])
        statuses.append(done.status_code)

    threads = [threading.Thread(target=act, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 8, statuses
    with Session(engine) as session:
        rows = list(session.exec(select(Pledge)))
        assert len(rows) == 1 and rows[0].offer in offers
        assert len(list(session.exec(select(Answer)))) == 1


def test_a_participant_s_links_have_their_own_limit_and_spend_no_posts(
    client: TestClient,
) -> None:
    room = Room(client)
    ratelimit.configure("memory://", overrides={"link": "3/10 seconds", "post": "3/10 seconds"})
    try:
        for _ in range(3):
            assert answers(client, room.anna, room.navetta, []).status_code == 200
        over = answers(client, room.anna, room.navetta, [room.need_trasporti])
        assert over.status_code == 429 and "retry-after" in over.headers
        # The moderator is not a participant: no limit; and Anna may still post.
        assert answers(client, room.moderator, room.navetta, []).status_code == 200
        post_kind(client, room.code, room.anna, "proposal", "Orti urbani condivisi")
    finally:
        ratelimit.configure("memory://", enabled=False)


def test_while_voting_the_phone_still_offers_its_own_links_but_no_edits(
    client: TestClient,
) -> None:
    _, code = create_table(client)
    headers = {**HTMX, "X-CSRF-Token": csrf_of(joined(client, code))}
    client.post(
        f"/t/{code}/proposals",
        data={"kind": "proposal", "title": "Doposcuola diffuso nelle parrocchie"},
        headers=headers,
    )
    set_phase(client, code, "voting")
    page = client.get(f"/t/{code}").text
    mine = page[page.index('id="my-posts"') : page.index("</section>", page.index('id="my-posts"'))]
    assert "Doposcuola diffuso nelle parrocchie" in mine
    assert "Bisogni a cui risponde" in mine and "Modifica o ritira" not in mine
    set_phase(client, code, "closed")
    closed = client.get(f"/t/{code}").text
    assert "Bisogni a cui risponde" not in closed


def test_a_post_that_changes_kind_keeps_its_links_only_while_its_kind_fits(
    session: Session,
) -> None:
    table = make_table(session)
    person, _ = make_participant(session, table)

    def new(kind: str, title: str) -> int:
        posted = proposals.post_proposal(session, participant=person, kind=kind, title=title)
        return posted.proposal.id or 0

    need, action = new("need", "Trasporti nelle frazioni"), new("proposal", "Navetta sociale")
    links.set_answers(session, table, proposal_id=action, need_ids=[need], by=None)
    moderation.set_kind(session, table, action, "resource")
    current = table_state(session, session.get(Table, table.id) or table)
    assert current.links.needs_of(action) == () and current.links.answered_by(need) == []
    moderation.set_kind(session, table, action, "proposal")
    current = table_state(session, session.get(Table, table.id) or table)
    assert current.links.needs_of(action) == (need,)
