"""Dissent ("Non sono d'accordo", issue 18): every door reaches one service, errors change
nothing, pre-moderation, removal and erasure, merges and their undo, and never a tally."""

import html
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.models import Dissent, Merge, Participant, Table
from app.services import dissent, moderation, privacy, proposals, state
from app.services.errors import DomainError
from tests.conftest import in_phase, make_participant, make_table
from tests.server import bearer
from tests.test_api import RUNNERS, create_table, join, post, set_phase
from tests.test_pages import HTMX, csrf_of, joined

LONG = "Questa proposta non tiene conto delle famiglie che vivono nelle frazioni montane. " * 4


def put(client: TestClient, pid: int, token: str, reason: str | None = "") -> Any:
    body = None if reason is None else {"reason": reason}
    return client.put(f"/api/proposals/{pid}/dissent", json=body, headers=bearer(token))


def delete(client: TestClient, pid: int, token: str) -> Any:
    return client.delete(f"/api/proposals/{pid}/dissent", headers=bearer(token))


def console(client: TestClient, code: str) -> dict[str, Any]:
    """The table as its runner's GET shows it (tallies, even while hidden)."""
    return dict(client.get(f"/api/tables/{code}", headers=bearer(RUNNERS[code])).json())


def rows(session: Session) -> list[tuple[int, int, str, str]]:
    session.expire_all()
    return [
        (d.participant_id, d.proposal_id, d.reason, d.reason_status)
        for d in session.exec(select(Dissent).order_by(Dissent.id))  # type: ignore[arg-type]
    ]


def table_of(session: Session, code: str) -> Table:
    found = session.exec(select(Table).where(Table.code == code)).one()
    session.refresh(found)
    return found


def counts(session: Session, code: str) -> dict[int, int]:
    current = state.table_state(session, table_of(session, code))
    return {pid: d.count for pid, d in current.dissent.items()}


def test_api_marks_rewords_and_withdraws_dissent_in_discussion_and_voting(
    client: TestClient, session: Session
) -> None:
    _, code = create_table(client)
    author, critic = join(client, code), join(client, code)
    pid = post(client, code, author, "Centro diurno aperto anche il sabato")
    set_phase(client, code, "discussion")
    response = put(client, pid, critic, "Mancano gli educatori per coprire il sabato")
    assert response.status_code == 200, response.text
    seq = response.json()["seq"]
    assert counts(session, code) == {pid: 1}
    again = put(client, pid, critic, "Mancano gli educatori per coprire il sabato")
    assert again.json()["seq"] == seq  # the same again: nothing changed, no seq spent
    set_phase(client, code, "voting")
    assert put(client, pid, critic, "Meglio la domenica").status_code == 200
    assert put(client, pid, author, None).status_code == 200  # no body: no reason
    assert sorted((r[2], r[3]) for r in rows(session)) == [
        ("", "accepted"),
        ("Meglio la domenica", "accepted"),
    ]
    assert delete(client, pid, critic).status_code == 200
    assert counts(session, code) == {pid: 1}
    assert delete(client, pid, critic).status_code == 200  # nothing left: still fine
    assert counts(session, code) == {pid: 1}


def test_errors_are_json_and_change_nothing(client: TestClient, session: Session) -> None:
    _, code = create_table(client)
    author, critic = join(client, code), join(client, code)
    pid = post(client, code, author)
    other = post(client, code, author, "Sportello unico per le famiglie")
    # Collecting: too early (409), for the withdraw too.
    early = put(client, pid, critic, "Troppo presto")
    assert early.status_code == 409
    assert early.json()["code"] == "you_can_disagree_only_while_the_table_discusses_or_votes"
    assert delete(client, pid, critic).status_code == 409
    set_phase(client, code, "voting")
    assert put(client, pid, critic, "Già detto").status_code == 200
    before = rows(session)
    too_long = put(client, pid, critic, "x" * 281)
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "reason"
    assert put(client, pid, critic, "x" * 280).status_code == 200  # 280 is the limit, allowed
    assert put(client, pid, critic, "Già detto").status_code == 200
    assert rows(session) == before
    # Unknown field, unknown proposal, no token, a wrong token.
    assert (
        client.put(
            f"/api/proposals/{pid}/dissent", json={"reasn": "x"}, headers=bearer(critic)
        ).status_code
        == 422
    )
    assert put(client, 999_999, critic, "").status_code == 404
    assert put(client, 2**40, critic, "").status_code == 404
    assert client.put(f"/api/proposals/{pid}/dissent", json={}).status_code == 401
    assert put(client, pid, "not-a-token", "").status_code in (401, 403)
    # A hidden proposal, then a merged one, refuse it.
    headers = bearer(RUNNERS[code])
    assert client.post(f"/api/tables/{code}/proposals/{other}/hide", headers=headers).is_success
    hidden = put(client, other, critic, "Nascosta")
    assert hidden.status_code == 409
    assert hidden.json()["code"] == "this_proposal_is_not_on_the_wall"
    assert client.post(f"/api/tables/{code}/proposals/{other}/restore", headers=headers).is_success
    merged = client.post(
        f"/api/tables/{code}/merges",
        json={"survivor_id": pid, "proposal_ids": [other]},
        headers=headers,
    )
    assert merged.status_code in (200, 201), merged.text
    assert put(client, other, critic, "Fusa").status_code == 409
    set_phase(client, code, "closed")
    assert put(client, pid, critic, "Chiuso").status_code == 409
    assert delete(client, pid, critic).status_code == 409
    assert rows(session) == before  # none of the refusals changed anything


