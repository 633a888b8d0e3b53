"""Per-table push loop: coalesce changes, render once per audience, publish through the hub.

Services commit, then routes call `notify(table_id, seq)` from any thread. Each table has
one flusher task. The first change after a quiet moment goes out at once; the next push
is built as soon as every local connection has taken the previous one from its queue (at
most `interval` later), so a burst of votes shares a push and a quiet room waits for
nothing. A push is the table's delta since the previous push (see `table_delta`), so
coalescing never loses a change, and it is rendered only for the payload keys that this
worker's connections send (a commit to a table with no connection here builds nothing).
The builds of every table run on one thread, in turn (`_build_in_turn`).

With a shared hub (Redis) the commit is also announced to the other workers, which mark
their own feed of the table; presence is counted across workers (cached here, refreshed on
presence notices and every `presence_seconds / 3`); every worker watches every running
timer, and the database decides which one acts (`finish_timer` under the table's lock).
A notice can be lost (its worker killed after the commit, Redis away): at every presence
tick each worker reads the seq of the tables it has sockets for and pushes what it missed.

This module holds the feeds and their pushes; the timers are `timers.py`'s, the presence
counts `presence.py`'s and a deleted table's last push `farewell.py`'s.
"""

import asyncio
import contextvars
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.clock import REAL_TIME, Clock
from app.db import open_session, reads_engine
from app.live.farewell import Farewell, api_farewell, send_farewell
from app.live.hub import (
    DELETED,
    PRESENCE,
    REVOKED,
    RUNNERS,
    SEQ,
    TIMER,
    Hub,
    Notice,
    Push,
    participant_holder,
    table_channel,
)
from app.live.presence import Presence
from app.live.timers import Timers
from app.models import Table
from app.services.errors import NotFound
from app.services.state import (
    PushState,
    TableDelta,
    TableStats,
    push_state,
    table_delta,
)
from app.services.tables import table_and_event

log = logging.getLogger(__name__)


class Committed(Protocol):
    """What every write service returns: the table and the seq it committed (or None)."""

    @property
    def table_id(self) -> int: ...

    @property
    def seq(self) -> int | None: ...


class Render(Protocol):
    """Renders a push's payloads; `keys` names those to render (None: every one)."""

    def __call__(
        self,
        delta: TableDelta,
        stats: TableStats,
        current: PushState,
        *,
        keys: AbstractSet[str] | None = None,
    ) -> Mapping[str, str]: ...


# Participants' own state (votes, dots left), for each under the payload keys of their
# connections: (session, table, {participant id: keys}) -> {participant id: payloads}.
RenderOwn = Callable[
    [Session, Table, Mapping[int, AbstractSet[str]]], Mapping[int, Mapping[str, str]]
]
# A build's outcome: the table's push (None: nothing new), each owner's own push.
_Built = tuple[Push | None, dict[int, Push]]
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
    owners: set[int] = field(default_factory=set)  # whose own state to push (sockets here)
    done_at: float = 0.0  # loop time when the last push (and its rest) ended
    task: asyncio.Task[None] | None = None


