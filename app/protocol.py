"""uvicorn's HTTP protocol (httptools) with a deadline for each request's head.

Why: neither uvicorn nor httptools nor h11 bounds the time a client takes to send a request
line and its headers. uvicorn's keep-alive timeout starts only after a response and stops at
the next byte, so a client trickling a header a byte at a time holds its connection (and a
file descriptor) as long as it likes: 300 of them sat on `make run` for a minute. Here each
request has `TAVOLI_HEADER_TIMEOUT` seconds, from the connection's opening or the request's
first byte, to complete its head; past it the connection is closed (with 408 Request
Timeout when part of a request had come). A WebSocket's handshake is a request head too,
read here before the upgrade. Bodies are bounded in size by app/hygiene.py.

Serve with `uvicorn --http app.protocol:HttpProtocol` (`make run`, the image and the tests
do). Like app/live/wire.py it builds on uvicorn internals that are no public API, so it checks
at import that httptools' protocol has what it needs (app/uvicorn_fit.py); when it does not
(or httptools is missing), `HttpProtocol` is uvicorn's own (`--http auto`), with one log line
that says why, and the deadline is then the reverse proxy's alone (nginx's
`client_header_timeout`, docs/deploy.md).
"""

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.server import ServerState

from app import uvicorn_fit
from app.config import get_settings

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    MISSING: str | None = None
except ImportError as exc:  # uvicorn without httptools (not uvicorn[standard])
    HttpToolsProtocol = AutoHTTPProtocol  # type: ignore[assignment,misc]
    MISSING = f"httptools' protocol cannot be imported ({exc})"

TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\nconnection: close\r\n\r\nRequest Timeout\n"
)


class DeadlineHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; closes a connection whose request head is too slow."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_timeout = get_settings().tavoli_header_timeout
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_started = False  # a byte of the current request has come

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._head_started = False
        super().on_headers_complete()

    def _arm(self) -> None:
        if self._head_deadline is None and self._head_timeout > 0:
            self._head_deadline = self.loop.call_later(self._head_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _too_slow(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self._head_started:
            self.transport.write(TIMED_OUT)
        self.transport.close()


# What DeadlineHttpProtocol overrides or calls on uvicorn's protocol (parameters after self),
# and the attributes it reads, as an instance made without a connection has them.
NEEDS = {
    "__init__": ("config", "server_state", "app_state", "_loop"),
    "connection_made": ("transport",),
    "connection_lost": ("exc",),
    "on_message_begin": (),
    "on_headers_complete": (),
}
ATTRIBUTES: uvicorn_fit.Attributes = {"loop": asyncio.AbstractEventLoop, "transport": object}


def unfit() -> str | None:
    """Why this module serves through uvicorn's own protocol, or None (it serves its own)."""
    if get_settings().tavoli_protocols == "plain":
        return "TAVOLI_PROTOCOLS=plain"
    return MISSING or uvicorn_fit.unmet(HttpToolsProtocol, NEEDS, DeadlineHttpProtocol, ATTRIBUTES)


# The class `uvicorn --http app.protocol:HttpProtocol` serves with, decided once here.
HttpProtocol: type[asyncio.Protocol] = uvicorn_fit.choose(
    DeadlineHttpProtocol, AutoHTTPProtocol, unfit(), "HTTP (no deadline for request heads)"
)
