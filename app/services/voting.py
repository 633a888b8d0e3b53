"""Votes: approval (one per proposal) or dots (a budget, with a cap per proposal)."""

import contextlib
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BindParameter, Engine, bindparam, func
from sqlmodel import Session, col, select

from app import ratelimit
from app.db import engine_of, writers_queue
from app.enums import Status
from app.models import Event, Participant, Proposal, Table, Vote, utcnow
from app.services import consensus, group_commit, participants
from app.services.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from app.services.methods import method_of
from app.services.organisations import canonical
from app.services.phases import require_voting
from app.services.rows import MAX_ID
from app.services.tables import (
    Change,
    keep_held_current,
    lock_table_row,
    set_seqs,
    table_write,
)
from app.services.visibility import tallies_shown

GROUP = "tavoli-votes"  # the group commit's thread (services/group_commit.py)


@dataclass(frozen=True)
class VoteResult:
    table_id: int
    proposal_id: int
    my_dots: int
    dots_left: int | None  # None in approval mode: there is no budget
    tally: int | None  # None while the moderator hides the results
    seq: int | None  # None when the vote changed nothing (a double tap): nothing to push
    # Whose own state (votes, dots left) changed: their other tabs are told, nobody else.
    owner: int | None = None
    # The table's seq with this vote counted: its own, or the one it found (a double tap).
    table_seq: int | None = None


class StaleVote(Conflict):
    """The client asked from a count that is not the stored one any more (another tab or
    device of the same person changed it meanwhile): nothing changed, and `current` is the
    state as it stands, for the client to show."""

    def __init__(self, message: str, *, current: VoteResult) -> None:
        super().__init__(message, field="expected")
        self.current = current


# Built once (the ORM's statement building cost more than the query: docs/performance.md).
DOTS_USED = (
    select(func.coalesce(func.sum(Vote.dots), 0))
    .join(Proposal, col(Proposal.id) == Vote.proposal_id)
    .where(Vote.participant_id == bindparam("participant_id"), Proposal.status == Status.VISIBLE)
)
TALLY = select(func.coalesce(func.sum(Vote.dots), 0)).where(
    Vote.proposal_id == bindparam("proposal_id")
)
TALLIES = (
    select(Vote.proposal_id, func.sum(Vote.dots), func.count())
    .where(col(Vote.proposal_id).in_(bindparam("ids", expanding=True)))
    .group_by(col(Vote.proposal_id))
)


def dots_used(session: Session, participant: Participant) -> int:
    """Dots on proposals on the wall: a post the moderator hides gives its dots back."""
    used = session.exec(DOTS_USED, params={"participant_id": participant.id}).one()
    return int(used)


def dots_left(session: Session, participant: Participant, table: Table) -> int | None:
    """Dots still to give, or None when the method has no budget (approval)."""
    budget = method_of(table).budget(table)
    if budget is None:
        return None
    return budget - dots_used(session, participant)


def tally(session: Session, proposal_id: int) -> int:
    total = session.exec(TALLY, params={"proposal_id": proposal_id}).one()
    return int(total)


def my_votes(session: Session, participant: Participant) -> dict[int, int]:
    rows = session.exec(
        select(Vote.proposal_id, Vote.dots).where(Vote.participant_id == participant.id)
    ).all()
    return {proposal_id: dots for proposal_id, dots in rows}


@dataclass(frozen=True)
class Ballot:
    """One participant's votes (proposal id -> dots) and dots left (None: approval)."""

    votes: dict[int, int]
    dots_left: int | None


def ballots(session: Session, table: Table, participant_ids: Collection[int]) -> dict[int, Ballot]:
    """`my_votes` and `dots_left` of several participants in one read (each one's other tabs
    are told after a burst of votes)."""
    ids = list(participant_ids)
    votes: dict[int, dict[int, int]] = {pid: {} for pid in ids}
    used = dict.fromkeys(ids, 0)
    rows = session.exec(
        select(Vote.participant_id, Vote.proposal_id, Vote.dots, Proposal.status)
        .join(Proposal, col(Proposal.id) == Vote.proposal_id)
        .where(col(Vote.participant_id).in_(ids))
    ).all()
    for participant_id, proposal_id, dots, status in rows:
        votes[participant_id][proposal_id] = dots
        if status == Status.VISIBLE:
            used[participant_id] += dots
    budget = method_of(table).budget(table)
    return {pid: Ballot(votes[pid], None if budget is None else budget - used[pid]) for pid in ids}


