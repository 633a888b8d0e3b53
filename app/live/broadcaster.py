"""Per-table push loop: coalesce changes, render once per audience, publish through the hub.

Services commit, then routes call `notify(table_id, seq)` from any thread. Each table has
one flusher task that pushes at most once per `interval`: the first change after a quiet
moment goes out at once, a burst of votes shares one push. A push is the table's delta
since the previous push (see `table_delta`), so coalescing never loses a change.
"""

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine
from sqlmodel import col, select

from app.db import open_session
from app.live.hub import Hub, Push, table_channel
from app.models import Table
from app.services.errors import NotFound
from app.services.phases import finish_timer
from app.services.state import (
    TableDelta,
    TableState,
    TableStats,
    current_seq,
    table_delta,
    table_state,
)

log = logging.getLogger(__name__)


class Committed(Protocol):
    """What every write service returns: the table and the seq it committed (or None)."""

    @property
    def table_id(self) -> int: ...

    @property
    def seq(self) -> int | None: ...


Render = Callable[[TableDelta, TableStats, TableState], Mapping[str, str]]
IDLE_SECONDS = 30.0
STOP_SECONDS = 5.0  # a push being built gets this long to finish at shutdown


@dataclass
class _Feed:
    table_id: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    data_dirty: bool = False
    presence_dirty: bool = False
    min_pending: int | None = None
    last_seq: int | None = None
    people: Counter[int] = field(default_factory=Counter)
    task: asyncio.Task[None] | None = None