def test_another_tables_proposal_is_not_found(client: TestClient) -> None:
    _, first = create_table(client, phase="collect")
    _, second = create_table(client, phase="collect")
    author = join(client, first)
    pid = post(client, first, author)
    stranger = join(client, second)
    set_phase(client, first, "voting")
    set_phase(client, second, "voting")
    assert put(client, pid, stranger, "Da un altro tavolo").status_code == 404


def test_dissent_never_changes_a_tally_or_a_budget(client: TestClient) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 3, "max_per_proposal": 2})
    author, voter = join(client, code), join(client, code)
    pid = post(client, code, author)
    set_phase(client, code, "voting")
    vote = client.put(f"/api/proposals/{pid}/vote", json={"dots": 2}, headers=bearer(voter))
    assert vote.json()["dots_left"] == 1
    # The same person supports it and disagrees in part: both stand, neither moves the other.
    assert put(client, pid, voter, "Sostengo l'idea ma non il luogo").status_code == 200
    assert put(client, pid, author, "").status_code == 200
    table = console(client, code)
    assert [p["tally"] for p in table["proposals"]] == [2]
    again = client.put(f"/api/proposals/{pid}/vote", json={"dots": 2}, headers=bearer(voter))
    assert again.json()["dots_left"] == 1 and again.json()["tally"] == 2


def test_public_table_json_says_nothing_of_dissent(client: TestClient) -> None:
    _, code = create_table(client)
    author, critic = join(client, code), join(client, code)
    pid = post(client, code, author)
    set_phase(client, code, "voting")
    put(client, pid, critic, "Ragione riservata ai moderatori")
    public = client.get(f"/api/tables/{code}").text
    assert "Ragione riservata" not in public and "dissent" not in public


def test_premoderation_holds_reasons_until_a_moderator_decides(
    client: TestClient, session: Session
) -> None:
    _, code = create_table(client)
    headers = bearer(RUNNERS[code])
    author, critic, other = join(client, code), join(client, code), join(client, code)
    pid = post(client, code, author)
    client.patch(f"/api/tables/{code}/settings", json={"premoderation": True}, headers=headers)
    set_phase(client, code, "voting")
    put(client, pid, critic, "<script>alert('x')</script> Non è sostenibile")
    put(client, pid, other, "Parole offensive da non pubblicare")
    put(client, pid, author, "")  # no reason: nothing to check
    found = state.table_state(session, table_of(session, code)).dissent[pid]
    assert found.count == 3 and found.accepted == ()
    first, second = (r.id for r in found.pending)
    assert client.post(f"/api/tables/{code}/dissent/{first}/accept", headers=headers).is_success
    assert client.post(f"/api/tables/{code}/dissent/{second}/reject", headers=headers).is_success
    found = state.table_state(session, table_of(session, code)).dissent[pid]
    assert found.accepted == ("<script>alert('x')</script> Non è sostenibile",)
    assert found.rejected == 1 and found.count == 3  # a rejected reason's dissent counts
    # Re-worded: checked again.
    put(client, pid, critic, "Non è sostenibile nel tempo")
    found = state.table_state(session, table_of(session, code)).dissent[pid]
    assert [r.status for r in found.reasons if r.text.startswith("Non è")] == ["pending"]
    # A participant's token cannot moderate, an unknown reason is 404.
    assert (
        client.post(
            f"/api/tables/{code}/dissent/{first}/accept", headers=bearer(critic)
        ).status_code
        == 403
    )
    assert (
        client.post(f"/api/tables/{code}/dissent/999999/accept", headers=headers).status_code == 404
    )


