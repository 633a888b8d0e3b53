"""A hall behind one venue address: 1,000 phones join from one address within two minutes and
every one of their sockets gets a vote's push, on a real server with the default limits; a
script making participants far faster than a hall is refused."""

import asyncio
import re
import resource
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.server import api_table, bearer, running_server

ADMIN = "hall-organiser-token"
PHONES = 1000
AT_ONCE = 50  # phones joining at the same moment (the rest queue behind them)
SEQ = re.compile(r'data-seq="(\d+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn in a process with every limit at its default (on, as in production)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * PHONES + 1024  # the phones' sockets, on both ends, and the join connections
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"ulimit -Hn is {hard}: {need} file descriptors are needed")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))  # the server inherits
    data = tmp_path_factory.mktemp("hall")
    with running_server(
        f"sqlite:///{data}/tavoli.db",
        data / "server.log",
        TAVOLI_ADMIN_TOKEN=ADMIN,
        TAVOLI_SECRET_KEY="hall-secret-key",
        TAVOLI_RATE_LIMITS="true",
    ) as base:
        yield base


async def _phone(transport: httpx.AsyncHTTPTransport, base: str, code: str) -> str:
    """One phone scans the QR code: the join page, the form (every field left empty), the
    table's page. Its cookies (session and participant) as a Cookie header."""
    # Not closed: closing a client closes its transport, which the phones share.
    phone = httpx.AsyncClient(transport=transport, base_url=base, timeout=60, follow_redirects=True)
    page = await phone.get(f"/t/{code}")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    joined = await phone.post(f"/t/{code}/join", data={"csrf_token": csrf[1]})
    assert joined.status_code == 200, (joined.status_code, joined.text[-500:])
    assert "tavoli_p" in phone.cookies
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in phone.cookies.jar)


async def _last_seq(socket: ClientConnection, at_least: int, seconds: float) -> int:
    """Read until a message shows `at_least` (or later): the highest seq seen."""
    seen = 0
    deadline = time.monotonic() + seconds
    while seen < at_least:
        message = await asyncio.wait_for(socket.recv(), max(0.1, deadline - time.monotonic()))
        seen = max([seen, *(int(n) for n in SEQ.findall(str(message)))])
    return seen


@pytest.mark.timeout(300)
def test_a_thousand_phones_behind_one_address_join_and_all_see_the_vote(server: str) -> None:
    ws_base = server.replace("http://", "ws://")

    async def scenario() -> dict[str, float]:
        async with httpx.AsyncClient(base_url=server, timeout=30) as http:
            code, _moderator, ids = await api_table(http, ADMIN)
            voter = (await http.post(f"/api/tables/{code}/participants", json={})).json()
        transport = httpx.AsyncHTTPTransport(  # no keep-alive: a pooled connection can go stale
            limits=httpx.Limits(max_connections=AT_ONCE, max_keepalive_connections=0)
        )
        gate = asyncio.Semaphore(AT_ONCE)
        started = time.monotonic()

        async def arrive() -> tuple[ClientConnection, float]:
            async with gate:  # from the QR code scanned to the wall on the phone
                scanned = time.monotonic()
                cookie = await _phone(transport, server, code)
                # As a browser's: it sends no pings of its own and takes every message as it
                # comes (the test reads them only after the vote; the library's default
                # queue of 16 would stop reading the socket, pongs and all).
                socket = await connect(
                    f"{ws_base}/t/{code}/ws",
                    additional_headers={"Cookie": cookie},
                    max_size=None,
                    max_queue=None,
                    ping_interval=None,
                    open_timeout=60,
                )
                await _last_seq(socket, 1, 60)  # its snapshot
                return socket, time.monotonic() - scanned

        arrivals = await asyncio.gather(*(arrive() for _ in range(PHONES)))
        joined_in = time.monotonic() - started
        sockets = [socket for socket, _ in arrivals]
        slowest = max(waited for _, waited in arrivals)
        await transport.aclose()
        async with httpx.AsyncClient(base_url=server, timeout=30) as http:
            vote = await http.put(
                f"/api/proposals/{ids[0]}/vote", json={"dots": 1}, headers=bearer(voter["token"])
            )
            assert vote.status_code == 200, vote.text
            seq = int(vote.json()["seq"])
            voted = time.monotonic()
            seen = await asyncio.gather(*(_last_seq(s, seq, 60) for s in sockets))
            pushed_in = time.monotonic() - voted
        open_at_the_end = sum(1 for s in sockets if s.close_code is None)
        for socket in sockets:
            await socket.close()
        assert all(n >= seq for n in seen)
        return {
            "joined_in": joined_in,
            "slowest": slowest,
            "pushed_in": pushed_in,
            "open": open_at_the_end,
        }

    figures = asyncio.run(scenario())
    print(
        f"\n{PHONES} phones from one address: all joined with a socket in "
        f"{figures['joined_in']:.1f} s (the slowest phone: {figures['slowest']:.1f} s from "
        f"its scan); the vote reached all of them in "
        f"{figures['pushed_in'] * 1000:.0f} ms; {figures['open']:.0f} sockets open"
    )
    assert figures["joined_in"] < 120
    assert figures["slowest"] < 60  # was 157 s: nobody waits for a limit
    assert figures["open"] == PHONES


def test_a_script_making_participants_far_faster_than_a_hall_is_refused(server: str) -> None:
    """From its own address (127.0.0.2), as a script on the venue's network would be: past a
    hall's burst it is refused with 429 and told how long to wait."""

    async def scenario() -> tuple[int, int, int]:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(transport=transport, base_url=server, timeout=30) as http:
            code, _moderator, _ids = await api_table(http, ADMIN)
            made, refused, wait = 0, 0, 0
            for _ in range(1500):  # far faster than phones arrive: back to back, via the API
                answer = await http.post(f"/api/tables/{code}/participants", json={})
                if answer.status_code == 429:
                    refused += 1
                    wait = int(answer.headers["retry-after"])
                    break
                assert answer.status_code == 201, answer.text
                made += 1
            return made, refused, wait

    made, refused, wait = asyncio.run(scenario())
    print(f"\na script made {made} participants before a 429 (Retry-After {wait} s)")
    assert refused == 1
    assert 1000 <= made <= 1200  # a hall's burst, not thousands
    assert wait > 60  # and the rest of the hour is not a new burst
