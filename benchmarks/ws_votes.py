"""Vote-to-screen benchmark: N WebSocket screens watch one table while voters hit the API.

Starts a real uvicorn server on a fresh SQLite file, votes at a steady rate over HTTP and
measures, on every client, how long each vote takes to show up in a pushed delta.
Run from the repository root:  .venv/bin/python benchmarks/ws_votes.py --clients 200
"""

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent
CONNECT_AT_ONCE = 50  # concurrent handshakes: a thousand at once only measures the backlog
DRAIN_SECONDS = 10.0  # after the last vote, how long screens may take to catch up


@dataclass
class Screen:
    """One WebSocket client: what it received, and how its connection ended."""

    connected: bool = False
    error: str = ""
    last: int = 0  # highest seq this screen is known to be current at
    closed_by_server: int | None = None  # close code, 1006 when the socket just died
    gaps: int = 0
    resyncs: int = 0
    empty: int = 0
    pushes: list[tuple[float, int, int]] = field(default_factory=list)  # (t, prev_seq, seq)


@dataclass
class Votes:
    sent_at: dict[int, float] = field(default_factory=dict)  # seq -> perf_counter on the wire
    outcomes: Counter[str] = field(default_factory=Counter)
    pool_waits: list[float] = field(default_factory=list)  # ms, for a free pooled connection
    round_trips: list[float] = field(default_factory=list)  # ms, on the wire, acked votes only
    client_lag: list[float] = field(default_factory=list)  # ms our own event loop overslept
    pdfs: list[float] = field(default_factory=list)  # ms per table PDF downloaded meanwhile
    sent: int = 0
    elapsed: float = 0.0


async def open_screen(url: str, screen: Screen, gate: asyncio.Semaphore) -> ClientConnection | None:
    """Handshake and read the snapshot; failures are recorded, not raised."""
    try:
        async with gate:
            ws = await connect(
                url, open_timeout=30, ping_interval=None, close_timeout=2, max_queue=None
            )
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), 30))
        except BaseException:
            await ws.close()
            raise
    except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
        screen.error = type(exc).__name__
        return None
    screen.connected, screen.last = True, int(first["seq"])
    return ws


async def follow(ws: ClientConnection, screen: Screen) -> None:
    """Read pushes until cancelled; a delta whose prev_seq is not our last seq is a gap."""
    try:
        async for raw in ws:
            now = time.perf_counter()
            msg = json.loads(raw)
            seq = int(msg["seq"])
            if "prev_seq" in msg:  # a delta, or a whole "state" after a layout change
                prev = int(msg["prev_seq"])
                screen.gaps += prev != screen.last
                screen.empty += prev == seq
            else:  # the server resent a snapshot: it covers everything up to its seq
                prev = screen.last
                screen.resyncs += 1
            screen.pushes.append((now, prev, seq))
            screen.last = max(screen.last, seq)
        screen.closed_by_server = ws.close_code
    except ConnectionClosed:
        screen.closed_by_server = ws.close_code or 1006
    finally:
        await ws.close()


async def vote_once(
    http: httpx.AsyncClient, token: str, proposal: int, dots: int, votes: Votes
) -> None:
    """One PUT; its send time is when it goes on the wire, after any wait for a connection."""
    on_wire: list[float] = []

    async def trace(event: str, _info: object) -> None:
        if event == "http11.send_request_headers.started":
            on_wire.append(time.perf_counter())

    queued = time.perf_counter()
    try:
        response = await http.put(
            f"/api/proposals/{proposal}/vote",
            json={"dots": dots},
            headers={"Authorization": f"Bearer {token}"},
            extensions={"trace": trace},
        )
    except httpx.HTTPError as exc:
        votes.outcomes[type(exc).__name__] += 1
        return
    done = time.perf_counter()
    if not response.is_success:
        votes.outcomes[f"HTTP {response.status_code}"] += 1
        return
    seq = int(response.json()["seq"])
    if seq in votes.sent_at:  # a no-op vote reports an old seq: nothing was pushed for it
        votes.outcomes["no-op"] += 1
        return
    sent = on_wire[0] if on_wire else queued
    votes.sent_at[seq] = sent
    votes.pool_waits.append((sent - queued) * 1000)
    votes.round_trips.append((done - sent) * 1000)
    votes.outcomes["ok"] += 1


