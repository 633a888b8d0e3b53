"""Read models of a table: the full state (first render, reconnect) and the delta since a seq."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from app.models import Event, Participant, Proposal, Table, Vote
from app.services.errors import NotFound
from app.services.tables import event_of
from app.services.voting import tallies


@dataclass(frozen=True)
class ProposalView:
    id: int
    kind: str
    title: str
    body: str
    tally: int
    voters: int
    author_id: int
    created_seq: int
    created_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "tally": self.tally,
            "voters": self.voters,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class TableState:
    """Everything shown of a table as of sequence number `seq`."""

    table: Table
    event: Event
    seq: int
    participants: int
    proposals: list[ProposalView]  # oldest first

    @property
    def ranked(self) -> list[ProposalView]:
        return sorted(self.proposals, key=lambda p: (-p.tally, p.created_seq))

    @property
    def total_votes(self) -> int:
        return sum(p.tally for p in self.proposals)


@dataclass(frozen=True)
class TableDelta:
    """What changed in a table after `prev_seq`, up to and including `seq`."""

    table_id: int
    prev_seq: int
    seq: int
    new: list[ProposalView] = field(default_factory=list)
    changed: list[ProposalView] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.new and not self.changed


def _views(session: Session, proposals: list[Proposal]) -> list[ProposalView]:
    counts = tallies(session, [p.id for p in proposals if p.id is not None])
    return [
        ProposalView(
            id=p.id or 0,
            kind=p.kind,
            title=p.title,
            body=p.body,
            tally=counts.get(p.id or 0, (0, 0))[0],
            voters=counts.get(p.id or 0, (0, 0))[1],
            author_id=p.participant_id,
            created_seq=p.created_seq,
            created_at=p.created_at,
        )
        for p in proposals
    ]


def proposal_view(session: Session, proposal_id: int) -> ProposalView:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("No proposal with this id on your table")
    return _views(session, [proposal])[0]


def table_state(session: Session, table: Table) -> TableState:
    # Read the seq first: a proposal posted after it belongs to a later push, not to this state.
    table = session.get(Table, table.id, populate_existing=True) or table
    seq = table.seq
    proposals = session.exec(
        select(Proposal)
        .where(Proposal.table_id == table.id, col(Proposal.created_seq) <= seq)
        .order_by(col(Proposal.created_seq))
    ).all()
    participants = session.exec(
        select(func.count()).select_from(Participant).where(Participant.table_id == table.id)
    ).one()
    return TableState(
        table=table,
        event=event_of(session, table),
        seq=seq,
        participants=int(participants),
        proposals=_views(session, list(proposals)),
    )


def table_delta(session: Session, table_id: int, prev_seq: int) -> TableDelta:
    """Proposals posted or re-tallied after prev_seq.

    Writes to a table commit in seq order (bump_seq holds its lock), so a proposal seen with
    updated_seq M proves every change up to M is visible: the delta's seq is the largest
    seq seen, and the next delta starts exactly there.
    """
    seq = current_seq(session, table_id)
    changed = session.exec(
        select(Proposal)
        .where(Proposal.table_id == table_id, col(Proposal.updated_seq) > prev_seq)
        .order_by(col(Proposal.created_seq))
    ).all()
    seq = max([seq, prev_seq, *(p.updated_seq for p in changed)])
    views = _views(session, list(changed))
    return TableDelta(
        table_id=table_id,
        prev_seq=prev_seq,
        seq=seq,
        new=[v for v in views if v.created_seq > prev_seq],
        changed=[v for v in views if v.created_seq <= prev_seq],
    )


def current_seq(session: Session, table_id: int) -> int:
    return int(session.exec(select(Table.seq).where(Table.id == table_id)).one())


@dataclass(frozen=True)
class TableStats:
    proposals: int
    votes: int
    people: int  # participants connected now


def table_stats(session: Session, table_id: int, *, people: int) -> TableStats:
    proposals = session.exec(
        select(func.count()).select_from(Proposal).where(Proposal.table_id == table_id)
    ).one()
    votes = session.exec(
        select(func.coalesce(func.sum(Vote.dots), 0))
        .join(Proposal, col(Proposal.id) == Vote.proposal_id)
        .where(Proposal.table_id == table_id)
    ).one()
    return TableStats(proposals=int(proposals), votes=int(votes), people=people)
