"""Phases of a table and the timer: what participants may do, and when."""

import datetime as dt

from sqlmodel import Session, col, select

from app.models import PHASES, PhaseChange, Table, utcnow
from app.services.errors import Conflict, Invalid
from app.services.tables import bump_layout

MAX_TIMER_SECONDS = 4 * 3600


def can_post(table: Table) -> bool:
    return table.phase == "collect" or (table.phase == "discussion" and table.post_in_discussion)


def can_vote(table: Table) -> bool:
    return table.phase == "voting"


def require_posting(table: Table) -> None:
    if not can_post(table):
        raise Conflict("Posting is closed in this phase")


def require_voting(table: Table) -> None:
    if not can_vote(table):
        raise Conflict("Voting is not open in this phase")


def require_open(table: Table) -> None:
    if table.phase == "closed":
        raise Conflict("The table is closed")


def set_phase(session: Session, table: Table, phase: str) -> int:
    """Move the table to any phase (forward, or back a step); the timeline keeps each move."""
    if phase not in PHASES:
        raise Invalid("Unknown phase", field="phase")
    seq = bump_layout(session, table)
    if table.phase != phase:
        table.phase = phase
        session.add(PhaseChange(table_id=table.id or 0, phase=phase))
    session.add(table)
    session.commit()
    return seq


def step_phase(session: Session, table: Table, step: int) -> int:
    """One phase forward (step > 0) or back."""
    return set_phase(
        session, table, next_phase(table.phase) if step > 0 else previous_phase(table.phase)
    )


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


def start_timer(session: Session, table: Table, *, seconds: int, advance: bool = False) -> int:
    """Count down from now; with `advance`, the phase moves on when it reaches zero."""
    if not 1 <= seconds <= MAX_TIMER_SECONDS:
        raise Invalid("The timer runs from 1 second to 4 hours", field="seconds")
    seq = bump_layout(session, table)
    table.timer_ends_at = utcnow() + dt.timedelta(seconds=seconds)
    table.timer_seconds = seconds
    table.timer_advances = advance
    session.add(table)
    session.commit()
    return seq


def extend_timer(session: Session, table: Table, *, seconds: int) -> int:
    if table.timer_ends_at is None:
        raise Conflict("No timer is running")
    if not -MAX_TIMER_SECONDS <= seconds <= MAX_TIMER_SECONDS:
        raise Invalid("The timer runs from 1 second to 4 hours", field="seconds")
    seq = bump_layout(session, table)
    # A timer that already ran out (but was not finished yet) is extended from now.
    ends = max(_aware(table.timer_ends_at), utcnow()) + dt.timedelta(seconds=seconds)
    table.timer_ends_at = max(ends, utcnow())
    table.timer_seconds = max(1, table.timer_seconds + seconds)
    session.add(table)
    session.commit()
    return seq


def stop_timer(session: Session, table: Table) -> int:
    seq = bump_layout(session, table)
    table.timer_ends_at = None
    table.timer_advances = False
    session.add(table)
    session.commit()
    return seq


def seconds_left(table: Table, now: dt.datetime | None = None) -> int | None:
    if table.timer_ends_at is None:
        return None
    left = (_aware(table.timer_ends_at) - (now or utcnow())).total_seconds()
    return max(0, round(left))


def finish_timer(session: Session, table: Table) -> int | None:
    """Called when a timer reaches zero: advance the phase if the moderator asked for it."""
    left = seconds_left(table)
    if left is None or left > 0:
        return None
    seq = bump_layout(session, table)
    if table.timer_advances and table.phase != "closed":
        table.phase = next_phase(table.phase)
        session.add(PhaseChange(table_id=table.id or 0, phase=table.phase))
    table.timer_ends_at = None
    table.timer_advances = False
    session.add(table)
    session.commit()
    return seq


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
