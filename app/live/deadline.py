"""One watchdog for the sends of every socket of a worker, instead of a timer per send.

A send waits only when its client has stopped reading (the kernel's buffer and the
transport's are full). A deadline around every send (anyio's `move_on_after`) cost about
12 µs each: with a thousand screens, 12 ms of every push, a tenth of its cost per socket
(docs/performance.md). Here a send only notes when it started; one task a second
interrupts, through the connection's own `asyncio.Timeout`, the sends that waited too long.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

PERIOD = 1.0  # how often the watchdog looks: a stalled send is cut within timeout + PERIOD


class SendWatch:
    """Sends in progress and when they started; `guard` gives a connection its deadline."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._sending: dict[asyncio.Timeout, float] = {}
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator["Watched"]:
        """A connection's deadline: its sends run inside; a late one raises TimeoutError here."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())
        async with asyncio.timeout(None) as deadline:
            watched = Watched(self, deadline)
            try:
                yield watched
            finally:
                self._sending.pop(deadline, None)

    def start(self, deadline: asyncio.Timeout) -> None:
        self._sending[deadline] = asyncio.get_running_loop().time()

    def stop(self, deadline: asyncio.Timeout) -> None:
        self._sending.pop(deadline, None)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(PERIOD)
            now = loop.time()
            late = [d for d, started in self._sending.items() if now - started > self.timeout]
            for deadline in late:
                del self._sending[deadline]
                deadline.reschedule(now)  # cancels that connection's send, at once

    def close(self) -> None:
        """At shutdown: the watchdog lives as long as the worker's sockets."""
        if self._task is not None:
            self._task.cancel()
            self._task = None


class Watched:
    """A connection's handle: `send_started` / `send_done` around each send."""

    __slots__ = ("_deadline", "_watch")

    def __init__(self, watch: SendWatch, deadline: asyncio.Timeout) -> None:
        self._watch = watch
        self._deadline = deadline

    def send_started(self) -> None:
        self._watch.start(self._deadline)

    def send_done(self) -> None:
        self._watch.stop(self._deadline)
        # The watchdog may have cut this send in the very loop turn it finished: its cut
        # is scheduled and has not landed yet. The send is done, so call it off (else the
        # next wait, for the next push, would end the connection with 1013 for nothing).
        deadline = self._deadline
        if deadline.when() is not None and not deadline.expired():
            deadline.reschedule(None)
