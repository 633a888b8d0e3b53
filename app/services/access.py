"""Who may run a table: the event's moderator, or the table's own facilitator."""

from sqlmodel import Session

from app.models import Event, Proposal, Table
from app.security import hash_token, new_token
from app.services.errors import Forbidden, NotFound, Unauthorized
from app.services.events import event_for_moderator
from app.services.rows import by_id
from app.services.tables import resolve_for


def table_for_runner(
    session: Session, token: str | None, code: str, *, client: str | None
) -> Table:
    """The table, if the token is its event's moderator token or its facilitator token.

    A token that runs nothing, a table it does not run and an unknown code get the same
    403, and each counts as a failed lookup of the client's address (tables.resolve_for)."""

    def admit(table: Table | None) -> Table:
        if not token:
            raise Unauthorized("The moderator token is missing")
        if table is not None:
            hashed = hash_token(token)
            if table.facilitator_token_hash == hashed:
                return table
            event = session.get(Event, table.event_id)
            if event is not None and event.moderator_token_hash == hashed:
                return table
        raise Forbidden("This link does not run this table")

    return resolve_for(session, code, client=client, admit=admit)[0]


def table_of_proposal_for_runner(
    session: Session, token: str | None, proposal_id: int, *, client: str | None
) -> Table:
    """The table of a proposal, for whoever runs it (a door named by the proposal alone, as
    `PUT /api/proposals/{id}/answered`). An unknown proposal is the 403 of a table the token
    does not run: ids are not told apart from the answer."""
    proposal = by_id(session, Proposal, proposal_id)
    table = session.get(Table, proposal.table_id) if proposal is not None else None
    return table_for_runner(session, token, table.code if table else "", client=client)


def table_for_moderator(
    session: Session, token: str | None, code: str, *, client: str | None
) -> tuple[Event, Table]:
    """The event and one of its tables, for the event's moderator only: what a facilitator
    may not do (edit or delete the table, print its card from the event's page). Another
    event's table and an unknown code are the same 403."""

    def admit(table: Table | None) -> Event:
        event = event_for_moderator(session, token)
        if table is None or table.event_id != event.id:
            raise Forbidden("This link does not run this table")
        return event

    table, event = resolve_for(session, code, client=client, admit=admit)
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


def table_for_facilitator(
    session: Session, token: str | None, code: str, *, client: str | None
) -> Table:
    """The table a facilitator link runs, for the pages that hand that link out (its page and
    its QR code): the event moderator's own link is not a facilitator link, and is refused
    like a code it does not run."""
    table = table_for_runner(session, token, code, client=client)
    if is_event_moderator(session, token, table):
        raise NotFound("This page shows facilitator links only")
    return table


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