def active_participant(session: Session, participant_id: int) -> Participant:
    """The participant as stored now (call it after the table's lock): a removed one is
    refused by every door, whatever their phone still shows; an erased one is nobody (their
    token was replaced, and a service called with their row finds no one)."""
    participant = session.get(Participant, participant_id)
    if participant is None or participant.erased:
        raise NotFound("Join the table first")
    if participant.removed:
        raise Forbidden("You were removed from this table")
    return participant


def set_vote(
    session: Session,
    *,
    participant: Participant,
    proposal_id: int,
    dots: int,
    expected: int | None = None,
) -> VoteResult:
    """Set this participant's dots on a proposal (0 removes them). Idempotent.

    `expected` is the count the client showed when it asked (a page's + and − say "from 2
    to 3"): when the stored count is neither that nor `dots` already, another tab or device
    changed it meanwhile and nothing changes (`StaleVote`, 409, with the state as it
    stands), so a stale page never moves a count it did not show."""
    _check_counts(dots, expected)
    # A paper participant's votes are listed under their name on the consoles: redrawn whole.
    request = VoteRequest(
        participant_id=participant.id or 0,
        table_id=participant.table_id,
        proposal_id=proposal_id,
        dots=dots,
        expected=expected,
        layout=participant.proxy,
    )
    return group_commit.run(session, commit_votes, request, name=GROUP)


async def cast(
    engine: Engine, *, token: str | None, proposal_id: int, dots: int, expected: int | None
) -> VoteResult:
    """`set_vote` for the holder of a bearer token (the JSON API, the reveal moment's hot
    path), awaited from the event loop: the token is read (or known already:
    `participants.KnownVoters`) in the unit of work that writes the vote (the group commit,
    on every database), so a vote costs no worker thread of its own and no session before
    it. The answer comes after the commit, as `set_vote`'s; a vote whose token's known
    voter went stale changed nothing and is sent once more, its token read again."""
    digest = participants.token_digest(token)
    _check_counts(dots, expected)
    request = VoteRequest(
        participant_id=0,
        table_id=0,
        proposal_id=proposal_id,
        dots=dots,
        expected=expected,
        token_digest=digest,
    )
    for _attempt in range(2):  # a stale known voter is forgotten by then: read again
        with contextlib.suppress(StaleVoter):
            return await group_commit.run_async(engine, commit_votes, request, name=GROUP)
    raise Forbidden("The participant token is not valid")  # changed twice in two batches


def _check_counts(dots: int, expected: int | None) -> None:
    if dots < 0:
        raise Invalid("Dots cannot be negative", field="dots")
    if expected is not None and expected < 0:
        raise Invalid("Dots cannot be negative", field="expected")


@dataclass(frozen=True)
class VoteRequest:
    """One vote as asked, before the table's lock (nothing in it is trusted yet)."""

    participant_id: int  # 0 when `token_digest` names the voter (read in the unit of work)
    table_id: int
    proposal_id: int
    dots: int
    expected: int | None = None
    layout: bool = False  # redraws the consoles whole (a paper participant's vote)
    token_digest: str | None = None
    # The token's hash once its voter is known: checked again under the table's lock.
    voter_digest: str | None = None


class StaleVoter(Exception):
    """What a token was known to name is not so any more (`participants.KnownVoters`): the
    vote changed nothing, and its token is read again."""


def _voters(
    session: Session, known: participants.KnownVoters, requests: Sequence[VoteRequest]
) -> list[VoteRequest | Exception]:
    """Each request with its voter known, counted against the voter's rate limit (a paper
    participant's, typed in by the moderator, is not), or its refusal. The tokens not known
    already (`participants.KnownVoters`) are read in one statement, whose transaction ends
    before the table's lock is taken; under the lock each vote checks again that its token
    names its voter, and that the voter was not removed (`VOTE_CONTEXT`)."""
    digests = [r.token_digest for r in requests if r.token_digest is not None]
    voters = known.get(digests)
    unknown = [digest for digest in digests if digest not in voters]
    if unknown:
        read = participants.voters_by_digest(session, unknown)
        session.rollback()
        known.keep(read)
        voters.update(read)
    out: list[VoteRequest | Exception] = []
    for request in requests:
        try:
            if request.token_digest is not None:
                voter = participants.admitted(voters.get(request.token_digest))
                request = replace(
                    request,
                    participant_id=voter.id,
                    table_id=voter.table_id,
                    layout=voter.proxy,
                    token_digest=None,
                    voter_digest=request.token_digest,
                )
            if not request.layout:
                ratelimit.hit("vote", str(request.participant_id))
        except DomainError as refused:
            out.append(refused)
            continue
        out.append(request)
    return out


