"""The Redis backend: several workers share tables through notices and presence."""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Collection, Mapping
from typing import Any

from app.clock import REAL_TIME, Clock
from app.live.hub import Hub
from app.live.notice import Notice

log = logging.getLogger(__name__)

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
