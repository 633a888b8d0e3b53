"""Running a table, through the services: phases, timer, moderation, merges, tags, proxies."""

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from app.live.fragments import table_json
from app.models import Participant, Proposal, ProposalTag, Table, utcnow
from app.reports.data import build_table_report
from app.services import moderation, participants, phases, proposals, screen, state, voting
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.state import ProposalView, TableState
from tests.conftest import in_phase, make_event, make_participant, make_table

# --- helpers -------------------------------------------------------------------------------


def post(session: Session, author: Participant, title: str = "Centro diurno aperto") -> Proposal:
    """Post in whatever phase the table is in (the phase rules are what is tested here)."""
    return proposals.post_proposal(
        session, participant=author, kind="proposal", title=title
    ).proposal


def vote(session: Session, voter: Participant, proposal: Proposal, dots: int) -> None:
    voting.set_vote(session, participant=voter, proposal_id=proposal.id or 0, dots=dots)


def current(session: Session, table: Table) -> TableState:
    return state.table_state(session, table)


def view(session: Session, proposal: Proposal) -> ProposalView:
    return state.proposal_view(session, proposal.id or 0)


def seq_of(session: Session, table: Table) -> int:
    return state.current_seq(session, table.id or 0)


def tallies(session: Session, table: Table) -> dict[str, int]:
    """Title -> tally of what is on the wall."""
    return {p.title: p.tally for p in current(session, table).visible}


def ballot(session: Session, voter: Participant, *named: Proposal) -> dict[str, int]:
    """A participant's votes, by proposal title."""
    titles = {p.id: p.title for p in named}
    return {titles[pid]: dots for pid, dots in voting.my_votes(session, voter).items()}


def budget_of(session: Session, table: Table, voter: Participant) -> int | None:
    return voting.dots_left(session, voter, table)


# --- phases --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "post_in_discussion", "can_post", "can_vote"),
    [
        ("preparation", False, False, False),
        ("collect", False, True, False),
        ("discussion", False, False, False),
        ("discussion", True, True, False),
        ("voting", False, False, True),
        ("voting", True, False, True),
        ("closed", True, False, False),
    ],
)
def test_posting_and_voting_open_only_in_their_phase(
    session: Session, phase: str, post_in_discussion: bool, can_post: bool, can_vote: bool
) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    existing = post(session, me, "Già sul muro")
    screen.update_settings(session, table, post_in_discussion=post_in_discussion)
    in_phase(session, table, phase)

    if can_post:
        assert post(session, me, "Nuova proposta").status == "visible"
    else:
        with pytest.raises(Conflict):
            post(session, me, "Nuova proposta")
    if can_vote:
        vote(session, me, existing, 1)
        assert voting.tally(session, existing.id or 0) == 1
    else:
        with pytest.raises(Conflict):
            vote(session, me, existing, 1)
        assert voting.tally(session, existing.id or 0) == 0
    expected = ["Già sul muro", "Nuova proposta"] if can_post else ["Già sul muro"]
    assert [p.title for p in current(session, table).visible] == expected


def test_closed_table_is_read_only_and_a_refusal_changes_nothing(session: Session) -> None:
    table = make_table(session)
    alice, _ = make_participant(session, table)
    bob, _ = make_participant(session, table)
    a, b = post(session, alice, "Casa"), post(session, bob, "Lavoro")
    screen.update_settings(session, table, premoderation=True)
    pending = post(session, alice, "In coda")
    in_phase(session, table, "voting")
    vote(session, alice, a, 1)
    tag = moderation.create_tag(session, table, "Abitare").tag_id
    phases.set_phase(session, table, "closed")
    seq = seq_of(session, table)

    refused = [
        lambda: post(session, alice, "Troppo tardi"),
        lambda: vote(session, bob, a, 1),
        lambda: vote(session, alice, a, 0),
        lambda: proposals.edit_own(session, participant=alice, proposal_id=a.id or 0, title="X"),
        lambda: proposals.withdraw_own(session, participant=alice, proposal_id=a.id or 0),
        lambda: moderation.accept(session, table, pending.id or 0),
        lambda: moderation.reject(session, table, pending.id or 0, note="No"),
        lambda: moderation.ask_rephrase(session, table, pending.id or 0, note="Più chiaro"),
        lambda: moderation.hide(session, table, a.id or 0),
        lambda: moderation.edit(session, table, a.id or 0, title="Casa e lavoro", body=""),
        lambda: moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0]),
        lambda: moderation.set_tag(session, table, tag_id=tag, proposal_ids=[a.id or 0]),
    ]
    for action in refused:
        with pytest.raises(Conflict):
            action()
        session.rollback()

    after = current(session, table)
    assert after.seq == seq
    assert [(p.title, p.status, p.tally, p.tags) for p in after.proposals] == [
        ("Casa", "visible", 1, ()),
        ("Lavoro", "visible", 0, ()),
        ("In coda", "pending", 0, ()),
    ]