async def watch_lag(lags: list[float]) -> None:
    """Our event loop's lateness: when it is large, the latencies we report are inflated."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - before - 0.01) * 1000)


async def vote_steadily(
    http: httpx.AsyncClient, args: argparse.Namespace, tokens: list[str], proposals: list[int]
) -> Votes:
    """Send rate × duration votes on a fixed clock; each one flips a (voter, proposal) pair."""
    votes, dots_on = Votes(), Counter[tuple[int, int]]()
    total = round(args.rate * args.duration)
    tasks: set[asyncio.Task[None]] = set()
    lag = asyncio.create_task(watch_lag(votes.client_lag))
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        voter, proposal = i % len(tokens), proposals[(i // len(tokens)) % len(proposals)]
        dots = dots_on[voter, proposal] = 1 - dots_on[voter, proposal]
        task = asyncio.create_task(vote_once(http, tokens[voter], proposal, dots, votes))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        votes.sent += 1
    await asyncio.gather(*tasks)
    votes.elapsed = time.perf_counter() - start
    lag.cancel()
    return votes


async def download_pdfs(base: str, code: str, moderator: str, times: list[float]) -> None:
    """A coordinator downloading the table's minutes as PDF, one after the other, while the
    room votes: the PDF's CPU must not slow the pushes."""
    headers = {"Authorization": f"Bearer {moderator}"}
    async with httpx.AsyncClient(base_url=base, timeout=120.0) as http:
        while True:
            began = time.perf_counter()
            response = await http.get(f"/api/tables/{code}/report.pdf", headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"PDF: HTTP {response.status_code} {response.text[:200]}")
            times.append((time.perf_counter() - began) * 1000)


async def call(
    http: httpx.AsyncClient, method: str, path: str, token: str | None, body: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.request(method, path, json=body, headers=headers)
    if not response.is_success:  # setting up must work, or there is nothing to measure
        raise SystemExit(f"{method} {path}: HTTP {response.status_code} {response.text}")
    return response.json()


async def set_up(
    http: httpx.AsyncClient, args: argparse.Namespace, admin: str
) -> tuple[str, str, list[str], list[int]]:
    """An event, one table, V participants and P proposals, all through the public API."""
    today = dt.date.today().isoformat()
    event = await call(http, "POST", "/api/events", admin, {"title": "Benchmark", "date": today})
    moderator = event["moderator_token"]
    voting: dict[str, Any] = {"mode": "approval"}
    if args.mode == "dots":  # one dot per proposal at most, and enough dots for all of them
        voting = {"mode": "dots", "dots": min(args.proposals, 100), "max_per_proposal": 1}
    table_in = {"title": "Tavolo di prova", "question": "Che cosa serve?", "voting": voting}
    table = await call(http, "POST", f"/api/events/{event['id']}/tables", moderator, table_in)
    base = f"/api/tables/{table['code']}"
    await call(http, "PUT", f"{base}/phase", moderator, {"phase": "collect"})
    tokens = [
        (await call(http, "POST", f"{base}/participants", None, {}))["token"]
        for _ in range(args.voters)
    ]
    proposals: list[int] = []
    for i in range(args.proposals):
        body = {"kind": "proposal", "title": f"Proposta {i + 1}"}
        posted = await call(http, "POST", f"{base}/proposals", tokens[i % len(tokens)], body)
        proposals.append(posted["id"])
    await call(http, "PUT", f"{base}/phase", moderator, {"phase": "voting"})
    return table["code"], moderator, tokens, proposals


async def run(args: argparse.Namespace, port: int, admin: str) -> tuple[list[Screen], Votes]:
    base = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=min(args.voters, 100))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10.0) as http:
        code, moderator, tokens, proposals = await set_up(http, args, admin)
        url = f"ws://127.0.0.1:{port}/api/tables/{code}/stream"
        screens = [Screen() for _ in range(args.clients)]
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)
        sockets = await asyncio.gather(*(open_screen(url, s, gate) for s in screens))
        tasks = [
            asyncio.create_task(follow(ws, s))
            for ws, s in zip(sockets, screens, strict=True)
            if ws is not None
        ]
        print(f"{sum(s.connected for s in screens)}/{args.clients} screens connected; voting")
        pdf_times: list[float] = []
        if args.pdf:
            tasks.append(asyncio.create_task(download_pdfs(base, code, moderator, pdf_times)))
        try:
            votes = await vote_steadily(http, args, tokens, proposals)
            votes.pdfs = pdf_times
            target = max(votes.sent_at, default=0)
            for _ in range(round(DRAIN_SECONDS / 0.05)):  # until every live screen caught up
                live = (s for s in screens if s.connected and s.closed_by_server is None)
                if all(s.last >= target for s in live):
                    break
                await asyncio.sleep(0.05)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return screens, votes


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else math.nan


