"""Every domain rule, through the services that the HTML, JSON and WebSocket routes share."""

import datetime as dt

import pytest
from sqlmodel import Session, select

from app.models import Participant, Proposal, Table, Vote
from app.security import hash_token
from app.services import events, participants, proposals, state, tables, voting
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from tests.conftest import in_phase, make_event, make_participant, make_table


def post(
    session: Session, participant: Participant, title: str = "Trasporto sociale per i centri diurni"
) -> Proposal:
    in_phase(session, session.get(Table, participant.table_id), "collect")  # type: ignore[arg-type]
    return proposals.post_proposal(
        session, participant=participant, kind="proposal", title=title
    ).proposal


def vote(
    session: Session, participant: Participant, proposal_id: int, dots: int
) -> voting.VoteResult:
    in_phase(session, session.get(Table, participant.table_id), "voting")  # type: ignore[arg-type]
    return voting.set_vote(session, participant=participant, proposal_id=proposal_id, dots=dots)


def test_event_defaults_to_the_italian_stakeholder_categories(session: Session) -> None:
    event, token = make_event(session)
    assert event.categories[0] == "Comune / ente pubblico"
    assert "Ente del Terzo Settore" in event.categories
    assert event.moderator_token_hash == hash_token(token) != token
    assert events.event_for_moderator(session, token).id == event.id


def test_event_categories_are_editable_and_deduplicated(session: Session) -> None:
    event, _ = make_event(session, categories=["Comune", " comune ", "ETS", ""])
    assert event.categories == ["Comune", "ETS"]


def test_moderator_and_organiser_tokens_are_checked(session: Session) -> None:
    with pytest.raises(Unauthorized):
        events.event_for_moderator(session, None)
    with pytest.raises(Forbidden):
        events.event_for_moderator(session, "not-a-token")
    with pytest.raises(Forbidden):
        events.check_admin(admin_token="right", given="wrong")
    events.check_admin(admin_token="right", given="right")


def test_event_title_is_required(session: Session) -> None:
    with pytest.raises(Invalid):
        events.create_event(session, title="   ", date=dt.date(2024, 11, 9))


def test_table_codes_avoid_look_alike_characters(session: Session) -> None:
    event, _ = make_event(session)
    codes = {make_table(session, event).code for _ in range(30)}
    assert len(codes) == 30
    for code in codes:
        assert len(code) == 6
        assert not set(code) & set("0O1IL")


def test_unknown_code_is_not_found_and_codes_are_forgiving(session: Session) -> None:
    table = make_table(session)
    with pytest.raises(NotFound):
        tables.table_by_code(session, "ZZZZZZ")
    spaced = f" {table.code[:3].lower()} {table.code[3:].lower()} "
    assert tables.table_by_code(session, spaced).id == table.id


def test_dots_rules_are_validated() -> None:
    with pytest.raises(Invalid):
        tables.VotingRules.checked("dots", 0, 1)
    with pytest.raises(Invalid):
        tables.VotingRules.checked("dots", 3, 4)
    with pytest.raises(Invalid):
        tables.VotingRules.checked("ranked")
    assert tables.VotingRules.checked("approval", 9, 9) == tables.VotingRules("approval", 1, 1)


def test_join_keeps_the_token_hashed_and_checks_the_category(session: Session) -> None:
    table = make_table(session)
    participant, token = make_participant(session, table, category="Ente del Terzo Settore")
    assert participant.token_hash == hash_token(token)
    assert participants.participant_by_token(session, token).id == participant.id
    with pytest.raises(Invalid):
        make_participant(session, table, category="Marziani")


def test_post_proposal_bumps_the_table_sequence(session: Session) -> None:
    table = make_table(session)
    participant, _ = make_participant(session, table)
    base = state.current_seq(session, table.id or 0)  # joining takes the table's lock too
    first = post(session, participant)
    second = post(session, participant, "Sportello unico per le famiglie")
    assert (first.created_seq, second.created_seq) == (base + 1, base + 2)
    assert state.current_seq(session, table.id or 0) == base + 2


@pytest.mark.parametrize(
    ("title", "body", "kind"),
    [
        ("", "", "proposal"),
        ("    ", "", "proposal"),
        ("x" * 141, "", "proposal"),
        ("Titolo", "y" * 1001, "proposal"),
        ("Titolo", "", "wish"),
    ],
)
def test_bad_posts_are_refused_and_store_nothing(
    session: Session, title: str, body: str, kind: str
) -> None:
    table = make_table(session)
    participant, _ = make_participant(session, table)
    seq = state.current_seq(session, table.id or 0)
    with pytest.raises(Invalid):
        proposals.post_proposal(session, participant=participant, kind=kind, title=title, body=body)
    assert session.exec(select(Proposal)).all() == []
    assert state.current_seq(session, table.id or 0) == seq


