"""Rate limits: every limit of the application, with its default and why, in one place.

Counters live in the `limits` library's storage (moving windows), chosen by URL with
`TAVOLI_LIMITS_URL`: `memory://` counts in this process; a `redis://` URL shares the counts
between workers. The exceptions are the caps on *open* sockets (`websocket` per
address, `phone_sockets` per participant, `worker_sockets` per worker): `limits` offers rate
strategies only (fixed, moving and sliding windows, no semaphore), so open sockets are
counted in this process, per worker (W workers admit up to W times a cap).

API, for services and routes (the module is configured once, by `create_app`):

    ratelimit.hit("post", str(participant.id))      # counts one; TooMany (429) over a limit
    ratelimit.check("lookup", address)              # TooMany if over, counts nothing
    with ratelimit.holding("websocket", address):   # one open connection while inside
        ...
    address = ratelimit.address(request)            # a Request's or WebSocket's client

`TooMany` carries `retry_after` (whole seconds, from the limiter's window: when the oldest
hit in the full window leaves it); the app's error handler turns it into a `Retry-After`
header. `configure(storage_uri, enabled=False)` (setting `TAVOLI_RATE_LIMITS=false`) turns
every check off; `overrides` (setting `TAVOLI_LIMITS`, e.g.
`join=2000/hour, websocket=400`) replaces defaults; `reset()` forgets all
counts (tests). The client address is the peer's, or the proxy's `X-Forwarded-For` when
uvicorn runs with `--proxy-headers` behind a trusted proxy; IPv6 clients are counted per
/64, the block one device or household gets.

A shared storage that fails (Redis stopped, restarting, unreachable) fails open: the
counts go on in this process's memory, per worker, until Redis answers again (`FailOpen`,
logged once per outage). Redis holds nothing worth refusing a vote or a page for.
"""

import ipaddress
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection

from app.errors import TooMany
from app.i18n import N_

TOO_MANY = N_("Too many requests: try again in %(seconds)s seconds")
NAMESPACE = "tavoli"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    spec: str  # `limits` notation: "5/10 seconds;30/10 minutes", or a count for a cap
    per: str
    why: str


LIMITS: dict[str, Limit] = {
    "join": Limit(
        "1200/hour",
        "client address",
        "A venue's Wi-Fi puts a whole hall behind one address: 1,000 phones scanning the QR "
        "code within two minutes must all get in at once. The moving window is a bucket whose "
        "burst is the hour's whole allowance (each join's token comes back an hour later): a "
        "hall's burst passes untouched, a script making thousands of participants gets 1,200 "
        "in its first hour from one address, then one join each time an old one ages out.",
    ),
    "join_table": Limit(
        "2000/hour",
        "table",
        "However many addresses a script uses, a table takes at most 2,000 new participants an "
        "hour: a plenary hall of 1,000 twice over, not a flood of fake voters on one wall.",
    ),
    "lookup": Limit(
        "60/minute;600/hour",
        "client address, failed lookups only (a code refused at any door: tables.resolve_for)",
        "Codes are 6 of 29 letters (29^6 = 594,823,321). Only refused codes count (unknown, "
        "or a table the caller's token or cookie may not use, answered alike), so a hall "
        "opening the right link never meets it; 60 typos a minute behind one router is "
        "generous. Enumeration drops from 342 guesses a second to 600 an hour: with 100 "
        "live tables, about 1 chance in 10,000 per address per hour of finding one. Once "
        "over, every code from the address waits (else the guessing would go on), except "
        "for a caller whose credential already names the table.",
    ),
    "post": Limit(
        "5/10 seconds;30/10 minutes",
        "participant",
        "A fast thumb writes a post in 10 s or more; 30 in ten minutes is a busy table's "
        "most prolific voice. A script posting 1,000 in 10 s is stopped at the fifth.",
    ),
    "vote": Limit(
        "30/10 seconds;600/10 minutes",
        "participant",
        "Tapping through 40 cards (a dot on, a dot off) runs at two or three taps a second; "
        "a script voting hundreds of times a second, each a push to every screen, is not.",
    ),
    "link": Limit(
        "10/10 seconds;120/10 minutes",
        "participant",
        "A participant links their own few proposals to needs and pledges their resources: "
        "a handful of saves, each a redraw of every wall. Its own count, so that linking "
        "never spends the posts a busy participant still wants to write.",
    ),
    "websocket": Limit(
        "200",
        "client address, open sockets other than a phone's (a cap, not a rate)",
        "Screens, consoles, dashboards and API streams: a whole event's projectors and "
        "consoles behind one address fit under 200, a script holding thousands does not. "
        "Phones are counted per participant instead: a hall behind one address is not "
        "capped as one client.",
    ),
    "phone_sockets": Limit(
        "4",
        "participant, open sockets (a cap)",
        "A phone's few tabs: the QR code scanned twice, a reload whose old socket has not "
        "closed yet. Joining is limited per address, so phones cannot be multiplied cheaply.",
    ),
    "worker_sockets": Limit(
        "5000",
        "worker, open sockets of every kind (a cap)",
        "What one worker serves with pushes still within a second (docs/performance.md: "
        "5,000 clients, 672 ms with one worker); each socket is a file descriptor, so the "
        "worker raises its soft limit on open files above it (main.room_for_sockets).",
    ),
}

