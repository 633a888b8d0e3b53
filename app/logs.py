"""Server logs without capability tokens.

uvicorn writes every request's path to its access log (and every WebSocket's to its error
log), and a capability link is its own password: `/m/<token>` opens an event's moderation,
`/run/<token>/CODE/` a table's console, `/c/<token>` the minutes, `/admin/<token>` the
organiser's page. `RedactTokens` rewrites those paths (`/run/…/ABC234/`) and drops token
values from query strings (`?token=…`, and a capability path carried in `?next=`) before
any handler sees the record. A link typed or pasted wrong (`/<token>`, `/m<token>`,
`/run/<token>CODE/`) keeps no prefix to go by, so any run of 32 or more token characters
left in a path is redacted too: no other path of Tavoli has one (table codes have 6).
`install` puts it on uvicorn's loggers when the app is created.
"""

import logging
import re
from urllib.parse import unquote_plus

REDACTED = "…"
# The first segment after one of these prefixes is a capability token.
CAPABILITY_PATH = re.compile(r"^(/+(?:m|c|admin|run)/+)[^/?#]+", re.IGNORECASE)
SECRET_NAME = re.compile(r"token|secret|key|password|auth", re.IGNORECASE)
# A value long and random enough to be a token (token_urlsafe(32) gives 43 characters).
TOKEN_LIKE = re.compile(r"^[A-Za-z0-9_\-]{32,}={0,2}$")
TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-]{32,}")
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact_path(path: str) -> str:
    """A request target (path and query string) with no capability token left in it."""
    path, mark, query = path.partition("?")
    path = TOKEN_RUN.sub(REDACTED, CAPABILITY_PATH.sub(rf"\g<1>{REDACTED}", path))
    if not mark:
        return path
    return f"{path}?{'&'.join(_redact_parameter(part) for part in query.split('&'))}"


def _redact_parameter(part: str) -> str:
    name, equals, value = part.partition("=")
    if not equals:
        return REDACTED if TOKEN_LIKE.match(unquote_plus(name)) else part
    decoded = unquote_plus(value)
    if SECRET_NAME.search(unquote_plus(name)) or TOKEN_LIKE.match(decoded):
        return f"{name}={REDACTED}"
    if decoded.startswith("/") and (redacted := redact_path(decoded)) != decoded:
        return f"{name}={redacted}"  # e.g. the language switch's ?next=/m/<token>
    return part


class RedactTokens(logging.Filter):
    """Rewrites the request targets among a record's arguments (uvicorn passes the path as
    one argument of '%s - "%s %s HTTP/%s" %d' and '%s - "WebSocket %s" …')."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


class QuietHealthChecks(logging.Filter):
    """Drops the access-log line of a healthy `/healthz` (a probe every few seconds per
    worker would bury the requests); a failing one (503) is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 5 and args[2] in HEALTH_PATHS:
            return not (isinstance(args[4], int) and args[4] < 400)
        return True


HEALTH_PATHS = ("/healthz",)
_FILTER = RedactTokens()
_QUIET = QuietHealthChecks()


def install() -> None:
    """Idempotent: the same filter object is added once per logger."""
    for name in LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
    logging.getLogger("uvicorn.access").addFilter(_QUIET)
