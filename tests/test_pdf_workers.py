"""The PDF workers of a real server: they die with it, however it ends."""

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

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
    """`count` PDF minutes of one table at once (the moderator's token): their statuses."""

    async def main() -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            code, moderator, _ids = await api_table(http, ADMIN, proposals=3, phase="closed")
            answers = await asyncio.gather(
                *(
                    http.get(f"/api/tables/{code}/report.pdf", headers=bearer(moderator))
                    for _ in range(count)
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