_limiter: MovingWindowRateLimiter | None = None
_enabled = True
_items: dict[str, list[RateLimitItem]] = {}
_caps: dict[str, int] = {}
_open: Counter[tuple[str, str]] = Counter()
_open_lock = threading.Lock()


def configure(
    storage_uri: str = "memory://",
    *,
    enabled: bool = True,
    overrides: Mapping[str, str] | str | None = None,
) -> None:
    """Set the storage (`memory://`, `redis://…`) and the limits; counts start from zero."""
    global _limiter, _enabled
    specs = {name: limit.spec for name, limit in LIMITS.items()}
    for name, spec in _parse_overrides(overrides).items():
        if name not in LIMITS:
            raise ValueError(f"unknown rate limit {name!r}: known are {', '.join(LIMITS)}")
        specs[name] = spec
    items, caps = {}, {}
    for name, spec in specs.items():
        if spec.strip().isdigit():
            caps[name] = int(spec)
        else:
            items[name] = [
                type(item)(item.amount, item.multiples, namespace=NAMESPACE)
                for item in parse_many(spec)
            ]
    limiter = MovingWindowRateLimiter(_storage(storage_uri))
    _items.clear()
    _items.update(items)
    _caps.clear()
    _caps.update(caps)
    _limiter, _enabled = limiter, enabled


SHARED_TIMEOUT = 0.5  # seconds a request may wait for Redis before counting locally
RETRY_SHARED = 2.0  # seconds between attempts while Redis is away


class FailOpen(Storage, MovingWindowSupport):
    """A shared storage (Redis) that counts in this process's memory while it fails.

    One failure sends every count here for `RETRY_SHARED` seconds, so an outage costs a
    request at most one short attempt every two seconds, not a wait and a 500 each. The
    outage is logged when it starts and when it ends. While it lasts, each worker counts
    on its own (W workers admit up to W times a limit), and the counts it kept are
    forgotten when Redis is back."""

    STORAGE_SCHEME = None

    def __init__(self, shared: Storage) -> None:
        super().__init__()
        self.shared = shared
        self.local = MemoryStorage()
        self.down_since: float | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()
        base = shared.base_exceptions
        self._errors: tuple[type[BaseException], ...] = (
            StorageError,
            OSError,
            *(base if isinstance(base, tuple) else (base,)),
        )

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing of the shared storage's escapes

    def _call(self, method: str, *args: Any) -> Any:
        if time.monotonic() >= self._retry_at:
            try:
                result = getattr(self.shared, method)(*args)
            except self._errors as exc:
                self._failed(exc)
            else:
                if self.down_since is not None:
                    self._recovered()
                return result
        return getattr(self.local, method)(*args)

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + RETRY_SHARED
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning(
                    "rate limits: the shared storage failed (%s: %s); counting in this "
                    "worker until it answers again",
                    type(exc).__name__,
                    exc,
                )

    def _recovered(self) -> None:
        with self._lock:
            if self.down_since is not None:
                log.warning(
                    "rate limits: the shared storage answers again, after %.0f s",
                    time.monotonic() - self.down_since,
                )
                self.down_since = None
                self.local.reset()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return int(self._call("incr", key, expiry, amount))

    def get(self, key: str) -> int:
        return int(self._call("get", key))

    def get_expiry(self, key: str) -> float:
        return float(self._call("get_expiry", key))

    def check(self) -> bool:
        """Whether the shared storage answers (its `check` says False rather than raise)."""
        if time.monotonic() < self._retry_at:
            return False
        if self.shared.check():
            if self.down_since is not None:
                self._recovered()
            return True
        self._failed(ConnectionError("no answer to PING"))
        return False

    def reset(self) -> int | None:
        self.local.reset()
        with self._lock:
            self._retry_at = 0.0
        result = self._call("reset")
        return None if result is None else int(result)

    def clear(self, key: str) -> None:
        self._call("clear", key)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return bool(self._call("acquire_entry", key, limit, expiry, amount))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        start, count = self._call("get_moving_window", key, limit, expiry)
        return float(start), int(count)


