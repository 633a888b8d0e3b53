"""Slow report files on a real server: made in a queue of their own (votes never wait behind
them, the overflow is refused with Retry-After, the downloads page shows the file is being
prepared), by PDF workers that die with the server, however it ends."""

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.services import events
from tests.conftest import make_event, make_table
from tests.server import api_table, bearer, running_server

pytestmark = pytest.mark.timeout(120)

ADMIN = "pdf-workers-organiser"


def _children() -> dict[int, list[int]]:
    """Every live process's children, read from /proc (zombies count as gone)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            children.setdefault(int(ppid), []).append(int(entry.name))
    return children


def _descendants(pid: int) -> set[int]:
    children, found, todo = _children(), set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    live = {pid for pids in _children().values() for pid in pids}
    return pids & live


def _server_env() -> dict[str, str]:
    return {
        "TAVOLI_ADMIN_TOKEN": ADMIN,
        "TAVOLI_SECRET_KEY": "pdf-workers-secret",
        "TAVOLI_RATE_LIMITS": "false",
        "TAVOLI_PURGE_INTERVAL": "0",
    }


def _pdfs(base: str, count: int) -> list[int]:
    """`count` (at most 2) PDF minutes of one table at once: their statuses."""

    async def main() -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            code, moderator, _ids = await api_table(http, ADMIN, proposals=3, phase="closed")
            answers = await asyncio.gather(
                *(
                    http.get(
                        f"/api/tables/{code}/report.pdf?lang={lang}", headers=bearer(moderator)
                    )
                    for lang in ("it", "en")[:count]  # two files: one job each
                )
            )
            return [answer.status_code for answer in answers]

    return asyncio.run(main())


def test_a_killed_server_leaves_no_pdf_worker_behind(tmp_path: Path) -> None:
    """SIGKILL gives the server no time to stop its workers: they notice on their own and
    end, and the multiprocessing resource tracker with them (before, all of them were
    re-parented to PID 1 and stayed, ~130 MB each, one set per kill)."""
    started: list[subprocess.Popen[bytes]] = []
    with running_server(
        f"sqlite:///{tmp_path}/tavoli.db",
        tmp_path / "server.log",
        processes=started,
        **_server_env(),
    ) as base:
        server = started[0]
        assert _pdfs(base, 2) == [200, 200]  # both workers laid a PDF out
        left = _descendants(server.pid)
        assert len(left) >= 3, left  # two workers and the resource tracker
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(left) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = _alive(left)
        for pid in survivors:  # do not leave them to the next test either
            os.kill(pid, signal.SIGKILL)
        assert not survivors, f"{len(survivors)} of the server's processes outlived it"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_pdf_downloads_in_flight_never_hold_up_a_vote(tmp_path: Path) -> None:
    """Two dozen PDF requests (a read-only coordinator link is enough to send them) on a
    server with 8 request threads: the files are made in the report queue, so every vote
    sent meanwhile is answered about as fast as with no PDF at all, before the PDFs are
    done; what the queue cannot take is refused at once with 503 and Retry-After (before:
    every request thread waited for a PDF, and the votes waited behind them)."""
    env = {**_server_env(), "TAVOLI_THREADS": "8", "TAVOLI_REPORT_QUEUE": "4"}
    with running_server(f"sqlite:///{tmp_path}/tavoli.db", tmp_path / "server.log", **env) as base:

        async def main() -> None:
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
            async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
                code, _moderator, (proposal,) = await api_table(http, ADMIN, proposals=1)
                closed = [
                    await api_table(http, ADMIN, proposals=15, phase="closed") for _ in range(6)
                ]
                voters = []
                for _ in range(60):
                    joined = await http.post(f"/api/tables/{code}/participants", json={})
                    voters.append(str(joined.json()["token"]))

                async def vote(token: str) -> float:
                    started = time.monotonic()
                    answer = await http.put(
                        f"/api/proposals/{proposal}/vote", json={"dots": 1}, headers=bearer(token)
                    )
                    assert answer.status_code == 200, answer.text
                    return time.monotonic() - started

                async def votes(tokens: list[str]) -> list[float]:
                    """Four phones at a time, as a busy table votes."""
                    waits: list[float] = []
                    for n in range(0, len(tokens), 4):
                        waits += await asyncio.gather(*(vote(t) for t in tokens[n : n + 4]))
                    return waits

                # Warm: a first PDF starts the PDF workers (counted in neither measure).
                first = await http.get(
                    f"/api/tables/{closed[0][0]}/report.pdf", headers=bearer(closed[0][1])
                )
                assert first.status_code == 200
                baseline = await votes(voters[:20])

                async def pdf(table_code: str, token: str, lang: str) -> httpx.Response:
                    return await http.get(
                        f"/api/tables/{table_code}/report.pdf?lang={lang}", headers=bearer(token)
                    )

                pdfs = [
                    asyncio.create_task(pdf(table_code, token, lang))
                    for table_code, token, _ids in closed
                    for lang in ("it", "en")
                    for _twice in range(2)  # each asked twice: the second joins the first
                ]
                await asyncio.sleep(0.3)  # every PDF request has arrived
                pending = sum(not task.done() for task in pdfs)  # as the votes start
                during = await votes(voters[20:])
                answers = await asyncio.gather(*pdfs)

                bound = max(1.0, 10 * _percentile(baseline, 0.9))
                print(  # the figures, for the record (pytest -s)
                    f"votes p50/max: alone {_percentile(baseline, 0.5):.3f}/{max(baseline):.3f}"
                    f" s, with PDFs {_percentile(during, 0.5):.3f}/{max(during):.3f} s"
                )
                assert max(during) < bound, (max(during), bound)
                statuses = sorted(answer.status_code for answer in answers)
                assert pending > 0, "the PDFs were done before the votes began: nothing measured"
                assert statuses.count(200) >= 8 and statuses.count(503) >= 8, statuses
                assert set(statuses) == {200, 503}, statuses
                for answer in answers:
                    if answer.status_code == 503:
                        assert int(answer.headers["retry-after"]) >= 1
                    else:
                        assert answer.content.startswith(b"%PDF")

        asyncio.run(main())


def test_a_slow_file_shows_it_is_being_prepared_then_comes(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    """The downloads page's PDF link, when the file takes longer than the page waits (here
    no wait at all): 202 and a page saying it is being prepared, which asks again by itself
    (a Refresh header, no script) at the place its Location names; then the file. Another
    event's link cannot fetch it."""
    app.state.settings = app.state.settings.model_copy(update={"tavoli_report_wait": 0})
    event, _moderator = make_event(session)
    table = make_table(session, event, phase="closed")
    token = events.new_coordinator_link(session, event)
    other, _ = make_event(session, title="Un altro evento")
    stranger = events.new_coordinator_link(session, other)

    answer = client.get(f"/c/{token}/tables/{table.code}/report.pdf", follow_redirects=False)
    assert answer.status_code == 202
    where = answer.headers["location"]
    assert where.startswith(f"/c/{token}/files/")
    assert answer.headers["refresh"] == f"2; url={where}"
    assert answer.headers["retry-after"] == "2"
    assert "Il file è in preparazione" in answer.text
    assert "<script>" not in answer.text  # the page's own CSP allows no inline script
    job_id = where.rsplit("/", 1)[1]
    assert client.get(f"/c/{stranger}/files/{job_id}").status_code == 404

    deadline = time.monotonic() + 60
    while (answer := client.get(where)).status_code == 202:
        assert time.monotonic() < deadline, "the PDF never came"
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text[:200]
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("attachment")
    assert answer.content.startswith(b"%PDF")
    assert client.get(f"/c/{stranger}/files/{job_id}").status_code == 404