def test_phase_changes_bump_seq_and_layout_and_fill_the_timeline(session: Session) -> None:
    table = make_table(session, phase="preparation")
    assert phases.timeline(session, table) == []
    seqs = []
    for phase in ("collect", "discussion", "voting", "discussion", "voting", "closed"):
        seq = phases.set_phase(session, table, phase).seq
        assert table.phase == phase
        assert (table.seq, table.layout_seq) == (seq, seq)
        assert seq_of(session, table) == seq
        seqs.append(seq)
    assert seqs == [1, 2, 3, 4, 5, 6]
    timeline = phases.timeline(session, table)
    assert [change.phase for change in timeline] == [
        "collect",
        "discussion",
        "voting",
        "discussion",
        "voting",
        "closed",
    ]
    assert [c.at for c in timeline] == sorted(c.at for c in timeline)

    # The moderator can step back even from closed; staying put adds no timeline entry.
    phases.set_phase(session, table, phases.previous_phase("closed"))
    assert table.phase == "voting"
    again = phases.set_phase(session, table, "voting")
    assert again.seq == 8 and table.layout_seq == 8
    assert len(phases.timeline(session, table)) == 7


def test_unknown_phase_is_invalid_and_changes_nothing(session: Session) -> None:
    table = make_table(session)
    with pytest.raises(Invalid):
        phases.set_phase(session, table, "lunch")
    assert table.phase == "collect"
    assert seq_of(session, table) == 0
    assert phases.timeline(session, table) == []


def test_next_and_previous_phase_stop_at_the_ends() -> None:
    assert phases.next_phase("voting") == "closed"
    assert phases.next_phase("closed") == "closed"
    assert phases.previous_phase("collect") == "preparation"
    assert phases.previous_phase("preparation") == "preparation"


# --- timer ---------------------------------------------------------------------------------


def expire(session: Session, table: Table) -> None:
    """Pretend the countdown reached zero a moment ago."""
    table.timer_ends_at = utcnow() - dt.timedelta(seconds=2)
    session.add(table)
    session.commit()


def test_timer_start_extend_stop(session: Session) -> None:
    table = make_table(session)
    assert phases.seconds_left(table) is None
    seq = phases.start_timer(session, table, seconds=60).seq
    assert (table.seq, table.layout_seq) == (seq, seq)
    assert phases.seconds_left(table) in (59, 60)
    assert current(session, table).timer_left in (59, 60)
    assert table.timer_seconds == 60

    phases.extend_timer(session, table, seconds=30)
    assert phases.seconds_left(table) in (89, 90)
    assert table.timer_seconds == 90
    phases.extend_timer(session, table, seconds=-60)
    assert phases.seconds_left(table) in (29, 30)
    # Shortening past zero ends the countdown now, never in the past.
    phases.extend_timer(session, table, seconds=-3600)
    assert phases.seconds_left(table) == 0

    assert phases.stop_timer(session, table).seq == table.seq
    assert phases.seconds_left(table) is None
    assert current(session, table).timer_left is None


def test_seconds_left_is_counted_from_the_given_instant(session: Session) -> None:
    table = make_table(session)
    phases.start_timer(session, table, seconds=600)
    ends = table.timer_ends_at
    assert ends is not None
    assert phases.seconds_left(table, now=ends - dt.timedelta(seconds=42)) == 42
    assert phases.seconds_left(table, now=ends + dt.timedelta(seconds=5)) == 0


@pytest.mark.parametrize("seconds", [0, -5, 4 * 3600 + 1])
def test_invalid_timer_lengths_are_refused(session: Session, seconds: int) -> None:
    table = make_table(session)
    with pytest.raises(Invalid):
        phases.start_timer(session, table, seconds=seconds)
    assert phases.seconds_left(table) is None
    assert seq_of(session, table) == 0


def test_extend_needs_a_running_timer_and_a_sane_length(session: Session) -> None:
    table = make_table(session)
    with pytest.raises(Conflict):
        phases.extend_timer(session, table, seconds=30)
    phases.start_timer(session, table, seconds=60)
    with pytest.raises(Invalid):
        phases.extend_timer(session, table, seconds=4 * 3600 + 1)
    assert phases.seconds_left(table) in (59, 60)
    phases.stop_timer(session, table)
    with pytest.raises(Conflict):
        phases.extend_timer(session, table, seconds=30)


def test_finish_timer_advances_only_when_asked_and_only_at_zero(session: Session) -> None:
    table = make_table(session, phase="collect")
    phases.start_timer(session, table, seconds=60, advance=True)
    seq = seq_of(session, table)
    assert phases.finish_timer(session, table.id or 0).seq is None  # still running
    assert (table.phase, seq_of(session, table)) == ("collect", seq)

    expire(session, table)
    finished = phases.finish_timer(session, table.id or 0).seq
    assert finished == seq + 1 == table.layout_seq
    assert table.phase == "discussion"
    assert [c.phase for c in phases.timeline(session, table)] == ["discussion"]
    assert phases.seconds_left(table) is None
    assert phases.finish_timer(session, table.id or 0).seq is None  # only once
    assert table.phase == "discussion"


def test_finish_timer_without_advance_just_stops(session: Session) -> None:
    table = make_table(session, phase="voting")
    phases.start_timer(session, table, seconds=60)
    expire(session, table)
    assert phases.finish_timer(session, table.id or 0).seq is not None
    assert table.phase == "voting"
    assert phases.timeline(session, table) == []
    assert phases.seconds_left(table) is None


def test_finish_timer_never_moves_past_closed(session: Session) -> None:
    table = make_table(session, phase="closed")
    phases.start_timer(session, table, seconds=5, advance=True)
    expire(session, table)
    phases.finish_timer(session, table.id or 0)
    assert table.phase == "closed"
    assert phases.timeline(session, table) == []