def _storage(uri: str) -> Storage:
    """`memory://` as is; a shared storage (Redis) behind `FailOpen`, its client bounded in
    time and not retrying by itself (FailOpen decides when to try again)."""
    if uri.startswith("memory://"):
        return storage_from_string(uri)  # type: ignore[return-value]
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    shared = storage_from_string(
        uri,
        socket_timeout=SHARED_TIMEOUT,
        socket_connect_timeout=SHARED_TIMEOUT,
        retry=Retry(NoBackoff(), 1),  # type: ignore[arg-type]  # one reconnection
    )
    return FailOpen(shared)  # type: ignore[arg-type]


def degraded() -> bool:
    """The shared counts are unreachable: this worker counts alone (for /healthz, which
    asks again when it is time to, so the answer turns back without a limited request)."""
    storage = _limiter.storage if _limiter is not None else None
    if not isinstance(storage, FailOpen) or storage.down_since is None:
        return False
    storage.check()
    return storage.down_since is not None


def _parse_overrides(overrides: Mapping[str, str] | str | None) -> dict[str, str]:
    if overrides is None:
        return {}
    if isinstance(overrides, str):
        pairs = [part.split("=", 1) for part in overrides.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"rate limit overrides are name=spec, comma separated: {overrides!r}")
        return {name.strip(): spec.strip() for name, spec in pairs}
    return dict(overrides)


def reset() -> None:
    """Forget every count (tests; an operator lifting a block)."""
    if _limiter is not None:
        _limiter.storage.reset()
    with _open_lock:
        _open.clear()


def _items_of(name: str) -> list[RateLimitItem]:
    if _limiter is None:
        configure()
    try:
        return _items[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a rate limit (see ratelimit.LIMITS)") from None


def _retry_after(item: RateLimitItem, name: str, key: str) -> int:
    assert _limiter is not None
    reset_at = _limiter.get_window_stats(item, name, key).reset_time
    return max(1, math.ceil(reset_at - time.time()))


def check(name: str, key: str) -> None:
    """Raise TooMany if `key` has used up a window of the limit `name`; count nothing."""
    items = _items_of(name)
    if not _enabled:
        return
    assert _limiter is not None
    over = [item for item in items if not _limiter.test(item, name, key)]
    if over:
        raise TooMany(TOO_MANY, retry_after=max(_retry_after(i, name, key) for i in over))


def hit(name: str, key: str) -> None:
    """Count one for `key` in every window of the limit `name`, or raise TooMany.

    A refused hit is not counted, so retrying early does not push the wait further."""
    check(name, key)
    if not _enabled:
        return
    assert _limiter is not None
    for item in _items[name]:
        if not _limiter.hit(item, name, key):  # another request took the last one meanwhile
            raise TooMany(TOO_MANY, retry_after=_retry_after(item, name, key))


def cap(name: str) -> int:
    """The cap `name` on open connections, as configured."""
    if _limiter is None:
        configure()
    try:
        return _caps[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a cap on open connections") from None


@contextmanager
def holding(name: str, key: str) -> Iterator[None]:
    """Hold one of `key`'s open slots under the cap `name` while inside, or raise TooMany
    (retry_after 1: a slot frees whenever a connection ends)."""
    most = cap(name)
    slot = (name, key)
    with _open_lock:
        if _enabled and _open[slot] >= most:
            raise TooMany(TOO_MANY, retry_after=1)
        _open[slot] += 1
    try:
        yield
    finally:
        with _open_lock:
            _open[slot] -= 1
            if _open[slot] <= 0:
                del _open[slot]


def open_count(name: str, key: str) -> int:
    with _open_lock:
        return _open[(name, key)]


def address(conn: HTTPConnection) -> str:
    """The client's address as limits count it: IPv4 as is, IPv6 by its /64."""
    host = conn.client.host if conn.client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
