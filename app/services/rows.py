"""Looking rows up by an id that came from outside."""

from typing import TypeVar

from sqlmodel import Session, SQLModel

M = TypeVar("M", bound=SQLModel)

# PostgreSQL's `integer`; SQLite's 2**63 is wider. A larger id names nothing (404), instead
# of an overflow in the driver (500).
MAX_ID = 2**31 - 1


def by_id(session: Session, model: type[M], row_id: int) -> M | None:
    if not 1 <= row_id <= MAX_ID:
        return None
    return session.get(model, row_id)
