"""A clock that moves only when a test advances it: timers reach zero at once, no sleeping."""

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from app.clock import Clock


@dataclass(eq=False)
class _Due:
    at: dt.datetime
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock(Clock):
    def __init__(self, now: dt.datetime | None = None) -> None:
        self._now = now or dt.datetime.now(dt.UTC)
        self._due: list[_Due] = []

    def now(self) -> dt.datetime:
        return self._now

    def call_later(
        self, loop: asyncio.AbstractEventLoop, delay: float, callback: Callable[[], None]
    ) -> _Due:
        due = _Due(self._now + dt.timedelta(seconds=delay), callback)
        self._due.append(due)
        return due

    def advance(self, seconds: float) -> None:
        """Move time on and run what came due, in order, in the calling thread (the event
        loop's, in an async test)."""
        self._now += dt.timedelta(seconds=seconds)
        ready = sorted((d for d in self._due if d.at <= self._now), key=lambda d: d.at)
        self._due = [d for d in self._due if d.at > self._now and not d.cancelled]
        for due in ready:
            if not due.cancelled:
                due.callback()
