"""The route class of every router: a synchronous endpoint gives its connection back itself.

FastAPI runs a synchronous endpoint in one worker thread and then validates its answer in
another. A session still holding a connection between the two deadlocked the server: with
every thread waiting for a connection, the requests holding the connections waited for a
thread to validate their answers (60 concurrent GETs froze it for the pool's timeout).
Closing the request's session in the endpoint's own thread, as it returns, means a
connection is only ever held by a thread that is running. Pages render their templates
inside the endpoint, and API answers are built from plain values, so nothing reads the
database after the close.
"""

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlmodel import Session


def vars_of(value: object) -> dict[str, Any]:
    return getattr(value, "__dict__", {})


def _close_sessions(values: dict[str, Any]) -> None:
    for value in values.values():
        # A Session, or an object holding one (the console's request); never a property.
        session = value if isinstance(value, Session) else vars_of(value).get("session")
        if isinstance(session, Session):
            session.close()


def _closing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(**values: Any) -> Any:
        try:
            return endpoint(**values)
        finally:
            _close_sessions(values)

    return run


class UnitOfWorkRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _closing(endpoint)
        super().__init__(path, endpoint, **kwargs)
