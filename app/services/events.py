"""Events: created by the organiser, run by whoever holds the moderator link."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.enums import Phase
from app.models import Event, Participant, Table
from app.security import hash_token, new_token, tokens_equal
from app.services import duplicates
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.services.rows import by_id
from app.services.tables import Change, tables_write
from app.services.text import clean_line

DEFAULT_CATEGORIES = (
    "Comune / ente pubblico",
    "Ente del Terzo Settore",
    "Realtà diocesana o religiosa",
    "Cittadino/a",
    "Impresa",
    "Scuola o università",
    "Altro",
)


def check_admin(*, admin_token: str, given: str | None) -> None:
    if not given:
        raise Unauthorized("The organiser token is missing")
    if not tokens_equal(given, admin_token):
        raise Forbidden("The organiser token is not valid")


def clean_categories(categories: list[str] | None) -> list[str]:
    if not categories:
        return list(DEFAULT_CATEGORIES)
    cleaned: list[str] = []
    for raw in categories:
        name = clean_line(raw, field="categories", limit=100)
        if name and name.casefold() not in {c.casefold() for c in cleaned}:
            cleaned.append(name)
    if not cleaned:
        return list(DEFAULT_CATEGORIES)
    if len(cleaned) > 30:
        raise Invalid("At most %(limit)s categories", field="categories", limit=30)
    return cleaned


def create_event(
    session: Session,
    *,
    title: str,
    date: dt.date,
    place: str = "",
    organiser: str = "",
    categories: list[str] | None = None,
) -> tuple[Event, str]:
    """Create an event; returns it with its moderator token, shown once and stored hashed."""
    token = new_token()
    event = Event(
        title=clean_line(title, field="title", limit=200, required=True),
        date=date,
        place=clean_line(place, field="place", limit=200),
        organiser=clean_line(organiser, field="organiser", limit=200),
        categories=clean_categories(categories),
        moderator_token_hash=hash_token(token),
    )
    session.add(event)
    session.commit()
    session.refresh(event)
    return event, token


def event_for_moderator(session: Session, token: str | None) -> Event:
    if not token:
        raise Unauthorized("The moderator token is missing")
    event = session.exec(
        select(Event).where(Event.moderator_token_hash == hash_token(token))
    ).first()
    if event is None:
        raise Forbidden("The moderator token is not valid")
    return event


@dataclass(frozen=True)
class EventSummary:
    """One line of the organiser's list: the event and how far its tables have got."""

    event: Event
    tables: int
    preparing: int
    running: int
    closed: int


def list_events(session: Session) -> list[EventSummary]:
    """Every event, newest first (by date, then by creation)."""
    phases: dict[int, list[str]] = {}
    for event_id, phase in session.exec(select(Table.event_id, Table.phase)):
        phases.setdefault(event_id, []).append(phase)
    found = session.exec(select(Event).order_by(col(Event.date).desc(), col(Event.id).desc()))
    summaries = []
    for event in found:
        of_event = phases.get(event.id or 0, [])
        closed = of_event.count(Phase.CLOSED)
        preparing = of_event.count(Phase.PREPARATION)
        summaries.append(
            EventSummary(
                event=event,
                tables=len(of_event),
                preparing=preparing,
                running=len(of_event) - closed - preparing,
                closed=closed,
            )
        )
    return summaries


def event_by_id(session: Session, event_id: int) -> Event:
    event = by_id(session, Event, event_id)
    if event is None:
        raise NotFound("No event has this id")
    return event


@dataclass(frozen=True)
class NewLink:
    """A link made anew (shown once, stored hashed), and the tables whose connections the
    old one opened: the caller has them check their link (`Broadcaster.revoked`)."""

    token: str
    table_ids: tuple[int, ...]


def new_moderator_link(session: Session, event: Event) -> NewLink:
    """A fresh moderator token for the event: the previous link stops working at once."""
    token = new_token()
    fresh = event_by_id(session, event.id or 0)
    fresh.moderator_token_hash = hash_token(token)
    session.add(fresh)
    session.commit()
    ids = session.exec(select(Table.id).where(Table.event_id == fresh.id)).all()
    return NewLink(token, tuple(table_id or 0 for table_id in ids))


def new_coordinator_link(session: Session, event: Event) -> str:
    """A fresh read-only token for the event's reports; the previous one stops working."""
    token = new_token()
    event.coordinator_token_hash = hash_token(token)
    session.add(event)
    session.commit()
    return token


def has_participants(session: Session, event: Event) -> bool:
    joined = session.exec(
        select(Participant.id)
        .join(Table, col(Table.id) == Participant.table_id)
        .where(Table.event_id == event.id)
        .limit(1)
    ).first()
    return joined is not None


@dataclass(frozen=True)
class EventEdit:
    event: Event
    changes: list[Change]


def update_event(
    session: Session,
    *,
    event: Event,
    title: str | None = None,
    date: dt.date | None = None,
    place: str | None = None,
    organiser: str | None = None,
    categories: list[str] | None = None,
    glossary: str | None = None,
) -> EventEdit:
    """Edit the event. Categories change only before anyone has joined one of its tables
    (a join records a category from the list): every table of the event is locked first, in
    id order, so no join can land between the check and the write. The screens and phones
    show the event's title: each table's change is returned, to be published."""
    clean: dict[str, Any] = {}
    if title is not None:
        clean["title"] = clean_line(title, field="title", limit=200, required=True)
    if date is not None:
        clean["date"] = date
    if place is not None:
        clean["place"] = clean_line(place, field="place", limit=200)
    if organiser is not None:
        clean["organiser"] = clean_line(organiser, field="organiser", limit=200)
    if categories is not None:
        clean["categories"] = clean_categories(categories)
    if glossary is not None:  # words for duplicate suggestions, at every table of the event
        clean["glossary"] = duplicates.clean_glossary(glossary)
    event_id = event.id or 0
    table_ids = [
        t for t in session.exec(select(Table.id).where(Table.event_id == event_id)) if t is not None
    ]
    with tables_write(session, table_ids) as write:
        fresh = event_by_id(session, event_id)
        new_categories = clean.get("categories", fresh.categories)
        if new_categories != fresh.categories and has_participants(session, fresh):
            raise Conflict(
                "Categories cannot change once someone has joined a table",
                field="categories",
            )
        changed = {k: v for k, v in clean.items() if getattr(fresh, k) != v}
        if not changed:
            write.nothing()
        for name, value in changed.items():
            setattr(fresh, name, value)
        session.add(fresh)
        for table_id, seq in write.seqs.items():
            table = session.get(Table, table_id)
            if changed and table is not None:  # the event's title is part of every layout
                table.layout_seq = seq
                session.add(table)
    session.refresh(fresh)
    return EventEdit(fresh, write.changes)
