"""Events: created by the organiser, run by whoever holds the moderator link."""

import datetime as dt

from sqlmodel import Session, select

from app.models import Event
from app.security import hash_token, new_token, tokens_equal
from app.services.errors import Forbidden, Invalid, Unauthorized
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
