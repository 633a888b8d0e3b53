"""The domain errors, where the services and the routes import them from: they are defined
in `app/errors.py`, below every layer, so the low-level modules (rate limits, body hygiene)
raise them without importing the services."""

from app.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooMany,
    Unauthorized,
)

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "TooMany",
    "Unauthorized",
]