def test_finish_timer_reads_a_reloaded_deadline(session: Session) -> None:
    """SQLite hands datetimes back without a zone: the deadline must still compare as UTC."""
    table = make_table(session)
    phases.start_timer(session, table, seconds=60, advance=True)
    expire(session, table)
    session.expire_all()
    reloaded = session.get(Table, table.id)
    assert reloaded is not None
    assert phases.seconds_left(reloaded) == 0
    assert phases.finish_timer(session, reloaded.id or 0).seq is not None
    assert reloaded.phase == "discussion"


# --- pre-moderation ------------------------------------------------------------------------


def test_premoderation_queue_accept_and_reject(session: Session) -> None:
    table = make_table(session)
    screen.update_settings(session, table, premoderation=True)
    me, _ = make_participant(session, table)
    good, bad = post(session, me, "Sportello unico"), post(session, me, "Offesa")
    assert (good.status, bad.status) == ("pending", "pending")
    before = current(session, table)
    assert before.visible == []
    assert [p.title for p in before.queue] == ["Sportello unico", "Offesa"]
    assert table_json(before)["proposals"] == []

    moderation.accept(session, table, good.id or 0)
    moderation.reject(session, table, bad.id or 0, note="Linguaggio offensivo")
    after = current(session, table)
    assert [p.title for p in after.visible] == ["Sportello unico"]
    assert after.queue == []
    assert [(p.title, p.status, p.moderator_note) for p in after.off_wall] == [
        ("Offesa", "rejected", "Linguaggio offensivo")
    ]
    # The author still sees the refusal and its reason.
    assert [(p.title, p.status) for p in after.by_author(me.id or 0)] == [
        ("Sportello unico", "visible"),
        ("Offesa", "rejected"),
    ]
    with pytest.raises(Conflict):
        moderation.accept(session, table, good.id or 0)  # already on the wall


def test_rephrase_needs_a_note_and_the_authors_edit_goes_back_to_the_queue(
    session: Session,
) -> None:
    table = make_table(session)
    screen.update_settings(session, table, premoderation=True)
    me, _ = make_participant(session, table)
    proposal = post(session, me, "Cose")
    with pytest.raises(Invalid):
        moderation.ask_rephrase(session, table, proposal.id or 0, note="   ")
    assert view(session, proposal).status == "pending"

    moderation.ask_rephrase(session, table, proposal.id or 0, note="Quali servizi, per chi?")
    seen = current(session, table)
    assert seen.queue == [] and seen.visible == []
    mine = seen.by_author(me.id or 0)
    assert [(p.status, p.moderator_note) for p in mine] == [("rephrase", "Quali servizi, per chi?")]

    proposals.edit_own(
        session,
        participant=me,
        proposal_id=proposal.id or 0,
        title="Trasporto per i centri diurni",
        body="Per chi non guida.",
    )
    again = view(session, proposal)
    assert (again.status, again.moderator_note) == ("pending", "")
    assert (again.title, again.body) == ("Trasporto per i centri diurni", "Per chi non guida.")
    assert not again.edited  # the author's own wording is not a moderator's edit
    assert [p.id for p in current(session, table).queue] == [proposal.id]


def test_paper_participants_posts_skip_the_queue(session: Session) -> None:
    table = make_table(session)
    screen.update_settings(session, table, premoderation=True)
    paper = moderation.add_paper_participant(session, table, name="Giuseppe").participant
    proposal = post(session, paper, "Più autobus la domenica")
    assert proposal.status == "visible"
    assert [p.title for p in current(session, table).visible] == ["Più autobus la domenica"]


# --- hide, restore, moderator edits --------------------------------------------------------


