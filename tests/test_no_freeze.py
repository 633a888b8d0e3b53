"""A hall voting at once, or one script, never freezes the server (a real server process).

Before the fix, about 55 concurrent requests deadlocked the thread pool against the
connection pool for 30 s and ended in 500s."""

import asyncio
import statistics
import time
from pathlib import Path

import httpx
import pytest

from tests.server import api_table, bearer, running_server

ADMIN = "no-freeze-organiser"
VOTERS = 300


async def _hall(base: str) -> dict[str, object]:
    limits = httpx.Limits(max_connections=2 * VOTERS + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        code, _moderator, ids = await api_table(client, ADMIN, proposals=10)
        tokens = [
            (await client.post(f"/api/tables/{code}/participants", json={})).json()["token"]
            for _ in range(VOTERS)
        ]

        async def timed(request: object) -> tuple[int, float]:
            started = time.perf_counter()
            response = await request  # type: ignore[misc]
            return response.status_code, time.perf_counter() - started

        votes = [
            timed(
                client.put(
                    f"/api/proposals/{ids[i % 10]}/vote", json={"dots": 1}, headers=bearer(token)
                )
            )
            for i, token in enumerate(tokens)
        ]
        reads = [timed(client.get(f"/api/tables/{code}")) for _ in range(VOTERS)]
        screen = timed(client.get(f"/t/{code}/screen"))
        started = time.perf_counter()
        results = await asyncio.gather(*votes, *reads, screen)
        wall = time.perf_counter() - started
        final = (await client.get(f"/api/tables/{code}")).json()
    return {"results": results, "wall": wall, "final": final}


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.timeout(180)
def test_300_votes_and_300_reads_at_once_are_all_answered(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with running_server(
        database_url, log, TAVOLI_ADMIN_TOKEN=ADMIN, TAVOLI_RATE_LIMITS="false"
    ) as base:
        outcome = asyncio.run(_hall(base))
    results = outcome["results"]
    assert isinstance(results, list)
    statuses = [status for status, _ in results]
    times = sorted(seconds for _, seconds in results)
    p50 = statistics.median(times)
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"\n{len(results)} requests in {outcome['wall']:.2f} s: p50 {p50:.2f} s, p99 {p99:.2f} s")
    # A request stuck waiting for a connection ends in a 500 after the pool's timeout (10 s),
    # so every 200 is the proof; a bound on the slowest answer would only measure the machine.
    assert statuses.count(200) == len(results), sorted(set(statuses))
    final = outcome["final"]
    assert isinstance(final, dict)
    assert sum(p["tally"] for p in final["proposals"]) == VOTERS  # every acknowledged vote
    assert "Traceback" not in log.read_text()
