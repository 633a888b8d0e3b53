"""Who may download reports: the event's moderator and coordinator (every table and the
event), or a table's facilitator (that table only). The coordinator link changes nothing."""

from dataclasses import dataclass

from markupsafe import Markup
from sqlmodel import Session, col, select

from app.models import Event, Table
from app.reports import html as report_html
from app.security import hash_token
from app.services.errors import Forbidden, NotFound, Unauthorized
from app.services.synthesis import SYNTHESIS_LIMIT
from app.services.tables import resolve_for
from app.services.text import clean_paragraphs


@dataclass(frozen=True)
class Reader:
    event: Event
    role: str  # "moderator", "coordinator" or "facilitator"
    table_id: int | None = None  # a facilitator reads one table only

    def tables(self, session: Session) -> list[Table]:
        query = select(Table).where(Table.event_id == self.event.id).order_by(col(Table.id))
        if self.table_id is not None:
            query = query.where(Table.id == self.table_id)
        return list(session.exec(query))

    def check_event(self, event_id: int | None = None) -> Event:
        if self.table_id is not None or (event_id is not None and event_id != self.event.id):
            raise Forbidden("This link does not give access to this report")
        return self.event


def reader(session: Session, token: str | None) -> Reader:
    if not token:
        raise Unauthorized("The token is missing")
    hashed = hash_token(token)
    event = session.exec(select(Event).where(Event.moderator_token_hash == hashed)).first()
    if event is not None:
        return Reader(event, "moderator")
    event = session.exec(select(Event).where(Event.coordinator_token_hash == hashed)).first()
    if event is not None:
        return Reader(event, "coordinator")
    table = session.exec(select(Table).where(Table.facilitator_token_hash == hashed)).first()
    if table is not None:
        event = session.get(Event, table.event_id)
        if event is None:
            raise NotFound("No event with this id")
        return Reader(event, "facilitator", table.id)
    raise Forbidden("This link does not give access to this report")


def readable_table(session: Session, token: str | None, code: str, *, client: str | None) -> Table:
    """A table whose reports this token reads. A token that reads nothing, another event's
    table and an unknown code are each refused as for any code, and count as a failed
    lookup of the client's address (tables.resolve_for)."""

    def admit(table: Table | None) -> Table:
        who = reader(session, token)
        if table is None or table.event_id != who.event.id or who.table_id not in (None, table.id):
            raise Forbidden("This link does not give access to this report")
        return table

    return resolve_for(session, code, client=client, admit=admit)[0]


def synthesis_preview(synthesis: str) -> Markup:
    """The synthesis as the minutes print it (their own safe Markdown renderer), from what
    is typed, before it is saved: empty when nothing is."""
    text = clean_paragraphs(synthesis, field="synthesis", limit=SYNTHESIS_LIMIT)
    return report_html.markdown(text, top=3) if text.strip() else Markup("")