def test_hide_and_restore_keep_the_votes(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    proposal = post(session, me)
    in_phase(session, table, "voting")
    vote(session, me, proposal, 1)

    moderation.hide(session, table, proposal.id or 0)
    hidden = current(session, table)
    assert hidden.visible == [] and hidden.total_votes == 0
    assert [p.status for p in hidden.off_wall] == ["hidden"]
    with pytest.raises(Conflict):
        moderation.hide(session, table, proposal.id or 0)
    with pytest.raises(Conflict):  # not on the wall: nobody can vote on it
        vote(session, me, proposal, 0)

    moderation.restore(session, table, proposal.id or 0)
    assert tallies(session, table) == {"Centro diurno aperto": 1}
    with pytest.raises(Conflict):
        moderation.restore(session, table, proposal.id or 0)


def test_moderation_only_touches_proposals_of_its_table(session: Session) -> None:
    event, _ = make_event(session)
    mine, other = make_table(session, event), make_table(session, event)
    stranger, _ = make_participant(session, other)
    foreign = post(session, stranger)
    with pytest.raises(NotFound):
        moderation.hide(session, mine, foreign.id or 0)
    with pytest.raises(NotFound):
        moderation.edit(session, mine, foreign.id or 0, title="Altro", body="")
    assert view(session, foreign).status == "visible"


def test_moderator_edit_keeps_the_authors_first_wording(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    proposal = proposals.post_proposal(
        session, participant=me, kind="need", title="Trasprto sociale", body="per anziani"
    ).proposal
    assert not view(session, proposal).edited

    # Saving the same text is not an edit.
    moderation.edit(session, table, proposal.id or 0, title="Trasprto sociale", body="per anziani")
    assert not view(session, proposal).edited

    moderation.edit(session, table, proposal.id or 0, title="Trasporto sociale", body="anziani")
    first = view(session, proposal)
    assert (first.title, first.body, first.edited) == ("Trasporto sociale", "anziani", True)
    assert first.original_title == "Trasprto sociale"
    assert first.as_json()["edited"] is True

    moderation.edit(session, table, proposal.id or 0, title="Trasporto sociale serale", body="")
    second = view(session, proposal)
    assert second.title == "Trasporto sociale serale"
    assert second.original_title == "Trasprto sociale"
    stored = session.get(Proposal, proposal.id, populate_existing=True)
    assert stored is not None and stored.original_body == "per anziani"

    with pytest.raises(Invalid):
        moderation.edit(session, table, proposal.id or 0, title="  ", body="")
    assert view(session, proposal).title == "Trasporto sociale serale"


# --- authors' own edits --------------------------------------------------------------------


def test_only_the_author_edits_or_withdraws_and_only_while_collecting(session: Session) -> None:
    table = make_table(session)
    author, _ = make_participant(session, table)
    other, _ = make_participant(session, table)
    proposal = post(session, author, "Doposcuola")
    pid = proposal.id or 0

    with pytest.raises(Forbidden):
        proposals.edit_own(session, participant=other, proposal_id=pid, title="Mio")
    with pytest.raises(Forbidden):
        proposals.withdraw_own(session, participant=other, proposal_id=pid)

    proposals.edit_own(session, participant=author, proposal_id=pid, title="Doposcuola gratuito")
    assert view(session, proposal).title == "Doposcuola gratuito"
    assert view(session, proposal).status == "visible"

    in_phase(session, table, "voting")
    with pytest.raises(Conflict):
        proposals.edit_own(session, participant=author, proposal_id=pid, title="Tardi")
    with pytest.raises(Conflict):
        proposals.withdraw_own(session, participant=author, proposal_id=pid)
    assert view(session, proposal).title == "Doposcuola gratuito"

    in_phase(session, table, "collect")
    proposals.withdraw_own(session, participant=author, proposal_id=pid)
    after = current(session, table)
    assert after.visible == [] and after.queue == [] and after.off_wall == []
    assert after.by_author(author.id or 0) == []
    with pytest.raises(Conflict):
        proposals.edit_own(session, participant=author, proposal_id=pid, title="Ripensato")


def test_authors_may_edit_in_discussion_when_posting_is_open_there(session: Session) -> None:
    table = make_table(session)
    author, _ = make_participant(session, table)
    proposal = post(session, author, "Bozza")
    in_phase(session, table, "discussion")
    with pytest.raises(Conflict):
        proposals.edit_own(session, participant=author, proposal_id=proposal.id or 0, title="B")
    screen.update_settings(session, table, post_in_discussion=True)
    proposals.edit_own(session, participant=author, proposal_id=proposal.id or 0, title="Bella")
    assert view(session, proposal).title == "Bella"


# --- merges ---------------------------------------------------------------------------------


def test_merge_with_approval_keeps_one_vote_per_person(session: Session) -> None:
    table = make_table(session)
    alice, _ = make_participant(session, table)
    bob, _ = make_participant(session, table)
    carol, _ = make_participant(session, table)
    a = post(session, alice, "Casa")
    b = post(session, bob, "Abitare")
    c = post(session, carol, "Casa popolare")
    d = post(session, carol, "Lavoro")
    in_phase(session, table, "voting")
    for voter, proposal in ((alice, a), (alice, b), (alice, c), (bob, a), (carol, b), (bob, d)):
        vote(session, voter, proposal, 1)
    assert tallies(session, table) == {"Casa": 2, "Abitare": 2, "Casa popolare": 1, "Lavoro": 1}
    assert current(session, table).total_votes == 6

    record = moderation.merge(
        session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0, c.id or 0]
    )
    after = current(session, table)
    assert tallies(session, table) == {"Casa": 3, "Lavoro": 1}
    assert after.total_votes == 4
    assert [p.voters for p in after.visible] == [3, 1]
    assert ballot(session, alice, a, b, c, d) == {"Casa": 1}
    assert ballot(session, bob, a, b, c, d) == {"Casa": 1, "Lavoro": 1}
    assert ballot(session, carol, a, b, c, d) == {"Casa": 1}
    survivor = view(session, a)
    assert survivor.merged_from == ((b.id, "Abitare"), (c.id, "Casa popolare"))
    assert survivor.as_json()["merged_from"] == [b.id, c.id]
    assert [(view(session, p).status, view(session, p).merged_into_id) for p in (b, c)] == [
        ("merged", a.id),
        ("merged", a.id),
    ]
    assert [m.id for m in after.merges] == [record.merge_id]


def test_merge_refuses_single_or_off_wall_proposals(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    a, b, c = post(session, me, "Casa"), post(session, me, "Lavoro"), post(session, me, "Scuola")
    moderation.hide(session, table, c.id or 0)
    seq = seq_of(session, table)

    with pytest.raises(Invalid):
        moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[])
    with pytest.raises(Invalid):
        moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[a.id or 0])
    with pytest.raises(Conflict):
        moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[c.id or 0])
    with pytest.raises(Conflict):
        moderation.merge(session, table, survivor_id=c.id or 0, merged_ids=[a.id or 0])
    with pytest.raises(NotFound):
        moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[9999])
    assert seq_of(session, table) == seq
    assert [p.status for p in current(session, table).proposals] == ["visible", "visible", "hidden"]
    assert current(session, table).merges == []

    moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])
    with pytest.raises(Conflict):  # already merged: no longer on the wall
        moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])


