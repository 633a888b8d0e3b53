"""The realtime hub: publish a push to a table's channel, subscribe with a bounded queue.

Backends are chosen by URL scheme. `memory://` serves one worker; a backend for several
workers implements `publish` and `_listen` and reuses the local fan-out.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Push:
    """One message for every connection of a table, rendered once per audience."""

    channel: str
    seq: int
    prev_seq: int
    payloads: Mapping[str, str]


class Subscription:
    """A connection's queue of pushes: when it overflows the connection is dropped, not awaited."""

    def __init__(self, maxsize: int) -> None:
        self._items: deque[Push] = deque()
        self._ready = asyncio.Event()
        self._maxsize = maxsize
        self.dropped = False

    def deliver(self, push: Push) -> None:
        if self.dropped:
            return
        if len(self._items) >= self._maxsize:
            self.dropped = True
            self._items.clear()
        else:
            self._items.append(push)
        self._ready.set()

    async def next(self) -> Push | None:
        """The next push, or None once this subscriber was dropped for falling behind."""
        while not self._items and not self.dropped:
            self._ready.clear()
            await self._ready.wait()
        if self.dropped:
            return None
        return self._items.popleft()


class Hub:
    """In-memory backend, and the local fan-out every backend shares."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        return None

    async def publish(self, push: Push) -> None:
        self._fan_out(push)

    def _fan_out(self, push: Push) -> None:
        for subscription in tuple(self._subscribers.get(push.channel, ())):
            subscription.deliver(push)

    @asynccontextmanager
    async def subscribe(self, channel: str, *, maxsize: int = 64) -> AsyncIterator[Subscription]:
        subscription = Subscription(maxsize)
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
