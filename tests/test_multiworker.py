"""Two real workers share the tables through PostgreSQL and Redis (HUB_URL=redis://).

Each test starts two uvicorn processes on different ports against one fresh PostgreSQL
schema and one Redis (a key prefix of its own, so parallel runs never meet). A phone on one
worker votes and a screen on the other sees it in order; presence counts both workers and
forgets a killed one; a timer acts once; a worker killed in a burst loses no acknowledged
vote and its screens resynchronise on the other worker."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.security import Signer
from tests.conftest import fresh_schema, redis_prefix_or_skip
from tests.server import api_table, bearer, running_server, until_closed
from tests.test_two_tabs import _me_votes

pytestmark = [pytest.mark.services, pytest.mark.timeout(90)]

ADMIN = "multiworker-organiser"
SECRET = "multiworker-secret-key"
PRESENCE_SECONDS = 1.5  # a killed worker's participants leave the count within ~2 s
REDIS_URL = os.environ.get("TAVOLI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Workers:
    """Two workers of one deployment (one PostgreSQL schema, one Redis prefix) for the
    module: a test that kills one finds it started again by the next test."""

    database_url: str
    env: dict[str, str]
    logs: Path
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    bases: list[str] = field(default_factory=lambda: ["", ""])
    processes: list["subprocess.Popen[bytes] | None"] = field(default_factory=lambda: [None, None])

    def __post_init__(self) -> None:
        self.engine = create_engine(self.database_url)

    def ensure(self) -> None:
        for index, process in enumerate(self.processes):
            if process is None or process.poll() is not None:
                started: list[subprocess.Popen[bytes]] = []
                log = self.logs / f"worker-{index}-{time.monotonic_ns()}.log"
                self.bases[index] = self.stack.enter_context(
                    running_server(self.database_url, log, processes=started, **self.env)
                )
                self.processes[index] = started[0]

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown, no goodbye to Redis or to the sockets."""
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def scalar(self, sql: str, **params: object) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar_one()

    def close(self) -> None:
        self.stack.close()
        self.engine.dispose()


@pytest.fixture(scope="module")
def redis_hub_url() -> Iterator[str]:
    """The shared Redis with a prefix of this module's own; its keys are removed afterwards."""
    with redis_prefix_or_skip(REDIS_URL) as prefix:
        yield f"{REDIS_URL}?prefix={prefix}"


@pytest.fixture(scope="module")
def shared_database(postgres_admin: Engine) -> Iterator[str]:
    """A fresh PostgreSQL schema for the module's two workers (as conftest's postgres_url)."""
    with fresh_schema(postgres_admin, "tavoli_mw") as url:
        yield url