@dataclass(frozen=True)
class DotsTable:
    table: Table
    alice: Participant
    bob: Participant
    carol: Participant
    a: Proposal
    b: Proposal
    c: Proposal


@pytest.fixture
def dots_table(session: Session) -> DotsTable:
    """5 dots, at most 3 per proposal. Alice 2+2 on the duplicates A and B."""
    table = make_table(session, mode="dots", dots=5, cap=3)
    alice, _ = make_participant(session, table)
    bob, _ = make_participant(session, table)
    carol, _ = make_participant(session, table)
    a, b, c = post(session, alice, "Casa"), post(session, bob, "Abitare"), post(session, bob, "Bus")
    in_phase(session, table, "voting")
    vote(session, alice, a, 2)
    vote(session, alice, b, 2)
    vote(session, bob, a, 3)
    vote(session, bob, c, 2)
    vote(session, carol, b, 1)
    vote(session, carol, c, 3)
    return DotsTable(table, alice, bob, carol, a, b, c)


def test_merge_with_dots_caps_and_gives_the_excess_back(
    session: Session, dots_table: DotsTable
) -> None:
    table, alice, bob, carol = dots_table.table, dots_table.alice, dots_table.bob, dots_table.carol
    a, b, c = dots_table.a, dots_table.b, dots_table.c
    assert tallies(session, table) == {"Casa": 5, "Abitare": 3, "Bus": 5}
    assert [budget_of(session, table, p) for p in (alice, bob, carol)] == [1, 0, 1]

    moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])
    assert tallies(session, table) == {"Casa": 3 + 3 + 1, "Bus": 5}
    assert ballot(session, alice, a, b, c) == {"Casa": 3}
    assert ballot(session, bob, a, b, c) == {"Casa": 3, "Bus": 2}
    assert ballot(session, carol, a, b, c) == {"Casa": 1, "Bus": 3}
    # Alice had 4 on the two duplicates, keeps 3 (the cap) and gets 1 dot back.
    assert [budget_of(session, table, p) for p in (alice, bob, carol)] == [2, 0, 1]

    # The returned dot can be spent.
    vote(session, alice, c, 2)
    assert budget_of(session, table, alice) == 0


def test_undo_merge_restores_the_exact_votes_and_statuses(
    session: Session, dots_table: DotsTable
) -> None:
    table, alice, bob, carol = dots_table.table, dots_table.alice, dots_table.bob, dots_table.carol
    a, b = dots_table.a, dots_table.b
    voters = (alice, bob, carol)
    before = {p.id: voting.my_votes(session, p) for p in voters}
    record = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])

    seq = moderation.undo_merge(session, table, record.merge_id).seq
    assert seq == seq_of(session, table) == table.layout_seq
    assert {p.id: voting.my_votes(session, p) for p in voters} == before
    assert tallies(session, table) == {"Casa": 5, "Abitare": 3, "Bus": 5}
    assert [budget_of(session, table, p) for p in voters] == [1, 0, 1]
    assert [p.status for p in current(session, table).proposals] == ["visible"] * 3
    assert view(session, a).merged_from == ()
    assert view(session, b).merged_into_id is None
    assert current(session, table).merges == []

    with pytest.raises(Conflict):
        moderation.undo_merge(session, table, record.merge_id)
    assert tallies(session, table) == {"Casa": 5, "Abitare": 3, "Bus": 5}
    with pytest.raises(NotFound):
        moderation.undo_merge(session, table, 9999)


def test_undo_merge_never_exceeds_a_budget_spent_in_between(
    session: Session, dots_table: DotsTable
) -> None:
    table, alice, bob, carol = dots_table.table, dots_table.alice, dots_table.bob, dots_table.carol
    a, b, c = dots_table.a, dots_table.b, dots_table.c
    dave, _ = make_participant(session, table)
    record = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])
    vote(session, alice, c, 2)  # spends the dot the merge gave back, and the spare one
    vote(session, dave, a, 3)  # a later voter on the merged proposal
    assert budget_of(session, table, alice) == 0

    moderation.undo_merge(session, table, record.merge_id)
    for voter in (alice, bob, carol, dave):
        assert voting.dots_used(session, voter) <= table.dots
    # Alice's dots on the survivor come back first, then what is left of her budget.
    assert ballot(session, alice, a, b, c) == {"Casa": 2, "Abitare": 1, "Bus": 2}
    assert ballot(session, bob, a, b, c) == {"Casa": 3, "Bus": 2}
    assert ballot(session, carol, a, b, c) == {"Abitare": 1, "Bus": 3}
    assert ballot(session, dave, a, b, c) == {"Casa": 3}
    assert tallies(session, table) == {"Casa": 8, "Abitare": 2, "Bus": 7}


