"""The realtime hub: publish a push to a table's channel, subscribe with a bounded queue.

A subscription is bounded in pushes and in bytes (of its own connection's payload, counting
the push being sent): publishing never waits for a connection, and one that falls behind is
dropped at once, its queue freed, instead of holding memory for a client that does not read.

Backends are chosen by URL scheme. `memory://` serves one worker. `redis://host:port/db`
serves several: what crosses Redis is a *notice* (table T committed seq S, changing
participant P's own votes; its presence changed, a timer was set, it was deleted, a link
was revoked), never a rendered push. Each worker reads the delta from the database and
renders it for its own connections, through the same local fan-out, so a connection only
ever sees pushes built by its own worker (one `prev_seq` chain). Presence is counted across
workers in Redis, with an expiry.

Revocation: a subscription names who holds its connection (`holder`: the table's runners,
or one participant). When a link is replaced or a participant removed, `check_access` tells
the holder's subscriptions (and a REVOKED notice those of every other worker) to stop: from
then on nothing is written to them until their connection has checked its link again.
"""

import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import secrets
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Collection, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.clock import REAL_TIME, Clock

log = logging.getLogger(__name__)

SEQ, PRESENCE, TIMER, DELETED, REVOKED = "seq", "presence", "timer", "deleted", "revoked"
# Who holds a connection: the consoles and dashboards (opened with a moderator or a
# facilitator link) of a table, or one participant.
RUNNERS = "runners"


def participant_holder(participant_id: int) -> str:
    return f"participant:{participant_id}"


class Handover:
    """How many subscriptions still hold a push in their queue; `done` is set once none does
    (each sender has taken it). The table's flusher waits for it before the next push."""

    __slots__ = ("done", "pending")

    def __init__(self) -> None:
        self.pending = 0
        self.done = asyncio.Event()

    def add(self) -> None:
        self.pending += 1

    def taken(self) -> None:
        self.pending -= 1
        if self.pending <= 0:
            self.done.set()


@dataclass(frozen=True)
class Push:
    """One message for every connection of a table, rendered once per audience.

    `rendered` names the payload keys that were rendered (None: all of them); a missing key
    outside it means "nothing for you", one not rendered means "resynchronise". A `final`
    push says the table is gone: connections send their payload and close."""

    channel: str
    seq: int
    prev_seq: int
    payloads: Mapping[str, str]
    rendered: frozenset[str] | None = None
    final: bool = False
    # One participant's own state (votes, dots left) for their own connections only
    # (`Hub.deliver_own`); outside the table's seq chain, its fragments carry their seq.
    own: bool = False
    _sizes: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _frames: dict[tuple[str, Hashable], bytes] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    handover: Handover = field(default_factory=Handover, init=False, repr=False, compare=False)

    def size(self, key: str | None) -> int:
        """Bytes of the payload under `key` (UTF-8), measured once per push and key."""
        if key is None or key not in self.payloads:
            return 0
        size = self._sizes.get(key)
        if size is None:
            size = self._sizes[key] = len(self.payloads[key].encode())
        return size

    def covers(self, key: str) -> bool:
        return self.rendered is None or key in self.rendered

    def frame(self, key: str, wire: "Wire", kind: Hashable) -> bytes:
        """The payload under `key` as a frame of `kind`, encoded once per push, key and kind."""
        frame = self._frames.get((key, kind))
        if frame is None:
            frame = self._frames[key, kind] = wire.encode(self.payloads[key])
        return frame


# What `Subscription.next` answers when the connection must check its link first.
CHECK = Push(channel="", seq=0, prev_seq=0, payloads={})

WIRE_EXTENSION = "tavoli.wire"  # the ASGI scope extension app/live/wire.py adds


class Wire(Protocol):
    """A connection's transport, when the server offers it (app/live/wire.py)."""

    @property
    def kind(self) -> Hashable | None: ...

    def encode(self, text: str) -> bytes: ...

    def buffered(self) -> int: ...

    def write(self, frame: bytes) -> bool: ...


def wire_of(scope: Mapping[str, Any]) -> Wire | None:
    """The connection's `Wire`, when uvicorn serves with app/live/wire.py's protocol."""
    extension = (scope.get("extensions") or {}).get(WIRE_EXTENSION)
    wire: Wire | None = extension.get("wire") if extension else None
    return wire


