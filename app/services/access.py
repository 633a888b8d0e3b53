"""Who may run a table: the event's moderator, or the table's own facilitator."""

from sqlmodel import Session, select

from app.models import Event, Table
from app.security import hash_token, new_token
from app.services.errors import Forbidden, Unauthorized
from app.services.events import event_for_moderator
from app.services.tables import table_by_code


def table_for_runner(session: Session, token: str | None, code: str) -> Table:
    """The table, if the token is its event's moderator token or its facilitator token.

    A token that runs nothing is refused before the code is looked up, so a wrong link
    learns nothing about which codes exist (403, never 404)."""
    if not token:
        raise Unauthorized("The moderator token is missing")
    hashed = hash_token(token)
    facilitated = session.exec(select(Table).where(Table.facilitator_token_hash == hashed)).first()
    event = None
    if facilitated is None:
        event = session.exec(select(Event).where(Event.moderator_token_hash == hashed)).first()
        if event is None:
            raise Forbidden("This link does not run this table")
    table = table_by_code(session, code)
    if table.id == (facilitated.id if facilitated else None):
        return table
    if event is None or event.id != table.event_id:
        raise Forbidden("This link does not run this table")
    return table


def table_for_moderator(session: Session, token: str | None, code: str) -> tuple[Event, Table]:
    """The event and one of its tables, for the event's moderator only: what a facilitator
    may not do (edit or delete the table, print its card from the event's page)."""
    event = event_for_moderator(session, token)
    table = table_by_code(session, code)
    if table.event_id != event.id:
        raise Forbidden("This link does not run this table")
    return event, table


def runs_table(session: Session, token: str | None, table: Table) -> bool:
    """Whether the token is this table's facilitator token or its event's moderator token
    (a read that shows the runner more, such as hidden tallies; no error either way)."""
    if not token:
        return False
    hashed = hash_token(token)
    if table.facilitator_token_hash == hashed:
        return True
    event = session.get(Event, table.event_id)
    return event is not None and event.moderator_token_hash == hashed


def is_event_moderator(session: Session, token: str | None, table: Table) -> bool:
    if not token:
        return False
    event = session.get(Event, table.event_id)
    return event is not None and event.moderator_token_hash == hash_token(token)


def new_facilitator_link(session: Session, table: Table) -> str:
    """A fresh facilitator token for this table; the previous one stops working."""
    token = new_token()
    table.facilitator_token_hash = hash_token(token)
    session.add(table)
    session.commit()
    return token