def test_undo_merge_keeps_a_vote_withdrawn_after_the_merge(session: Session) -> None:
    """B supports both duplicates, they are merged, B withdraws: undoing the merge must not
    bring B's support back, live or in the minutes."""
    table = make_table(session)
    alice, _ = make_participant(session, table)
    bob, _ = make_participant(session, table)
    p1, p2 = post(session, alice, "Casa"), post(session, alice, "Abitare")
    in_phase(session, table, "voting")
    vote(session, bob, p1, 1)
    vote(session, bob, p2, 1)
    vote(session, alice, p2, 1)
    record = moderation.merge(session, table, survivor_id=p1.id or 0, merged_ids=[p2.id or 0])
    vote(session, bob, p1, 0)  # acknowledged: Bob no longer supports the merged post

    moderation.undo_merge(session, table, record.merge_id)
    assert ballot(session, bob, p1, p2) == {}
    assert ballot(session, alice, p1, p2) == {"Abitare": 1}  # untouched since: restored
    assert tallies(session, table) == {"Casa": 0, "Abitare": 1}
    minutes = build_table_report(session, table)
    assert {line.title: line.votes for line in minutes.lines} == {"Casa": 0, "Abitare": 1}


def test_undo_merge_keeps_every_change_made_on_the_merged_post(
    session: Session, dots_table: DotsTable
) -> None:
    """What each person did to the merged post since the merge stands; only what the merge
    did is undone, and nobody ends over budget or cap."""
    table, alice, bob, carol = dots_table.table, dots_table.alice, dots_table.bob, dots_table.carol
    a, b, c = dots_table.a, dots_table.b, dots_table.c
    dave, _ = make_participant(session, table)
    erin, _ = make_participant(session, table)
    vote(session, erin, b, 2)
    record = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])
    assert ballot(session, alice, a, b, c) == {"Casa": 3}  # 2 + 2, capped at 3
    vote(session, alice, a, 1)  # takes two dots back from the merged post
    vote(session, bob, a, 0)  # withdraws from it
    vote(session, carol, a, 2)  # adds one (she had 1 on Abitare)
    vote(session, dave, a, 2)  # a new voter on the merged post
    moderation.remove_participant(session, table, erin.id or 0)  # had 2 on Abitare

    moderation.undo_merge(session, table, record.merge_id)
    assert ballot(session, alice, a, b, c) == {"Casa": 1}
    assert ballot(session, bob, a, b, c) == {"Bus": 2}
    assert ballot(session, carol, a, b, c) == {"Casa": 2, "Bus": 3}
    assert ballot(session, dave, a, b, c) == {"Casa": 2}
    assert ballot(session, erin, a, b, c) == {}
    assert tallies(session, table) == {"Casa": 5, "Abitare": 0, "Bus": 5}
    for voter in (alice, bob, carol, dave):
        assert voting.dots_used(session, voter) <= table.dots


def test_undo_merge_waits_for_a_hidden_survivor_and_then_keeps_every_budget(
    session: Session, dots_table: DotsTable
) -> None:
    """While the merged post is hidden its votes are off the count, and the dots come back to
    their voters: the undo waits until it is restored (trimmed to each budget by then)."""
    table, alice, bob, carol = dots_table.table, dots_table.alice, dots_table.bob, dots_table.carol
    a, b, c = dots_table.a, dots_table.b, dots_table.c
    record = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])
    moderation.hide(session, table, a.id or 0)
    with pytest.raises(Conflict) as refused:
        moderation.undo_merge(session, table, record.merge_id)
    assert str(refused.value) == "Restore the merged post before undoing its merge"
    vote(session, alice, c, 3)  # spends the dots the hide gave back: 3 of her 5
    moderation.restore(session, table, a.id or 0)
    assert ballot(session, alice, a, b, c) == {"Casa": 2, "Bus": 3}  # trimmed on return

    moderation.undo_merge(session, table, record.merge_id)
    # Alice's vote on the merged post changed since (the restore trimmed it): it stands.
    assert ballot(session, alice, a, b, c) == {"Casa": 2, "Bus": 3}
    assert ballot(session, bob, a, b, c) == {"Casa": 3, "Bus": 2}
    assert ballot(session, carol, a, b, c) == {"Abitare": 1, "Bus": 3}
    for voter in (alice, bob, carol):
        assert voting.dots_used(session, voter) <= table.dots


def test_undo_of_a_merge_whose_survivor_was_merged_later_waits(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    a, b, c = post(session, me, "Casa"), post(session, me, "Abitare"), post(session, me, "Alloggi")
    in_phase(session, table, "voting")
    vote(session, me, b, 1)
    first = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])
    second = moderation.merge(session, table, survivor_id=c.id or 0, merged_ids=[a.id or 0])
    assert tallies(session, table) == {"Alloggi": 1}

    with pytest.raises(Conflict):
        moderation.undo_merge(session, table, first.merge_id)
    moderation.undo_merge(session, table, second.merge_id)
    moderation.undo_merge(session, table, first.merge_id)
    assert tallies(session, table) == {"Casa": 0, "Abitare": 1, "Alloggi": 0}
    assert ballot(session, me, a, b, c) == {"Abitare": 1}


