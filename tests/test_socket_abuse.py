"""Hostile clients against a real server process: big or many WebSocket messages, slow
request heads. Every loop is bounded in count and time; only loopback addresses."""

import asyncio
import contextlib
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.server import api_table, running_server

pytestmark = pytest.mark.timeout(120)

ADMIN = "socket-abuse-organiser"
MESSAGE_TOO_BIG = 1009
POLICY = 1008  # htmx-ext-ws reconnects on 1006, 1011, 1012 and 1013 only


def _memory(pid: int) -> dict[str, int]:
    """The process's resident set now (VmRSS) and at its peak (VmHWM), in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


async def _table(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        code, _moderator, _ids = await api_table(http, ADMIN, phase="voting")
    return code


async def _screen(base: str, code: str) -> ClientConnection:
    """A projector's socket, its snapshot read."""
    ws = await connect(f"ws{base.removeprefix('http')}/t/{code}/screen/ws", max_size=None)
    await asyncio.wait_for(ws.recv(), 10)
    return ws


async def _closed_with(ws: ClientConnection, seconds: float = 10.0) -> int | None:
    """The close code the server sent (None: closed without one); fails if still open."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _serving(tmp_path: Path, **env: str) -> Iterator[tuple[str, int]]:
    """A server on SQLite without rate limits: its base URL and its process id."""
    processes: list[subprocess.Popen[bytes]] = []
    with running_server(
        f"sqlite:///{tmp_path / 'abuse.db'}",
        tmp_path / "server.log",
        processes=processes,
        TAVOLI_ADMIN_TOKEN=ADMIN,
        TAVOLI_RATE_LIMITS="false",
        **env,
    ) as base:
        yield base, processes[0].pid


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One server for the tests that do not measure its memory."""
    with _serving(tmp_path_factory.mktemp("abuse")) as served:
        yield served


def test_a_message_over_the_limit_closes_the_socket_before_it_is_read(
    server: tuple[str, int],
) -> None:
    """A frame whose header announces 8 MiB is refused at once with 1009 (Message Too Big):
    the server does not wait for, nor keep, its payload."""

    async def scenario(base: str) -> int | None:
        code = await _table(base)
        ws = await _screen(base, code)
        # A masked binary frame announcing 8 MiB, and only its first 100 bytes.
        header = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 8 << 20) + b"mask"
        ws.transport.write(header + b"\0" * 100)
        return await _closed_with(ws, 5)

    assert asyncio.run(scenario(server[0])) == MESSAGE_TOO_BIG


def test_big_messages_on_many_sockets_do_not_grow_the_server(tmp_path: Path) -> None:
    """Before: each socket accepted 16 MiB messages, and a hundred screens sending one each
    took the server from 108 MB to 3.35 GB. Now 20 sockets sending 8 MiB each are closed
    and the server's peak memory hardly moves."""
    sockets, size = 20, 8 << 20
    payload = b"x" * size

    async def scenario(base: str, pid: int) -> tuple[list[int | None], int, int]:
        code = await _table(base)
        screens = [await _screen(base, code) for _ in range(sockets)]
        before = _memory(pid)["VmHWM"]

        async def flood(ws: ClientConnection) -> int | None:
            with contextlib.suppress(ConnectionClosed, OSError):
                await asyncio.wait_for(ws.send(payload), 20)
            return await _closed_with(ws)

        codes = await asyncio.gather(*(flood(ws) for ws in screens))
        async with httpx.AsyncClient(base_url=base) as http:  # still serving
            assert (await http.get(f"/api/tables/{code}")).status_code == 200
        return list(codes), before, _memory(pid)["VmHWM"]

    with _serving(tmp_path) as served:  # its own: the peak must be this test's
        codes, before, peak = asyncio.run(scenario(*served))
    grown = peak - before
    print(f"\npeak RSS grew by {grown / 2**20:.1f} MiB; close codes {set(codes)}")
    # Closed with 1009, or reset when the server stopped reading the rest of the payload.
    assert set(codes) <= {MESSAGE_TOO_BIG, None}, codes
    assert grown < 32 << 20, f"the server grew by {grown / 2**20:.0f} MiB"


