"""What each audience's templates need, built once here for pages, snapshots and pushes."""

from typing import Any

from sqlmodel import Session

from app.models import Participant, Table
from app.services import state, voting


def participant_context(session: Session, table: Table, me: Participant) -> dict[str, Any]:
    """A phone's view: the shared wall plus its own votes, dots and posts."""
    current = state.table_state(session, table)
    return {
        "audience": "participant",
        "state": current,
        "table": current.table,
        "event": current.event,
        "me": me,
        "my_votes": voting.my_votes(session, me),
        "dots_left": voting.dots_left(session, me, current.table),
        # While collecting, every own post can be fixed or withdrawn; later only the ones
        # that still need the author's attention are listed.
        "my_posts": [
            p for p in current.by_author(me.id or 0) if current.can_post or p.status != "visible"
        ],
        # Orders this phone's own fragments: an answer read before a newer one is dropped.
        "me_seq": current.seq,
    }


def shared_context(session: Session, table: Table, audience: str, people: int) -> dict[str, Any]:
    """The screen's or the moderators' view: the same for every connection."""
    current = state.table_state(session, table)
    return {
        "audience": audience,
        "state": current,
        "table": current.table,
        "event": current.event,
        "stats": current.stats(people),
    }
