"""Votes: approval (one per proposal) or dots (a budget, with a cap per proposal)."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Participant, Proposal, Table, Vote, utcnow
from app.services.errors import Conflict, Invalid, NotFound
from app.services.phases import require_voting
from app.services.tables import bump_seq


@dataclass(frozen=True)
class VoteResult:
    proposal_id: int
    my_dots: int
    dots_left: int | None  # None in approval mode: there is no budget
    tally: int | None  # None while the moderator hides the results
    seq: int


def dots_used(session: Session, participant: Participant) -> int:
    """Dots on proposals on the wall: a post the moderator hides gives its dots back."""
    used = session.exec(
        select(func.coalesce(func.sum(Vote.dots), 0))
        .join(Proposal, col(Proposal.id) == Vote.proposal_id)
        .where(Vote.participant_id == participant.id, Proposal.status == "visible")
    ).one()
    return int(used)


def dots_left(session: Session, participant: Participant, table: Table) -> int | None:
    """Dots still to give, or None in approval mode where there is no budget."""
    if table.voting_mode != "dots":
        return None
    return table.dots - dots_used(session, participant)


def tally(session: Session, proposal_id: int) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(Vote.dots), 0)).where(Vote.proposal_id == proposal_id)
    ).one()
    return int(total)


def my_votes(session: Session, participant: Participant) -> dict[int, int]:
    rows = session.exec(
        select(Vote.proposal_id, Vote.dots).where(Vote.participant_id == participant.id)
    ).all()
    return {proposal_id: dots for proposal_id, dots in rows}


def set_vote(
    session: Session, *, participant: Participant, proposal_id: int, dots: int
) -> VoteResult:
    """Set this participant's dots on a proposal (0 removes them). Idempotent."""
    table = session.get(Table, participant.table_id, populate_existing=True)
    proposal = session.get(Proposal, proposal_id)
    if table is None or proposal is None or proposal.table_id != participant.table_id:
        raise NotFound("No proposal with this id on your table")
    require_voting(table)
    if proposal.status != "visible":
        raise Conflict("This proposal is not on the wall")
    cap = 1 if table.voting_mode == "approval" else table.max_per_proposal
    if dots < 0:
        raise Invalid("Dots cannot be negative", field="dots")
    if dots > cap:
        if table.voting_mode == "approval":
            raise Invalid("Approval voting takes 0 or 1", field="dots")
        raise Conflict("At most %(cap)s dots on one proposal", cap=cap)

    seq = bump_seq(session, table.id or 0)  # serialises this table's writes before the check
    vote = session.get(Vote, (participant.id, proposal_id))
    current = vote.dots if vote else 0
    if table.voting_mode == "dots":
        left = table.dots - dots_used(session, participant) + current
        if dots > left:
            session.rollback()
            raise Conflict("Not enough dots left: %(left)s", left=left)
    if dots == current:
        session.rollback()  # nothing changes: no new sequence number, no push
        return _result(session, participant, table, proposal_id, dots, seq=table.seq)
    if dots == 0 and vote is not None:
        session.delete(vote)
    elif vote is not None:
        vote.dots, vote.updated_at = dots, utcnow()
    else:
        session.add(Vote(participant_id=participant.id or 0, proposal_id=proposal_id, dots=dots))
    proposal.updated_seq = seq
    session.add(proposal)
    session.commit()
    return _result(session, participant, table, proposal_id, dots, seq=seq)


def _result(
    session: Session,
    participant: Participant,
    table: Table,
    proposal_id: int,
    dots: int,
    *,
    seq: int,
) -> VoteResult:
    return VoteResult(
        proposal_id=proposal_id,
        my_dots=dots,
        dots_left=dots_left(session, participant, table),
        tally=None if table.results_hidden else tally(session, proposal_id),
        seq=seq,
    )


def tallies(session: Session, proposal_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Dots and number of voters per proposal, for the given proposals."""
    if not proposal_ids:
        return {}
    rows = session.exec(
        select(Vote.proposal_id, func.sum(Vote.dots), func.count())
        .where(col(Vote.proposal_id).in_(proposal_ids))
        .group_by(col(Vote.proposal_id))
    ).all()
    return {pid: (int(total), int(voters)) for pid, total, voters in rows}
