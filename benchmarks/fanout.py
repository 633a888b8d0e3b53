"""Fan-out close to the limit: Tavoli beside a bare `websockets` broadcast, in one run.

For each scenario the harness starts Tavoli (uvicorn, one worker on SQLite by default, or
`--workers 2 --database postgresql --hub redis`), creates an event and its tables through
the JSON API, spreads its screens over `--client-procs` processes (JSON streams and htmx
HTML streams, per-message deflate offered as browsers do with `--deflate`), and votes with
one HTTP connection per voter, as phones do. Then it starts `benchmarks/bare_server.py`,
which broadcasts a payload of the same size and content for every vote, and drives it with
the same client code. It reports both and their ratio, in Markdown and (`--json`) JSON.

    .venv/bin/python benchmarks/fanout.py --scenario json500,json1000,json2000,quiet
    .venv/bin/python benchmarks/fanout.py --scenario custom --clients 300 --duration 10

See benchmarks/README.md and docs/performance.md for what each figure means.
"""

import argparse
import asyncio
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent
CONNECT_AT_ONCE = 50  # concurrent handshakes per client process
DRAIN_SECONDS = 15.0  # after the last vote, how long screens may take to catch up
STALLED_CLOSE_SECONDS = 15.0  # how long a stalled screen waits to be closed, reading again
KEEPALIVE_SECONDS = 4.0  # uvicorn closes an idle keep-alive connection after 5 s
SEQ_HTML = re.compile(r'id="seq" data-seq="(\d+)"')
SEQ_HTML_BYTES = re.compile(rb'id="seq" data-seq="(\d+)"')
# Every JSON push starts `{"seq":N,"type":"...","prev_seq":M` (app/live/fragments.py).
LEAN_HEAD = re.compile(rb'\{"seq":(\d+),"type":"(\w+)"(?:,"prev_seq":(\d+))?')
LEAN_CHECKERS = 2  # screens per table and client process that decode every push (tallies)
LEAN_ADDRESSES = 64  # loopback source addresses per client process
PG_ADMIN_URL = os.environ.get("TAVOLI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TAVOLI_BENCH_REDIS", "redis://127.0.0.1:6379")


@dataclass
class Scenario:
    """One measured setting; both servers run it with the same numbers."""

    name: str
    clients: int = 500  # screens, over all tables
    tables: int = 1
    html: float = 0.0  # share of screens on the htmx HTML stream, the rest JSON
    deflate: bool = False
    rate: float = 20.0  # votes per second in total (steady voting)
    duration: float = 20.0
    voters: int = 50  # per table
    proposals: int = 10
    burst: bool = False  # each voter votes once, at a random moment within `duration`
    slow: float = 0.0  # share of screens that stop reading after `slow_after` seconds
    slow_after: float = 2.0
    server_deflate: bool = True  # the servers accept per-message deflate when offered
    ws: str = "app.live.wire:WebSocketProtocol"  # Tavoli's uvicorn --ws (as `make run`)
    workers: int = 1
    database: str = "sqlite"
    hub: str = "memory"
    baseline: bool = True
    dashboard: bool = False  # the event moderator's dashboard follows every table (Tavoli)
    note: str = ""
    # "qa": a questions-and-answers table, its one live phase open (posting and supporting
    # at once, the wall sorted by support: every push carries the order); one action in
    # `1 / questions` is a new question (POST) instead of a support.
    format: str = "tavolo"
    questions: float = 0.0


SCENARIOS: dict[str, Scenario] = {
    "json500": Scenario("json500", clients=500),
    "json1000": Scenario("json1000", clients=1000),
    "json2000": Scenario("json2000", clients=2000),
    "quiet": Scenario("quiet", clients=200, rate=1 / 1.5, duration=30.0),
    "deflate": Scenario("deflate", clients=1000, html=0.5, deflate=True),
    "burst": Scenario("burst", clients=500, voters=1000, burst=True, duration=5.0, rate=200.0),
    "slow": Scenario("slow", clients=1000, slow=0.05, duration=30.0),  # past the keepalive
    "reveal": Scenario(
        "reveal",
        clients=200,
        voters=1000,
        burst=True,
        duration=5.0,
        rate=200.0,
        baseline=False,
        note="the reveal moment: 1,000 phones vote within 5 s while 200 screens watch",
    ),
    "event": Scenario(
        "event",
        clients=2000,
        tables=10,
        rate=100.0,
        duration=60.0,
        dashboard=True,
        note="a whole event: 10 tables of 200 screens each and the event's dashboard, "
        "100 votes/s spread over the tables for a minute",
    ),
    "qa1000": Scenario(
        "qa1000",
        clients=1000,
        proposals=30,
        format="qa",
        questions=0.1,
        note="Domande e risposte: 1,000 stream clients; supports, and a new question in ten",
    ),
    "workers2": Scenario(
        "workers2",
        clients=5000,
        tables=10,
        workers=2,
        database="postgresql",
        hub="redis",
        note="5,000 clients over 10 tables, each table's clients over both workers",
    ),
    "workers1": Scenario(
        "workers1",
        clients=5000,
        tables=10,
        database="postgresql",
        note="workers2's tables and clients on one worker (PostgreSQL, memory hub)",
    ),
}


# --------------------------------------------------------------------------------------
# Client processes: screens only. They share nothing with the main process but a pipe.
# --------------------------------------------------------------------------------------


@dataclass
class ScreenRec:
    table: str
    port: int
    kind: str  # "json" or "html"
    stall: bool
    connected: bool = False
    error: str = ""
    first: int = 0
    last: int = 0
    close_code: int | None = None
    gaps: int = 0
    dups: int = 0
    empty: int = 0
    resyncs: int = 0
    bytes: int = 0
    pushes: list[tuple[float, int, int]] = field(default_factory=list)  # (t, prev, seq)
    tallies: dict[str, int] = field(default_factory=dict)
    stalled_at: int | None = None  # seq when it stopped reading
    decodes: bool = True  # decodes every push (lean screens but a few checkers do not)


SAMPLES = 200  # pushes kept per kind and client process, drawn over the whole run


@dataclass
class Samples:
    """The deltas the decoding screens received: a uniform draw over the whole run, and the
    count and bytes of them all, per kind. The baseline sends a push of their mean size, so
    that both servers send the same bytes: the first pushes of a Q&A are shorter than the
    later ones (the order grows, a new question carries its text)."""

    # As received: bytes from the lean screens, text from the others (one or the other for
    # a kind in a run). Sizes are counted in the same unit, and nothing is encoded or
    # decoded per push: the full clients call this for every push on every screen.
    kept: dict[str, list[str | bytes]] = field(default_factory=dict)
    seen: Counter[str] = field(default_factory=Counter)
    size: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, raw: str | bytes) -> None:
        self.seen[kind] += 1
        self.size[kind] += len(raw)
        kept = self.kept.setdefault(kind, [])
        slot = len(kept) if len(kept) < SAMPLES else random.randrange(self.seen[kind])
        if slot < SAMPLES:
            kept[slot : slot + 1] = [raw]


