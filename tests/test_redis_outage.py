"""Redis goes away, the event goes on: two real workers, PostgreSQL and a private Redis.

Redis carries the notices between workers, who is connected, and the rate limits' counts:
nothing worth refusing a vote for. While it is away every vote, page, join and socket is
served (the limits count per worker), `/healthz` keeps the workers in the balancer, and the
screens on the other worker catch up from the database. A notice that never leaves (its
worker killed after the commit) leaves no screen stale either.

Each test starts its own `redis-server` on a free port (stopping the shared one would break
every other test running on this machine)."""

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, text

from tests.conftest import fresh_schema
from tests.server import api_table, bearer, free_port, running_server
from tests.test_multiworker import Stream

pytestmark = [
    pytest.mark.services,
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

ADMIN = "outage-organiser"
PRESENCE_SECONDS = 1.5  # each worker's presence tick (and its catch-up read) every 0.5 s


class PrivateRedis:
    """A `redis-server` of this test's own, without persistence, that it may stop."""

    def __init__(self, logs: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.log = logs / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--logfile", str(self.log)),
            ],
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the private redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash: no goodbye to the clients
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shared_database(postgres_admin: Engine) -> Iterator[str]:
    with fresh_schema(postgres_admin, "tavoli_out") as url:
        yield url


def _env(hub_url: str, limits_url: str) -> dict[str, str]:
    """As docs/deploy.md advises several workers: the hub and the rate limits on Redis."""
    return {
        "HUB_URL": hub_url,
        "TAVOLI_LIMITS_URL": limits_url,
        "TAVOLI_RATE_LIMITS": "true",
        "TAVOLI_ADMIN_TOKEN": ADMIN,
        "TAVOLI_SECRET_KEY": "outage-secret-key",
        "TAVOLI_PURGE_INTERVAL": "0",
        "TAVOLI_THREADS": "8",
        "TAVOLI_PRESENCE_SECONDS": str(PRESENCE_SECONDS),
    }


@contextlib.contextmanager
def _two_workers(
    database_url: str, logs: Path, env_a: dict[str, str], env_b: dict[str, str]
) -> Iterator[tuple[str, str, list["subprocess.Popen[bytes]"]]]:
    processes: list[subprocess.Popen[bytes]] = []
    with (
        running_server(database_url, logs / "a.log", processes=processes, **env_a) as a,
        running_server(database_url, logs / "b.log", processes=processes, **env_b) as b,
    ):
        yield a, b, processes


def _committed(database_url: str, proposals: list[int]) -> dict[int, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                pid: int(
                    connection.execute(
                        text("SELECT count(*) FROM votes WHERE proposal_id = :p"), {"p": pid}
                    ).scalar_one()
                )
                for pid in proposals
            }
    finally:
        engine.dispose()


def _run(base: str, scenario: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            await scenario(client)

    asyncio.run(main())


async def _join(client: httpx.AsyncClient, base: str, code: str) -> str:
    answer = await client.post(f"{base}/api/tables/{code}/participants", json={})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def test_a_redis_outage_in_a_burst_of_votes_answers_every_vote_and_screens_catch_up(
    private_redis: PrivateRedis, shared_database: str, tmp_path: Path
) -> None:
    """Redis is killed for 4 s in the middle of 120 votes spread over both workers: every
    vote, join, page and socket open is answered as usual (before: most votes were 500s),
    `/healthz` keeps both workers in (degraded), and both screens show every vote once
    Redis is back."""
    env = _env(f"{private_redis.url}/0", f"{private_redis.url}/1")
    voters_count = 120

    with _two_workers(shared_database, tmp_path, env, env) as (a, b, _processes):

        async def scenario(client: httpx.AsyncClient) -> None:
            code, _moderator, proposals = await api_table(client, ADMIN, proposals=4)
            voters = [await _join(client, (a, b)[n % 2], code) for n in range(voters_count)]
            screens = [Stream(a, code), Stream(b, code)]
            for screen in screens:
                await screen.open()
            statuses: list[int] = []
            waits: list[float] = []

            async def vote(n: int) -> None:
                await asyncio.sleep(n * 0.05)  # 120 votes over 6 s, both workers
                started = time.monotonic()
                try:
                    answer = await client.put(
                        f"{(a, b)[n % 2]}/api/proposals/{proposals[n % 4]}/vote",
                        json={"dots": 1},
                        headers=bearer(voters[n]),
                    )
                except httpx.TransportError:  # reset: counted as no answer
                    statuses.append(0)
                    return
                waits.append(time.monotonic() - started)
                statuses.append(answer.status_code)

            async def outage() -> dict[str, object]:
                await asyncio.sleep(1.0)
                private_redis.stop()
                await asyncio.sleep(0.5)
                seen: dict[str, object] = {
                    "health": [(await client.get(f"{base}/healthz")).json() for base in (a, b)],
                    "page": (await client.get(f"{b}/t/{code}")).status_code,
                    "joined": await _join(client, b, code),
                }
                late = Stream(b, code)  # a screen opened while Redis is away
                await late.open()
                seen["late_snapshot"] = late.snapshots
                await late.close()
                await asyncio.sleep(3.5)
                private_redis.start()
                return seen

            results = await asyncio.gather(*(vote(n) for n in range(voters_count)), outage())
            seen = results[-1]
            assert isinstance(seen, dict)
            print(  # the figures, for the record (pytest -s)
                f"{statuses.count(200)} of {voters_count} votes answered 200 through the outage;"
                f" slowest {max(waits, default=0):.3f} s"
            )
            assert statuses.count(200) == voters_count, sorted(set(statuses))
            assert max(waits) < 5, f"a vote waited {max(waits):.1f} s"
            for health in seen["health"]:  # type: ignore[attr-defined]
                assert health["database"] == "ok" and health["hub"] == "degraded", health
                assert health["rate_limits"] == "degraded", health
            assert seen["page"] == 200 and seen["late_snapshot"] == 1

            committed = _committed(shared_database, proposals)
            assert sum(committed.values()) == voters_count
            for screen in screens:  # each follows its own worker, with no gap
                await screen.until(lambda s: s.tallies == committed, within=15)
                await screen.close()
            healthy = {"database": "ok", "hub": "ok", "rate_limits": "ok"}
            for base in (a, b):  # the limits try Redis again every 2 s: ok again by then
                deadline = time.monotonic() + 5
                while (health := (await client.get(f"{base}/healthz")).json()) != healthy:
                    assert time.monotonic() < deadline, health
                    await asyncio.sleep(0.2)

        _run(a, scenario)


def test_a_notice_that_never_leaves_leaves_no_screen_stale(
    private_redis: PrivateRedis, shared_database: str, tmp_path: Path
) -> None:
    """Worker A acknowledges a vote and is killed before its notice reaches worker B (here
    A's notices go to a channel B does not listen to, so none ever arrives): B's screen
    shows the vote within a presence tick or two, without waiting for the next write."""
    env_a = _env(f"{private_redis.url}/0?prefix=lost", f"{private_redis.url}/1")
    env_b = _env(f"{private_redis.url}/0?prefix=heard", f"{private_redis.url}/1")

    with _two_workers(shared_database, tmp_path, env_a, env_b) as (a, b, processes):

        async def scenario(client: httpx.AsyncClient) -> None:
            code, _moderator, proposals = await api_table(client, ADMIN, proposals=2)
            voter = await _join(client, a, code)
            screen = Stream(b, code)
            await screen.open()
            answer = await client.put(
                f"{a}/api/proposals/{proposals[0]}/vote", json={"dots": 1}, headers=bearer(voter)
            )
            assert answer.status_code == 200, answer.text
            processes[0].kill()  # acknowledged; whatever A had not sent is gone
            processes[0].wait(timeout=10)
            await screen.until(lambda s: s.seq >= answer.json()["seq"], within=PRESENCE_SECONDS * 3)
            assert screen.tallies[proposals[0]] == 1
            assert screen.snapshots == 1  # a push continuing its chain, not a reload
            await screen.close()

        _run(a, scenario)


def test_a_screen_opened_after_a_lost_notice_brings_its_worker_up_to_date(
    private_redis: PrivateRedis, shared_database: str, tmp_path: Path
) -> None:
    """A's notices never reach B, and B's presence tick is far off: a screen opening on B
    with a snapshot newer than B's pushes makes B push what it missed at once, so the
    screen already open there shows A's vote without waiting for the tick, and the new
    screen's next push continues its snapshot instead of reloading it."""
    slow_tick = {"TAVOLI_PRESENCE_SECONDS": "120"}
    env_a = {**_env(f"{private_redis.url}/0?prefix=lost", f"{private_redis.url}/1"), **slow_tick}
    env_b = {**_env(f"{private_redis.url}/0?prefix=heard", f"{private_redis.url}/1"), **slow_tick}

    with _two_workers(shared_database, tmp_path, env_a, env_b) as (a, b, _processes):

        async def scenario(client: httpx.AsyncClient) -> None:
            code, _moderator, proposals = await api_table(client, ADMIN, proposals=2)
            on_a, on_b = await _join(client, a, code), await _join(client, b, code)
            first = Stream(b, code)
            await first.open()

            async def vote(base: str, token: str, pid: int) -> int:
                answer = await client.put(
                    f"{base}/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(token)
                )
                assert answer.status_code == 200, answer.text
                return int(answer.json()["seq"])

            seen = await vote(b, on_b, proposals[1])  # B pushes: its feed has a seq
            await first.until(lambda s: s.seq >= seen)
            lost = await vote(a, on_a, proposals[0])  # B never hears of it
            second = Stream(b, code)
            await second.open()
            assert second.tallies[proposals[0]] == 1  # its snapshot is read from the database
            await first.until(lambda s: s.seq >= lost, within=5)  # not 40 s later, at the tick
            assert first.tallies[proposals[0]] == 1
            last = await vote(b, on_b, proposals[0])
            for screen in (first, second):
                await screen.until(lambda s: s.seq >= last)
                assert screen.tallies == {proposals[0]: 2, proposals[1]: 1}
                assert screen.snapshots == 1  # every push continued its chain
                await screen.close()

        _run(a, scenario)
