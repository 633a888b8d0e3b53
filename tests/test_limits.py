"""Abuse limits: rate limits (429 with Retry-After), the per-address socket cap, and a client
that never reads its WebSocket (on a real server: the kernel's buffers are part of the story)."""

import asyncio
import base64
import contextlib
import json
import os
import re
import resource
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from app import ratelimit
from app.config import Settings
from app.live.hub import Hub, Push
from app.main import create_app, room_for_sockets
from app.services import participants, tables
from app.services.errors import NotFound, TooMany
from tests.conftest import make_table
from tests.server import running_server
from tests.test_api import create_table

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "limits-organiser-token"


@pytest.fixture(autouse=True)
def fresh_limits() -> Iterator[None]:
    ratelimit.configure("memory://")
    yield
    ratelimit.configure("memory://", enabled=False)


# ratelimit itself


def test_a_limit_refuses_past_its_window_and_says_how_long_to_wait() -> None:
    ratelimit.configure("memory://", overrides={"post": "3/10 seconds"})
    for _ in range(3):
        ratelimit.hit("post", "7")
    with pytest.raises(TooMany) as over:
        ratelimit.hit("post", "7")
    assert over.value.status == 429
    assert 9 <= over.value.retry_after <= 10
    assert str(over.value) == f"Too many requests: try again in {over.value.retry_after} seconds"
    ratelimit.hit("post", "8")  # another participant is not concerned
    ratelimit.reset()
    ratelimit.hit("post", "7")


def test_the_window_that_is_full_decides_the_wait_and_refusals_are_not_counted() -> None:
    ratelimit.configure("memory://", overrides="vote=2/1 second;3/1 minute")
    ratelimit.hit("vote", "1")
    ratelimit.hit("vote", "1")
    for _ in range(20):  # a script hammering while refused does not push its wait further
        with pytest.raises(TooMany) as over:
            ratelimit.hit("vote", "1")
        assert over.value.retry_after == 1
    time.sleep(1.05)
    ratelimit.hit("vote", "1")  # the second's window moved on; the minute's holds 3 now
    time.sleep(1.05)
    with pytest.raises(TooMany) as over:
        ratelimit.hit("vote", "1")
    assert 57 <= over.value.retry_after <= 60


def test_only_failed_lookups_count(session: Session) -> None:
    ratelimit.configure("memory://", overrides={"lookup": "3/minute"})
    code = make_table(session).code
    for _ in range(10):
        tables.resolve(session, code, client="10.0.0.1")  # a known code costs nothing
    for _ in range(3):
        with pytest.raises(NotFound):
            tables.resolve(session, "ZZZZZ2", client="10.0.0.1")
    with pytest.raises(TooMany):  # over the limit, not even a known code is looked up
        tables.resolve(session, code, client="10.0.0.1")
    tables.resolve(session, code, client="10.0.0.2")


def test_a_table_takes_a_bounded_number_of_joins_whatever_the_addresses(
    session: Session,
) -> None:
    ratelimit.configure("memory://", overrides={"join_table": "3/minute"})
    table, other = make_table(session), make_table(session)
    event = tables.event_of(session, table)
    for n in range(3):  # a script spread over many addresses
        participants.join(session, table=table, event=event, client=f"10.0.0.{n}")
    with pytest.raises(TooMany):
        participants.join(session, table=table, event=event, client="10.0.0.9")
    participants.join(session, table=other, event=event, client="10.0.0.9")  # not this one
    ratelimit.hit("join", "10.0.0.9")  # the refused join cost its address nothing: 2 of 1,200