def _parse(kind: str, raw: str | bytes) -> tuple[str, int, int | None, Any]:
    """(type, seq, prev_seq or None, decoded JSON or None)."""
    if kind == "dash":  # the event dashboard: counted, not timed (its pushes span tables)
        return "dash", -1, None, None
    text = raw if isinstance(raw, str) else raw.decode()
    if kind == "html":
        found = SEQ_HTML.search(text)
        return "html", int(found.group(1)) if found else -1, None, None
    msg = json.loads(text)
    return str(msg.get("type", "")), int(msg["seq"]), msg.get("prev_seq"), msg


def _lean_parse(kind: str, raw: bytes, decode: bool) -> tuple[str, int, int | None, Any]:
    """`_parse` reading only the push's head (a lean screen), or decoding it (a checker)."""
    if decode or kind == "dash":
        return _parse(kind, raw)
    if kind == "html":
        found = SEQ_HTML_BYTES.search(raw)
        return "html", int(found.group(1)) if found else -1, None, None
    head = LEAN_HEAD.match(raw, 0, 96)
    if head is None:
        return "", -1, None, None
    prev = head.group(3)
    return head.group(2).decode(), int(head.group(1)), int(prev) if prev else None, None


def _apply_tallies(rec: ScreenRec, kind: str, msg: Any) -> None:
    if msg is None:
        return
    if kind in ("snapshot", "state"):
        rec.tallies = {str(p["id"]): p.get("tally") or 0 for p in msg.get("proposals", [])}
    elif kind == "delta":
        for p in msg.get("proposals", []):
            rec.tallies[str(p["id"])] = p.get("tally") or 0
        rec.tallies.update({k: v for k, v in (msg.get("tallies") or {}).items()})


async def _screen(url: str, rec: ScreenRec, deflate: bool, gate: asyncio.Semaphore) -> Any:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    try:
        async with gate:
            ws = await connect(
                url,
                open_timeout=60,
                ping_interval=None,
                close_timeout=2,
                max_queue=None,
                max_size=None,
                compression="deflate" if deflate else None,
            )
        first = await asyncio.wait_for(ws.recv(), 60)
    except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
        rec.error = type(exc).__name__
        return None
    kind, seq, _prev, msg = _parse(rec.kind, first)
    _apply_tallies(rec, kind, msg)
    rec.connected, rec.first, rec.last = True, seq, seq
    return ws


def _received(
    rec: ScreenRec,
    now: float,
    raw: str | bytes,
    parsed: tuple[str, int, int | None, Any],
    samples: Samples,
) -> None:
    """Account one push: gaps (JSON prev_seq), duplicates, resyncs, tallies, its time."""
    kind, seq, prev, msg = parsed
    rec.bytes += len(raw)
    if kind == "dash":
        rec.pushes.append((now, -1, -1))
        return
    if rec.kind == "json" and kind != "snapshot" and prev is not None:
        prev = int(prev)
        rec.gaps += prev != rec.last
        rec.empty += prev == seq
    else:  # HTML carries no prev_seq; a snapshot covers everything up to its seq
        if kind == "snapshot":
            rec.resyncs += 1
        rec.dups += seq <= rec.last and kind != "snapshot"
        prev = rec.last
    _apply_tallies(rec, kind, msg)
    if seq > rec.last or kind == "snapshot":
        rec.pushes.append((now, prev, seq))
    rec.last = max(rec.last, seq)
    if kind in ("delta", "html"):
        samples.add(rec.kind, raw)


async def _follow(ws: Any, rec: ScreenRec, samples: Samples) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for raw in ws:
            _received(rec, time.monotonic(), raw, _parse(rec.kind, raw), samples)
        rec.close_code = ws.close_code
    except ConnectionClosed:
        rec.close_code = ws.close_code or 1006


class _Lean:
    """A lean screen (benchmarks/lean_socket.py) behind the `websockets` client's face:
    what `_client` needs of a socket (pause, resume, close, its close code)."""

    def __init__(self, screen: Any, rec: ScreenRec) -> None:
        self.screen, self.rec = screen, rec

    async def follow(self) -> None:
        self.rec.close_code = await self.screen.closed

    @property
    def transport(self) -> Any:
        return self

    def pause_reading(self) -> None:
        self.screen.pause()

    def resume_reading(self) -> None:
        self.screen.resume()

    async def close(self) -> None:
        self.screen.close()


async def _lean_screen(
    url: str, rec: ScreenRec, local: str, gate: asyncio.Semaphore, samples: Samples
) -> Any:
    import lean_socket  # benchmarks/ is the script's directory, first on sys.path

    opened: list[Any] = []  # the screen, once connected

    def on_message(now: float, raw: bytes) -> None:
        if not rec.connected and opened:  # a push read with the snapshot, not yet accounted
            _snapshot_taken(rec, opened[0].opened.result())
        if lean_delta and _lean_delta(rec, now, raw):
            return
        _received(rec, now, raw, _lean_parse(rec.kind, raw, rec.decodes), samples)

    # A screen that reads heads only: a JSON delta is accounted in a few steps (a thousand
    # screens a process read every push at once; what they spend is the clients' loop lag).
    lean_delta = rec.kind == "json" and not rec.decodes

    try:
        async with gate:
            screen = await asyncio.wait_for(lean_socket.connect(url, local, on_message), 60)
            opened.append(screen)
            first = await asyncio.wait_for(screen.opened, 60)
    except (OSError, TimeoutError) as exc:
        rec.error = type(exc).__name__
        return None
    if not rec.connected:
        _snapshot_taken(rec, first)
    return _Lean(screen, rec)


def _lean_delta(rec: ScreenRec, now: float, raw: bytes) -> bool:
    """`_received` of a JSON push that follows its predecessor (prev_seq given, not a
    snapshot), read from its head only; False: anything else, left to `_received`."""
    head = LEAN_HEAD.match(raw, 0, 96)
    if head is None or not rec.connected:
        return False
    prev_raw = head[3]
    if prev_raw is None or head[2] == b"snapshot":
        return False
    seq, prev = int(head[1]), int(prev_raw)
    rec.bytes += len(raw)
    if prev != rec.last:
        rec.gaps += 1
    if prev == seq:
        rec.empty += 1
    if seq > rec.last:
        rec.pushes.append((now, prev, seq))
        rec.last = seq
    return True


def _snapshot_taken(rec: ScreenRec, first: bytes) -> None:
    """The screen's first message, the snapshot: decoded once, the start of its chain."""
    rec.bytes += len(first)
    kind, seq, _prev, msg = _parse(rec.kind, first)
    _apply_tallies(rec, kind, msg)
    rec.connected, rec.first, rec.last = True, seq, seq


def _stall(ws: Any, rec: ScreenRec) -> None:
    """Stop reading at the TCP level: the server's sends pile up in the kernel, then in it."""
    transport = getattr(ws, "transport", None)
    if transport is not None:
        transport.pause_reading()
        rec.stalled_at = rec.last


def client_main(conn: Connection, spec: dict[str, Any]) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_client(conn, spec))