def test_two_merges_into_one_survivor_undone_last_first_are_exact(session: Session) -> None:
    table = make_table(session)
    alice, _ = make_participant(session, table)
    bob, _ = make_participant(session, table)
    a, b, c = post(session, alice, "Casa"), post(session, alice, "Abitare"), post(session, bob, "X")
    in_phase(session, table, "voting")
    vote(session, alice, b, 1)
    vote(session, alice, c, 1)
    vote(session, bob, c, 1)
    first = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])
    second = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[c.id or 0])
    assert tallies(session, table) == {"Casa": 2}
    assert view(session, a).merged_from == ((b.id, "Abitare"), (c.id, "X"))

    moderation.undo_merge(session, table, second.merge_id)
    moderation.undo_merge(session, table, first.merge_id)
    assert tallies(session, table) == {"Casa": 0, "Abitare": 1, "X": 2}
    assert ballot(session, alice, a, b, c) == {"Abitare": 1, "X": 1}


def test_undoing_merges_into_one_survivor_in_any_allowed_order_is_exact(session: Session) -> None:
    table = make_table(session)
    alice, _ = make_participant(session, table)
    a, b, c = (
        post(session, alice, "Casa"),
        post(session, alice, "Abitare"),
        post(session, alice, "X"),
    )
    in_phase(session, table, "voting")
    vote(session, alice, b, 1)
    vote(session, alice, c, 1)
    first = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[b.id or 0])
    second = moderation.merge(session, table, survivor_id=a.id or 0, merged_ids=[c.id or 0])

    try:  # either refused ("undo the later merge first") or exact
        moderation.undo_merge(session, table, first.merge_id)
        moderation.undo_merge(session, table, second.merge_id)
    except Conflict:
        session.rollback()
        moderation.undo_merge(session, table, second.merge_id)
        moderation.undo_merge(session, table, first.merge_id)
    assert ballot(session, alice, a, b, c) == {"Abitare": 1, "X": 1}
    assert tallies(session, table) == {"Casa": 0, "Abitare": 1, "X": 1}


# --- tags ----------------------------------------------------------------------------------