def test_a_worker_makes_room_for_its_sockets_in_the_open_file_limit() -> None:
    """A soft limit of 1,024 (a container's, a desktop's) would stop a worker near 1,000
    phones: the app raises it to hold its socket cap, within the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 6024:
        pytest.skip(f"the hard limit on open files is {hard}")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        room_for_sockets(5000)
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 6024
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_disabled_limits_never_refuse() -> None:
    ratelimit.configure("memory://", enabled=False, overrides={"join": "1/hour", "websocket": "1"})
    for _ in range(5):
        ratelimit.hit("join", "10.0.0.1")
    with ratelimit.holding("websocket", "a"), ratelimit.holding("websocket", "a"):
        pass


def test_open_connections_are_capped_per_address() -> None:
    ratelimit.configure("memory://", overrides={"websocket": "2"})
    with ratelimit.holding("websocket", "a"), ratelimit.holding("websocket", "a"):
        with pytest.raises(TooMany) as over, ratelimit.holding("websocket", "a"):
            pass
        assert over.value.retry_after == 1
        with ratelimit.holding("websocket", "b"):
            assert ratelimit.open_count("websocket", "a") == 2
    assert ratelimit.open_count("websocket", "a") == 0
    with ratelimit.holding("websocket", "a"):
        pass


def test_every_limit_is_named_with_a_reason_and_unknown_names_are_errors() -> None:
    assert set(ratelimit.LIMITS) == {
        "join",
        "join_table",
        "lookup",
        "post",
        "vote",
        "link",
        "websocket",
        "phone_sockets",
        "worker_sockets",
    }
    assert all(limit.why and limit.per for limit in ratelimit.LIMITS.values())
    with pytest.raises(ValueError):
        ratelimit.hit("posts", "1")
    with pytest.raises(ValueError):
        ratelimit.configure("memory://", overrides="jion=1/minute")


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("testclient", "testclient"),
    ],
)
def test_addresses_are_counted_per_host_and_ipv6_per_64(host: str, key: str) -> None:
    scope = {"type": "http", "client": (host, 5000), "headers": []}
    assert ratelimit.address(HTTPConnection(scope)) == key


# the application's answers


@pytest.fixture
def limited_app(settings: Settings, engine: Any) -> FastAPI:
    app = create_app(
        settings.model_copy(
            update={
                "tavoli_rate_limits": True,
                "tavoli_limits": "post=1/minute, lookup=3/minute, websocket=2",
            }
        )
    )

    def limited() -> None:
        ratelimit.hit("post", "1")

    app.add_api_route("/api/limited", limited)
    app.add_api_route("/limited", limited)
    return app


def test_too_many_is_a_429_with_retry_after_in_the_api_and_the_pages(limited_app: FastAPI) -> None:
    with TestClient(limited_app) as client:
        assert client.get("/api/limited").status_code == 200
        response = client.get("/api/limited")
        assert response.status_code == 429
        seconds = int(response.headers["retry-after"])
        assert 59 <= seconds <= 60
        assert response.json()["detail"] == f"Too many requests: try again in {seconds} seconds"
        page = client.get("/limited")
        assert page.status_code == 429
        assert page.headers["retry-after"]
        assert "Troppe richieste: riprova tra" in page.text  # Italian by default
        flash = client.get("/limited", headers={"hx-request": "true"})
        assert flash.status_code == 429 and flash.headers["retry-after"]


def test_a_page_refused_for_going_too_fast_reloads_by_itself_after_the_wait(
    limited_app: FastAPI,
) -> None:
    """The error page of a GET carries the wait for tavoli.js to count down, then reload; a
    form's POST is never sent again from an error page (only by htmx, which kept it)."""
    with TestClient(limited_app) as client:
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text)
        assert csrf is not None
        for _ in range(3):
            client.get("/api/tables/ZZZZZ2")
        page = client.get("/t/ZZZZZ2")
        assert page.status_code == 429
        seconds = page.headers["retry-after"]
        assert f'data-reload="{seconds}"' in page.text
        assert "Troppe richieste insieme: riprovo da solo tra %s secondi" in page.text
        posted = client.post("/t/ZZZZZ2/join", data={"csrf_token": csrf[1]})
        assert posted.status_code == 429 and "data-reload" not in posted.text


def test_sockets_over_the_cap_per_address_are_closed_with_1013(limited_app: FastAPI) -> None:
    with TestClient(limited_app) as client:
        _, code = create_table(client)
        url = f"/api/tables/{code}/stream"
        with client.websocket_connect(url) as first, client.websocket_connect(url) as second:
            first.receive_text(), second.receive_text()
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect(url) as third,
            ):
                third.receive_text()
            assert refused.value.code == 1013
        with client.websocket_connect(url) as again:  # the slots were given back
            assert json.loads(again.receive_text())["type"] == "snapshot"


