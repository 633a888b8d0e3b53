"""The clock that timers and presence read: wall time (a timer ends at a wall time stored in
the database; a worker's presence expires at one) and delays on the event loop.

`Clock()` is real time, the default everywhere. A test gives a fake one
(`tests/clock.py`) and advances it instead of sleeping until a timer reaches zero."""

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def timestamp(self) -> float:
        """Seconds since the epoch, as `now()`."""
        return self.now().timestamp()

    def call_later(
        self, loop: asyncio.AbstractEventLoop, delay: float, callback: Callable[[], None]
    ) -> Handle:
        """Run `callback` on `loop` in `delay` seconds."""
        return loop.call_later(delay, callback)


REAL_TIME = Clock()
