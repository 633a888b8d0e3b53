"""A real Tavoli server process for tests that need one (concurrency, sockets, logs)."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]


# As `make run` and the image serve: pushes written to each socket's transport, and a
# deadline for each request's head.
WEBSOCKET_PROTOCOL = "app.live.wire:WebSocketProtocol"
HTTP_PROTOCOL = "app.protocol:HttpProtocol"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(
    database_url: str,
    log_path: Path,
    *args: str,
    processes: list["subprocess.Popen[bytes]"] | None = None,
    **env: str,
) -> Iterator[str]:
    """Migrate the database like `make run` does, start uvicorn on a free port, yield its
    base URL; the server is stopped (and its log closed) on the way out. `processes` gets
    the server's process (a test may kill it)."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HUB_URL": "memory://",
        "TAVOLI_WARM_PDF": "false",
        **env,
    }
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
    )
    port = free_port()
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "app.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--http",
                HTTP_PROTOCOL,
                "--ws",
                WEBSOCKET_PROTOCOL,
                "--ws-max-size",
                "4096",
                *args,
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if processes is not None:
            processes.append(server)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    httpx.get(base + "/", timeout=0.5)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("the server did not start: " + log_path.read_text())
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def api_table(
    http: httpx.AsyncClient, admin: str, *, proposals: int = 1, phase: str = "voting"
) -> tuple[str, str, list[int]]:
    """Through a running server's API: an event with one table, `proposals` posts by one
    participant, then `phase`. The table's code, its moderator's token, the posts' ids."""
    event = await http.post(
        "/api/events",
        json={"title": "Stati Generali del Welfare", "date": "2026-11-30"},
        headers=bearer(admin),
    )
    assert event.status_code == 201, event.text
    moderator = str(event.json()["moderator_token"])
    created = await http.post(
        f"/api/events/{event.json()['id']}/tables",
        json={"title": "Abitare e inclusione"},
        headers=bearer(moderator),
    )
    assert created.status_code == 201, created.text
    code = str(created.json()["code"])

    async def move_to(phase: str) -> None:
        answer = await http.put(
            f"/api/tables/{code}/phase", json={"phase": phase}, headers=bearer(moderator)
        )
        assert answer.status_code == 200, answer.text

    await move_to("collect")
    author = (await http.post(f"/api/tables/{code}/participants", json={})).json()["token"]
    ids = []
    for n in range(proposals):
        posted = await http.post(
            f"/api/tables/{code}/proposals",
            json={"title": f"Un centro diurno per anziani soli, quartiere {n + 1}"},
            headers=bearer(author),
        )
        assert posted.status_code == 201, posted.text
        ids.append(int(posted.json()["id"]))
    if phase != "collect":
        await move_to(phase)
    return code, moderator, ids


async def until_closed(ws: ClientConnection, within: float = 10) -> tuple[list[str], int | None]:
    """Every message until the server closes the socket, and its close code; fails if the
    socket is still open after `within` seconds."""
    messages: list[str] = []
    try:
        async with asyncio.timeout(within):
            while True:
                messages.append(str(await ws.recv()))
    except ConnectionClosed as closed:
        return messages, closed.rcvd.code if closed.rcvd else None
    raise AssertionError("unreachable")