def _phone_cookie(client: TestClient, code: str) -> str:
    """A new phone joins through the form: its participant cookie."""
    client.cookies.delete("tavoli_p")
    page = client.get(f"/t/{code}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    joined = client.post(f"/t/{code}/join", data={"csrf_token": csrf[1]}, follow_redirects=False)
    return str(joined.cookies["tavoli_p"])


def _phone_socket_closes(client: TestClient, code: str, cookie: str) -> Any:
    client.cookies.delete("tavoli_p")
    client.cookies.set("tavoli_p", cookie)
    return client.websocket_connect(f"/t/{code}/ws")


def test_phones_are_capped_per_participant_not_per_address(settings: Settings, engine: Any) -> None:
    """A hall behind one address: more phones than the address's cap all connect; one phone's
    tabs past its own cap are closed with 1013."""
    app = create_app(
        settings.model_copy(
            update={
                "tavoli_rate_limits": True,
                "tavoli_limits": "websocket=2, phone_sockets=2",
            }
        )
    )
    with TestClient(app) as client:
        _, code = create_table(client)
        phones = [_phone_cookie(client, code) for _ in range(4)]
        with contextlib.ExitStack() as stack:
            for cookie in phones:  # four phones from one address, over its cap of 2
                ws = stack.enter_context(_phone_socket_closes(client, code, cookie))
                assert 'id="seq"' in ws.receive_text()
            second_tab = stack.enter_context(_phone_socket_closes(client, code, phones[0]))
            assert 'id="seq"' in second_tab.receive_text()
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                _phone_socket_closes(client, code, phones[0]) as third_tab,
            ):
                third_tab.receive_text()
            assert refused.value.code == 1013


def test_a_worker_caps_its_open_sockets_of_every_kind(settings: Settings, engine: Any) -> None:
    app = create_app(
        settings.model_copy(
            update={"tavoli_rate_limits": True, "tavoli_limits": "worker_sockets=2"}
        )
    )
    with TestClient(app) as client:
        _, code = create_table(client)
        phone = _phone_cookie(client, code)
        with (
            _phone_socket_closes(client, code, phone) as ws,
            client.websocket_connect(f"/api/tables/{code}/stream") as stream,
        ):
            ws.receive_text(), stream.receive_text()
            for path in (f"/t/{code}/screen/ws", f"/api/tables/{code}/stream"):
                with (
                    pytest.raises(WebSocketDisconnect) as refused,
                    client.websocket_connect(path) as extra,
                ):
                    extra.receive_text()
                assert refused.value.code == 1013


def test_socket_lookups_of_unknown_codes_are_limited_too(limited_app: FastAPI) -> None:
    with TestClient(limited_app) as client:
        _, code = create_table(client)
        for _ in range(3):
            with (
                pytest.raises(WebSocketDisconnect) as closed,
                client.websocket_connect("/api/tables/ZZZZZZ/stream") as ws,
            ):
                ws.receive_text()
            assert closed.value.code != 1013
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect(f"/api/tables/{code}/stream") as ws,
        ):
            ws.receive_text()
        assert closed.value.code == 1013


# the hub's bound in bytes