def commit_votes(session: Session, requests: Sequence[VoteRequest]) -> list[VoteResult | Exception]:
    """Votes in one unit of work: lock their tables FIRST (in id order), then read, check
    and write each vote in turn, exactly as if each came after the one before; one commit.
    A refused vote has written nothing (`_apply_vote` refuses before its first write), so
    it leaves the others whole. One request from a vote's own thread, or the batch of the
    group commit (services/group_commit.py: the votes waiting for SQLite's one writer).

    Each vote that changes something spends the next seq of its table; one that changes
    nothing (a double tap) or is refused spends none. The seqs are taken in the locking
    statement (one per vote) and given back before the commit when fewer were spent."""
    known = participants.KnownVoters.of(engine_of(session))
    admitted = _voters(session, known, requests)
    asked = Counter(r.table_id for r in admitted if isinstance(r, VoteRequest))
    outcomes: list[VoteResult | Exception] = []
    with writers_queue(session):
        try:
            session.expire_all()  # nothing read before the lock is trusted after it
            locked: dict[int, Table] = {}
            for table_id in sorted(asked):
                table = lock_table_row(session, table_id, seqs=asked[table_id])
                if table is not None:
                    locked[table_id] = table
            spent = {table_id: table.seq - asked[table_id] for table_id, table in locked.items()}
            first = dict(spent)
            layouts: dict[int, int] = {}
            for request in admitted:
                outcomes.append(
                    request
                    if isinstance(request, Exception)
                    else _one_vote(session, locked, spent, layouts, request)
                )
            for table_id, table in locked.items():
                seqs = {"layout_seq": layouts[table_id]} if table_id in layouts else {}
                if spent[table_id] != table.seq:  # refused or unchanged votes: seqs given back
                    seqs["seq"] = spent[table_id]
                if seqs:
                    set_seqs(session, table_id, **seqs)
        except BaseException:
            session.rollback()
            raise
        if spent != first:
            session.commit()
        else:
            session.rollback()
    for request, outcome in zip(admitted, outcomes, strict=True):
        stale = isinstance(outcome, StaleVoter | Forbidden)
        if stale and isinstance(request, VoteRequest) and request.voter_digest:
            known.forget(request.voter_digest)  # read again: a removal refuses first
    for table_id, table in locked.items():  # a door's own object of the table: as committed
        seqs = {"seq": spent[table_id], "layout_seq": layouts.get(table_id, table.layout_seq)}
        keep_held_current(session, table, **seqs)
    return outcomes


def _one_vote(
    session: Session,
    locked: dict[int, Table],
    spent: dict[int, int],
    layouts: dict[int, int],
    request: VoteRequest,
) -> VoteResult | Exception:
    """One vote of `commit_votes`, its table locked: its outcome, or its refusal. `spent`
    and `layouts` take the seqs it spends (the table itself is a plain value)."""
    table = locked.get(request.table_id)
    if table is None:  # deleted with its participants, if a token named one there
        return StaleVoter() if request.voter_digest else NotFound("No table has this code")
    try:
        applied = _apply_vote(
            session,
            table,
            request.participant_id,
            request.proposal_id,
            request.dots,
            spent[request.table_id] + 1,
            request.expected,
            digest=request.voter_digest,
        )
    except (DomainError, StaleVoter) as refused:
        return refused
    seq = None
    if applied.changed:
        seq = spent[request.table_id] = spent[request.table_id] + 1
        if request.layout:
            layouts[request.table_id] = seq
    return VoteResult(
        table_id=request.table_id,
        proposal_id=request.proposal_id,
        my_dots=request.dots,
        dots_left=applied.dots_left,
        tally=applied.tally if tallies_shown(table, "participant") else None,
        seq=seq,
        owner=request.participant_id,
        table_seq=spent[request.table_id],
    )