class Subscription:
    """A connection's queue of pushes: when it overflows the connection is dropped, not awaited.

    It overflows past `maxsize` pushes or past `max_bytes` bytes of the payload under `key`
    (the one its connection sends), counting the push handed out last until the next call
    of `next`: that one is being sent. A single push larger than the bound still goes
    through when nothing else is pending, or a big table could never be followed.

    Written through: with a `wire` (the server's transport, app/live/wire.py) and `seq` set,
    a push that follows `seq` while the connection waits in `next` with nothing queued is
    written to the transport at once, framed once for every socket of its kind; the queue
    and the connection's task are for everything else (a gap, a snapshot, the last push of
    a deleted table). The transport's unsent bytes count against `max_bytes` then.

    Checked: after `recheck` (its holder's link was revoked) nothing is written through and
    `next` answers `CHECK` before any push, until the connection calls `checked`."""

    def __init__(
        self,
        maxsize: int,
        max_bytes: int | None = None,
        key: str | None = None,
        owner: int | None = None,
        holder: str | None = None,
    ) -> None:
        self._items: deque[Push] = deque()
        self.owner = owner  # the participant whose connection this is (their own pushes)
        self._ready = asyncio.Event()
        self._maxsize = maxsize
        self._max_bytes = max_bytes
        self.key = key
        self.holder = holder
        self.checking = False
        self._pending = 0  # bytes queued, plus the push being sent
        self._sending = 0
        self.dropped = False
        self.seq: int | None = None  # the last seq this connection's client has
        self.wire: Wire | None = None
        self._through: Wire | None = None  # the wire while `next` waits on an empty queue

    @property
    def pending_bytes(self) -> int:
        return self._pending

    def deliver(self, push: Push) -> None:
        if self.dropped:
            return
        wire = self._through
        if (
            wire is not None
            and not self._items
            and not self.checking
            and self._write_through(wire, push)
        ):
            return
        size = push.size(self.key)
        over_bytes = (
            self._max_bytes is not None
            and self._pending > 0
            and self._pending + size > self._max_bytes
        )
        if len(self._items) >= self._maxsize or over_bytes:
            self.drop()
            return
        self._items.append(push)
        push.handover.add()
        self._pending += size
        self._ready.set()

    def _write_through(self, wire: Wire, push: Push) -> bool:
        """Write `push` now if it follows what the client has; False: queue it instead."""
        key = self.key
        if key is None or not self.follows(push):
            return False
        kind = wire.kind
        if kind is None:  # an extension this module cannot frame for
            return False
        self.seq = push.seq
        if key not in push.payloads:
            return True  # nothing for this audience
        frame = push.frame(key, wire, kind)
        buffered = wire.buffered()
        if self._max_bytes is not None and buffered and buffered + len(frame) > self._max_bytes:
            self.drop()  # the client stopped reading: it comes back and resynchronises
            return True
        wire.write(frame)  # a closing connection refuses it: its task is ending anyway
        return True

    def follows(self, push: Push) -> bool:
        """`push` continues what this connection's client has, and was rendered for it."""
        return (
            not push.final
            and not push.own
            and push.prev_seq == self.seq
            and (self.key is None or push.covers(self.key))
        )

    def recheck(self) -> None:
        """Its holder's link may no longer open it: hold everything until it is checked."""
        self.checking = True
        self._ready.set()

    def checked(self) -> None:
        """The link still holds: what was held goes out in order."""
        self.checking = False

    def drop(self) -> None:
        """Give up on this subscriber: its queue is freed now, `next` answers None."""
        self.dropped = True
        self._release()
        self._pending = self._sending = 0
        self._ready.set()

    def _release(self) -> None:
        """Nobody will take what is queued: the flusher must not wait for it."""
        while self._items:
            self._items.popleft().handover.taken()

    async def next(self) -> Push | None:
        """The next push; None once this subscriber was dropped for falling behind; `CHECK`
        (before any push) when its link must be checked again."""
        self._pending -= self._sending  # the previous push was sent
        self._sending = 0
        while not self._items and not self.dropped and not self.checking:
            self._ready.clear()
            self._through = self.wire if self.seq is not None else None
            try:
                await self._ready.wait()
            finally:
                self._through = None
        if self.dropped:
            return None
        if self.checking:
            return CHECK
        push = self._items.popleft()
        push.handover.taken()
        self._sending = push.size(self.key)
        return push