def _push(seq: int, size: int) -> Push:
    return Push(channel="t", seq=seq, prev_seq=seq - 1, payloads={"api": "é" * (size // 2)})


@pytest.mark.anyio
async def test_a_subscription_is_dropped_past_its_bytes_counting_the_push_being_sent() -> None:
    hub = Hub()
    async with (
        hub.subscribe("t", maxsize=100, max_bytes=10_000, key="api") as slow,
        hub.subscribe("t", maxsize=100, max_bytes=10_000, key="screen:it") as other,
    ):
        hub._fan_out(_push(1, 50_000))  # one push over the bound still goes, alone
        assert (await slow.next()).seq == 1  # type: ignore[union-attr]
        assert slow.pending_bytes == 50_000  # being sent
        hub._fan_out(_push(2, 4_000))
        assert slow.dropped  # 54,000 bytes pending: past the bound
        assert await slow.next() is None
        assert not other.dropped and other.pending_bytes == 0  # not its payload
    async with hub.subscribe("t", maxsize=100, max_bytes=10_000, key="api") as steady:
        for seq in range(1, 100):  # a client that keeps up is never near the bound
            hub._fan_out(_push(seq, 4_000))
            assert (await steady.next()).seq == seq  # type: ignore[union-attr]
        assert steady.pending_bytes == 4_000
        hub._fan_out(_push(100, 4_000))  # queued while 99 is being sent
        assert not steady.dropped and steady.pending_bytes == 8_000
        hub._fan_out(_push(101, 4_000))
        assert steady.dropped and steady.pending_bytes == 0  # freed at once


# a real server


class Server:
    def __init__(self, base: str, log: Path) -> None:
        self.base, self.log = base, log
        self.port = int(base.rsplit(":", 1)[1])
        self.http = httpx.Client(base_url=base, timeout=10)

    def json(self, method: str, path: str, token: str = "", **body: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(method, path, json=body, headers=headers)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn in a process, migrated like `make run`, with short bounds for slow clients."""
    yield from _server(tmp_path_factory, "fast")


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same, served through uvicorn's own protocols (pushes through ASGI, app/live/wire.py)."""
    yield from _server(tmp_path_factory, "plain")


def _server(tmp_path_factory: pytest.TempPathFactory, protocols: str) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("limits")
    env = {
        "TAVOLI_PROTOCOLS": protocols,
        "DATABASE_URL": f"sqlite:///{data}/tavoli.db",
        "TAVOLI_ADMIN_TOKEN": ADMIN_TOKEN,
        "TAVOLI_SECRET_KEY": "limits-secret-key",
        "TAVOLI_RATE_LIMITS": "true",
        "TAVOLI_LIMITS": "websocket=4",
        "TAVOLI_SEND_BUFFER_BYTES": str(256 * 1024),
        "TAVOLI_SEND_TIMEOUT": "3",
    }
    with running_server(env.pop("DATABASE_URL"), data / "server.log", **env) as base:
        running = Server(base, data / "server.log")
        yield running
        running.http.close()


def _table(
    server: Server, *, proposals: int = 0, title_length: int = 140
) -> tuple[str, str, list[int]]:
    """A table in voting (code, moderator token, proposal ids), with long proposals."""
    event = server.json("POST", "/api/events", ADMIN_TOKEN, title="Limiti", date="2024-11-09")
    runner = event["moderator_token"]
    table = server.json("POST", f"/api/events/{event['id']}/tables", runner, title="Tavolo")
    code = table["code"]
    server.json("PUT", f"/api/tables/{code}/phase", runner, phase="collect")
    authors = [
        server.json("POST", f"/api/tables/{code}/participants")["token"]
        for _ in range((proposals + 4) // 5)
    ]
    ids = []
    for i in range(proposals):  # five each: within the post limit
        title = f"Proposta {i}: " + "servizi di prossimità per le famiglie " * 4
        posted = server.json(
            "POST",
            f"/api/tables/{code}/proposals",
            authors[i // 5],
            kind="proposal",
            title=title[:title_length],
            body="Un testo lungo. " * 60,
        )
        ids.append(posted["id"])
    server.json("PUT", f"/api/tables/{code}/phase", runner, phase="voting")
    return code, runner, ids


def test_a_real_server_caps_sockets_per_address(server: Server) -> None:
    code, _, _ = _table(server)
    url = f"ws://127.0.0.1:{server.port}/api/tables/{code}/stream"

    async def scenario() -> None:
        held = [await connect(url) for _ in range(4)]
        for ws in held:
            assert json.loads(await ws.recv())["type"] == "snapshot"
        extra = await connect(url)
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(extra.recv(), 5)
        assert extra.close_code == 1013
        await held[0].close()
        await asyncio.sleep(0.2)  # the server's handler ends after the close handshake
        again = await connect(url)
        assert json.loads(await asyncio.wait_for(again.recv(), 5))["type"] == "snapshot"
        for ws in (*held[1:], again):
            await ws.close()

    asyncio.run(scenario())


def _stalled_socket(port: int, path: str) -> socket.socket:
    """A WebSocket handshake over a raw socket with a tiny receive buffer, then no reads."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # byte by byte: nothing of the stream is read
        head += raw.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return raw


def _drain(raw: socket.socket, timeout: float) -> tuple[int, list[int]]:
    """Read until the server closes the TCP connection: (bytes, close codes in the frames)."""
    raw.settimeout(timeout)
    data = bytearray()
    with contextlib.suppress(ConnectionResetError):
        while chunk := raw.recv(1 << 20):
            data += chunk
    codes, at = [], 0
    while at + 2 <= len(data):
        opcode, length, at = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
        if length == 126:
            length, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        elif length == 127:
            length, at = int.from_bytes(data[at : at + 8], "big"), at + 8
        if opcode == 0x8 and length >= 2:
            codes.append(int.from_bytes(data[at : at + 2], "big"))
        at += length
    return len(data), codes


@pytest.mark.timeout(120)
@pytest.mark.parametrize("served", ["server", "plain_server"])
def test_a_client_that_never_reads_is_closed_and_the_others_keep_up(
    served: str, request: pytest.FixtureRequest
) -> None:
    """Votes, and the moderator switching the projector between wall and results: each
    switch sends JSON clients the whole table (100 proposals with long bodies, ~130 KB).
    Through the wire and through uvicorn's own protocol (ASGI sends) alike."""
    server: Server = request.getfixturevalue(served)
    code, runner, ids = _table(server, proposals=100)
    voters = [server.json("POST", f"/api/tables/{code}/participants")["token"] for _ in range(12)]
    stream = f"ws://127.0.0.1:{server.port}/api/tables/{code}/stream"
    dropped = "closing a socket (api) of table"
    offset = len(server.log.read_text())  # the server (and its log) outlives one test

    async def scenario() -> dict[str, Any]:
        await asyncio.sleep(0.5)  # the set-up's pushes are out: none races the snapshot
        reader = await connect(stream, max_size=None)
        last = json.loads(await reader.recv())["seq"]
        raw = _stalled_socket(server.port, f"/api/tables/{code}/stream")
        arrivals: dict[int, float] = {}
        gaps: list[tuple[int, int, int]] = []
        resyncs: list[float] = []

        async def read() -> None:
            nonlocal last
            async for message in reader:
                event = json.loads(message)
                if event["type"] == "snapshot":  # a resync: only a push racing the connect
                    resyncs.append(time.perf_counter())
                elif event["prev_seq"] != last:
                    gaps.append((last, event["prev_seq"], event["seq"]))
                last = event["seq"]
                arrivals[last] = time.perf_counter()

        reading = asyncio.create_task(read())
        async with httpx.AsyncClient(base_url=server.base) as http:
            votes: list[tuple[float, float, int]] = []  # (since start, answered at, seq)
            start, dropped_at, on = time.perf_counter(), None, {}
            while time.perf_counter() - start < 60:
                i = len(votes)
                if i % 2:  # the moderator switches the projector: a whole table for JSON
                    answer = await http.put(
                        f"/api/tables/{code}/screen",
                        json={"mode": ("wall", "results")[i // 2 % 2]},
                        headers={"Authorization": f"Bearer {runner}"},
                    )
                else:  # each voter toggles one proposal
                    voter = voters[i // 2 % len(voters)]
                    on[voter] = not on.get(voter, False)
                    answer = await http.put(
                        f"/api/proposals/{ids[i // 2 % len(voters)]}/vote",
                        json={"dots": int(on[voter])},
                        headers={"Authorization": f"Bearer {voter}"},
                    )
                assert answer.status_code == 200, answer.text
                now = time.perf_counter()
                votes.append((now - start, now, answer.json()["seq"]))
                if dropped_at is None and dropped in server.log.read_text()[offset:]:
                    dropped_at = now - start
                if dropped_at is not None and now - start > dropped_at + 3:
                    break  # a few seconds of votes after the drop
                await asyncio.sleep(0.08)
            await asyncio.sleep(1)
        reading.cancel()
        await reader.close()
        received, close_codes = await asyncio.to_thread(_drain, raw, 20)
        raw.close()
        latencies = [
            (since, min((t for s, t in arrivals.items() if s >= seq), default=float("inf")) - at)
            for since, at, seq in votes
        ]
        return {
            "votes": len(votes),
            "dropped_at": dropped_at,
            "gaps": gaps,
            "resyncs_while_voting": [t for t in resyncs if t > start],
            "received": received,
            "close_codes": close_codes,
            "latencies": latencies,
        }

    figures = asyncio.run(scenario())
    dropped_at = figures["dropped_at"]
    before = [ms for since, ms in figures["latencies"] if dropped_at is None or since < dropped_at]
    after = [ms for since, ms in figures["latencies"] if dropped_at and since >= dropped_at]

    def summary(values: list[float]) -> str:
        if not values:
            return "none"
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        median = statistics.median(values)
        return f"n={len(values)} median={median * 1000:.0f} ms p95={p95 * 1000:.0f} ms"

    print(
        f"\nstalled JSON socket: dropped {dropped_at and round(dropped_at, 1)} s after voting "
        f"began ({figures['votes']} votes); it had received {figures['received']:,} bytes "
        f"when drained, close codes {figures['close_codes']}; reader's vote-to-push latency "
        f"while the other stalled: {summary(before)}; after the drop: {summary(after)}"
    )
    assert dropped_at is not None and dropped_at < 40, "the stalled client was never dropped"
    assert figures["gaps"] == [], "the reading client missed pushes"
    assert figures["resyncs_while_voting"] == [], "the reading client was dropped"
    assert all(ms < 2 for _since, ms in figures["latencies"]), "a push reached the reader late"
    assert figures["close_codes"] in ([], [1013])  # the close frame, if it could be queued
    assert re.search(r"closing a socket \(api\) of table \d+ with 1013", server.log.read_text())


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_client_that_stops_answering_pings_is_closed_quietly(tmp_path: Path) -> None:
    """Small pushes never fill a stalled client's buffers, so neither bound above trips: the
    keepalive (`--ws-ping-interval`, as `make run` sets it) closes it, and the server's log
    stays clean (no traceback for a socket that was closed while a push was due)."""
    env = {"TAVOLI_ADMIN_TOKEN": ADMIN_TOKEN, "TAVOLI_SECRET_KEY": "limits-secret-key"}
    log = tmp_path / "server.log"
    ping = ("--ws-ping-interval", "1", "--ws-ping-timeout", "1")
    with running_server(f"sqlite:///{tmp_path}/tavoli.db", log, *ping, **env) as base:
        server = Server(base, log)
        code, _runner, ids = _table(server, proposals=5, title_length=20)
        voters = [
            server.json("POST", f"/api/tables/{code}/participants")["token"] for _ in range(5)
        ]
        raw = _stalled_socket(server.port, f"/api/tables/{code}/stream")
        started, closed_after = time.monotonic(), None
        for i in range(60):  # a vote every 0.1 s: a small push each
            voter = voters[i % len(voters)]
            server.json("PUT", f"/api/proposals/{ids[i % len(ids)]}/vote", voter, dots=(i // 5) % 2)
            time.sleep(0.1)
        raw.settimeout(10)
        with contextlib.suppress(ConnectionResetError):
            while raw.recv(1 << 16):  # what it was sent, then the end of the connection
                pass
        closed_after = time.monotonic() - started
        raw.close()
        server.http.close()
    assert closed_after < 20, "the stalled client was never closed"
    text = log.read_text()
    assert "Traceback" not in text and "Exception in ASGI application" not in text, text[-3000:]


def test_votes_past_the_limit_are_429_and_not_counted_and_paper_ballots_are_not_limited(
    settings: Settings, engine: Any
) -> None:
    """The vote's limit is counted in its unit of work (the group commit), where the API's
    token is first read: a phone past it gets 429 with Retry-After and its vote is not
    counted; the moderator typing in a paper participant's votes is not limited."""
    from app.models import Table
    from app.services import moderation, voting
    from tests.test_api import bearer, join, post, set_phase

    app = create_app(
        settings.model_copy(update={"tavoli_rate_limits": True, "tavoli_limits": "vote=3/minute"})
    )
    with TestClient(app) as client:
        _, code = create_table(client)
        me = join(client, code)
        ids = [post(client, code, me, title) for title in ("Casa", "Lavoro", "Scuola", "Salute")]
        set_phase(client, code, "voting")
        answers = [
            client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
            for pid in ids
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert 1 <= int(answers[3].headers["retry-after"]) <= 60
        table = client.get(f"/api/tables/{code}").json()
        assert [p["tally"] for p in table["proposals"]] == [1, 1, 1, 0]
        with Session(engine) as session:
            found = session.exec(select(Table).where(Table.code == code)).one()
            paper = moderation.add_paper_participant(session, found, name="Anna").participant
            for pid in ids:  # four votes, one a limit of three would refuse
                voting.set_vote(session, participant=paper, proposal_id=pid, dots=1)
        table = client.get(f"/api/tables/{code}").json()
        assert [p["tally"] for p in table["proposals"]] == [2, 2, 2, 1]