def test_a_socket_that_floods_messages_is_closed(server: tuple[str, int]) -> None:
    """Before: 50 sockets sending as fast as they could made pushes 50 times slower and
    pages 90 times slower. Now each is closed (1008, no reconnection) after a small burst,
    and the server answers meanwhile."""
    base, _pid = server

    async def scenario() -> list[int | None]:
        code = await _table(base)
        screens = [await _screen(base, code) for _ in range(20)]

        async def flood(ws: ClientConnection) -> int | None:
            with contextlib.suppress(ConnectionClosed):
                for _ in range(300):  # bounded: closed long before
                    await ws.send("ping")
                    await asyncio.sleep(0)
            return await _closed_with(ws)

        floods = asyncio.gather(*(flood(ws) for ws in screens))
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            assert (await http.get(f"/api/tables/{code}")).status_code == 200
        return list(await floods)

    assert asyncio.run(scenario()) == [POLICY] * 20


def test_a_socket_that_floods_pings_is_closed(server: tuple[str, int]) -> None:
    """uvicorn answered every ping out of the application's sight: 50 sockets pinging as
    fast as they could made pages six times slower. Now a flood of pings closes the socket
    (1008), while a client library's keepalive ping goes on being answered."""
    base, _pid = server

    async def scenario() -> tuple[int | None, float]:
        code = await _table(base)
        flooding, keeping = await _screen(base, code), await _screen(base, code)
        with contextlib.suppress(ConnectionClosed):
            for _ in range(300):  # bounded: closed long before
                await flooding.ping()
                await asyncio.sleep(0)
        latency = await asyncio.wait_for(await keeping.ping(), 5)  # answered: still open
        await keeping.close()
        return await _closed_with(flooding), latency

    code, latency = asyncio.run(scenario())
    assert code == POLICY
    assert latency < 5


def test_a_quiet_socket_may_send_a_few_messages(server: tuple[str, int]) -> None:
    """A client library's keepalive text is ignored, not punished."""
    base, _pid = server

    async def scenario() -> None:
        code = await _table(base)
        ws = await _screen(base, code)
        for _ in range(5):
            await ws.send('{"type": "ping"}')
        with pytest.raises(TimeoutError):  # still open two seconds later
            await _closed_with(ws, 2)
        await ws.close()

    asyncio.run(scenario())


def test_a_request_head_sent_too_slowly_is_cut_off(tmp_path: Path) -> None:
    """Before: nothing bounded the time a request's head could take, and 300 connections
    trickling headers a byte at a time were all held for a minute. Now each has
    TAVOLI_HEADER_TIMEOUT seconds (1.5 here), and the server serves the others meanwhile."""
    timeout, slow = 1.5, 30

    async def trickle(host: str, port: int) -> tuple[float, bytes]:
        """Send a request head a byte every 0.1 s for at most 8 s: when was it cut off?"""
        reader, writer = await asyncio.open_connection(host, port)
        started = asyncio.get_running_loop().time()
        head = b"GET / HTTP/1.1\r\nHost: tavoli\r\n" + b"X-Slow: " + b"a" * 200
        answer = b""
        try:
            for byte in head[:80]:
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    answer += await asyncio.wait_for(reader.read(1024), 0.1)
                    if reader.at_eof():
                        break
        except ConnectionError:
            pass
        finally:
            writer.close()
        return asyncio.get_running_loop().time() - started, answer

    async def idle(host: str, port: int) -> float:
        """Open a connection and send nothing: when is it closed?"""
        reader, writer = await asyncio.open_connection(host, port)
        started = asyncio.get_running_loop().time()
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.read(), 8)
        writer.close()
        return asyncio.get_running_loop().time() - started

    async def scenario(base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        held = asyncio.gather(
            *(trickle(host, int(port)) for _ in range(slow)), idle(host, int(port))
        )
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            assert (await http.get("/healthz")).status_code == 200
        *trickled, quiet = await held
        for seconds, answer in trickled:
            assert seconds < timeout + 1.5, seconds
            assert answer.startswith(b"HTTP/1.1 408"), answer
        assert quiet < timeout + 1.5

    with _serving(tmp_path, TAVOLI_HEADER_TIMEOUT=str(timeout)) as (base, _pid):
        asyncio.run(scenario(base))