# What a vote checks, in one read after the table's lock: the proposal's table and status,
# whether the voter is still at the table, their dots on it, their dots on the wall, its
# tally, and whether the token the vote came with still names the voter (1; read only for a
# vote that came with one). A vote is the hot path of the reveal moment: docs/performance.md.
_VOTER: BindParameter[int] = bindparam("voter")
_PROPOSAL: BindParameter[int] = bindparam("proposal")
_DIGEST: BindParameter[str] = bindparam("digest", type_=sa.String)
VOTE_CONTEXT = sa.select(
    col(Proposal.table_id),
    col(Proposal.status),
    col(Proposal.answered_at),
    select(sa.or_(col(Participant.removed), col(Participant.erased)))
    .where(Participant.id == _VOTER)
    .scalar_subquery(),
    select(Vote.dots)
    .where(Vote.participant_id == _VOTER, Vote.proposal_id == _PROPOSAL)
    .scalar_subquery(),
    DOTS_USED.correlate(None).scalar_subquery(),
    select(func.coalesce(func.sum(Vote.dots), 0))
    .where(Vote.proposal_id == _PROPOSAL)
    .scalar_subquery(),
    select(func.count())
    .where(Participant.id == _VOTER, col(Participant.token_hash) == _DIGEST)
    .scalar_subquery(),
).where(col(Proposal.id) == _PROPOSAL)
_VOTES = Vote.metadata.tables["votes"]
_PROPOSALS = Proposal.metadata.tables["proposals"]
VOTE_INSERT = _VOTES.insert()
VOTE_UPDATE = (
    _VOTES.update()
    .where(_VOTES.c.participant_id == _VOTER, _VOTES.c.proposal_id == _PROPOSAL)
    .values(dots=bindparam("new_dots"), updated_at=bindparam("at"))
)
VOTE_DELETE = _VOTES.delete().where(
    _VOTES.c.participant_id == _VOTER, _VOTES.c.proposal_id == _PROPOSAL
)
PROPOSAL_TOUCH = (
    _PROPOSALS.update().where(_PROPOSALS.c.id == _PROPOSAL).values(updated_seq=bindparam("seq"))
)


@dataclass(frozen=True)
class Applied:
    """What one vote did, as it stands before its commit."""

    changed: bool
    dots_left: int | None
    tally: int


def _apply_vote(
    session: Session,
    table: Table,
    participant_id: int,
    proposal_id: int,
    dots: int,
    seq: int,
    expected: int | None = None,
    *,
    digest: str | None = None,
) -> Applied:
    """One vote inside a unit of work that has locked the table: every check, then the write,
    in Core statements (one read, one write to the vote, one to the proposal). `StaleVote`
    when the stored count is neither `expected` (what the client showed) nor `dots`. Every
    refusal comes before the first write (`commit_votes` relies on it)."""
    if dots < 0:
        raise Invalid("Dots cannot be negative", field="dots")
    params = {
        "voter": participant_id,
        "proposal": proposal_id,
        "participant_id": participant_id,
        "digest": digest,
    }
    row = (
        session.connection().execute(VOTE_CONTEXT, params).one_or_none()
        if 1 <= proposal_id <= MAX_ID
        else None
    )
    if digest is not None and not _still_theirs(session, row, participant_id, digest):
        raise StaleVoter()
    if row is None or row[3] is None or row[3]:
        active_participant(session, participant_id)  # a removed or erased voter first
    if row is None or row[0] != table.id:
        raise NotFound("No proposal with this id on your table")
    _table_id, status, answered_at, _removed, mine, used, total, _theirs = row
    current, used, total = int(mine or 0), int(used), int(total)
    require_voting(table)
    if status != Status.VISIBLE:
        raise Conflict("This proposal is not on the wall")
    if answered_at is not None:  # its support is frozen (services/questions.py)
        raise Conflict("This question has been answered: its support is closed")
    method = method_of(table)
    cap = method.cap(table)
    if dots > cap:
        raise method.over_cap(cap)
    budget = method.budget(table)
    if expected is not None and current not in (expected, dots):
        raise StaleVote(
            "Your vote here changed in another window: this is how it stands now",
            current=VoteResult(
                table_id=table.id or 0,
                proposal_id=proposal_id,
                my_dots=current,
                dots_left=None if budget is None else budget - used,
                tally=total if tallies_shown(table, "participant") else None,
                seq=seq - 1,  # the last one committed: this write rolls back
                table_seq=seq - 1,
            ),
        )
    if budget is not None:
        left = budget - used + current
        if dots > left:
            raise Conflict("Not enough dots left: %(left)s", left=left)
    after_left = None if budget is None else budget - used + current - dots
    if dots == current:
        return Applied(False, after_left, total)
    connection = session.connection()
    now = utcnow()
    if dots == 0:
        connection.execute(VOTE_DELETE, params)
    elif current:
        connection.execute(VOTE_UPDATE, {**params, "new_dots": dots, "at": now})
    else:
        row_in = {"participant_id": participant_id, "proposal_id": proposal_id, "dots": dots}
        connection.execute(VOTE_INSERT, {**row_in, "updated_at": now})
    connection.execute(PROPOSAL_TOUCH, {"proposal": proposal_id, "seq": seq})
    return Applied(True, after_left, total + dots - current)


