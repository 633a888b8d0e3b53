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

The parts live in their own modules: `push.py` (a push and its hand-over), `subscription.py`
(a connection's bounded queue), `transport.py` (the `Wire` seam), `notice.py` (what crosses
workers) and `redis_hub.py` (the Redis backend); this module holds the in-memory backend and
the local fan-out every backend shares, and chooses a backend by URL.
"""

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.clock import REAL_TIME, Clock
from app.live.notice import DELETED, PRESENCE, REVOKED, SEQ, TIMER, Notice, OnNotice, OnResync
from app.live.push import CHECK, Handover, Push, table_channel
from app.live.subscription import RUNNERS, Subscription, participant_holder
from app.live.transport import WIRE_EXTENSION, Wire, wire_of

# Importable from here, where the application and the tests have always found them.
__all__ = [
    "CHECK",
    "DELETED",
    "PRESENCE",
    "REVOKED",
    "RUNNERS",
    "SEQ",
    "TIMER",
    "WIRE_EXTENSION",
    "Handover",
    "Hub",
    "Notice",
    "OnNotice",
    "OnResync",
    "Push",
    "Subscription",
    "Wire",
    "hub_from_url",
    "participant_holder",
    "table_channel",
    "wire_of",
]

log = logging.getLogger(__name__)


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
        paces: bool = True,
    ) -> AsyncIterator[Subscription]:
        """A bounded queue of the channel's pushes; `key` names the payload whose bytes count,
        `owner` the participant whose connection it is (who also gets their own pushes),
        `holder` who holds the connection (see `check_access`), `paces` whether the table's
        next push waits for it to take this one (see `Subscription`)."""
        subscription = Subscription(maxsize, max_bytes, key, owner, holder, paces)
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

    def common_seq(self, channel: str) -> int | None:
        """The seq that most connections of `channel` here have shown (the oldest of a tie;
        None: none has one yet): where a feed's first push here best starts."""
        seqs = Counter(sub.seq for sub in self._subscribers.get(channel, ()) if sub.seq is not None)
        if not seqs:
            return None
        most = max(seqs.values())
        return min(seq for seq, count in seqs.items() if count == most)

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
        from app.live.redis_hub import RedisHub  # imported only when asked for

        return RedisHub(
            urlunsplit(parts._replace(query=rest)),
            prefix=prefix,
            presence_seconds=presence_seconds,
            clock=clock,
        )
    raise ValueError(f"unsupported HUB_URL scheme {scheme!r}: use memory:// or redis://")