@dataclass(frozen=True)
class Notice:
    """What one worker tells the others about a table; each acts on it for its own sockets."""

    kind: str  # SEQ, PRESENCE, TIMER, DELETED or REVOKED
    table_id: int
    seq: int | None = None
    ends_at: dt.datetime | None = None
    owner: int | None = None  # SEQ: the participant whose own state the commit changed
    holder: str | None = None  # REVOKED: whose connections check their link again

    def encode(self, origin: str) -> str:
        data: dict[str, Any] = {"w": origin, "k": self.kind, "t": self.table_id}
        if self.seq is not None:
            data["s"] = self.seq
        if self.owner is not None:
            data["p"] = self.owner
        if self.ends_at is not None:
            data["e"] = self.ends_at.isoformat()
        if self.holder is not None:
            data["h"] = self.holder
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def decode(raw: str | bytes) -> tuple[str, "Notice"]:
        data = json.loads(raw)
        ends = data.get("e")
        notice = Notice(
            kind=str(data["k"]),
            table_id=int(data["t"]),
            seq=int(data["s"]) if "s" in data else None,
            ends_at=dt.datetime.fromisoformat(ends) if ends else None,
            owner=int(data["p"]) if "p" in data else None,
            holder=str(data["h"]) if "h" in data else None,
        )
        return str(data["w"]), notice


OnNotice = Callable[[Notice], None]
OnResync = Callable[[], None]