def test_removed_participant_is_refused_and_counts_nowhere(
    client: TestClient, session: Session
) -> None:
    _, code = create_table(client)
    author, critic = join(client, code), join(client, code)
    pid = post(client, code, author)
    set_phase(client, code, "voting")
    put(client, pid, critic, "Motivo che sparirà con la rimozione")
    critic_id = session.exec(select(Participant.id).order_by(Participant.id.desc())).first()  # type: ignore[union-attr]
    response = client.delete(
        f"/api/tables/{code}/participants/{critic_id}", headers=bearer(RUNNERS[code])
    )
    assert response.is_success, response.text
    assert counts(session, code) == {}
    assert rows(session) == []
    assert put(client, pid, critic, "Ci riprovo").status_code == 403
    assert delete(client, pid, critic).status_code == 403


def test_erasure_deletes_reasons_and_the_count(session: Session) -> None:

    table = make_table(session)
    author, _ = make_participant(session, table)
    critic, _ = make_participant(session, table, category="Comune / ente pubblico")
    posted = proposals.post_proposal(
        session, participant=author, kind="proposal", title="Orti sociali"
    )
    table = in_phase(session, table, "voting")
    pid = posted.proposal.id or 0
    dissent.set_dissent(
        session, participant=critic, proposal_id=pid, reason="Mio cugino è contrario"
    )
    dissent.set_dissent(session, participant=author, proposal_id=pid, reason="")
    privacy.erase_participant(session, participant=critic)
    current = state.table_state(session, table)
    assert current.dissent[pid].count == 1
    assert all("cugino" not in r[2] for r in rows(session))


def test_merge_carries_dissent_one_per_participant_and_undo_restores_it(
    client: TestClient, session: Session
) -> None:
    _, code = create_table(client)
    headers = bearer(RUNNERS[code])
    author, both, one, late = (join(client, code) for _ in range(4))
    survivor = post(client, code, author, "Trasporto sociale per gli anziani")
    duplicate = post(client, code, author, "Navetta per anziani nei paesi")
    set_phase(client, code, "voting")
    put(client, survivor, both, "")
    put(client, duplicate, both, "Costa troppo")  # two on the merged posts: one survives
    put(client, duplicate, one, "Non serve nei paesi")
    before = sorted(rows(session))
    merged = client.post(
        f"/api/tables/{code}/merges",
        json={"survivor_id": survivor, "proposal_ids": [duplicate]},
        headers=headers,
    )
    merge_id = merged.json()["id"]
    assert counts(session, code) == {survivor: 2}
    on_survivor = [r for r in rows(session) if r[1] == survivor]
    # Their survivor's own dissent is kept for "both"; "one"'s reason comes along.
    assert sorted(r[2] for r in on_survivor) == ["", "Non serve nei paesi"]
    put(client, survivor, late, "Arrivo dopo la fusione")
    undone = client.delete(f"/api/tables/{code}/merges/{merge_id}", headers=headers)
    assert undone.is_success, undone.text
    after = sorted(r for r in rows(session) if r[2] != "Arrivo dopo la fusione")
    assert after == before  # exactly what was there before the merge
    assert counts(session, code) == {survivor: 2, duplicate: 2}


def test_undo_keeps_what_people_changed_after_the_merge(
    client: TestClient, session: Session
) -> None:
    _, code = create_table(client)
    headers = bearer(RUNNERS[code])
    author, reworded, withdrew, removed = (join(client, code) for _ in range(4))
    survivor = post(client, code, author, "Biblioteca aperta la sera")
    duplicate = post(client, code, author, "Biblioteca serale")
    set_phase(client, code, "voting")
    for token in (reworded, withdrew, removed):
        put(client, duplicate, token, "Prima della fusione")
    merge_id = client.post(
        f"/api/tables/{code}/merges",
        json={"survivor_id": survivor, "proposal_ids": [duplicate]},
        headers=headers,
    ).json()["id"]
    put(client, survivor, reworded, "Cambiato dopo")
    delete(client, survivor, withdrew)
    removed_id = max(p.id or 0 for p in session.exec(select(Participant)))
    assert client.delete(
        f"/api/tables/{code}/participants/{removed_id}", headers=headers
    ).is_success
    assert client.delete(f"/api/tables/{code}/merges/{merge_id}", headers=headers).is_success
    assert sorted((r[1], r[2]) for r in rows(session)) == [(survivor, "Cambiato dopo")]


