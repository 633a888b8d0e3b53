"""What became of each priority after the event (accountability, issue 19).

A *priority* is a post of kind "proposal" (an action) that is on the wall of a closed table:
visible, so neither merged into another, hidden, rejected nor withdrawn. Needs and resources
are not followed up on their own: the actions that answer them are. The coordinator (the
event's read-only link for the Ufficio di Piano) or the event's moderator records each
priority's outcome with the date it happened and a short public note, and may record it
again later: every recording is a row of `OutcomeChange`, so the history is kept and the
current outcome is the latest.

Everything here is public (the follow-up page, its Atom feed, `GET /api/events/{id}/outcomes`)
and reads only the event, its tables and their proposals: titles, outcomes, notes. No
participant row is read, so the page is the same before and after the retention sweep
erased the participants' personal data (services/privacy.purge_expired keeps proposals).
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.enums import Kind, Outcome, Phase, Status
from app.models import Event, OutcomeChange, Proposal, Table
from app.security import hash_token
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.services.ranking import adopted_ranking
from app.services.rows import by_id
from app.services.state import ProposalView
from app.services.tables import Change, table_write
from app.services.text import clean_line
from app.services.visibility import tallies_shown

NOTE_LIMIT = 300  # a short public note: a line or two on the follow-up page
PRIORITIES_SHOWN = 10  # the follow-up page's priorities per table, besides those followed up


def event_for_recorder(session: Session, token: str | None) -> Event:
    """The event whose outcomes this token may record: the coordinator's link or the event's
    moderator link (a facilitator's link runs one table on the day, not the follow-up)."""
    if not token:
        raise Unauthorized("The token is missing")
    hashed = hash_token(token)
    for column in (Event.coordinator_token_hash, Event.moderator_token_hash):
        event = session.exec(select(Event).where(column == hashed)).first()
        if event is not None:
            return event
    raise Forbidden("This link cannot record outcomes")


def parse_status(raw: str) -> Outcome:
    try:
        return Outcome(raw)
    except ValueError:
        raise Invalid("Choose one of the outcomes", field="status") from None


def parse_date(raw: str | dt.date) -> dt.date:
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid("Enter the date as YYYY-MM-DD", field="date") from None


def is_priority(table: Table, proposal: Proposal) -> bool:
    return (
        table.phase == Phase.CLOSED
        and proposal.kind == Kind.PROPOSAL
        and proposal.status == Status.VISIBLE
    )


@dataclass(frozen=True)
class Recorded:
    """An outcome recorded: the change to publish (the table's seq), and the new row."""

    change: Change
    outcome: OutcomeChange | None  # None: the same as the current one, nothing recorded

    @property
    def table_id(self) -> int:
        return self.change.table_id

    @property
    def seq(self) -> int | None:
        return self.change.seq


def record_outcome(
    session: Session,
    *,
    event: Event,
    proposal_id: int,
    status: str,
    note: str,
    date: str | dt.date,
) -> Recorded:
    """Record a priority's outcome. The table is locked first, then the proposal is read: a
    table reopened meanwhile, or the proposal merged, is a 409 and nothing is written. The
    same outcome, note and date again (a double click) records nothing."""
    clean_status = parse_status(status)
    clean_note = clean_line(note, field="note", limit=NOTE_LIMIT)
    day = parse_date(date)
    if day.year < 2000 or day > dt.date.today() + dt.timedelta(days=3650):
        raise Invalid("Enter the date as YYYY-MM-DD", field="date")
    found = by_id(session, Proposal, proposal_id)
    table = session.get(Table, found.table_id) if found is not None else None
    if found is None or table is None or table.event_id != event.id:
        raise NotFound("No proposal with this id at this event")
    with table_write(session, table.id or 0) as write:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFound("No proposal with this id at this event")
        if not is_priority(write.table, proposal):
            raise Conflict(
                "Only the proposals on the wall of a closed table have an outcome",
                field="status",
            )
        last = current_outcomes(session, [proposal_id]).get(proposal_id)
        if last is not None and (last.status, last.note, last.date) == (
            clean_status,
            clean_note,
            day,
        ):
            write.nothing()
            row = None
        else:
            row = OutcomeChange(
                proposal_id=proposal_id, status=clean_status, note=clean_note, date=day
            )
            session.add(row)
    if row is not None:
        session.refresh(row)
    return Recorded(write.change, row)


def history(session: Session, proposal_ids: list[int]) -> dict[int, list[OutcomeChange]]:
    """Every recording of these proposals, oldest first."""
    result: dict[int, list[OutcomeChange]] = defaultdict(list)
    for start in range(0, len(proposal_ids), 500):
        chunk = proposal_ids[start : start + 500]
        for row in session.exec(
            select(OutcomeChange)
            .where(col(OutcomeChange.proposal_id).in_(chunk))
            .order_by(col(OutcomeChange.id))
        ):
            result[row.proposal_id].append(row)
    return result


def current_outcomes(session: Session, proposal_ids: list[int]) -> dict[int, OutcomeChange]:
    return {pid: rows[-1] for pid, rows in history(session, proposal_ids).items() if rows}


@dataclass(frozen=True)
class Followed:
    """One priority on the follow-up page: its place in its table's adopted ranking, and
    its outcome's history (oldest first; empty: nothing recorded yet)."""

    id: int
    rank: int
    title: str
    body: str
    history: tuple[OutcomeChange, ...]

    @property
    def current(self) -> OutcomeChange | None:
        return self.history[-1] if self.history else None


@dataclass(frozen=True)
class FollowedTable:
    id: int  # the table's id (never its join code: the page is public)
    title: str
    question: str
    priorities: tuple[Followed, ...]


@dataclass(frozen=True)
class FollowUp:
    event: Event
    tables: tuple[FollowedTable, ...]

    @property
    def updated(self) -> dt.datetime:
        """The last recording, for the feed (the event's creation when there is none)."""
        times = [
            _aware(change.recorded_at)
            for table in self.tables
            for p in table.priorities
            for change in p.history
        ]
        return max(times, default=_aware(self.event.created_at))

    def changes(self) -> list[tuple[FollowedTable, Followed, OutcomeChange]]:
        """Every recording, newest first: the feed's entries."""
        rows = [(t, p, c) for t in self.tables for p in t.priorities for c in p.history]
        return sorted(rows, key=lambda row: (_aware(row[2].recorded_at), row[2].id or 0))[::-1]


def follow_up(session: Session, event: Event, *, everything: bool = False) -> FollowUp:
    """The event's closed tables with their priorities in the ranking each table adopted:
    the first PRIORITIES_SHOWN, and every other one that has an outcome (`everything`: all
    of them, for the coordinator's form; a table that hid its results: all of them, in
    posting order, with no rank)."""
    tables = session.exec(
        select(Table)
        .where(Table.event_id == event.id, Table.phase == Phase.CLOSED)
        .order_by(col(Table.id))
    ).all()
    ranked = {t.id or 0: _order(session, t) for t in tables}
    ids = [p.id for ranking in ranked.values() for _rank, p in ranking]
    recorded = history(session, ids)
    followed = []
    for table in tables:
        ranking = ranked[table.id or 0]
        ranked_shown = tallies_shown(table, "public")
        priorities = tuple(
            Followed(p.id, rank, p.title, p.body, tuple(recorded.get(p.id, ())))
            for position, (rank, p) in enumerate(ranking)
            if everything or not ranked_shown or position < PRIORITIES_SHOWN or p.id in recorded
        )
        followed.append(FollowedTable(table.id or 0, table.title, table.question, priorities))
    return FollowUp(event, tuple(followed))


def _order(session: Session, table: Table) -> list[tuple[int, ProposalView]]:
    """The adopted ranking; where the table hid its results, every priority in posting
    order with no rank (0): the order alone would tell what the figures were hiding."""
    ranking = adopted_ranking(session, table, kinds=(Kind.PROPOSAL,))
    if tallies_shown(table, "public"):
        return ranking
    return [(0, view) for _rank, view in sorted(ranking, key=lambda r: r[1].number)]


def public_event(session: Session, event_id: int) -> Event:
    event = by_id(session, Event, event_id)
    if event is None:
        raise NotFound("No event has this id")
    return event


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
