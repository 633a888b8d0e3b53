"""Running timers: each reaches zero on the worker's clock, and `finish_timer` decides.

Every worker watches every running timer (a timer set on one is announced to the others,
and `start` reads the running ones from the database, so a timer outlives a restart or a
killed worker). At zero each calls `phases.finish_timer`, which decides under the table's
lock: the first moves the phase, the others find no timer and commit nothing."""

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import col, select

from app.clock import Clock, Handle
from app.db import open_session
from app.models import Table
from app.services.errors import NotFound
from app.services.phases import finish_timer

log = logging.getLogger(__name__)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Timers:
    def __init__(
        self, *, engine: Engine, clock: Clock, committed: Callable[[int, int], None]
    ) -> None:
        self._engine = engine
        self._clock = clock  # when a timer reaches zero (tests: a fake one they advance)
        self._committed = committed  # (table id, seq) of a timer that moved its table
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handles: set[Handle] = set()  # timers waiting to reach zero
        self.tasks: set[asyncio.Task[None]] = set()  # timers reaching zero now

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for table_id, ends_at in await asyncio.to_thread(self._running):
            self.watch(table_id, ends_at)

    def _running(self) -> list[tuple[int, dt.datetime]]:
        with open_session(self._engine) as session:
            rows = session.exec(
                select(Table.id, Table.timer_ends_at).where(col(Table.timer_ends_at).is_not(None))
            ).all()
        return [(tid or 0, ends) for tid, ends in rows if ends is not None]

    def stop(self) -> list[asyncio.Task[None]]:
        """Cancel the timers still waiting; the ones at zero now are for the caller to await."""
        self._loop = None
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
        return list(self.tasks)

    def watch(self, table_id: int, ends_at: dt.datetime | None) -> None:
        """When a timer reaches zero, let the service decide (advance the phase or just
        stop). Any thread."""
        loop = self._loop
        if loop is None or ends_at is None:
            return
        aware = ends_at if ends_at.tzinfo else ends_at.replace(tzinfo=dt.UTC)
        delay = max(0.0, (aware - self._clock.now()).total_seconds())
        if _running_loop() is loop:  # scheduled now: stopping right after still cancels it
            self._schedule(loop, table_id, delay)
        else:
            loop.call_soon_threadsafe(self._schedule, loop, table_id, delay)

    def _schedule(self, loop: asyncio.AbstractEventLoop, table_id: int, delay: float) -> None:
        """Kept, so that a stopping server cancels the timers and waits for those at zero."""
        if self._loop is None:
            return
        handle: Handle | None = None

        def at_zero() -> None:
            if handle is not None:
                self._handles.discard(handle)
            task = loop.create_task(self._at_zero(table_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        handle = self._clock.call_later(loop, delay, at_zero)
        self._handles.add(handle)

    async def _at_zero(self, table_id: int) -> None:
        """Every worker watching the timer gets here; `finish_timer` decides under the
        table's lock, so the first one acts and the others find nothing to do (no seq, no
        push, no notice)."""
        now = self._clock.now()

        def finish() -> int | None:
            with open_session(self._engine) as session:
                return finish_timer(session, table_id, now=now).seq

        try:
            seq = await asyncio.to_thread(finish)
        except NotFound:  # the table was deleted meanwhile
            return
        except Exception:
            log.exception("timer of table %s failed", table_id)
            return
        if seq is not None:
            self._committed(table_id, seq)