def test_tags_bulk_tag_untag_and_delete(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    a, b, c = post(session, me, "Casa"), post(session, me, "Lavoro"), post(session, me, "Scuola")
    abitare = moderation.create_tag(session, table, "  Abitare ")
    assert abitare.name == "Abitare"
    with pytest.raises(Conflict):
        moderation.create_tag(session, table, "abitare")
    with pytest.raises(Invalid):
        moderation.create_tag(session, table, "   ")
    giovani = moderation.create_tag(session, table, "Giovani")
    assert [t.name for t in moderation.tags_of(session, table)] == ["Abitare", "Giovani"]

    moderation.set_tag(session, table, tag_id=abitare.tag_id, proposal_ids=[a.id or 0, b.id or 0])
    moderation.set_tag(session, table, tag_id=giovani.tag_id, proposal_ids=[b.id or 0])
    assert [p.tags for p in current(session, table).visible] == [
        ("Abitare",),
        ("Abitare", "Giovani"),
        (),
    ]
    # Tagging twice is harmless; untagging removes only that link.
    moderation.set_tag(session, table, tag_id=abitare.tag_id, proposal_ids=[a.id or 0])
    moderation.set_tag(
        session, table, tag_id=abitare.tag_id, proposal_ids=[b.id or 0, c.id or 0], on=False
    )
    assert [p.tags for p in current(session, table).visible] == [("Abitare",), ("Giovani",), ()]
    with pytest.raises(Invalid):
        moderation.set_tag(session, table, tag_id=abitare.tag_id, proposal_ids=[])

    moderation.delete_tag(session, table, abitare.tag_id)
    assert [p.tags for p in current(session, table).visible] == [(), ("Giovani",), ()]
    assert [link.tag_id for link in session.exec(select(ProposalTag))] == [giovani.tag_id]
    assert [t.name for t in moderation.tags_of(session, table)] == ["Giovani"]
    with pytest.raises(NotFound):
        moderation.delete_tag(session, table, abitare.tag_id)
    # The name is free again.
    assert moderation.create_tag(session, table, "ABITARE").name == "ABITARE"


def test_tags_belong_to_their_table(session: Session) -> None:
    event, _ = make_event(session)
    mine, other = make_table(session, event), make_table(session, event)
    me, _ = make_participant(session, mine)
    proposal = post(session, me)
    foreign_tag = moderation.create_tag(session, other, "Abitare")
    moderation.create_tag(session, mine, "Abitare")  # same name, other table: fine
    with pytest.raises(NotFound):
        moderation.set_tag(
            session, mine, tag_id=foreign_tag.tag_id, proposal_ids=[proposal.id or 0]
        )
    with pytest.raises(NotFound):
        moderation.delete_tag(session, mine, foreign_tag.tag_id)


def test_groups_by_tag_put_the_untagged_last(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    casa = post(session, me, "Casa")
    lavoro = post(session, me, "Lavoro")
    scuola = post(session, me, "Scuola")
    both = post(session, me, "Casa e lavoro")
    z_tag = moderation.create_tag(session, table, "Zona")
    a_tag = moderation.create_tag(session, table, "Abitare")
    moderation.create_tag(session, table, "Vuoto")
    moderation.set_tag(
        session, table, tag_id=a_tag.tag_id, proposal_ids=[casa.id or 0, both.id or 0]
    )
    moderation.set_tag(
        session, table, tag_id=z_tag.tag_id, proposal_ids=[lavoro.id or 0, both.id or 0]
    )
    moderation.hide(session, table, scuola.id or 0)
    post(session, me, "Trasporti")

    by_kind = current(session, table).groups()
    assert [key for key, _label, _cards in by_kind] == ["need", "proposal", "resource"]

    screen.update_settings(session, table, group_by_tag=True)
    groups = current(session, table).groups()
    assert [(label, [p.title for p in cards]) for _key, label, cards in groups] == [
        ("Abitare", ["Casa", "Casa e lavoro"]),
        ("Vuoto", []),
        ("Zona", ["Lavoro", "Casa e lavoro"]),
        ("", ["Trasporti"]),
    ]
    assert [key for key, _label, _cards in groups][-1] == "untagged"
    assert current(session, table).groups(flat=True) == groups


# --- removing a participant ------------------------------------------------------------------


def test_removed_participant_loses_the_wall_and_the_token(session: Session) -> None:
    table = make_table(session)
    troll, token = make_participant(session, table)
    fair, fair_token = make_participant(session, table)
    shown = post(session, troll, "Insulto")
    mine = post(session, fair, "Proposta seria")
    screen.update_settings(session, table, premoderation=True)
    queued = post(session, troll, "Altro insulto")
    assert participants.participant_by_token(session, token).id == troll.id

    seq = moderation.remove_participant(session, table, troll.id or 0).seq
    assert seq == seq_of(session, table) == table.layout_seq
    assert [view(session, p).status for p in (shown, queued, mine)] == [
        "hidden",
        "hidden",
        "visible",
    ]
    after = current(session, table)
    assert [p.title for p in after.visible] == ["Proposta seria"]
    assert after.queue == []
    with pytest.raises(Forbidden):
        participants.participant_by_token(session, token)
    assert participants.participant_by_token(session, fair_token).id == fair.id
    with pytest.raises(NotFound):
        moderation.remove_participant(session, table, 9999)


def test_remove_participant_of_another_table_is_not_found(session: Session) -> None:
    event, _ = make_event(session)
    mine, other = make_table(session, event), make_table(session, event)
    stranger, token = make_participant(session, other)
    with pytest.raises(NotFound):
        moderation.remove_participant(session, mine, stranger.id or 0)
    assert participants.participant_by_token(session, token).id == stranger.id


# --- paper participants (proxy input) ------------------------------------------------------


def test_paper_participant_needs_a_name_and_a_known_category(session: Session) -> None:
    table = make_table(session)
    with pytest.raises(Invalid):
        moderation.add_paper_participant(session, table, name="Maria", category="Marziani")
    with pytest.raises(Invalid):
        moderation.add_paper_participant(session, table, name="   ")
    assert moderation.paper_participants(session, table) == []

    maria = moderation.add_paper_participant(
        session, table, name="Maria", category="Ente del Terzo Settore"
    ).participant
    assert (maria.proxy, maria.category) == (True, "Ente del Terzo Settore")
    seen = current(session, table)
    assert [p.name for p in seen.paper] == ["Maria"]
    assert seen.participants == 0  # phones only
    assert moderation.paper_participant(session, table, maria.id or 0).id == maria.id
    phone, _ = make_participant(session, table)
    with pytest.raises(NotFound):
        moderation.paper_participant(session, table, phone.id or 0)


def test_proxy_posts_and_votes_follow_the_same_rules(session: Session) -> None:
    table = make_table(session, mode="dots", dots=5, cap=3, phase="voting")
    maria = moderation.add_paper_participant(session, table, name="Maria").participant
    with pytest.raises(Conflict):
        post(session, maria, "Troppo tardi")

    in_phase(session, table, "collect")
    a, b, c = (
        post(session, maria, "Casa"),
        post(session, maria, "Lavoro"),
        post(session, maria, "Bus"),
    )
    with pytest.raises(Conflict):
        vote(session, maria, a, 1)
    assert view(session, a).proxy_name == "Maria"
    assert view(session, a).as_json()["proxy"] is True

    in_phase(session, table, "voting")
    vote(session, maria, a, 3)
    with pytest.raises(Conflict):
        vote(session, maria, b, 4)  # over the cap
    vote(session, maria, b, 2)
    with pytest.raises(Conflict):
        vote(session, maria, c, 1)  # over the budget
    assert budget_of(session, table, maria) == 0
    assert tallies(session, table) == {"Casa": 3, "Lavoro": 2, "Bus": 0}

    phone, _ = make_participant(session, table)
    in_phase(session, table, "collect")
    assert view(session, post(session, phone, "Dal telefono")).proxy_name == ""


# --- results hiding ------------------------------------------------------------------------


def test_hidden_results_leave_no_tally_in_the_public_json(session: Session) -> None:
    table = make_table(session)
    me, _ = make_participant(session, table)
    proposal = post(session, me, "Casa")
    in_phase(session, table, "voting")
    vote(session, me, proposal, 1)

    shown = table_json(current(session, table))
    assert shown["results_hidden"] is False
    assert [(p["title"], p["tally"], p["voters"]) for p in shown["proposals"]] == [("Casa", 1, 1)]

    screen.update_settings(session, table, results_hidden=True)
    hidden = table_json(current(session, table))
    assert hidden["results_hidden"] is True
    assert [(p["title"], p["tally"], p["voters"]) for p in hidden["proposals"]] == [
        ("Casa", None, None)
    ]
    # The moderator's own view still counts.
    assert current(session, table).visible[0].tally == 1

    screen.update_settings(session, table, results_hidden=False)
    assert table_json(current(session, table))["proposals"][0]["tally"] == 1
