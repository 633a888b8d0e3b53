"""Input hygiene at the edge: a request body is bounded, and the text in it is well formed.

`BodyGuard` runs before any route (inside `WebMiddleware`, so its answers carry the security
headers and speak the request's language). It reads the body itself, at most
`TAVOLI_MAX_BODY_BYTES`, and answers

- 413 from Content-Length before reading a byte, or as soon as a chunked body passes the
  limit (the client is told to stop: `Connection: close`);
- 422 when a form or JSON body holds text no service should see: bytes that are not UTF-8
  (after percent-decoding, for url-encoded forms: Starlette would store them as U+FFFD or
  as mojibake), a NUL (raw, %00 or \\u0000: PostgreSQL refuses it) or, in JSON, a lone
  surrogate escape such as \\ud800 (no UTF-8 encoder can write it, so every database fails);
- 422 (a WebSocket: close 1008) for a NUL or bytes that are not UTF-8 in the path or the
  query string: /t/%00 looks up the table code "\\x00" and PostgreSQL fails.

Nothing is stored then, since no route is called. A body that passes is replayed unchanged
to the app. The answers go through the app's own error responder (`refuse`), so they look
like any other error: JSON for /api/, the #flash fragment for htmx, an error page else.
`app/services/text.py` applies the same rules to every text a service stores; this guard
only keeps malformed bytes from reaching the parsers.
"""

import re
from collections.abc import Awaitable, Callable, Iterator
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import parse_options_header
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from app.errors import DomainError, Invalid
from app.i18n import N_
from app.web import ASGIApp, Message, Receive, Scope, Send

Refuse = Callable[[Request, DomainError], Awaitable[Response]]

# A JSON escape: \uXXXX with its code, or a backslash and any one character. Matched left to
# right, so an escaped backslash followed by "u0000" is read as text, not as an escape.
_JSON_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


class TooLarge(DomainError):
    status = 413


class BodyGuard:
    """Pure ASGI middleware: bodies of HTTP requests, and the path and query string of HTTP
    and WebSocket requests (lifespan passes through)."""

    def __init__(self, app: ASGIApp, *, limit: int, refuse: Refuse) -> None:
        self.app = app
        self.limit = limit
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and _bad_target(scope):
            await send({"type": "websocket.close", "code": 1008})  # before accept: a 403
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _bad_target(scope):
            await self._answer(scope, receive, send, _not_allowed())
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await self._answer(scope, receive, send, _too_large())
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            chunk = message.get("body", b"")
            if len(body) + len(chunk) > self.limit:
                await self._answer(scope, receive, send, _too_large())
                return
            body += chunk
            more = message.get("more_body", False)
        if malformed(headers.get("content-type", ""), bytes(body)):
            await self._answer(scope, receive, send, _not_allowed())
            return
        await self.app(scope, replay(bytes(body), receive), send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
        response = await self.refuse(Request(scope, receive), error)
        if isinstance(error, TooLarge):
            response.headers["connection"] = "close"  # the rest of the body is not wanted
        await response(scope, receive, send)


def _too_large() -> TooLarge:
    return TooLarge(N_("This request is too large"))


def _not_allowed() -> Invalid:
    return Invalid("This text contains characters that are not allowed")


def _bad_target(scope: Scope) -> bool:
    """A NUL or bytes that are not UTF-8 in the path or the query string, percent-decoded
    (a table code looked up from /t/%00 would make PostgreSQL fail)."""
    raw_path = scope.get("raw_path")
    path = unquote_to_bytes(raw_path) if raw_path else scope["path"].encode("utf-8", "replace")
    query = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
    return not (_is_text(path) and _is_text(query))


def replay(body: bytes, receive: Receive) -> Receive:
    """The body read by the guard, as one message; then the server's own (disconnect)."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def malformed(content_type: str, body: bytes) -> bool:
    """Whether a body of this type holds text that is not well-formed (see the module).
    Bodies of other types are not read as text by any route, so they are not looked at."""
    media, options = parse_options_header(content_type)
    if media == b"application/x-www-form-urlencoded":
        # Raw bytes past ASCII are not form encoding (browsers percent-encode them), and
        # Starlette would read them as Latin-1.
        return not body.isascii() or not _is_text(unquote_to_bytes(body.replace(b"+", b" ")))
    if media == b"multipart/form-data":
        boundary = options.get(b"boundary", b"")
        return bool(boundary) and not all(_is_text(value) for value in _fields(body, boundary))
    if media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    ):
        return not _is_text(body) or _bad_json_escape(body)
    return False


def _is_text(data: bytes) -> bool:
    """UTF-8 without NUL (the UTF-8 codec refuses encoded surrogates itself)."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _fields(body: bytes, boundary: bytes) -> Iterator[bytes]:
    """The values of a multipart body's text fields (parts without a filename)."""
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            return
        head, blank, value = part.partition(b"\r\n\r\n")
        if blank and b"filename=" not in head.lower():
            yield value.removesuffix(b"\r\n")


def _bad_json_escape(body: bytes) -> bool:
    """A \\u0000 escape, or a surrogate escape without its other half right beside it."""
    high_until = -1  # where the low half of a pending high surrogate must start
    for match in _JSON_ESCAPE.finditer(body):
        code = int(match.group(1), 16) if match.group(1) else -1
        if high_until >= 0:
            if match.start() != high_until or not 0xDC00 <= code <= 0xDFFF:
                return True
            high_until = -1
        elif code == 0 or 0xDC00 <= code <= 0xDFFF:
            return True
        elif 0xD800 <= code <= 0xDBFF:
            high_until = match.end()
    return high_until >= 0