def test_title_of_exactly_140_characters_and_accents_is_accepted(session: Session) -> None:
    table = make_table(session)
    participant, _ = make_participant(session, table)
    title = ("Più è " * 30)[:140]
    assert len(post(session, participant, title).title) == 140


def test_approval_vote_is_a_toggle_and_idempotent(session: Session) -> None:
    table = make_table(session)
    alice, _ = make_participant(session, table)
    bob, _ = make_participant(session, table)
    proposal = post(session, alice)
    pid = proposal.id or 0
    assert vote(session, alice, pid, 1).tally == 1
    again = vote(session, alice, pid, 1)
    assert again.tally == 1 and again.dots_left is None
    assert vote(session, bob, pid, 1).tally == 2
    assert vote(session, alice, pid, 0).tally == 1
    with pytest.raises(Invalid):
        vote(session, alice, pid, 2)
    assert len(session.exec(select(Vote)).all()) == 1


def test_dots_budget_is_enforced_and_dots_can_be_moved(session: Session) -> None:
    table = make_table(session, mode="dots", dots=5, cap=3)
    me, _ = make_participant(session, table)
    a, b, c = (post(session, me, t) for t in ("Casa", "Lavoro", "Trasporti"))
    result = vote(session, me, a.id or 0, 3)
    assert (result.my_dots, result.dots_left, result.tally) == (3, 2, 3)
    vote(session, me, b.id or 0, 2)
    with pytest.raises(Conflict):  # budget exhausted
        vote(session, me, c.id or 0, 1)
    # Move a dot from A to C.
    assert vote(session, me, a.id or 0, 2).dots_left == 1
    assert vote(session, me, c.id or 0, 1).dots_left == 0
    assert voting.my_votes(session, me) == {a.id: 2, b.id: 2, c.id: 1}


def test_dots_cap_per_proposal_and_negative_dots(session: Session) -> None:
    table = make_table(session, mode="dots", dots=5, cap=2)
    me, _ = make_participant(session, table)
    proposal = post(session, me)
    with pytest.raises(Conflict):
        vote(session, me, proposal.id or 0, 3)
    with pytest.raises(Invalid):
        vote(session, me, proposal.id or 0, -1)
    assert voting.tally(session, proposal.id or 0) == 0


def test_refused_vote_changes_nothing(session: Session) -> None:
    table = make_table(session, mode="dots", dots=2, cap=2)
    me, _ = make_participant(session, table)
    a, b = post(session, me, "Casa"), post(session, me, "Lavoro")
    vote(session, me, a.id or 0, 2)
    seq = state.current_seq(session, table.id or 0)
    with pytest.raises(Conflict):
        vote(session, me, b.id or 0, 1)
    assert state.current_seq(session, table.id or 0) == seq
    assert voting.my_votes(session, me) == {a.id: 2}


def test_vote_on_another_tables_proposal_is_not_found(session: Session) -> None:
    event, _ = make_event(session)
    mine, other = make_table(session, event), make_table(session, event)
    me, _ = make_participant(session, mine)
    stranger, _ = make_participant(session, other)
    foreign = post(session, stranger)
    with pytest.raises(NotFound):
        vote(session, me, foreign.id or 0, 1)
    with pytest.raises(NotFound):
        vote(session, me, 9999, 1)
    assert session.exec(select(Vote)).all() == []


def test_delta_holds_new_cards_and_changed_tallies_since_a_seq(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    a = post(session, me, "Casa")
    seq_after_a = state.current_seq(session, table.id or 0)
    b = post(session, me, "Lavoro")
    vote(session, me, a.id or 0, 1)
    delta = state.table_delta(session, table.id or 0, seq_after_a)
    assert (delta.prev_seq, delta.seq) == (seq_after_a, seq_after_a + 2)
    assert [p.id for p in delta.new] == [b.id]
    assert [(p.id, p.tally) for p in delta.changed] == [(a.id, 1)]
    assert state.table_delta(session, table.id or 0, seq_after_a + 2).empty


def test_table_state_counts_everything(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    other, _ = make_participant(session, table)
    a = post(session, me, "Casa")
    vote(session, me, a.id or 0, 1)
    vote(session, other, a.id or 0, 1)
    current = state.table_state(session, session.get(Table, table.id) or table)
    assert current.participants == 2
    assert current.total_votes == 2
    assert current.proposals[0].voters == 2
