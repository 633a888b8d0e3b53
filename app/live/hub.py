"""The realtime hub: publish a push to a table's channel, subscribe with a bounded queue.

A subscription is bounded in pushes and in bytes (of its own connection's payload, counting
the push being sent): publishing never waits for a connection, and one that falls behind is
dropped at once, its queue freed, instead of holding memory for a client that does not read.

Backends are chosen by URL scheme. `memory://` serves one worker; a backend for several
workers implements `publish` and `_listen` and reuses the local fan-out.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Push:
    """One message for every connection of a table, rendered once per audience."""

    channel: str
    seq: int
    prev_seq: int
    payloads: Mapping[str, str]
    _sizes: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def size(self, key: str | None) -> int:
        """Bytes of the payload under `key` (UTF-8), measured once per push and key."""
        if key is None or key not in self.payloads:
            return 0
        size = self._sizes.get(key)
        if size is None:
            size = self._sizes[key] = len(self.payloads[key].encode())
        return size


class Subscription:
    """A connection's queue of pushes: when it overflows the connection is dropped, not awaited.

    It overflows past `maxsize` pushes or past `max_bytes` bytes of the payload under `key`
    (the one its connection sends), counting the push handed out last until the next call
    of `next`: that one is being sent. A single push larger than the bound still goes
    through when nothing else is pending, or a big table could never be followed."""

    def __init__(self, maxsize: int, max_bytes: int | None = None, key: str | None = None) -> None:
        self._items: deque[Push] = deque()
        self._ready = asyncio.Event()
        self._maxsize = maxsize
        self._max_bytes = max_bytes
        self._key = key
        self._pending = 0  # bytes queued, plus the push being sent
        self._sending = 0
        self.dropped = False

    @property
    def pending_bytes(self) -> int:
        return self._pending

    def deliver(self, push: Push) -> None:
        if self.dropped:
            return
        size = push.size(self._key)
        over_bytes = (
            self._max_bytes is not None
            and self._pending > 0
            and self._pending + size > self._max_bytes
        )
        if len(self._items) >= self._maxsize or over_bytes:
            self.drop()
            return
        self._items.append(push)
        self._pending += size
        self._ready.set()

    def drop(self) -> None:
        """Give up on this subscriber: its queue is freed now, `next` answers None."""
        self.dropped = True
        self._items.clear()
        self._pending = self._sending = 0
        self._ready.set()

    async def next(self) -> Push | None:
        """The next push, or None once this subscriber was dropped for falling behind."""
        self._pending -= self._sending  # the previous push was sent
        self._sending = 0
        while not self._items and not self.dropped:
            self._ready.clear()
            await self._ready.wait()
        if self.dropped:
            return None
        push = self._items.popleft()
        self._sending = push.size(self._key)
        return push


class Hub:
    """In-memory backend, and the local fan-out every backend shares."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        return None

    async def check(self) -> None:
        """Raise when the backend cannot carry pushes (for /healthz); memory always can."""
        return None

    async def publish(self, push: Push) -> None:
        self._fan_out(push)

    def _fan_out(self, push: Push) -> None:
        for subscription in tuple(self._subscribers.get(push.channel, ())):
            subscription.deliver(push)

    @asynccontextmanager
    async def subscribe(
        self,
        channel: str,
        *,
        maxsize: int = 64,
        max_bytes: int | None = None,
        key: str | None = None,
    ) -> AsyncIterator[Subscription]:
        """A bounded queue of the channel's pushes; `key` names the payload whose bytes count."""
        subscription = Subscription(maxsize, max_bytes, key)
        subscribers = self._subscribers.setdefault(channel, set())
        subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscribers.discard(subscription)
            if not subscribers:
                self._subscribers.pop(channel, None)

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))


def hub_from_url(url: str) -> Hub:
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        return Hub()
    raise ValueError(f"unsupported HUB_URL scheme {scheme!r}: this version knows memory://")


def table_channel(table_id: int) -> str:
    return f"table:{table_id}"