def test_phone_form_needs_csrf_and_answers_its_own_list(client: TestClient) -> None:
    _, code = create_table(client)
    author = join(client, code)
    pid = post(client, code, author, "Sportello di ascolto nelle scuole")
    page = joined(client, code)
    assert "Sportello di ascolto" in page
    assert "Non sono d'accordo" not in html.unescape(page)  # collecting: not yet
    set_phase(client, code, "voting")
    page = client.get(f"/t/{code}").text
    assert "Non sono d'accordo" in html.unescape(page)
    url = f"/t/{code}/proposals/{pid}/dissent"
    refused = client.post(url, data={"reason": "Senza CSRF"}, headers=HTMX)
    assert refused.status_code == 403
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    answer = client.post(url, data={"reason": "<b>Troppo</b> costoso"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert "&lt;b&gt;Troppo&lt;/b&gt; costoso" in answer.text  # escaped, in its own list
    assert f'data-dissent="[{pid}]"' in answer.text
    too_long = client.post(url, data={"reason": "x" * 281}, headers=headers)
    assert too_long.status_code == 422
    assert "&lt;b&gt;Troppo" in client.get(f"/t/{code}/me").text  # nothing changed
    withdrawn = client.post(f"{url}/withdraw", headers=headers)
    assert withdrawn.status_code == 200
    assert 'data-dissent="[]"' in withdrawn.text


def test_console_shows_count_and_reasons_and_the_projector_nothing(client: TestClient) -> None:
    event, code = create_table(client)
    author, critic, other = join(client, code), join(client, code), join(client, code)
    pid = post(client, code, author, "Centro estivo comunale")
    client.patch(
        f"/api/tables/{code}/settings", json={"premoderation": True}, headers=bearer(RUNNERS[code])
    )
    set_phase(client, code, "voting")
    put(client, pid, critic, "Gli orari non vanno bene per chi lavora")
    put(client, pid, other, "")
    page = client.get(f"/run/{event['moderator_token']}/{code}/")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "2 non sono d'accordo" in text
    words = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    assert "da verificare «Gli orari non vanno bene per chi lavora»" in words
    assert "1 motivo di disaccordo da verificare: n. 1" in words  # above a long wall
    screen = client.get(f"/t/{code}/screen").text
    assert "Gli orari" not in screen and "accordo" not in screen and "disagree" not in screen


def test_my_data_lists_my_dissent_and_erasure_deletes_it(client: TestClient) -> None:
    _, code = create_table(client)
    author, critic = join(client, code), join(client, code)
    pid = post(client, code, author, "Orti urbani nei cortili delle scuole")
    set_phase(client, code, "discussion")
    put(client, pid, critic, "Le scuole non hanno personale per custodirli")
    mine = client.get(f"/api/tables/{code}/me", headers=bearer(critic)).json()
    assert mine["dissent"] == [
        {
            "proposal_id": pid,
            "title": "Orti urbani nei cortili delle scuole",
            "reason": "Le scuole non hanno personale per custodirli",
        }
    ]
    assert client.delete(f"/api/tables/{code}/me", headers=bearer(critic)).is_success
    table = console(client, code)
    assert "Le scuole non hanno personale" not in str(table)
    assert put(client, pid, critic, "Di nuovo").status_code in (401, 403)


def test_erasure_leaves_no_reason_in_a_merge_record(client: TestClient, session: Session) -> None:
    _, code = create_table(client)
    headers = bearer(RUNNERS[code])
    author, critic = join(client, code), join(client, code)
    survivor = post(client, code, author, "Mensa solidale nel centro storico")
    duplicate = post(client, code, author, "Mensa per chi è in difficoltà")
    set_phase(client, code, "voting")
    put(client, duplicate, critic, "Lo dice Carla Verdi, mia vicina")
    merge_id = client.post(
        f"/api/tables/{code}/merges",
        json={"survivor_id": survivor, "proposal_ids": [duplicate]},
        headers=headers,
    ).json()["id"]
    assert client.delete(f"/api/tables/{code}/me", headers=bearer(critic)).is_success
    session.expire_all()
    record = session.get(Merge, merge_id)
    assert record is not None and "Carla" not in str(record.dissent_before)
    assert client.delete(f"/api/tables/{code}/merges/{merge_id}", headers=headers).is_success
    assert rows(session) == []  # the undo gives nothing back to an erased person


def test_the_runner_s_get_lists_reasons_with_the_ids_to_decide_on(client: TestClient) -> None:
    _, code = create_table(client)
    headers = bearer(RUNNERS[code])
    author, critic = join(client, code), join(client, code)
    pid = post(client, code, author, "Sportello di ascolto nei quartieri")
    client.patch(f"/api/tables/{code}/settings", json={"premoderation": True}, headers=headers)
    set_phase(client, code, "discussion")
    put(client, pid, critic, "Esiste già al consultorio")
    seen = console(client, code)["proposals"][0]["dissent"]
    assert seen["count"] == 1
    [reason] = seen["reasons"]
    assert (reason["text"], reason["status"]) == ("Esiste già al consultorio", "pending")
    assert "participant" not in str(seen)
    decided = client.post(f"/api/tables/{code}/dissent/{reason['id']}/accept", headers=headers)
    assert decided.is_success
    assert console(client, code)["proposals"][0]["dissent"]["reasons"][0]["status"] == "accepted"
    assert "dissent" not in client.get(f"/api/tables/{code}").json()["proposals"][0]


def test_concurrent_marks_and_a_merge_leave_one_dissent_each(engine: Engine) -> None:
    """Eight taps of one phone and a merge racing them: the table's lock orders them, the
    merge carries what landed before it, a tap after it finds the post merged (409)."""
    with Session(engine) as setup:
        table = make_table(setup, phase="collect")
        author, _ = make_participant(setup, table)
        critic, _ = make_participant(setup, table)
        survivor = proposals.post_proposal(
            setup, participant=author, kind="proposal", title="Ludoteca nel quartiere"
        ).proposal.id
        duplicate = proposals.post_proposal(
            setup, participant=author, kind="proposal", title="Spazio giochi per bambini"
        ).proposal.id
        table = in_phase(setup, table, "voting")
        table_id, critic_id = table.id, critic.id

    def tap(i: int) -> int:
        with Session(engine) as s:
            me = s.get(Participant, critic_id)
            assert me is not None
            try:
                dissent.set_dissent(
                    s, participant=me, proposal_id=duplicate or 0, reason=f"Motivo {i}"
                )
            except DomainError as refused:
                return refused.status
            return 200

    def fold() -> int:
        with Session(engine) as s:
            found = s.get(Table, table_id)
            assert found is not None
            moderation.merge(s, found, survivor_id=survivor or 0, merged_ids=[duplicate or 0])
            return 200

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = [pool.submit(tap, i) for i in range(8)] + [pool.submit(fold)]
        statuses = [a.result() for a in answers]
    assert set(statuses) <= {200, 409}
    with Session(engine) as s:
        stored = list(s.exec(select(Dissent)))
    assert len(stored) <= 1
    assert all(d.proposal_id == survivor for d in stored)
    if 200 in statuses[:8]:
        assert len(stored) == 1  # a tap that landed before the merge was carried over


def test_a_rejected_reason_can_be_taken_back_and_a_closed_table_offers_no_buttons(
    client: TestClient,
) -> None:
    event, code = create_table(client)
    headers = bearer(RUNNERS[code])
    author, critic = join(client, code), join(client, code)
    pid = post(client, code, author, "Centro antiviolenza aperto h24")
    set_phase(client, code, "voting")
    put(client, pid, critic, "Servono prima le case rifugio")
    [reason] = console(client, code)["proposals"][0]["dissent"]["reasons"]
    client.post(f"/api/tables/{code}/dissent/{reason['id']}/reject", headers=headers)
    url = f"/run/{event['moderator_token']}/{code}/"

    def words() -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(client.get(url).text)).split())

    assert "rifiutato: non va nel verbale «Servono prima le case rifugio» accetta" in words()
    client.post(f"/api/tables/{code}/dissent/{reason['id']}/accept", headers=headers)
    assert "«Servono prima le case rifugio» rifiuta" in words()
    set_phase(client, code, "closed")
    shown = words()
    assert "«Servono prima le case rifugio»" in shown
    assert "«Servono prima le case rifugio» rifiuta" not in shown
    refused = client.post(f"/api/tables/{code}/dissent/{reason['id']}/reject", headers=headers)
    assert refused.status_code == 409


def test_a_vote_s_answer_keeps_the_phone_s_dissent_marks(client: TestClient) -> None:
    """#me is replaced by every answer of the phone: a vote's must not forget its dissent."""
    _, code = create_table(client)
    author = join(client, code)
    pid = post(client, code, author, "Consultorio familiare aperto il sabato")
    page = joined(client, code)
    set_phase(client, code, "voting")
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    client.post(f"/t/{code}/proposals/{pid}/dissent", data={"reason": ""}, headers=headers)
    voted = client.post(f"/t/{code}/proposals/{pid}/vote", data={"dots": "1"}, headers=headers)
    assert voted.status_code == 200, voted.text
    assert f'data-dissent="[{pid}]"' in voted.text
