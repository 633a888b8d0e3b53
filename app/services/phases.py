"""Phases of a table and the timer: what participants may do, and when."""

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.enums import Phase
from app.models import PHASES, PhaseChange, Table, utcnow
from app.services.errors import Conflict, Invalid
from app.services.formats import format_of
from app.services.tables import Change, table_write

MAX_TIMER_SECONDS = 4 * 3600


@dataclass(frozen=True)
class TimerChange:
    """A timer set: the caller watches `ends_at` so the table moves on at zero."""

    table_id: int
    seq: int
    ends_at: dt.datetime | None


def can_post(table: Table) -> bool:
    """What the phase allows is the table's format's (a Q&A table posts and votes at once)."""
    return format_of(table).can_post(table)


def can_vote(table: Table) -> bool:
    return format_of(table).can_vote(table)


def require_posting(table: Table) -> None:
    if not can_post(table):
        raise Conflict("Posting is closed in this phase")


def require_voting(table: Table) -> None:
    if not can_vote(table):
        raise Conflict("Voting is not open in this phase")


def require_open(table: Table) -> None:
    if table.phase == Phase.CLOSED:
        raise Conflict("The table is closed")


def set_phase(session: Session, table: Table, phase: str) -> Change:
    """Move the table to any phase (forward, or back a step); the timeline keeps each move."""
    if phase not in PHASES:
        raise Invalid("Unknown phase", field="phase")
    with table_write(session, table.id or 0, layout=True) as write:
        if phase not in format_of(write.table).phases:
            raise Invalid("This table has no such phase", field="phase")
        _move(session, write.table, phase)
    return write.change


def step_phase(session: Session, table: Table, step: int) -> Change:
    """One phase forward (step > 0) or back, from the phase the table is in when locked."""
    with table_write(session, table.id or 0, layout=True) as write:
        current, steps = write.table.phase, format_of(write.table)
        _move(
            session,
            write.table,
            steps.next_phase(current) if step > 0 else steps.previous_phase(current),
        )
    return write.change


def _move(session: Session, table: Table, phase: str) -> None:
    if table.phase != phase:
        table.phase = phase
        session.add(PhaseChange(table_id=table.id or 0, phase=phase))
    session.add(table)


def next_phase(phase: str) -> str:
    index = PHASES.index(phase)
    return PHASES[min(index + 1, len(PHASES) - 1)]


def previous_phase(phase: str) -> str:
    index = PHASES.index(phase)
    return PHASES[max(index - 1, 0)]


def timeline(session: Session, table: Table) -> list[PhaseChange]:
    return list(
        session.exec(
            select(PhaseChange)
            .where(PhaseChange.table_id == table.id)
            .order_by(col(PhaseChange.at), col(PhaseChange.id))
        )
    )


def start_timer(
    session: Session, table: Table, *, seconds: int, advance: bool = False
) -> TimerChange:
    """Count down from now; with `advance`, the phase moves on when it reaches zero."""
    if not 1 <= seconds <= MAX_TIMER_SECONDS:
        raise Invalid("The timer runs from 1 second to 4 hours", field="seconds")
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        current.timer_ends_at = utcnow() + dt.timedelta(seconds=seconds)
        current.timer_seconds = seconds
        current.timer_advances = advance
        session.add(current)
    return TimerChange(current.id or 0, write.seq, current.timer_ends_at)


def extend_timer(session: Session, table: Table, *, seconds: int) -> TimerChange:
    if not -MAX_TIMER_SECONDS <= seconds <= MAX_TIMER_SECONDS:
        raise Invalid("The timer runs from 1 second to 4 hours", field="seconds")
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        if current.timer_ends_at is None:
            raise Conflict("No timer is running")
        # A timer that already ran out (but was not finished yet) is extended from now.
        ends = max(_aware(current.timer_ends_at), utcnow()) + dt.timedelta(seconds=seconds)
        current.timer_ends_at = max(ends, utcnow())
        current.timer_seconds = max(1, current.timer_seconds + seconds)
        session.add(current)
    return TimerChange(current.id or 0, write.seq, current.timer_ends_at)


def stop_timer(session: Session, table: Table) -> Change:
    with table_write(session, table.id or 0, layout=True) as write:
        write.table.timer_ends_at = None
        write.table.timer_advances = False
        session.add(write.table)
    return write.change


def seconds_left(table: Table, now: dt.datetime | None = None) -> int | None:
    if table.timer_ends_at is None:
        return None
    left = (_aware(table.timer_ends_at) - (now or utcnow())).total_seconds()
    return max(0, round(left))


def finish_timer(session: Session, table_id: int, *, now: dt.datetime | None = None) -> Change:
    """Called when a timer reaches zero (`now`, by the caller's clock): advance the phase if
    the moderator asked for it. Checked under the lock: a timer stopped or extended
    meanwhile is left alone."""
    with table_write(session, table_id, layout=True) as write:
        current = write.table
        left = seconds_left(current, now)
        if left is None or left > 0:
            write.nothing()
        else:
            if current.timer_advances and current.phase != Phase.CLOSED:
                _move(session, current, format_of(current).next_phase(current.phase))
            current.timer_ends_at = None
            current.timer_advances = False
            session.add(current)
    return write.change


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