class Broadcaster:
    def __init__(
        self,
        *,
        hub: Hub,
        engine: Engine,
        render: Render,
        interval: float,
        farewell: Farewell = api_farewell,
        render_own: RenderOwn | None = None,
        clock: Clock = REAL_TIME,
    ) -> None:
        self._hub = hub
        self._engine = reads_engine(engine)  # it only reads: builds and seqs
        self._render = render
        self._farewell = farewell
        self._render_own = render_own
        self._interval = interval  # the longest a push waits for the previous one's handover
        self._changed_at = 0.0  # loop time of the last change seen here (`quiet_for`)
        self._feeds: dict[int, _Feed] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._builder: ThreadPoolExecutor | None = None
        self._timers = Timers(engine=engine, clock=clock, committed=self._committed)
        self._presence = Presence(
            hub, here=self._here, changed=self._presence_shown, tick=self._catch_up
        )

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._hub.listen(self._on_notice, self._resync)
        self._presence.start()
        await self._timers.start()  # a timer outlives a restart: the running ones

    async def stop(self) -> None:
        """Let each feed finish the push it may be building, then end. Cancelling instead
        left the build's thread running past the engine's disposal (a connection left open)
        and, on Python 3.11, a cancel could be lost in `wait_for` (a 30 s stall)."""
        self._stopping = True
        tasks = [feed.task for feed in self._feeds.values() if feed.task and not feed.task.done()]
        tasks += self._timers.stop()  # those waiting are cancelled, those at zero awaited
        for feed in self._feeds.values():
            feed.wake.set()
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=STOP_SECONDS)
            for task in late:
                task.cancel()
        await self._presence.stop()
        self._feeds.clear()
        self._loop = None
        if self._builder is not None:
            self._builder.shutdown(wait=False)
            self._builder = None

    def notify(self, table_id: int, seq: int, owner: int | None = None) -> None:
        """A change with this seq was committed (and changed `owner`'s own state: their
        votes, dots left); safe to call from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._committed, table_id, seq, owner)

    def publish(self, change: Committed) -> None:
        """Publish what a service committed (nothing, if it changed nothing); a timer the
        change set is watched, here and by the other workers, so the table moves on at
        zero even if this worker is gone by then; a participant it removed loses their
        connections first. A change of one participant's own state (`owner`, a vote) is
        also pushed to that participant's other tabs. Any thread."""
        removed = getattr(change, "removed_participant", None)
        if removed is not None:
            self.revoked((change.table_id,), participant_holder(removed))
        if change.seq is not None:
            self.notify(change.table_id, change.seq, getattr(change, "owner", None))
        ends_at = getattr(change, "ends_at", None)
        if ends_at is not None:
            self.watch_timer(change.table_id, ends_at)
            if self._loop is not None:
                notice = Notice(TIMER, change.table_id, ends_at=ends_at)
                self._loop.call_soon_threadsafe(self._hub.announce, notice)

    def deleted(self, table_ids: Iterable[int]) -> None:
        """These tables were erased: their connections, in every worker, get a last message
        and are closed (they must not reconnect). Any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._deleted_here, tuple(table_ids))

    def revoked(self, table_ids: Iterable[int], holder: str = RUNNERS) -> None:
        """The links `holder` opened these tables with may no longer hold (a new moderator
        or facilitator link, a participant removed): those connections, in every worker,
        receive nothing more until they have checked theirs, and are told why and closed
        if it fails. Any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._revoked_here, tuple(table_ids), holder)

    def _revoked_here(self, table_ids: tuple[int, ...], holder: str) -> None:
        for table_id in table_ids:
            self._hub.check_access(table_channel(table_id), holder)
            self._hub.announce(Notice(REVOKED, table_id, holder=holder))

    def _deleted_here(self, table_ids: tuple[int, ...]) -> None:
        for table_id in table_ids:
            self._close_table(table_id)
            self._hub.announce(Notice(DELETED, table_id))

    def _committed(self, table_id: int, seq: int, owner: int | None = None) -> None:
        """Tell the other workers; push here only to this worker's own sockets of the table
        (a vote taken by a worker that holds none of its screens costs no build here)."""
        self._hub.announce(Notice(SEQ, table_id, seq, owner=owner))
        self._seen(table_id, seq, owner)

    def quiet_for(self) -> float:
        """Seconds since this worker last saw a change to any table (its own or announced by
        another worker): a moment when a pause harms no vote (app/gc_pace.py)."""
        return self._loop.time() - self._changed_at if self._loop is not None else 0.0

    def _seen(self, table_id: int, seq: int | None, owner: int | None = None) -> None:
        if self._loop is not None:
            self._changed_at = self._loop.time()
        if self._hub.subscriber_count(table_channel(table_id)):
            self._mark(table_id, seq, owner=owner)
            return
        feed = self._feeds.get(table_id)
        if feed is not None:
            feed.last_seq = None  # stale now: a future push starts at its first notice
        self._presence.forget(table_id)  # read again when a socket of the table opens here

    def _on_notice(self, notice: Notice) -> None:
        """Another worker's notice (event loop). A timer is watched everywhere; the rest
        concerns this worker only if it has connections to the table."""
        if self._loop is None or self._stopping:
            return
        table_id = notice.table_id
        if notice.kind == TIMER:
            self.watch_timer(table_id, notice.ends_at)
            return
        if notice.kind == SEQ:
            self._seen(table_id, notice.seq, notice.owner)
        elif not self._hub.subscriber_count(table_channel(table_id)):
            self._presence.forget(table_id)
        elif notice.kind == PRESENCE:
            self._presence.recount(table_id)
        elif notice.kind == DELETED:
            self._close_table(table_id)
        elif notice.kind == REVOKED and notice.holder is not None:
            self._hub.check_access(table_channel(table_id), notice.holder)

    def _resync(self) -> None:
        """The hub (re)connected: notices may have been lost meanwhile, so every table with
        connections here reads its delta and its people again (any gap the sockets see is
        healed by their snapshot rule)."""
        if self._loop is None or self._stopping:
            return
        for table_id in self._hub.watched_tables():
            self._mark(table_id, None, data=True)
            self._presence.recount(table_id)

    def watch_timer(self, table_id: int, ends_at: dt.datetime | None) -> None:
        """When a timer reaches zero, let the service decide (advance the phase or just
        stop); any thread (`timers.Timers`)."""
        self._timers.watch(table_id, ends_at)

    def arrive(self, table_id: int, participant_id: int) -> None:
        """A participant's connection opened (event loop only)."""
        feed = self._feed(table_id)
        feed.people[participant_id] += 1
        if feed.people[participant_id] == 1:
            self._presence.changed_here(table_id)

    def leave(self, table_id: int, participant_id: int) -> None:
        feed = self._feed(table_id)
        feed.people[participant_id] -= 1
        if feed.people[participant_id] <= 0:
            del feed.people[participant_id]
            self._presence.changed_here(table_id)

    def watching(self, table_id: int) -> None:
        """A connection to this table opened here: with a shared hub, make sure its people
        count is known (it may never have been read in this worker)."""
        self._presence.watching(table_id)

    def shown(self, table_id: int, seq: int) -> None:
        """A connection here took a snapshot at `seq` (event loop only). A feed behind it
        missed a notice (its worker killed after the commit, Redis away): it pushes the
        delta now rather than at the next presence tick, so the other connections catch up
        and this one's next push follows its snapshot instead of overlapping it."""
        feed = self._feeds.get(table_id)
        if feed is not None and feed.last_seq is not None and seq > feed.last_seq:
            self._mark(table_id, feed.last_seq + 1)

    def people(self, table_id: int) -> int:
        """Participants with at least one open connection: to this worker, or with a shared
        hub to any worker (the latest count read; any thread)."""
        feed = self._feeds.get(table_id)
        return self._presence.count(table_id, len(feed.people) if feed else 0)

    def _here(self) -> dict[int, tuple[int, ...]]:
        return {t: tuple(f.people) for t, f in self._feeds.items() if f.people}

    def _presence_shown(self, table_id: int) -> None:
        self._mark(table_id, None)

    async def _catch_up(self, table_ids: set[int]) -> None:
        """Push the commits whose notice never came: its worker was killed between the
        commit and the notice, or Redis was away. The database has every table's seq; a
        table whose feed here is behind it gets the delta (one read per tick, for the
        tables with sockets here; a feed that has not pushed yet is behind when its oldest
        socket's snapshot is, and its push starts where most of them are, see `_flush`)."""
        if not table_ids:
            return
        try:
            seqs = await asyncio.to_thread(self._seqs, table_ids)
        except Exception as exc:
            log.warning("could not read the tables' seqs (%s)", exc)
            return
        for table_id, seq in seqs.items():
            feed = self._feeds.get(table_id)
            known = feed.last_seq if feed is not None else None
            if known is None:  # nothing pushed yet here: what the sockets' snapshots showed
                known = self._hub.oldest_seq(table_channel(table_id))
            if known is not None and seq > known:
                self._mark(table_id, known + 1)  # the delta from what they have

    def _seqs(self, table_ids: set[int]) -> dict[int, int]:
        with open_session(self._engine) as session:
            rows = session.exec(
                select(Table.id, Table.seq).where(col(Table.id).in_(table_ids))
            ).all()
        return {table_id or 0: seq for table_id, seq in rows}

    def _feed(self, table_id: int) -> _Feed:
        feed = self._feeds.get(table_id)
        if feed is None:
            feed = self._feeds[table_id] = _Feed(table_id)
        return feed

    def _mark(
        self, table_id: int, seq: int | None, *, data: bool = False, owner: int | None = None
    ) -> None:
        """Something to push: a commit (`seq`, and `owner` whose own state it changed), the
        people count (no seq), or an unknown change (`data`: read the delta, after notices
        were lost)."""
        if self._stopping:  # clients reconnect elsewhere and get a snapshot
            return
        feed = self._feed(table_id)
        own = (
            owner is not None
            and self._render_own is not None
            and bool(self._hub.owner_keys(table_channel(table_id), owner))
        )
        if own and owner is not None:
            feed.owners.add(owner)
        if seq is not None and feed.last_seq is not None and seq <= feed.last_seq:
            if not own:
                return  # already pushed (a late notice, or a vote that changed nothing)
        elif seq is not None:
            feed.data_dirty = True
            feed.min_pending = seq if feed.min_pending is None else min(feed.min_pending, seq)
        elif data:
            feed.data_dirty = True
        else:
            feed.presence_dirty = True
        feed.wake.set()
        if feed.task is None or feed.task.done():
            feed.task = asyncio.get_running_loop().create_task(self._run(feed))

    def _close_table(self, table_id: int) -> None:
        """The table is gone: its feed ends, and its connections here get a final push."""
        self._feeds.pop(table_id, None)  # a build in progress finds no table: no push
        self._presence.forget(table_id)
        send_farewell(self._hub, table_id, self._farewell)

    async def _run(self, feed: _Feed) -> None:
        while not self._stopping:
            try:
                async with asyncio.timeout(IDLE_SECONDS):
                    await feed.wake.wait()
            except TimeoutError:
                # A change marked as the idle timeout fired found this task not yet done
                # (so `_mark` started no other) and its wake-up cancelled: serve it.
                if feed.wake.is_set():
                    continue
                return
            if self._stopping:
                return
            feed.wake.clear()
            push = None
            loop = asyncio.get_running_loop()
            started = loop.time()
            idle = started - feed.done_at  # since the previous push (and its rest) ended
            try:
                push = await self._flush(feed)
            except Exception:  # a failed push must not stop the table's next ones
                log.exception("push for table %s failed", feed.table_id)
            if push is not None:  # paced by the load: the next as soon as this one is taken
                await self._hub.handed(push, self._interval)
                # ...and in a burst a table's pushes take at most half of the worker: the
                # votes keep the other half. A push that carries several changes shows
                # changes arriving faster than pushes leave; when, too, the idle time before
                # it was shorter than the push (build and hand-over: the build's thread
                # holds the GIL that the votes' threads need), rest for the difference. A
                # room voting at a steady pace sends one change a push: no rest, no wait
                # (resting there tripled the p99 at 2,000 screens, docs/performance.md).
                busy = loop.time() - started
                if busy > idle and push.seq - push.prev_seq > 1:
                    await asyncio.sleep(min(busy - idle, self._interval))
                feed.done_at = loop.time()

    async def _flush(self, feed: _Feed) -> Push | None:
        data, feed.data_dirty = feed.data_dirty, False
        presence, feed.presence_dirty = feed.presence_dirty, False
        min_pending, feed.min_pending = feed.min_pending, None
        people = self.people(feed.table_id)
        channel = table_channel(feed.table_id)
        keys = self._hub.keys(channel)
        owners, feed.owners = feed.owners, set()
        own_keys = {owner: self._hub.owner_keys(channel, owner) for owner in owners}
        # A feed's first push here follows what most of its sockets have shown: starting at
        # the first notice instead left a gap (and a full resync on every screen) when a
        # commit of another worker was announced after a later one of this worker's.
        last_seq = feed.last_seq if feed.last_seq is not None else self._hub.common_seq(channel)
        try:
            push, own = await self._build_in_turn(
                feed.table_id, last_seq, min_pending, data, people, keys, own_keys
            )
        except NotFound:  # the table was deleted meanwhile: nothing to push
            return None
        if self._feeds.get(feed.table_id) is not feed:
            return None  # the table was deleted while this push was built
        if push is None or (push.seq == feed.last_seq and not presence):
            push = None  # nothing new to show (a notice that raced the previous push)
        else:
            # Remembered only while a socket here follows the table (see `_seen`).
            watched = self._hub.subscriber_count(channel)
            feed.last_seq = push.seq if watched else None
            await self._hub.publish(push)
        for owner, own_push in own.items():  # after the push: its fragments are as new
            self._hub.deliver_own(owner, own_push)
        return push

    async def _build_in_turn(self, *args: Any) -> _Built:
        """`_build` on this worker's one build thread. The tables' builds take turns: run
        at once on asyncio's default threads, they held the GIL against each other and
        against the votes' thread, at each of their statements (docs/performance.md)."""
        if self._builder is None:
            self._builder = ThreadPoolExecutor(1, thread_name_prefix="tavoli-build")
        context = contextvars.copy_context()  # as `asyncio.to_thread` does
        return await asyncio.get_running_loop().run_in_executor(
            self._builder, context.run, self._build, *args
        )

    def _build(
        self,
        table_id: int,
        last_seq: int | None,
        min_pending: int | None,
        data: bool,
        people: int,
        keys: frozenset[str],
        own_keys: Mapping[int, frozenset[str]],
    ) -> _Built:
        """The table's push, and each owner's own push (read after the table's seq, so
        that no fragment says a seq later than what it shows)."""
        with open_session(self._engine) as session:
            found = table_and_event(session, table_id)
            if found is None:  # deleted (a socket of it closing late)
                return None, {}
            table, _event = found  # held: `push_state` finds the event in the session
            if last_seq is None:  # first push of this table in this process
                last_seq = min_pending - 1 if min_pending else table.seq
            if data:
                delta = table_delta(session, table_id, last_seq, loaded=table)
            else:
                delta = TableDelta(table_id=table_id, prev_seq=last_seq, seq=last_seq)
            current = push_state(session, table, delta)
            payloads = self._render(delta, current.stats(people), current, keys=keys)
            wanted = {owner: theirs for owner, theirs in own_keys.items() if theirs}
            rendered = (
                self._render_own(session, table, wanted) if self._render_own and wanted else {}
            )
            own = {
                owner: Push(
                    channel=table_channel(table_id),
                    seq=table.seq,
                    prev_seq=table.seq,
                    payloads=own_payloads,
                    rendered=wanted[owner],
                    own=True,
                )
                for owner, own_payloads in rendered.items()
            }
        push = Push(
            channel=table_channel(table_id),
            seq=delta.seq,
            prev_seq=delta.prev_seq,
            payloads=payloads,
            rendered=keys,
        )
        return push, own