def report(
    args: argparse.Namespace, screens: list[Screen], votes: Votes, extra: list[tuple[str, Any]]
) -> None:
    latencies: list[float] = []
    for screen in screens:
        for received, prev, seq in screen.pushes:
            for s in range(prev + 1, seq + 1):
                if (sent := votes.sent_at.get(s)) is not None:
                    latencies.append((received - sent) * 1000)
    latencies.sort()
    connected = [s for s in screens if s.connected]
    dropped = Counter(s.closed_by_server for s in connected if s.closed_by_server is not None)
    failed = votes.sent - votes.outcomes["ok"] - votes.outcomes["no-op"]
    expected = len(connected) * len(votes.sent_at)
    rows = [
        ("screens requested / connected", f"{args.clients} / {len(connected)}"),
        ("connect errors", dict(Counter(s.error for s in screens if s.error)) or "none"),
        ("disconnected by server", f"{sum(dropped.values())} (close codes {dict(dropped)})"),
        ("votes sent / acknowledged / failed", f"{votes.sent} / {votes.outcomes['ok']} / {failed}"),
        ("vote outcomes", dict(votes.outcomes)),
        ("last vote answered after", f"{votes.elapsed:.1f} s ({votes.sent / votes.elapsed:.1f}/s)"),
        ("pushes received (all screens)", sum(len(s.pushes) for s in screens)),
        ("  of which empty (seq == prev_seq)", sum(s.empty for s in screens)),
        ("  of which resync snapshots", sum(s.resyncs for s in screens)),
        ("lost pushes (sequence gaps)", sum(s.gaps for s in screens)),
        ("vote deliveries measured", f"{len(latencies)} of {expected} (screens × acked votes)"),
    ]
    measured = {
        "vote waited for a connection": sorted(votes.pool_waits),
        "vote request round trip": sorted(votes.round_trips),
        "vote-to-screen": latencies,
        "benchmark's own loop lag": sorted(votes.client_lag),
    }
    if args.pdf:
        measured["table PDF downloaded meanwhile"] = sorted(votes.pdfs)
        rows.append(("table PDFs downloaded during the voting", len(votes.pdfs)))
    for name, values in measured.items():
        figures = [f"{percentile(values, q):.0f}" for q in (50, 95, 99, 100)]
        rows.append((f"{name} p50/p95/p99/max", " / ".join(figures) + " ms"))
    width = max(len(label) for label, _ in rows + extra)
    for label, value in rows + extra:
        print(f"  {label:<{width}}  {value}")


def server_status(pid: int) -> tuple[int, float]:
    """Peak RSS in KiB and CPU seconds of the server so far, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return peak, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_fd_limit(clients: int) -> None:
    """Both ends hold one socket per screen; the server inherits our limit."""
    need = clients + 512
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            sys.exit(f"ulimit -n hard limit {hard} is below the {need} descriptors needed")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def wait_until_up(server: subprocess.Popen[bytes], port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with code {server.returncode} before answering")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/docs", timeout=1.0).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"the server did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it lingers (or if we are interrupted while waiting)."""
    try:
        server.terminate()
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def main() -> None:
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` also stops the server
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="WebSocket screens")
    parser.add_argument("--rate", type=float, default=50.0, help="votes per second, in total")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of voting")
    parser.add_argument("--voters", type=int, default=50, help="participants who vote")
    parser.add_argument("--proposals", type=int, default=10, help="proposals to vote on")
    parser.add_argument("--mode", choices=("approval", "dots"), default="approval")
    parser.add_argument(
        "--pdf", action="store_true", help="a coordinator downloads the table's PDF meanwhile"
    )
    args = parser.parse_args()
    if min(args.clients, args.voters, args.proposals) < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("every number must be positive")
    raise_fd_limit(args.clients)
    admin = secrets.token_urlsafe(24)
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tavoli-bench-") as tmp:
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "TAVOLI_ADMIN_TOKEN": admin,
            "TAVOLI_RATE_LIMITS": "false",  # one machine plays a whole hall
            "TAVOLI_SECRET_KEY": secrets.token_urlsafe(32),
            "HUB_URL": "memory://",
        }
        migrated = subprocess.run(
            [str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, capture_output=True
        )
        if migrated.returncode:
            sys.exit(f"alembic upgrade head failed:\n{migrated.stderr.decode()}")
        with socket.socket() as sock:  # a free port; the server binds it right after
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        command = [str(BIN / "uvicorn"), "--factory", "app.main:create_app"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:  # own session: Ctrl-C reaches us, and we stop it
            server = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
            )
        try:
            wait_until_up(server, port)
            print(f"server pid {server.pid} on port {port}; {args.clients} screens, "
                  f"{args.rate:g} votes/s for {args.duration:g} s, {args.mode} voting")  # fmt: skip
            screens, votes = asyncio.run(run(args, port, admin))
            peak_kb, server_cpu = server_status(server.pid)
        finally:
            stop(server)
        log_lines = log_path.read_text(errors="replace").splitlines()
    own_cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    extra = [
        ("server peak RSS (VmHWM)", f"{peak_kb / 1024:.1f} MiB"),
        ("CPU seconds: server / benchmark", f"{server_cpu:.1f} / {own_cpu:.1f}"),
        ("machine load average before / after", f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"),
        ("total duration", f"{time.perf_counter() - began:.1f} s"),
    ]
    report(args, screens, votes, extra)
    print(f"server log: {len(log_lines)} lines")
    for line in log_lines[:20]:
        print(f"  | {line}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