async def _client(conn: Connection, spec: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    recs = [ScreenRec(**s) for s in spec["screens"]]
    urls = spec["urls"]
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    samples = Samples()
    lean = spec["lean"] and not spec["deflate"]
    if lean:
        checkers: Counter[str] = Counter()
        for rec in recs:
            rec.decodes = checkers[rec.table] < LEAN_CHECKERS and rec.kind == "json"
            checkers[rec.table] += rec.decodes
        base = spec["proc_index"] + 1
        sockets = await asyncio.gather(
            *(
                _lean_screen(u, r, f"127.{base}.0.{i % LEAN_ADDRESSES + 1}", gate, samples)
                for i, (u, r) in enumerate(zip(urls, recs, strict=True))
            )
        )
        tasks = [asyncio.create_task(ws.follow()) for ws in sockets if ws is not None]
    else:
        sockets = await asyncio.gather(
            *(_screen(u, r, spec["deflate"], gate) for u, r in zip(urls, recs, strict=True))
        )
        tasks = [
            asyncio.create_task(_follow(ws, rec, samples))
            for ws, rec in zip(sockets, recs, strict=True)
            if ws is not None
        ]
    lags: list[float] = []

    async def watch_lag() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append((time.monotonic() - before - 0.01) * 1000)

    conn.send(("connected", sum(r.connected for r in recs)))
    go = await loop.run_in_executor(None, conn.recv)  # ("go", t0)
    lag = asyncio.create_task(watch_lag())
    stall_handles = []
    for ws, rec in zip(sockets, recs, strict=True):
        if ws is not None and rec.stall:
            delay = go[1] + spec["slow_after"] - time.monotonic()
            stall_handles.append(loop.call_later(max(0.0, delay), _stall, ws, rec))
    finish = await loop.run_in_executor(None, conn.recv)  # ("finish", targets, sent_at, db)
    _tag, targets, sent_at, db_tallies = finish
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        live = [r for r in recs if r.connected and r.close_code is None and r.stalled_at is None]
        if all(r.last >= targets.get(r.table, 0) for r in live):
            break
        await asyncio.sleep(0.05)
    lag.cancel()
    for handle in stall_handles:
        handle.cancel()
    stalled = [
        (ws, r)
        for ws, r in zip(sockets, recs, strict=True)
        if ws is not None and r.stalled_at is not None
    ]
    if stalled:  # read again: a stalled screen the server gave up on finds a close frame
        for ws, _rec in stalled:
            ws.transport.resume_reading()
        end = time.monotonic() + STALLED_CLOSE_SECONDS
        while time.monotonic() < end and any(r.close_code is None for _ws, r in stalled):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    conn.send(("result", _summarise(recs, sent_at, targets, db_tallies, lags, samples)))
    await asyncio.gather(*(ws.close() for ws in sockets if ws is not None), return_exceptions=True)


def _summarise(
    recs: list[ScreenRec],
    sent_at: dict[str, dict[int, float]],
    targets: dict[str, int],
    db_tallies: dict[str, dict[str, int]],
    lags: list[float],
    samples: Samples,
) -> dict[str, Any]:
    """Latencies of every (screen, vote) pair, the slowest screen per vote, and counts."""
    pairs = array("f")
    slow_pairs = array("f")  # pairs measured on screens that never stalled, for `slow`
    per_vote: dict[str, dict[int, float]] = defaultdict(dict)
    html_seqs: list[tuple[str, int, int, list[int]]] = []
    missed = 0
    for rec in recs:
        if not rec.connected:
            continue
        votes = sent_at.get(rec.table, {})
        worst = per_vote[rec.table]
        for received, prev, seq in rec.pushes:
            for s in range(prev + 1, seq + 1):
                sent = votes.get(s)
                if sent is not None:
                    ms = (received - sent) * 1000
                    pairs.append(ms)
                    if rec.stalled_at is None:  # a stalled screen reads late on purpose
                        slow_pairs.append(ms)
                        if ms > worst.get(s, -1.0):
                            worst[s] = ms
        if rec.stalled_at is None and rec.close_code is None:
            missed += sum(1 for s in votes if s > rec.first and s > rec.last)
        if rec.kind == "html":
            html_seqs.append((rec.table, rec.port, rec.first, [s for _t, _p, s in rec.pushes]))
    json_live = [
        r for r in recs if r.connected and r.kind == "json" and r.stalled_at is None and r.decodes
    ]
    tally_wrong = sum(
        1
        for r in json_live
        if r.table in db_tallies
        and r.close_code is None
        and {k: v for k, v in r.tallies.items() if v}
        != {k: v for k, v in db_tallies[r.table].items() if v}
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "connected": sum(r.connected for r in recs),
        "errors": dict(Counter(r.error for r in recs if r.error)),
        "closes": dict(
            Counter(r.close_code for r in recs if r.close_code is not None and r.stalled_at is None)
        ),
        "stalled": sum(r.stalled_at is not None for r in recs),
        "stalled_closed": dict(Counter(r.close_code for r in recs if r.stalled_at is not None)),
        "pushes": sum(len(r.pushes) for r in recs),
        "bytes": sum(r.bytes for r in recs),
        "gaps": sum(r.gaps for r in recs),
        "dups": sum(r.dups for r in recs),
        "empty": sum(r.empty for r in recs),
        "resyncs": sum(r.resyncs for r in recs),
        "behind": missed,
        "tally_checked": len(json_live),
        "tally_wrong": tally_wrong,
        "pairs": pairs.tobytes(),
        "healthy_pairs": slow_pairs.tobytes(),
        "per_vote": {t: dict(v) for t, v in per_vote.items()},
        "html_seqs": html_seqs,
        "lags": sorted(lags),
        "cpu": usage.ru_utime + usage.ru_stime,
        "samples": samples,
    }


# --------------------------------------------------------------------------------------
# Voters: one keep-alive HTTP/1.1 connection each, as phones have.
# --------------------------------------------------------------------------------------


class Voter:
    """A phone: its own connection, one request at a time, reconnecting when idle."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0
        self.lock = asyncio.Lock()
        self.reconnects = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.used = time.monotonic()

    async def put(self, path: str, body: bytes, method: str = "PUT") -> tuple[int, bytes, float]:
        """(status, body, time the request went on the wire)."""
        for attempt in range(2):
            if self.writer is None or time.monotonic() - self.used > KEEPALIVE_SECONDS or attempt:
                if self.writer is not None:
                    self.writer.close()
                    self.reconnects += 1
                await self.open()
            assert self.reader is not None and self.writer is not None
            request = (
                f"{method} {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
                f"authorization: Bearer {self.token}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            ).encode() + body
            sent = time.monotonic()
            try:
                self.writer.write(request)
                head = await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                length = next(
                    int(ln.split(":", 1)[1])
                    for ln in lines
                    if ln.lower().startswith("content-length")
                )
                answer = await self.reader.readexactly(length)
            except (ConnectionError, asyncio.IncompleteReadError):
                if attempt:
                    raise
                continue  # the server closed an idle connection: a phone would reconnect
            self.used = time.monotonic()
            return status, answer, sent
        raise ConnectionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class VoteLog:
    sent_at: dict[str, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    outcomes: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)
    round_trips: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (due, round trip ms)
    started: float = 0.0
    expected: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    sent: int = 0
    elapsed: float = 0.0


async def _cast(
    voter: Voter,
    path: str,
    table: str,
    proposal: int,
    dots: int,
    log: VoteLog,
    due: float,
    question: str = "",
) -> None:
    """One vote, or with `question` (a Q&A table, on Tavoli) a new question posted instead:
    its seq is measured to every screen like a vote's, and it changes no tally."""
    payload = {"kind": "proposal", "title": question} if question else {"dots": dots}
    async with voter.lock:
        try:
            status, body, sent = await voter.put(
                path, json.dumps(payload).encode(), "POST" if question else "PUT"
            )
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.outcomes[type(exc).__name__] += 1
            return
        done = time.monotonic()
    if status >= 300:
        log.outcomes[f"HTTP {status}"] += 1
        return
    seq = int(json.loads(body)["seq"])
    if question:
        log.outcomes["questions"] += 1
    else:
        log.expected[table][proposal] += 1 if dots else -1
    if seq in log.sent_at[table]:
        log.outcomes["no-op"] += 1
        return
    log.sent_at[table][seq] = sent
    log.waits.append((sent - due) * 1000)
    log.round_trips.append((done - sent) * 1000)
    log.timeline.append((due, (done - sent) * 1000))
    log.outcomes["ok"] += 1


# --------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_figures(pid: int) -> tuple[float, int, int]:
    """CPU seconds, RSS and peak RSS (KiB) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS"))
    peak = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM"))
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"), rss, peak


def wait_until_up(
    proc: subprocess.Popen[bytes], port: int, path: str, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before answering")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                if (
                    not path
                    or httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2.0).status_code < 500
                ):
                    return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.terminate()
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@dataclass
class Servers:
    """What the harness started: processes, their ports, and how to vote on them."""

    kind: str  # "tavoli" or "bare"
    procs: list[subprocess.Popen[bytes]]
    ports: list[int]  # WebSocket (and, for Tavoli, HTTP) port per process
    vote_ports: list[int]
    logs: list[Path]
    cleanup: list[Any] = field(default_factory=list)


def start_tavoli(sc: Scenario, tmp: Path, admin: str, profile: str) -> Servers:
    env = os.environ | {
        "TAVOLI_ADMIN_TOKEN": admin,
        "TAVOLI_RATE_LIMITS": "false",  # one machine plays a whole hall
        "TAVOLI_SECRET_KEY": secrets.token_urlsafe(32),
        "TAVOLI_WARM_PDF": "false",
        "HUB_URL": "memory://",
    }
    cleanup: list[Any] = []
    if sc.database == "postgresql":
        import psycopg

        name = f"tavoli_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as pg:
            pg.execute(f'CREATE DATABASE "{name}"')

        def drop(name: str = name) -> None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as pg:
                pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        cleanup.append(drop)
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        env["DATABASE_URL"] = f"{base}/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
    if sc.hub == "redis":
        import redis

        db = int(os.environ.get("TAVOLI_BENCH_REDIS_DB", "13"))
        redis.Redis.from_url(f"{REDIS_URL}/{db}").flushdb()
        env["HUB_URL"] = f"{REDIS_URL}/{db}"
    migrated = subprocess.run(
        [str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, capture_output=True
    )
    if migrated.returncode:
        raise RuntimeError(f"alembic upgrade head failed:\n{migrated.stderr.decode()[-2000:]}")
    procs, ports, logs = [], [], []
    for i in range(sc.workers):
        port = free_port()
        command = [str(BIN / "uvicorn"), "--factory", "app.main:create_app"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        command += ["--backlog", "4096", "--ws", sc.ws]
        command += ["--ws-ping-interval", "10", "--ws-ping-timeout", "10"]  # as `make run`
        command += ["--ws-max-size", "4096", "--http", "app.protocol:HttpProtocol"]
        if not sc.server_deflate:
            command += ["--ws-per-message-deflate", "false"]
        log_path = tmp / f"tavoli-{i}.log"
        with log_path.open("wb") as log:
            procs.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
                )
            )
        ports.append(port)
        logs.append(log_path)
    servers = Servers("tavoli", procs, ports, ports, logs, cleanup)
    try:
        for proc, port in zip(procs, ports, strict=True):
            wait_until_up(proc, port, "/api/docs")
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def start_bare(tmp: Path, templates: dict[str, str], deflate: bool) -> Servers:
    args = [] if deflate else ["--no-deflate"]
    for kind in ("json", "html"):
        if kind in templates:
            path = tmp / f"template.{kind}"
            path.write_text(templates[kind])
            args += [f"--{kind}-template", str(path)]
    port, vote_port = free_port(), free_port()
    log_path = tmp / "bare.log"
    command = [str(BIN / "python"), str(ROOT / "benchmarks" / "bare_server.py")]
    command += ["--port", str(port), "--vote-port", str(vote_port), *args]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
    servers = Servers("bare", [proc], [port], [vote_port], [log_path])
    try:
        wait_until_up(proc, vote_port, "")
        wait_until_up(proc, port, "")
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: Servers) -> None:
    for proc in servers.procs:
        stop(proc)
    for clean in servers.cleanup:
        try:
            clean()
        except Exception as exc:  # the run's figures matter more than a leftover database
            print(f"cleanup failed: {exc}", file=sys.stderr)


# --------------------------------------------------------------------------------------
# Set-up through the public API (Tavoli) or made up (bare)
# --------------------------------------------------------------------------------------


@dataclass
class Layout:
    codes: list[str]
    tokens: dict[str, list[str]]  # per table
    proposals: dict[str, list[int]]
    moderator: str = ""


async def _call(
    http: httpx.AsyncClient, method: str, path: str, token: str | None, body: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.request(method, path, json=body, headers=headers)
    if not response.is_success:
        raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


async def set_up_tavoli(sc: Scenario, port: int, admin: str) -> Layout:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as http:
        today = dt.date.today().isoformat()
        event = await _call(
            http, "POST", "/api/events", admin, {"title": "Benchmark", "date": today}
        )
        moderator = event["moderator_token"]
        layout = Layout([], {}, {}, moderator)
        gate = asyncio.Semaphore(16)

        async def join(base: str) -> str:
            async with gate:
                return str((await _call(http, "POST", f"{base}/participants", None, {}))["token"])

        for t in range(sc.tables):
            table_in = {
                "title": f"Tavolo {t + 1}",
                "question": "Che cosa serve?",
                "voting": {"mode": "approval"},
                "format": sc.format,
            }
            table = await _call(
                http, "POST", f"/api/events/{event['id']}/tables", moderator, table_in
            )
            code = table["code"]
            base = f"/api/tables/{code}"
            await _call(http, "PUT", f"{base}/phase", moderator, {"phase": "collect"})
            tokens = list(await asyncio.gather(*(join(base) for _ in range(sc.voters))))
            ids = []
            for i in range(sc.proposals):
                body = {
                    "kind": "proposal",
                    "title": f"Proposta {i + 1}: più spazi verdi nel quartiere",
                }
                ids.append(
                    (await _call(http, "POST", f"{base}/proposals", tokens[i % len(tokens)], body))[
                        "id"
                    ]
                )
            if sc.format != "qa":  # a Q&A table supports in the phase it posts in
                await _call(http, "PUT", f"{base}/phase", moderator, {"phase": "voting"})
            layout.codes.append(code)
            layout.tokens[code] = tokens
            layout.proposals[code] = ids
        return layout


def bare_layout(tavoli: Layout) -> Layout:
    """The same tables, voters and proposals, by name only: the bare server takes any."""
    return Layout(list(tavoli.codes), dict(tavoli.tokens), dict(tavoli.proposals))


async def db_tallies(servers: Servers, layout: Layout) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    async with httpx.AsyncClient(timeout=30.0) as http:
        for code in layout.codes:
            if servers.kind == "tavoli":
                r = await http.get(f"http://127.0.0.1:{servers.ports[0]}/api/tables/{code}")
                r.raise_for_status()
                result[code] = {str(p["id"]): p["tally"] or 0 for p in r.json()["proposals"]}
            else:
                r = await http.get(f"http://127.0.0.1:{servers.vote_ports[0]}/tallies/{code}")
                result[code] = {k: int(v) for k, v in r.json()["tallies"].items()}
    return result


async def final_seqs(servers: Servers, layout: Layout) -> dict[str, int]:
    async with httpx.AsyncClient(timeout=30.0) as http:
        out = {}
        for code in layout.codes:
            if servers.kind == "tavoli":
                r = await http.get(f"http://127.0.0.1:{servers.ports[0]}/api/tables/{code}")
            else:
                r = await http.get(f"http://127.0.0.1:{servers.vote_ports[0]}/tallies/{code}")
            out[code] = int(r.json()["seq"])
        return out


# --------------------------------------------------------------------------------------
# One run: one scenario against one server kind
# --------------------------------------------------------------------------------------


def screen_plan(sc: Scenario, servers: Servers, layout: Layout) -> list[tuple[str, dict[str, Any]]]:
    """(url, ScreenRec fields) per screen: tables round-robin, then workers round-robin
    within a table (each table's screens over every worker), HTML spread evenly."""
    rng = random.Random(7)
    html_every = round(1 / sc.html) if sc.html > 0 else 0
    stall_ids = (
        set(rng.sample(range(sc.clients), round(sc.clients * sc.slow))) if sc.slow else set()
    )
    plan = []
    for i in range(sc.clients):
        code = layout.codes[i % len(layout.codes)]
        nth = i // len(layout.codes)
        port = servers.ports[nth % len(servers.ports)]
        kind = "html" if html_every and i % html_every == 0 else "json"
        path = f"/t/{code}/screen/ws" if kind == "html" else f"/api/tables/{code}/stream"
        rec = {"table": code, "port": port, "kind": kind, "stall": i in stall_ids}
        plan.append((f"ws://127.0.0.1:{port}{path}", rec))
    if sc.dashboard and servers.kind == "tavoli":
        port = servers.ports[0]
        rec = {"table": "", "port": port, "kind": "dash", "stall": False}
        plan.append((f"ws://127.0.0.1:{port}/m/{layout.moderator}/ws", rec))
    return plan


def windows_p99(timeline: list[tuple[float, float]], start: float, width: float) -> list[float]:
    """The p99 of each `width` seconds of the plan (by when each vote was due): a backlog
    building up shows as rising windows, a stall as one."""
    windows: dict[int, list[float]] = defaultdict(list)
    for due, value in timeline:
        windows[int((due - start) // width)].append(value)
    return [percentiles(windows[k])["p99"] or 0.0 for k in sorted(windows)]


def percentiles(values: "list[float] | array[float]") -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}

    def at(q: float) -> float:
        return round(float(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]), 1)

    return {
        "p50": at(50),
        "p95": at(95),
        "p99": at(99),
        "max": round(ordered[-1], 1),
        "n": len(ordered),
    }


async def vote(sc: Scenario, servers: Servers, layout: Layout) -> tuple[VoteLog, list[Voter]]:
    """Steady: `rate` votes/s for `duration` s, each flipping one (voter, proposal) pair.
    Burst: every voter of every table votes once, at a random moment within `duration`."""
    log = VoteLog()
    voters: dict[str, list[Voter]] = {}
    n = 0
    for code in layout.codes:
        voters[code] = []
        for token in layout.tokens[code]:
            voters[code].append(
                Voter("127.0.0.1", servers.vote_ports[n % len(servers.vote_ports)], token)
            )
            n += 1
    everyone = [v for vs in voters.values() for v in vs]
    gate = asyncio.Semaphore(100)

    async def open_one(v: Voter) -> None:
        async with gate:
            await v.open()

    await asyncio.gather(*(open_one(v) for v in everyone))

    def path(code: str, proposal: int) -> str:
        if servers.kind == "tavoli":
            return f"/api/proposals/{proposal}/vote"
        return f"/vote/{code}/{proposal}"

    # (offset, table, voter, proposal, dots); dots -1: a new question in a Q&A scenario
    plan: list[tuple[float, str, int, int, int]] = []
    rng = random.Random(11)
    if sc.burst:
        for code in layout.codes:
            for i in range(len(voters[code])):
                plan.append(
                    (rng.uniform(0, sc.duration), code, i, rng.choice(layout.proposals[code]), 1)
                )
        plan.sort()
    else:
        dots_on: Counter[tuple[str, int, int]] = Counter()
        ask_every = round(1 / sc.questions) if sc.questions > 0 else 0
        for i in range(round(sc.rate * sc.duration)):
            code = layout.codes[i % len(layout.codes)]
            k = i // len(layout.codes)
            who = k % len(voters[code])
            proposal = layout.proposals[code][
                (k // len(voters[code])) % len(layout.proposals[code])
            ]
            if ask_every and i % ask_every == ask_every - 1:  # a new question: no flip spent
                plan.append((i / sc.rate, code, who, proposal, -1))
                continue
            dots = dots_on[code, who, proposal] = 1 - dots_on[code, who, proposal]
            plan.append((i / sc.rate, code, who, proposal, dots))
    tasks: set[asyncio.Task[None]] = set()
    start = log.started = time.monotonic()
    for n_action, (offset, code, who, proposal, dots) in enumerate(plan):
        due = start + offset
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        voter = voters[code][who]
        question, where = "", path(code, proposal)
        if dots < 0:  # a new question (dots -1 in the plan); the bare server pushes as for a vote
            dots = 1
            if servers.kind == "tavoli":
                question = f"Domanda {n_action}: che cosa cambia per i piccoli Comuni dell'Ambito?"
                where = f"/api/tables/{code}/proposals"
        task = asyncio.create_task(_cast(voter, where, code, proposal, dots, log, due, question))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        log.sent += 1
    while tasks:
        await asyncio.gather(*tasks)
    log.elapsed = time.monotonic() - start
    for v in everyone:
        v.close()
    return log, everyone


def run_once(
    sc: Scenario,
    servers: Servers,
    layout: Layout,
    args: argparse.Namespace,
    profile: Path | None = None,
) -> dict[str, Any]:
    plan = screen_plan(sc, servers, layout)
    ctx = mp.get_context("fork")
    procs_n = max(1, min(args.client_procs, len(plan)))
    pipes, children = [], []
    before = [proc_figures(p.pid) for p in servers.procs]
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    for k in range(procs_n):
        part = plan[k::procs_n]
        spec = {
            "urls": [u for u, _r in part],
            "screens": [r for _u, r in part],
            "deflate": sc.deflate,
            "slow_after": sc.slow_after,
            "lean": args.clients_kind == "lean",
            "proc_index": k,
        }
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=client_main, args=(child, spec), daemon=True)
        proc.start()
        pipes.append(parent)
        children.append(proc)
    try:
        connected = 0
        for pipe in pipes:
            if not pipe.poll(600):
                raise RuntimeError("a client process did not connect its screens within 600 s")
            connected += pipe.recv()[1]
        time.sleep(1.0)  # let the snapshots' work settle before measuring
        after_connect = [proc_figures(p.pid) for p in servers.procs]
        spy = profile_server(servers.procs[0].pid, profile, sc.duration + 2) if profile else None
        t0 = time.monotonic()
        for pipe in pipes:
            pipe.send(("go", t0))
        log, _voters = asyncio.run(vote(sc, servers, layout))
        targets = asyncio.run(final_seqs(servers, layout))
        tallies = asyncio.run(db_tallies(servers, layout))
        sent_at = {t: dict(v) for t, v in log.sent_at.items()}
        for pipe in pipes:
            pipe.send(("finish", targets, sent_at, tallies if servers.kind == "tavoli" else {}))
        results = []
        for pipe in pipes:
            if not pipe.poll(DRAIN_SECONDS + STALLED_CLOSE_SECONDS + 120):
                raise RuntimeError("a client process did not report")
            results.append(pipe.recv()[1])
        end = [proc_figures(p.pid) for p in servers.procs]
        if spy is not None:
            spy.wait(timeout=120)
    finally:
        for proc in children:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    own = resource.getrusage(resource.RUSAGE_SELF)
    summary = combine(
        sc, servers, log, results, before, after_connect, end, connected, tallies, layout
    )
    summary["harness_voters_cpu_s"] = round(
        own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime, 2
    )
    return summary


def combine(
    sc: Scenario,
    servers: Servers,
    log: VoteLog,
    results: list[dict[str, Any]],
    before: list[tuple[float, int, int]],
    after_connect: list[tuple[float, int, int]],
    end: list[tuple[float, int, int]],
    connected: int,
    tallies: dict[str, dict[str, int]],
    layout: Layout,
) -> dict[str, Any]:
    pairs: array[float] = array("f")
    healthy: array[float] = array("f")
    per_vote: dict[str, dict[int, float]] = defaultdict(dict)
    for r in results:
        pairs.frombytes(r["pairs"])
        healthy.frombytes(r["healthy_pairs"])
        for table, votes in r["per_vote"].items():
            for s, ms in votes.items():
                if ms > per_vote[table].get(s, -1.0):
                    per_vote[table][s] = ms
    # HTML screens carry no prev_seq: a seq that other screens of the same worker and table
    # got after this one connected, and this one did not, is a lost push.
    union: dict[tuple[str, int], set[int]] = defaultdict(set)
    html = [h for r in results for h in r["html_seqs"]]
    for table, port, _first, seqs in html:
        union[table, port].update(seqs)
    html_lost = sum(
        len({s for s in union[t, p] if first < s <= max(seqs, default=first)} - set(seqs))
        for t, p, first, seqs in html
    )
    committed_ok = (
        all(
            {k: v for k, v in tallies[code].items() if v}
            == {str(k): v for k, v in log.expected[code].items() if v}
            for code in layout.codes
        )
        if servers.kind == "tavoli"
        else None
    )
    acked = log.outcomes["ok"] + log.outcomes["no-op"]
    pushes = sum(r["pushes"] for r in results)
    cpu_vote = sum(e[0] - a[0] for e, a in zip(end, after_connect, strict=True))
    all_screens = [ms for votes in per_vote.values() for ms in votes.values()]
    summary = {
        "server": servers.kind,
        "clients": sc.clients,
        "connected": connected,
        "connect_errors": dict(sum((Counter(r["errors"]) for r in results), Counter())),
        "closed_by_server": dict(sum((Counter(r["closes"]) for r in results), Counter())),
        "votes_sent": log.sent,
        "votes_acknowledged": acked,
        "vote_outcomes": dict(log.outcomes),
        "votes_committed_match": committed_ok,
        "votes_per_s": round(log.sent / log.elapsed, 1) if log.elapsed else None,
        "pushes_delivered": pushes,
        "bytes_delivered": sum(r["bytes"] for r in results),
        "lost_json_gaps": sum(r["gaps"] for r in results),
        "lost_html": html_lost,
        "duplicated": sum(r["dups"] for r in results),
        "behind_at_end": sum(r["behind"] for r in results),
        "empty_pushes": sum(r["empty"] for r in results),
        "resyncs": sum(r["resyncs"] for r in results),
        "tally_screens_checked": sum(r["tally_checked"] for r in results),
        "tally_screens_wrong": sum(r["tally_wrong"] for r in results),
        "stalled": sum(r["stalled"] for r in results),
        "stalled_close_codes": dict(
            sum((Counter(r["stalled_closed"]) for r in results), Counter())
        ),
        "vote_wait_ms": percentiles(log.waits),
        "vote_round_trip_ms": percentiles(log.round_trips),
        "vote_round_trip_p99_by_10s": windows_p99(log.timeline, log.started, 10.0),
        "vote_to_screen_ms": percentiles(pairs),
        "vote_to_all_screens_ms": percentiles(all_screens),
        "vote_to_screen_reading_ms": percentiles(healthy),
        "harness_loop_lag_ms": percentiles([x for r in results for x in r["lags"]]),
        "server_cpu_s": [round(e[0] - b[0], 2) for e, b in zip(end, before, strict=True)],
        "server_cpu_voting_s": round(cpu_vote, 2),
        "server_cpu_per_1000_pushes_s": round(cpu_vote / pushes * 1000, 3) if pushes else None,
        "server_rss_mib": [round(e[1] / 1024, 1) for e in end],
        "server_peak_rss_mib": [round(e[2] / 1024, 1) for e in end],
        "server_rss_per_client_kib": round(
            sum(a[1] - b[1] for a, b in zip(after_connect, before, strict=True))
            / max(connected, 1),
            1,
        ),
        "harness_cpu_s": round(sum(r["cpu"] for r in results), 2),
        "samples": _typical_pushes([r["samples"] for r in results]),
    }
    return summary


def _typical_pushes(drawn: list[Samples]) -> dict[str, str]:
    """Per kind, the push drawn whose size is closest to the mean of all those received."""
    typical: dict[str, str] = {}
    for kind in {k for d in drawn for k in d.kept}:
        seen = sum(d.seen[kind] for d in drawn)
        mean = sum(d.size[kind] for d in drawn) / max(seen, 1)
        raws = [t for d in drawn for t in d.kept.get(kind, [])]
        chosen = min(raws, key=lambda t: abs(len(t) - mean), default="")
        typical[kind] = chosen if isinstance(chosen, str) else chosen.decode()
    return typical


def as_template(kind: str, text: str) -> str:
    """A captured push with its sequence numbers replaced by %SEQ% and %PREV%."""
    if kind == "json":
        text = re.sub(r'"seq":\d+', '"seq":%SEQ%', text, count=1)
        return re.sub(r'"prev_seq":\d+', '"prev_seq":%PREV%', text, count=1)
    return SEQ_HTML.sub('id="seq" data-seq="%SEQ%"', text)


def server_log_lines(servers: Servers) -> list[str]:
    """The servers' logs; an error's traceback is shown from its end (where it was raised)."""
    lines = [ln for p in servers.logs for ln in p.read_text(errors="replace").splitlines()]
    return [*lines[:5], "[...]", *lines[-60:]] if len(lines) > 65 else lines


def profile_server(pid: int, out: Path, duration: float) -> subprocess.Popen[bytes]:
    """py-spy on a worker while it serves: a flame graph (.svg) or collapsed stacks (.txt)."""
    command = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(int(duration))]
    command += ["--output", str(out), "--rate", "50", "--nonblocking"]
    if out.suffix == ".txt":
        command += ["--format", "raw"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_scenario(sc: Scenario, args: argparse.Namespace) -> dict[str, Any]:
    admin = secrets.token_urlsafe(24)
    out: dict[str, Any] = {"scenario": asdict(sc), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="tavoli-fanout-") as tmp_name:
        tmp = Path(tmp_name)
        servers = start_tavoli(sc, tmp, admin, args.profile)
        try:
            layout = asyncio.run(set_up_tavoli(sc, servers.ports[0], admin))
            profile = (
                Path(f"{args.profile}-{sc.name}.{args.profile_format}") if args.profile else None
            )
            out["tavoli"] = run_once(sc, servers, layout, args, profile)
            out["tavoli"]["server_log"] = server_log_lines(servers)
        finally:
            stop_servers(servers)
        if sc.baseline:
            samples = out["tavoli"].pop("samples")
            templates = {k: as_template(k, v) for k, v in samples.items() if v}
            out["payload_bytes"] = {k: len(v.encode()) for k, v in samples.items() if v}
            bare = start_bare(tmp, templates, sc.server_deflate)
            try:
                out["bare"] = run_once(replace(sc, workers=1), bare, bare_layout(layout), args)
                out["bare"].pop("samples")
                out["bare"]["server_log"] = server_log_lines(bare)
            finally:
                stop_servers(bare)
        else:
            out["tavoli"].pop("samples", None)
    out["load_after"] = os.getloadavg()[0]
    out["client_bound"] = client_bound(sc, out)
    return out


LAG_LIMIT_MS = 5.0  # the clients' own loop lag (p99) above which they measure themselves


def bare_limit_ms(clients: int) -> float:
    """The bare broadcast's p99 above which the clients, not the server, are the bound: lean
    clients on this machine read it at 15-16 ms (500), 25-30 (1,000) and 39 (2,000)."""
    return max(20.0, clients * 0.03)


def client_bound(sc: Scenario, out: dict[str, Any]) -> list[str]:
    """Why this run's ratios would measure the clients rather than Tavoli (empty: they don't)."""
    reasons = []
    for who in ("tavoli", "bare"):
        lag = (out.get(who) or {}).get("harness_loop_lag_ms", {}).get("p99")
        if lag is not None and lag > LAG_LIMIT_MS:
            reasons.append(f"the clients' loop lag p99 was {lag:.0f} ms beside {who}")
    bare = (out.get("bare") or {}).get("vote_to_all_screens_ms", {}).get("p99")
    if bare is not None and not sc.slow and bare > bare_limit_ms(sc.clients):
        reasons.append(
            f"the bare broadcast's p99 was {bare:.0f} ms (> {bare_limit_ms(sc.clients):.0f} ms "
            f"for {sc.clients} screens on lean clients)"
        )
    return reasons


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and "p50" in value:
        if value["p50"] is None:
            return "–"
        return " / ".join(f"{value[k]:.0f}" for k in ("p50", "p95", "p99", "max"))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    if value is None:
        return "–"
    return str(value)


def _ratio(a: Any, b: Any) -> str:
    if isinstance(a, dict) and "p99" in a and isinstance(b, dict):
        if a.get("p99") and b.get("p99"):
            return f"p99 ×{a['p99'] / b['p99']:.2f}"
        return ""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return f"×{a / b:.2f}"
    if isinstance(a, list) and isinstance(b, list) and len(a) and len(b) and sum(b):
        return f"×{sum(a) / sum(b):.2f}"
    return ""


ROWS = [
    ("connected", "screens connected"),
    ("connect_errors", "connect errors"),
    ("closed_by_server", "closed by server (codes)"),
    ("votes_sent", "votes sent"),
    ("votes_acknowledged", "votes acknowledged"),
    ("vote_outcomes", "vote outcomes"),
    ("votes_committed_match", "database tallies = acknowledged votes"),
    ("votes_per_s", "votes/s achieved"),
    ("pushes_delivered", "pushes delivered"),
    ("bytes_delivered", "bytes delivered (after inflate)"),
    ("lost_json_gaps", "lost pushes (JSON prev_seq gaps)"),
    ("lost_html", "lost pushes (HTML, seqs others got)"),
    ("duplicated", "duplicated pushes"),
    ("behind_at_end", "votes a live screen never saw"),
    ("tally_screens_wrong", "JSON screens whose final tally ≠ database"),
    ("stalled", "stalled screens"),
    ("stalled_close_codes", "stalled screens: close codes"),
    ("vote_wait_ms", "vote waited for its phone's connection ms"),
    ("vote_round_trip_ms", "vote round trip ms p50/p95/p99/max"),
    ("vote_round_trip_p99_by_10s", "vote round trip p99 ms, each 10 s of voting"),
    ("vote_to_screen_ms", "vote-to-screen ms (every screen)"),
    ("vote_to_all_screens_ms", "vote-to-all-screens ms (reading screens)"),
    ("vote_to_screen_reading_ms", "vote-to-screen ms (reading screens)"),
    ("harness_loop_lag_ms", "harness loop lag ms"),
    ("server_cpu_s", "server CPU s per worker (whole run)"),
    ("server_cpu_voting_s", "server CPU s while voting"),
    ("server_cpu_per_1000_pushes_s", "server CPU s per 1,000 pushes"),
    ("server_rss_mib", "server RSS MiB per worker at end"),
    ("server_peak_rss_mib", "server peak RSS MiB per worker"),
    ("server_rss_per_client_kib", "server RSS KiB per client"),
    ("harness_cpu_s", "harness CPU s (client processes)"),
    ("harness_voters_cpu_s", "harness CPU s (voters, main process)"),
]


LATENCY_ROWS = {
    "vote_to_screen_ms",
    "vote_to_all_screens_ms",
    "vote_to_screen_reading_ms",
}


def headline(t: dict[str, Any], b: dict[str, Any]) -> str:
    """The two figures the goals are about: vote-to-all-screens p99 and CPU per push."""
    tp, bp = t["vote_to_all_screens_ms"]["p99"], b["vote_to_all_screens_ms"]["p99"]
    tc, bc = t.get("server_cpu_per_1000_pushes_s"), b.get("server_cpu_per_1000_pushes_s")
    parts = []
    if tp and bp:
        parts.append(f"vote-to-all-screens p99 {tp:.0f} ms vs {bp:.0f} ms (×{tp / bp:.2f})")
    if tc and bc:
        parts.append(f"server CPU per push ×{tc / bc:.2f}")
    lost = t.get("lost_json_gaps", 0) + t.get("lost_html", 0) + t.get("behind_at_end", 0)
    parts.append(f"{lost} lost")
    return "**" + "; ".join(parts) + ".**"


def markdown(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "# Fan-out benchmark",
        "",
        f"`{' '.join(sys.argv)}` on {os.cpu_count()} CPUs, {dt.datetime.now():%Y-%m-%d %H:%M}, "
        f"{args.client_procs} client processes",
        "",
    ]
    for res in results:
        sc = res["scenario"]
        t, b = res.get("tavoli", {}), res.get("bare", {})
        what = (
            f"{sc['clients']} screens over {sc['tables']} table(s), {sc['workers']} worker(s) on "
            f"{sc['database']} + {sc['hub']} hub, {round(sc['html'] * 100)}% HTML, "
            f"deflate {'offered' if sc['deflate'] else 'not offered'}"
            f"{'' if sc.get('server_deflate', True) else ' and declined by the servers'}, "
            + (
                f"burst of {sc['voters']} voters/table in {sc['duration']:g} s"
                if sc["burst"]
                else f"{sc['rate']:.3g} votes/s for {sc['duration']:g} s"
            )
            + (
                f", {round(sc['slow'] * 100)}% stop reading after {sc['slow_after']:g} s"
                if sc["slow"]
                else ""
            )
        )
        lines += [f"## {sc['name']}", "", what + ".", ""]
        if sc["note"]:
            lines += [sc["note"] + ".", ""]
        if "payload_bytes" in res:
            lines += [
                "Baseline payload bytes (a Tavoli push of the mean size): "
                f"{_fmt(res['payload_bytes'])}.",
                "",
            ]
        bound = res.get("client_bound") or []
        if bound:
            lines += [
                "**No latency ratio: the clients were the bound** (" + "; ".join(bound) + ").",
                "",
            ]
        elif b:
            lines += [headline(t, b), ""]
        lines += ["| figure | Tavoli | bare websockets | ratio |", "| --- | --- | --- | --- |"]
        for key, label in ROWS:
            if key not in t:
                continue
            ratio = _ratio(t.get(key), b.get(key))
            if bound and key in LATENCY_ROWS and ratio:
                ratio = "– (client-bound)"
            lines.append(f"| {label} | {_fmt(t.get(key))} | {_fmt(b.get(key))} | {ratio} |")
        lines += [
            "",
            f"Load average before / after: {res['load_before']:.2f} / {res['load_after']:.2f}.",
        ]
        for who in ("tavoli", "bare"):
            log = res.get(who, {}).get("server_log") or []
            if log:
                lines += ["", f"{who} log ({len(log)} lines shown):", "", "```", *log[:10], "```"]
        lines.append("")
    return "\n".join(lines)


def raise_fd_limit(clients: int) -> None:
    need = clients * 2 + 2048
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def main() -> None:
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario",
        default="json500",
        help=f"comma-separated: {', '.join(SCENARIOS)}, custom (from the flags below)",
    )
    parser.add_argument("--clients", type=int, help="screens (overrides the scenario)")
    parser.add_argument("--tables", type=int)
    parser.add_argument("--html", type=float, help="share of htmx HTML screens, 0..1")
    parser.add_argument(
        "--deflate", action="store_true", default=None, help="offer per-message deflate"
    )
    parser.add_argument("--rate", type=float, help="votes/s in total")
    parser.add_argument("--duration", type=float, help="seconds of voting")
    parser.add_argument("--voters", type=int, help="voters per table")
    parser.add_argument("--proposals", type=int)
    parser.add_argument("--slow", type=float, help="share of screens that stop reading")
    parser.add_argument(
        "--no-server-deflate",
        dest="server_deflate",
        action="store_false",
        default=None,
        help="both servers decline per-message deflate (uvicorn --ws-per-message-deflate false)",
    )
    parser.add_argument(
        "--ws",
        help="Tavoli's uvicorn --ws: 'websockets-sansio' sends every push through ASGI "
        "(default: app.live.wire:WebSocketProtocol, as `make run`)",
    )
    parser.add_argument("--workers", type=int)
    parser.add_argument("--database", choices=("sqlite", "postgresql"))
    parser.add_argument("--hub", choices=("memory", "redis"))
    parser.add_argument("--no-baseline", action="store_true", help="Tavoli only")
    parser.add_argument("--client-procs", type=int, default=4, help="client processes")
    parser.add_argument(
        "--clients-kind",
        choices=("lean", "full"),
        default="lean",
        help="lean: raw sockets reading frame headers (a few checkers per table decode "
        "everything); full: the websockets client decoding every push (always with --deflate)",
    )
    parser.add_argument("--json", dest="json_out", help="write the results as JSON here")
    parser.add_argument("--markdown", help="write the Markdown report here too")
    parser.add_argument(
        "--profile", default="", help="py-spy the (first) Tavoli worker: PREFIX-<scenario>.svg"
    )
    parser.add_argument("--profile-format", choices=("svg", "txt"), default="svg")
    args = parser.parse_args()
    overrides = {
        k: getattr(args, k)
        for k in (
            "clients",
            "tables",
            "html",
            "deflate",
            "rate",
            "duration",
            "voters",
            "proposals",
            "slow",
            "server_deflate",
            "ws",
            "workers",
            "database",
            "hub",
        )
        if getattr(args, k) is not None
    }
    if args.no_baseline:
        overrides["baseline"] = False
    scenarios = []
    for name in args.scenario.split(","):
        base = SCENARIOS.get(name, Scenario(name)) if name != "custom" else Scenario("custom")
        if name not in SCENARIOS and name != "custom":
            parser.error(f"unknown scenario {name!r}")
        scenarios.append(replace(base, **overrides))
    raise_fd_limit(max(s.clients + s.voters * s.tables for s in scenarios))
    results = []
    for sc in scenarios:
        print(
            f"== {sc.name}: {sc.clients} screens, {sc.workers} worker(s)",
            file=sys.stderr,
            flush=True,
        )
        try:
            results.append(run_scenario(sc, args))
        except RuntimeError as exc:
            print(f"   failed: {exc}", file=sys.stderr)
            results.append(
                {"scenario": asdict(sc), "error": str(exc), "load_before": 0, "load_after": 0}
            )
    report = markdown([r for r in results if "error" not in r], args)
    for r in results:
        if "error" in r:
            report += f"\n## {r['scenario']['name']}\n\nfailed: {r['error']}\n"
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