@pytest.fixture(scope="module")
def cluster(
    shared_database: str, redis_hub_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    env = {
        "HUB_URL": redis_hub_url,
        "TAVOLI_ADMIN_TOKEN": ADMIN,
        "TAVOLI_SECRET_KEY": SECRET,
        "TAVOLI_RATE_LIMITS": "false",
        "TAVOLI_LIMITS_URL": "memory://",
        "TAVOLI_PURGE_INTERVAL": "0",
        "TAVOLI_THREADS": "8",
        "TAVOLI_PRESENCE_SECONDS": str(PRESENCE_SECONDS),
    }
    workers = Workers(shared_database, env, tmp_path_factory.mktemp("workers"))
    try:
        yield workers
    finally:
        workers.close()


@pytest.fixture
def workers(cluster: Workers) -> Workers:
    """Both workers running (one killed by the previous test is started again)."""
    cluster.ensure()
    return cluster


async def _eventually(check: Callable[[], bool], within: float = 8.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


@dataclass
class Table:
    code: str
    id: int
    moderator: str
    proposals: list[int] = field(default_factory=list)


async def _table(
    client: httpx.AsyncClient, workers: Workers, *, proposals: int = 1, phase: str = "voting"
) -> Table:
    """An event with one table (on worker A), its proposals posted, in `phase`."""
    code, moderator, ids = await api_table(client, ADMIN, proposals=proposals, phase=phase)
    return Table(
        code, workers.scalar("SELECT id FROM tables WHERE code = :c", c=code), moderator, ids
    )


async def _join(client: httpx.AsyncClient, code: str, base: str = "") -> str:
    return (await _joined(client, code, base))[0]


async def _joined(client: httpx.AsyncClient, code: str, base: str = "") -> tuple[str, int]:
    """A participant's token and id (joined through `base`, or worker A)."""
    answer = await client.post(f"{base}/api/tables/{code}/participants", json={})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"]), int(answer.json()["participant_id"])


def _ws(base: str, path: str) -> str:
    return base.replace("http://", "ws://", 1) + path


class Stream:
    """A JSON stream client (a screen): checks that every push continues the previous one
    (`prev_seq`), and keeps the tallies and the people count it was shown."""

    def __init__(self, base: str, code: str) -> None:
        self.url = _ws(base, f"/api/tables/{code}/stream")
        self.seq = -1
        self.tallies: dict[int, int] = {}
        self.people: int | None = None
        self.snapshots = 0
        self.pushes = 0
        self.ws: ClientConnection | None = None

    async def open(self, url: str | None = None) -> None:
        self.url = url or self.url
        self.ws = await connect(self.url)
        first = await self.read()
        assert first["type"] == "snapshot"

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def read(self, within: float = 10) -> dict[str, Any]:
        assert self.ws is not None
        event: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        kind = event["type"]
        if kind == "snapshot":
            self.snapshots += 1
            self.seq = event["seq"]
            self.tallies = {p["id"]: p["tally"] for p in event["proposals"]}
            self.people = event.get("people")
            return event
        assert kind in ("delta", "state"), event
        assert event["prev_seq"] == self.seq, f"a gap: {self.seq} then {event}"
        self.pushes += 1
        self.seq = event["seq"]
        if kind == "state":
            self.tallies = {p["id"]: p["tally"] for p in event["proposals"]}
        else:
            self.tallies.update({int(k): v for k, v in event["tallies"].items()})
        self.people = event.get("people", self.people)
        return event

    async def until(self, done: Callable[["Stream"], bool], within: float = 10) -> None:
        deadline = time.monotonic() + within
        while not done(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"not reached: seq {self.seq}, people {self.people}")
            with contextlib.suppress(TimeoutError):
                await self.read(within=left)


async def _phone(base: str, code: str, token: str) -> tuple[ClientConnection, asyncio.Task[None]]:
    """A participant's page socket (what makes them 'connected'), read in the background."""
    cookie = f"tavoli_p={Signer(SECRET).sign(token)}"
    ws = await connect(_ws(base, f"/t/{code}/ws"), additional_headers={"Cookie": cookie})

    async def drain() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for _message in ws:
                pass

    return ws, asyncio.create_task(drain())


def _run(workers: Workers, scenario: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(base_url=workers.bases[0], timeout=20, limits=limits) as c:
            await scenario(c)

    asyncio.run(main())


def test_a_vote_on_one_worker_reaches_a_screen_on_the_other_in_order(workers: Workers) -> None:
    a, b = workers.bases

    async def scenario(client: httpx.AsyncClient) -> None:
        table = await _table(client, workers, proposals=2)
        voters = [await _join(client, table.code) for _ in range(12)]
        screen = Stream(b, table.code)
        await screen.open()
        acknowledged = []
        for n, voter in enumerate(voters):  # the phones vote on worker A
            pid = table.proposals[n % 2]
            answer = await client.put(
                f"{a}/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(voter)
            )
            assert answer.status_code == 200, answer.text
            acknowledged.append(answer.json()["seq"])
        await screen.until(lambda s: s.seq >= max(acknowledged))
        assert screen.tallies == {table.proposals[0]: 6, table.proposals[1]: 6}
        assert screen.snapshots == 1 and screen.pushes >= 1  # one unbroken prev_seq chain
        await screen.close()

    _run(workers, scenario)


def test_a_vote_on_one_worker_reaches_the_same_phones_tab_on_the_other(workers: Workers) -> None:
    """A phone's own state (its votes) follows it to its other tabs, whichever worker holds
    their sockets, and reaches no other phone."""
    a, b = workers.bases

    async def scenario(client: httpx.AsyncClient) -> None:
        table = await _table(client, workers, proposals=1)
        pid = table.proposals[0]
        mine, theirs = await _join(client, table.code), await _join(client, table.code)
        sockets = []
        for token in (mine, theirs):
            cookie = f"tavoli_p={Signer(SECRET).sign(token)}"
            ws = await connect(_ws(b, f"/t/{table.code}/ws"), additional_headers={"Cookie": cookie})
            assert 'id="wall"' in str(await asyncio.wait_for(ws.recv(), 10))  # snapshot
            sockets.append(ws)
        tab, stranger = sockets

        async def until_own(ws: ClientConnection) -> list[str]:
            seen = [str(await asyncio.wait_for(ws.recv(), 10))]
            while 'id="me"' not in seen[-1]:
                seen.append(str(await asyncio.wait_for(ws.recv(), 10)))
            return seen

        for token, ws in ((mine, tab), (theirs, stranger)):  # each votes on worker A
            answer = await client.put(
                f"{a}/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(token)
            )
            assert answer.status_code == 200, answer.text
            seen = await until_own(ws)
            assert _me_votes(seen[-1]) == {str(pid): 1}
            assert not any('id="me"' in text for text in seen[:-1])
        for ws in sockets:
            await ws.close()

    _run(workers, scenario)


def test_a_revoked_link_closes_its_sockets_on_every_worker(workers: Workers) -> None:
    """A new moderator link and a removal, made on worker A, close the old console and the
    removed phone held by worker B (1008, not reconnected), before anything newer reaches
    them."""
    a, b = workers.bases
    later = "Scritta dopo la revoca, su un altro worker"

    async def scenario(client: httpx.AsyncClient) -> None:
        table = await _table(client, workers, phase="collect")
        token, participant_id = await _joined(client, table.code)
        cookie = f"tavoli_p={Signer(SECRET).sign(token)}"
        console = await connect(_ws(b, f"/run/{table.moderator}/{table.code}/ws"))
        phone = await connect(_ws(b, f"/t/{table.code}/ws"), additional_headers={"Cookie": cookie})
        for ws in (console, phone):
            await asyncio.wait_for(ws.recv(), 10)  # the snapshot
        event_id = workers.scalar("SELECT event_id FROM tables WHERE code = :c", c=table.code)
        reissued = await client.post(
            f"{a}/api/events/{event_id}/moderator-link", headers=bearer(ADMIN)
        )
        assert reissued.status_code == 201, reissued.text
        new = reissued.json()["moderator_token"]
        removed = await client.request(
            "DELETE",
            f"{a}/api/tables/{table.code}/participants/{participant_id}",
            json={},
            headers=bearer(new),
        )
        assert removed.status_code == 200, removed.text
        author = await _join(client, table.code)
        posted = await client.post(
            f"{a}/api/tables/{table.code}/proposals", json={"title": later}, headers=bearer(author)
        )
        assert posted.status_code == 201, posted.text
        for ws in (console, phone):
            messages, code = await until_closed(ws)
            assert code == 1008
            assert not any(later in m for m in messages)

    _run(workers, scenario)


def test_presence_counts_both_workers_and_forgets_a_killed_one(workers: Workers) -> None:
    a, b = workers.bases

    async def scenario(client: httpx.AsyncClient) -> None:
        table = await _table(client, workers)
        alice, bob = await _join(client, table.code), await _join(client, table.code)
        screens = [Stream(a, table.code), Stream(b, table.code)]
        for screen in screens:
            await screen.open()
        phones = [await _phone(a, table.code, alice), await _phone(b, table.code, bob)]
        for screen in screens:  # one participant on each worker: both screens count two
            await screen.until(lambda s: s.people == 2)
        workers.kill(1)  # worker B dies with Bob's socket: no goodbye
        await screens[0].until(lambda s: s.people == 1, within=PRESENCE_SECONDS * 3)
        await screens[0].close()
        await phones[0][0].close()
        for _phone_ws, reader in phones:
            await reader

    _run(workers, scenario)


def test_a_timer_acts_once_with_both_workers_watching_and_outlives_its_worker(
    workers: Workers,
) -> None:
    a, _b = workers.bases

    def phase_changes(table: Table) -> int:
        return int(
            workers.scalar("SELECT count(*) FROM phase_changes WHERE table_id = :t", t=table.id)
        )

    def phase(table: Table) -> str:
        return str(workers.scalar("SELECT phase FROM tables WHERE id = :t", t=table.id))

    async def timer(client: httpx.AsyncClient, table: Table, seconds: int) -> None:
        answer = await client.put(
            f"{a}/api/tables/{table.code}/timer",
            json={"seconds": seconds, "advance": True},
            headers=bearer(table.moderator),
        )
        assert answer.status_code == 200, answer.text

    async def scenario(client: httpx.AsyncClient) -> None:
        both = await _table(client, workers, phase="collect")
        orphan = await _table(client, workers, phase="collect")
        before = phase_changes(both), phase_changes(orphan)
        await timer(client, both, 1)
        await timer(client, orphan, 4)  # set on A, which dies before zero
        await _eventually(lambda: phase(both) == "discussion")
        await asyncio.sleep(0.5)  # the other worker's attempt, at the same zero, is done
        workers.kill(0)
        assert phase(orphan) == "collect"
        await _eventually(lambda: phase(orphan) == "discussion")  # worker B moved it on
        await asyncio.sleep(0.5)
        assert (phase_changes(both), phase_changes(orphan)) == (before[0] + 1, before[1] + 1)

    _run(workers, scenario)


def test_a_worker_killed_in_a_burst_loses_no_acknowledged_vote(workers: Workers) -> None:
    a, b = workers.bases
    voters_count = 80

    async def scenario(client: httpx.AsyncClient) -> None:
        table = await _table(client, workers, proposals=4)
        voters = [await _joined(client, table.code) for _ in range(voters_count)]
        doomed, survivor = Stream(a, table.code), Stream(b, table.code)
        await doomed.open()
        await survivor.open()
        acknowledged: list[tuple[int, int]] = []  # (participant, proposal)

        async def vote(n: int, voter: tuple[str, int]) -> None:
            await asyncio.sleep(n * 0.01)  # 80 votes over ~0.8 s, through both workers
            pid = table.proposals[n % 4]
            base = (a, b)[n % 2]
            with contextlib.suppress(httpx.TransportError):  # A's requests die with it
                answer = await client.put(
                    f"{base}/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(voter[0])
                )
                if answer.status_code == 200:
                    acknowledged.append((voter[1], pid))

        async def kill_midway() -> None:
            await asyncio.sleep(0.4)
            workers.kill(0)

        async def follow(stream: Stream) -> None:
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await stream.read(within=30)

        following = asyncio.create_task(follow(doomed))
        await asyncio.gather(*(vote(n, v) for n, v in enumerate(voters)), kill_midway())
        await asyncio.wait_for(following, 10)  # its worker is gone: the socket closed
        await doomed.open(_ws(b, f"/api/tables/{table.code}/stream"))  # it reconnects to B
        snapshots = doomed.snapshots

        assert 0 < len(acknowledged) < voters_count  # some died with worker A, some answered
        for participant, pid in acknowledged:  # every acknowledged vote is in the database
            assert (
                workers.scalar(
                    "SELECT count(*) FROM votes WHERE participant_id = :v AND proposal_id = :p",
                    v=participant,
                    p=pid,
                )
                == 1
            ), (participant, pid)
        late, _ = await _joined(client, table.code, b)  # one more vote, on the survivor
        answer = await client.put(
            f"{b}/api/proposals/{table.proposals[0]}/vote", json={"dots": 1}, headers=bearer(late)
        )
        assert answer.status_code == 200, answer.text
        committed = {
            pid: int(workers.scalar("SELECT count(*) FROM votes WHERE proposal_id = :p", p=pid))
            for pid in table.proposals
        }
        assert sum(committed.values()) >= len(acknowledged) + 1
        for stream in (survivor, doomed):  # both screens now follow worker B, to the end
            await stream.until(lambda s: s.seq >= answer.json()["seq"])
            assert stream.tallies == committed
        assert doomed.snapshots == snapshots  # after its resync: contiguous pushes only
        assert survivor.snapshots == 1  # never lost its chain
        await survivor.close()
        await doomed.close()

    _run(workers, scenario)


LIMITS_REDIS_DB = 9  # the shared counters of the test below, away from the hub's notices


def test_rate_limits_are_counted_across_workers(shared_database: str, tmp_path: Path) -> None:
    """With `TAVOLI_LIMITS_URL=redis://`, an address that spends its failed code lookups on
    one worker finds none left on the other: a script cannot double its allowance by
    spreading over the workers behind the proxy."""
    limits_url = REDIS_URL.rsplit("/", 1)[0] + f"/{LIMITS_REDIS_DB}"
    client = redis.Redis.from_url(limits_url, socket_connect_timeout=2)
    try:
        for key in client.scan_iter("LIMITS*"):  # a previous run's window
            client.delete(key)
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable at {limits_url}: {exc}")
    env = {
        "TAVOLI_ADMIN_TOKEN": ADMIN,
        "TAVOLI_SECRET_KEY": SECRET,
        "TAVOLI_RATE_LIMITS": "true",
        "TAVOLI_LIMITS_URL": limits_url,
        "TAVOLI_LIMITS": "lookup=4/minute",
        "TAVOLI_PURGE_INTERVAL": "0",
        "TAVOLI_THREADS": "8",
    }
    with (
        running_server(shared_database, tmp_path / "a.log", **env) as a,
        running_server(shared_database, tmp_path / "b.log", **env) as b,
        httpx.Client(timeout=10) as http,
    ):
        answers = [http.get(f"{base}/t/ZZZ-999").status_code for base in (a, b, a, b)]
        assert answers == [404, 404, 404, 404]  # four unknown codes, two on each worker
        for base in (a, b):
            refused = http.get(f"{base}/t/ZZZ-998")
            assert refused.status_code == 429, base
            assert int(refused.headers["retry-after"]) > 0
    for key in client.scan_iter("LIMITS*"):
        client.delete(key)
    client.close()