class Broadcaster:
    def __init__(self, *, hub: Hub, engine: Engine, render: Render, interval: float) -> None:
        self._hub = hub
        self._engine = engine
        self._render = render
        self._interval = interval
        self._feeds: dict[int, _Feed] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._timers: set[asyncio.TimerHandle] = set()  # timers waiting to reach zero
        self._timer_tasks: set[asyncio.Task[None]] = set()  # timers reaching zero now

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        # Timers outlive a restart: watch the ones still running.
        for table_id, ends_at in await asyncio.to_thread(self._running_timers):
            self.watch_timer(table_id, ends_at)

    def _running_timers(self) -> list[tuple[int, dt.datetime]]:
        with open_session(self._engine) as session:
            rows = session.exec(
                select(Table.id, Table.timer_ends_at).where(col(Table.timer_ends_at).is_not(None))
            ).all()
        return [(tid or 0, ends) for tid, ends in rows if ends is not None]

    async def stop(self) -> None:
        """Let each feed finish the push it may be building, then end. Cancelling instead
        left the build's thread running past the engine's disposal (a connection left open)
        and, on Python 3.11, a cancel could be lost in `wait_for` (a 30 s stall)."""
        self._stopping = True
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        tasks = [feed.task for feed in self._feeds.values() if feed.task and not feed.task.done()]
        tasks += self._timer_tasks
        for feed in self._feeds.values():
            feed.wake.set()
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=STOP_SECONDS)
            for task in late:
                task.cancel()
        self._feeds.clear()
        self._loop = None

    def notify(self, table_id: int, seq: int) -> None:
        """A change with this seq was committed; safe to call from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._mark, table_id, seq)

    def publish(self, change: Committed) -> None:
        """Publish what a service committed (nothing, if it changed nothing); a timer the
        change set is watched, so the table moves on at zero. Any thread."""
        if change.seq is not None:
            self.notify(change.table_id, change.seq)
        ends_at = getattr(change, "ends_at", None)
        if ends_at is not None:
            self.watch_timer(change.table_id, ends_at)

    def watch_timer(self, table_id: int, ends_at: dt.datetime | None) -> None:
        """When a timer reaches zero, let the service decide (advance the phase or just stop)."""
        loop = self._loop
        if loop is None or ends_at is None:
            return
        aware = ends_at if ends_at.tzinfo else ends_at.replace(tzinfo=dt.UTC)
        delay = max(0.0, (aware - dt.datetime.now(dt.UTC)).total_seconds())
        loop.call_soon_threadsafe(self._schedule_timer, loop, table_id, delay)

    def _schedule_timer(self, loop: asyncio.AbstractEventLoop, table_id: int, delay: float) -> None:
        """Kept, so that a stopping server cancels the timers and waits for those at zero."""
        if self._stopping:
            return
        handle: asyncio.TimerHandle | None = None

        def at_zero() -> None:
            self._timers.discard(handle)
            task = loop.create_task(self._timer_done(table_id))
            self._timer_tasks.add(task)
            task.add_done_callback(self._timer_tasks.discard)

        handle = loop.call_later(delay, at_zero)
        self._timers.add(handle)

    async def _timer_done(self, table_id: int) -> None:
        def finish() -> int | None:
            with open_session(self._engine) as session:
                return finish_timer(session, table_id).seq

        try:
            seq = await asyncio.to_thread(finish)
        except Exception:
            log.exception("timer of table %s failed", table_id)
            return
        if seq is not None:
            self._mark(table_id, seq)

    def arrive(self, table_id: int, participant_id: int) -> None:
        """A participant's connection opened (event loop only)."""
        feed = self._feed(table_id)
        feed.people[participant_id] += 1
        if feed.people[participant_id] == 1:
            self._mark(table_id, None)

    def leave(self, table_id: int, participant_id: int) -> None:
        feed = self._feed(table_id)
        feed.people[participant_id] -= 1
        if feed.people[participant_id] <= 0:
            del feed.people[participant_id]
            self._mark(table_id, None)

    def people(self, table_id: int) -> int:
        """Participants with at least one open connection to this worker."""
        feed = self._feeds.get(table_id)
        return len(feed.people) if feed else 0

    def _feed(self, table_id: int) -> _Feed:
        feed = self._feeds.get(table_id)
        if feed is None:
            feed = self._feeds[table_id] = _Feed(table_id)
        return feed

    def _mark(self, table_id: int, seq: int | None) -> None:
        if self._stopping:  # clients reconnect elsewhere and get a snapshot
            return
        feed = self._feed(table_id)
        if seq is not None and feed.last_seq is not None and seq <= feed.last_seq:
            return  # already pushed (a late notice, or a vote that changed nothing)
        if seq is None:
            feed.presence_dirty = True
        else:
            feed.data_dirty = True
            feed.min_pending = seq if feed.min_pending is None else min(feed.min_pending, seq)
        feed.wake.set()
        if feed.task is None or feed.task.done():
            feed.task = asyncio.get_running_loop().create_task(self._run(feed))

    async def _run(self, feed: _Feed) -> None:
        while not self._stopping:
            try:
                async with asyncio.timeout(IDLE_SECONDS):
                    await feed.wake.wait()
            except TimeoutError:
                return
            if self._stopping:
                return
            feed.wake.clear()
            try:
                await self._flush(feed)
            except Exception:  # a failed push must not stop the table's next ones
                log.exception("push for table %s failed", feed.table_id)
            await asyncio.sleep(self._interval)

    async def _flush(self, feed: _Feed) -> None:
        data, feed.data_dirty = feed.data_dirty, False
        presence, feed.presence_dirty = feed.presence_dirty, False
        min_pending, feed.min_pending = feed.min_pending, None
        people = len(feed.people)
        try:
            push = await asyncio.to_thread(
                self._build, feed.table_id, feed.last_seq, min_pending, data, people
            )
        except NotFound:  # the table was deleted meanwhile: nothing to push
            return
        if push is None or (push.seq == feed.last_seq and not presence):
            return  # nothing new to show (a notice that raced the previous push)
        feed.last_seq = push.seq
        await self._hub.publish(push)

    def _build(
        self, table_id: int, last_seq: int | None, min_pending: int | None, data: bool, people: int
    ) -> Push | None:
        with open_session(self._engine) as session:
            if last_seq is None:  # first push of this table in this process
                last_seq = min_pending - 1 if min_pending else current_seq(session, table_id)
            if data:
                delta = table_delta(session, table_id, last_seq)
            else:
                delta = TableDelta(table_id=table_id, prev_seq=last_seq, seq=last_seq)
            table = session.get(Table, table_id)
            if table is None:
                return None
            current = table_state(session, table)
            payloads = self._render(delta, current.stats(people), current)
        return Push(
            channel=table_channel(table_id),
            seq=delta.seq,
            prev_seq=delta.prev_seq,
            payloads=payloads,
        )