class Hub:
    """In-memory backend, and the local fan-out every backend shares."""

    shared = False  # True when several workers share the tables (notices, presence)
    presence_seconds = 30.0

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._keys: dict[str, Counter[str]] = {}
        self._owned: dict[str, dict[int, set[Subscription]]] = {}  # channel -> owner -> subs
        self.worker_id = secrets.token_hex(6)
        self._on_notice: OnNotice | None = None
        self._on_resync: OnResync | None = None

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        return None

    async def check(self) -> None:
        """Raise when the backend cannot carry pushes (for /healthz); memory always can."""
        return None

    def listen(self, on_notice: OnNotice, on_resync: OnResync) -> None:
        """Who acts on the other workers' notices, and on a reconnection (notices lost)."""
        self._on_notice, self._on_resync = on_notice, on_resync

    def announce(self, notice: Notice) -> None:
        """Tell the other workers (event loop only); one worker has nobody to tell."""
        return None

    async def share_presence(self, present: Mapping[int, Collection[int]]) -> None:
        """This worker's connected participants at these tables (shared hubs only)."""
        return None

    async def refresh_presence(self, present: Mapping[int, Collection[int]]) -> None:
        """Every table's connected participants here, again, before they expire."""
        return None

    async def count_people(self, table_ids: Collection[int]) -> dict[int, int]:
        """Participants connected to any worker, per table (shared hubs only)."""
        return {}

    async def publish(self, push: Push) -> None:
        self._fan_out(push)

    def _fan_out(self, push: Push) -> None:
        for subscription in tuple(self._subscribers.get(push.channel, ())):
            subscription.deliver(push)

    def owner_keys(self, channel: str, owner: int) -> frozenset[str]:
        """The payload keys of this participant's connections here (none: no connection)."""
        return frozenset(
            sub.key for sub in self._owned.get(channel, {}).get(owner, ()) if sub.key is not None
        )

    def deliver_own(self, owner: int, push: Push) -> None:
        """A push of one participant's own state, to that participant's connections only."""
        for subscription in tuple(self._owned.get(push.channel, {}).get(owner, ())):
            subscription.deliver(push)

    def check_access(self, channel: str, holder: str) -> None:
        """The link `holder`'s connections to `channel` were opened with may be revoked:
        each of this worker's stops receiving until it has checked it (event loop only)."""
        for subscription in tuple(self._subscribers.get(channel, ())):
            if subscription.holder == holder:
                subscription.recheck()

    async def handed(self, push: Push, ceiling: float) -> None:
        """Wait until every subscription took `push` from its queue, or `ceiling` seconds."""
        if push.handover.pending <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ceiling):
                await push.handover.done.wait()

    @asynccontextmanager
    async def subscribe(
        self,
        channel: str,
        *,
        maxsize: int = 64,
        max_bytes: int | None = None,
        key: str | None = None,
        owner: int | None = None,
        holder: str | None = None,
    ) -> AsyncIterator[Subscription]:
        """A bounded queue of the channel's pushes; `key` names the payload whose bytes count,
        `owner` the participant whose connection it is (who also gets their own pushes),
        `holder` who holds the connection (see `check_access`)."""
        subscription = Subscription(maxsize, max_bytes, key, owner, holder)
        subscribers = self._subscribers.setdefault(channel, set())
        subscribers.add(subscription)
        keys = self._keys.setdefault(channel, Counter())
        if key is not None:
            keys[key] += 1
        if owner is not None:
            self._owned.setdefault(channel, {}).setdefault(owner, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscription._release()
            subscribers.discard(subscription)
            if owner is not None:
                owned = self._owned.get(channel, {})
                mine = owned.get(owner, set())
                mine.discard(subscription)
                if not mine:
                    owned.pop(owner, None)
                if not owned:
                    self._owned.pop(channel, None)
            if key is not None:
                keys[key] -= 1
                if keys[key] <= 0:
                    del keys[key]
            if not subscribers:
                self._subscribers.pop(channel, None)
                self._keys.pop(channel, None)

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    def keys(self, channel: str) -> frozenset[str]:
        """The payload keys this worker's subscribers of `channel` send: the ones to render."""
        return frozenset(self._keys.get(channel, ()))

    def oldest_seq(self, channel: str) -> int | None:
        """The oldest seq a connection of `channel` here has shown (None: none has one yet,
        each will start from a snapshot read after this)."""
        return min(
            (sub.seq for sub in self._subscribers.get(channel, ()) if sub.seq is not None),
            default=None,
        )

    def watched_tables(self) -> set[int]:
        """Tables with at least one subscriber in this worker."""
        return {
            int(channel.removeprefix("table:"))
            for channel in self._subscribers
            if channel.startswith("table:")
        }

    def _received(self, raw: str | bytes) -> None:
        """A notice from Redis: act on another worker's (ours were acted on already)."""
        try:
            origin, notice = Notice.decode(raw)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed notice: %r", raw[:200])
            return
        if origin != self.worker_id and self._on_notice is not None:
            self._on_notice(notice)


RECONNECT_MIN, RECONNECT_MAX = 0.2, 5.0
OUTBOX_SIZE = 10_000
PUBLISH_GIVE_UP = 5.0  # a notice not published by then is dropped (peers resynchronise)
REDIS_TIMEOUT = 2.0  # seconds a Redis command may take before it counts as failed


class RedisHub(Hub):
    """Several workers: notices through one Redis pub/sub channel, presence in sorted sets.

    A table's presence is the sorted set `PREFIX:people:T`, members `participant:worker`,
    scored with their expiry time; each worker rewrites its members every
    `presence_seconds / 3`, so those of a worker killed without a word expire on their own.
    The pub/sub listener reconnects when Redis drops and then asks for a resync (notices
    sent meanwhile are lost; the database has every change)."""

    shared = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tavoli",
        presence_seconds: float = 30.0,
        clock: Clock = REAL_TIME,
    ):
        super().__init__()
        self._clock = clock  # when presence expires (tests: a fake one they advance)
        self._url = url
        self._channel = f"{prefix}:notices"
        self._prefix = prefix
        self.presence_seconds = presence_seconds
        self._redis: Any = None
        self._pubsub_client: Any = None
        self._outbox: asyncio.Queue[tuple[float, str]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._mine: dict[int, set[int]] = {}  # what this worker last wrote, per table

    async def connect(self) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # Bounded and not retrying by itself: the sender and the presence loop retry at
        # their own pace, and /healthz answers within its timeout while Redis is away.
        self._redis = Redis.from_url(
            self._url,
            health_check_interval=10,
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )
        # The listener's connection never retries by itself: a silent reconnection would
        # hide the notices lost meanwhile, so the listener starts over and resyncs.
        self._pubsub_client = Redis.from_url(
            self._url,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=10,
            client_name=self.listener_name,
        )
        self._outbox = asyncio.Queue(OUTBOX_SIZE)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._listen()), loop.create_task(self._send())]

    async def disconnect(self) -> None:
        if self._outbox is not None:  # the last notices (presence gone) go out first
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._outbox.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for client in (self._redis, self._pubsub_client):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._redis = self._pubsub_client = None

    async def check(self) -> None:
        """A PING through the hub's own client; raises when Redis does not answer."""
        if self._redis is None:
            raise RuntimeError("the Redis hub is not connected")
        await self._redis.ping()

    def announce(self, notice: Notice) -> None:
        if self._outbox is None:
            return
        try:
            self._outbox.put_nowait((time.monotonic(), notice.encode(self.worker_id)))
        except asyncio.QueueFull:  # Redis has been away long: peers resync on reconnect
            log.warning("dropping a notice of table %s: Redis is not keeping up", notice.table_id)

    async def _send(self) -> None:
        """Publish the notices in order; while Redis is away, retry each a few seconds."""
        assert self._outbox is not None
        while True:
            queued, data = await self._outbox.get()
            delay = RECONNECT_MIN
            try:
                while True:
                    try:
                        await self._redis.publish(self._channel, data)
                        break
                    except Exception as exc:  # redis.RedisError, OSError
                        if time.monotonic() - queued > PUBLISH_GIVE_UP:
                            log.warning("dropping a notice: Redis unreachable (%s)", exc)
                            break
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, RECONNECT_MAX)
            finally:
                self._outbox.task_done()

    async def _listen(self) -> None:
        """Subscribe to the notices, and again whenever the connection drops."""
        delay = RECONNECT_MIN
        while True:
            pubsub = self._pubsub_client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                delay = RECONNECT_MIN
                if self._on_resync is not None:  # what was sent while we were away is lost
                    self._on_resync()
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is not None and message.get("type") == "message":
                        self._received(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # redis.RedisError, OSError
                log.warning("Redis notices lost (%s); reconnecting in %.1f s", exc, delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX)

    @property
    def listener_name(self) -> str:
        """The pub/sub connection's name in Redis (CLIENT LIST), to tell workers apart."""
        return f"{self._prefix}:listener:{self.worker_id}"

    def _people_key(self, table_id: int) -> str:
        return f"{self._prefix}:people:{table_id}"

    def _member(self, participant_id: int) -> str:
        return f"{participant_id}:{self.worker_id}"

    async def share_presence(self, present: Mapping[int, Collection[int]]) -> None:
        if self._redis is None or not present:
            return
        expires = self._clock.timestamp() + self.presence_seconds
        keep = math.ceil(self.presence_seconds * 2)
        async with self._redis.pipeline(transaction=False) as pipe:
            for table_id, ids in present.items():
                key = self._people_key(table_id)
                gone = self._mine.get(table_id, set()) - set(ids)
                if gone:
                    pipe.zrem(key, *(self._member(p) for p in gone))
                if ids:
                    pipe.zadd(key, {self._member(p): expires for p in ids})
                    pipe.expire(key, keep)
            await pipe.execute()
        for table_id, ids in present.items():
            if ids:
                self._mine[table_id] = set(ids)
            else:
                self._mine.pop(table_id, None)

    async def refresh_presence(self, present: Mapping[int, Collection[int]]) -> None:
        await self.share_presence({**{t: () for t in self._mine}, **present})

    async def count_people(self, table_ids: Collection[int]) -> dict[int, int]:
        ids = list(table_ids)
        if self._redis is None or not ids:
            return {}
        now = self._clock.timestamp()
        async with self._redis.pipeline(transaction=False) as pipe:
            for table_id in ids:
                key = self._people_key(table_id)
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zrangebyscore(key, now, "+inf")
            results = await pipe.execute()
        return {
            table_id: len({bytes(m).split(b":", 1)[0] for m in members})
            for table_id, members in zip(ids, results[1::2], strict=True)
        }


def hub_from_url(url: str, *, presence_seconds: float = 30.0, clock: Clock = REAL_TIME) -> Hub:
    """`memory://`, or `redis://host:port/db` (optional `?prefix=name` for its keys and
    channel, so that several deployments or test runs can share one Redis)."""
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        return Hub()
    if scheme in ("redis", "rediss"):
        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        prefix = next((value for name, value in query if name == "prefix"), "tavoli")
        rest = urlencode([(name, value) for name, value in query if name != "prefix"])
        return RedisHub(
            urlunsplit(parts._replace(query=rest)),
            prefix=prefix,
            presence_seconds=presence_seconds,
            clock=clock,
        )
    raise ValueError(f"unsupported HUB_URL scheme {scheme!r}: use memory:// or redis://")


def table_channel(table_id: int) -> str:
    return f"table:{table_id}"
