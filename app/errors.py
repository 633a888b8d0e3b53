"""Domain errors. The message is an English msgid: the API sends it, the UI translates it."""

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.field = field
        self.params = params
        # More for the JSON API's answer, beside `detail` (e.g. a vote as it stands).
        self.extra: dict[str, Any] = {}

    @property
    def detail(self) -> str:
        return str(self)


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422


class TooMany(DomainError):
    """Over a rate limit: `retry_after` whole seconds, sent as the Retry-After header."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, seconds=retry_after)
        self.retry_after = retry_after