def _still_theirs(
    session: Session, row: Sequence[Any] | None, participant_id: int, digest: str
) -> bool:
    """The token a vote came with still names its voter, read under the table's lock (an
    erasure replaces a token; a table's deletion takes its participants)."""
    if row is not None:
        return bool(row[7])
    voter = participants.voters_by_digest(session, [digest]).get(digest)  # no such proposal
    return voter is not None and voter.id == participant_id


def set_votes(session: Session, *, participant: Participant, votes: dict[int, int]) -> Change:
    """Several votes of one person at once (a paper ballot typed in by the moderator), in one
    unit of work: all are recorded or, if one is refused, none. Lowered votes go first, so
    dots moved from one proposal to another fit the budget whatever their order."""
    participant_id = participant.id or 0
    with table_write(session, participant.table_id, layout=participant.proxy) as write:
        me = active_participant(session, participant_id)
        mine = my_votes(session, me)
        order = sorted(votes.items(), key=lambda item: item[1] - mine.get(item[0], 0))
        changed = [
            _apply_vote(session, write.table, participant_id, proposal_id, dots, write.seq).changed
            for proposal_id, dots in order
        ]
        if not any(changed):
            write.nothing()
    return write.change


def trim_to_budget(session: Session, table: Table, proposal: Proposal) -> None:
    """Votes on a post coming back to the wall (restored, or split from a merge) count only
    within each voter's budget: the excess is trimmed, and the voter's phone shows it."""
    budget = method_of(table).budget(table)
    if budget is None:
        return
    for vote in list(session.exec(select(Vote).where(Vote.proposal_id == proposal.id))):
        voter = session.get(Participant, vote.participant_id)
        room = budget - (dots_used(session, voter) if voter else 0)
        if proposal.status == Status.VISIBLE:  # its own dots are already counted as used
            room += vote.dots
        give = min(vote.dots, max(room, 0))
        if give == 0:
            session.delete(vote)
        elif give != vote.dots:
            vote.dots = give
            session.add(vote)
        session.flush()


def tallies(session: Session, proposal_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Dots and number of voters per proposal, for the given proposals."""
    if not proposal_ids:
        return {}
    rows = session.connection().execute(TALLIES, {"ids": proposal_ids})  # Core: no ORM cost
    return {pid: (int(total), int(voters)) for pid, total, voters in rows}


def consensus_voters(session: Session, table: Table, event: Event) -> list[consensus.Voter]:
    """The table's voters as `consensus.compute` takes them, in one read: removed people
    aside (their votes are gone anyway), organisations matched as the register matches them
    (`organisations.canonical`), paper participants like anyone else."""
    people = {
        p.id or 0: (p.category, canonical(event, p.organisation)[0], p.erased)
        for p in session.exec(
            select(Participant).where(
                Participant.table_id == table.id, col(Participant.removed).is_(False)
            )
        )
    }
    votes: dict[int, dict[int, int]] = {}
    for pid, proposal_id, dots in session.exec(
        select(Vote.participant_id, Vote.proposal_id, Vote.dots)
        .join(Participant, col(Participant.id) == Vote.participant_id)
        .where(Participant.table_id == table.id, col(Participant.removed).is_(False))
    ):
        votes.setdefault(pid, {})[proposal_id] = dots
    return [
        consensus.Voter(pid, *people[pid][:2], votes[pid], people[pid][2])
        for pid in sorted(votes)
        if pid in people
    ]
