"""Pushes written straight to each socket's transport (app/live/wire.py): framed once per
audience and frame kind, in order with what the connection's own task sends, bounded for a
client that stops reading; and, on a real server, plain and compressed screens that follow a
room voting hard see every push once, in order, and end on the database's tallies, through
the wire and through uvicorn's own protocol alike.

`make test` runs this module against the newest uvicorn too (scripts/test_newest_uvicorn.sh):
`test_the_installed_uvicorn_has_what_tavolis_protocols_extend` says what a release changed."""

import asyncio
import contextlib
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode

from app import protocol, uvicorn_fit
from app.live import wire
from app.live.hub import Push, wire_of
from app.live.hub import Subscription as Sub
from app.live.wire import PLAIN, Deflate, FastWebSocketProtocol, encode, frame_kind
from tests.server import ROOT, api_table, free_port, running_server
from tests.test_multiworker import Stream

ADMIN = "wire-organiser"


class FakeWire:
    """A transport that keeps what it was given; `stuck` bytes the kernel has not taken."""

    def __init__(self, kind: Any = PLAIN) -> None:
        self.kind = kind
        self.frames: list[bytes] = []
        self.stuck = 0

    def encode(self, text: str) -> bytes:
        return encode(text, self.kind)

    def buffered(self) -> int:
        return self.stuck

    def write(self, frame: bytes) -> bool:
        self.frames.append(frame)
        return True


def _push(seq: int, text: str | None = "x", *, final: bool = False) -> Push:
    payloads = {"api": text} if text is not None else {}
    return Push("table:1", seq, seq - 1, payloads, rendered=frozenset({"api"}), final=final)


async def _waiting(sub: Sub) -> "asyncio.Task[Push | None]":
    task = asyncio.create_task(sub.next())
    await asyncio.sleep(0)  # it waits on the empty queue now
    return task


def _sub(wire: FakeWire, seq: int = 1, max_bytes: int | None = None) -> Sub:
    sub = Sub(maxsize=8, max_bytes=max_bytes, key="api")
    sub.wire, sub.seq = wire, seq
    return sub


@pytest.mark.anyio
async def test_a_push_that_follows_is_written_once_framed_for_every_socket() -> None:
    wires = [FakeWire(), FakeWire()]
    subs = [_sub(w) for w in wires]
    waiting = [await _waiting(s) for s in subs]
    push = _push(2, '{"type":"delta"}')
    for sub in subs:
        sub.deliver(push)
    assert wires[0].frames == [Frame(Opcode.TEXT, b'{"type":"delta"}').serialize(mask=False)]
    assert wires[0].frames[0] is wires[1].frames[0]  # one frame for both sockets
    assert [s.seq for s in subs] == [2, 2]
    assert push.handover.pending == 0  # nobody's task had to take it
    await asyncio.sleep(0)
    assert not any(t.done() for t in waiting)  # and no task was woken
    for task in waiting:
        task.cancel()


@pytest.mark.anyio
async def test_a_gap_a_deleted_table_and_a_busy_connection_go_through_its_task() -> None:
    wire = FakeWire()
    sub = _sub(wire)
    task = await _waiting(sub)
    sub.deliver(_push(3))  # skips seq 2: the task sends a snapshot
    assert wire.frames == [] and await task is not None
    sub.deliver(_push(4))  # the task is busy (its snapshot): queued behind, in order
    assert wire.frames == []
    sub.seq = 3
    assert (await sub.next()) == _push(4)
    sub.seq = 4
    task = await _waiting(sub)
    final = _push(5, final=True)
    sub.deliver(final)
    assert wire.frames == [] and await task == final


@pytest.mark.anyio
async def test_nothing_for_this_audience_moves_it_on_without_a_write() -> None:
    wire = FakeWire()
    sub = _sub(wire)
    task = await _waiting(sub)
    sub.deliver(_push(2, None))
    sub.deliver(_push(3, "tre"))
    assert len(wire.frames) == 1 and sub.seq == 3
    task.cancel()


@pytest.mark.anyio
async def test_a_client_that_stops_reading_is_dropped_past_its_bytes() -> None:
    wire = FakeWire()
    sub = _sub(wire, max_bytes=100)
    task = await _waiting(sub)
    sub.deliver(_push(2, "a" * 150))  # larger than the bound, but nothing was pending
    assert len(wire.frames) == 1
    wire.stuck = 152  # the kernel took none of it
    sub.deliver(_push(3, "b"))
    assert await task is None and sub.dropped  # the connection closes with 1013
    assert len(wire.frames) == 1


def test_compressed_frames_are_the_librarys_and_read_back() -> None:
    kind = Deflate(12, (("memLevel", 5),))
    text = "Più posti negli asili nido comunali " * 20
    frame = encode(text, kind)
    assert frame[0] == 0xC1  # FIN, RSV1 (compressed), text
    assert len(frame) < len(text.encode())
    length = frame[1] & 0x7F
    body = frame[2:] if length < 126 else frame[4:]
    assert zlib.decompressobj(-12).decompress(body + b"\x00\x00\xff\xff").decode() == text
    assert encode(text, kind) == frame  # the same bytes for every socket of the kind
    assert encode("x", PLAIN) == b"\x81\x01x"


def test_only_connections_whose_frames_can_be_shared_are_written_through() -> None:
    assert frame_kind([]) == PLAIN
    keeps = PerMessageDeflate(False, False, 15, 12)
    fresh = PerMessageDeflate(False, True, 15, 12, {"memLevel": 5})
    assert frame_kind([keeps]) is None  # its compressor's context would go out of step
    assert frame_kind([fresh]) == Deflate(12, (("memLevel", 5),))


# uvicorn with the protocol


@pytest.mark.anyio
@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_uvicorn_hands_the_app_a_wire_that_writes_whole_frames(
    compression: str | None,
) -> None:
    """A frame written through the wire and a message sent through ASGI reach the client
    in order, plain or compressed (the compressed frame shared, not the connection's own)."""
    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        wire = wire_of(scope)
        seen.append(wire and wire.kind)
        assert wire is not None
        assert wire.write(wire.encode("scritto una volta per tutti: città"))
        await send({"type": "websocket.send", "text": "poi attraverso ASGI"})
        assert wire.write(wire.encode("e di nuovo dal filo"))
        await receive()

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws=FastWebSocketProtocol,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(500):  # up in a few ms
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        async with connect(f"ws://127.0.0.1:{port}/", compression=compression) as ws:
            got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)]
    finally:
        server.should_exit = True
        await serving
    assert got == [
        "scritto una volta per tutti: città",
        "poi attraverso ASGI",
        "e di nuovo dal filo",
    ]
    assert seen == [PLAIN if compression is None else Deflate(12, (("memLevel", 5),))]


# which protocol is served


def test_the_installed_uvicorn_has_what_tavolis_protocols_extend() -> None:
    """Run against the newest uvicorn too: when this fails, a release changed what the wire
    or the request-head deadline builds on, and servers fall back to uvicorn's own."""
    assert wire.MISSING is None and protocol.MISSING is None
    ws = uvicorn_fit.unmet(
        WebSocketsSansIOProtocol, wire.NEEDS, FastWebSocketProtocol, wire.ATTRIBUTES
    )
    http = uvicorn_fit.unmet(
        HttpToolsProtocol, protocol.NEEDS, protocol.DeadlineHttpProtocol, protocol.ATTRIBUTES
    )
    assert (ws, http) == (None, None)
    assert wire.WebSocketProtocol is FastWebSocketProtocol
    assert protocol.HttpProtocol is protocol.DeadlineHttpProtocol


def test_a_changed_protocol_is_named_with_what_changed() -> None:
    class PongWithoutFrame(WebSocketsSansIOProtocol):
        def handle_pong(self) -> None:  # type: ignore[override]
            pass

    class RenamedCloseSent(WebSocketsSansIOProtocol):
        def __init__(
            self, config: Any, server_state: Any, app_state: Any, _loop: Any = None
        ) -> None:
            super().__init__(config, server_state, app_state, _loop)
            self.closing = self.__dict__.pop("close_sent")

    class NoRequestHead(HttpToolsProtocol):
        on_message_begin = None  # type: ignore[assignment]

    def why(base: type, module: Any) -> str | None:
        return uvicorn_fit.unmet(base, module.NEEDS, base, module.ATTRIBUTES)

    assert why(PongWithoutFrame, wire) == "PongWithoutFrame.handle_pong takes (), not (event)"
    assert why(RenamedCloseSent, wire) == "RenamedCloseSent has no attribute close_sent"
    assert why(NoRequestHead, protocol) == "NoRequestHead.on_message_begin is gone"
    assert why(WebSocketsSansIOProtocol, wire) is None


# Imports the module as uvicorn does, after breaking uvicorn's protocol as a release might.
BREAK_AND_IMPORT = """
import logging, sys
logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
def pong(self): pass
WebSocketsSansIOProtocol.handle_pong = pong
del HttpToolsProtocol.on_headers_complete
from app.live.wire import WebSocketProtocol
from app.protocol import HttpProtocol
print(WebSocketProtocol is WebSocketsSansIOProtocol, HttpProtocol.__name__)
"""


def test_a_uvicorn_without_what_they_extend_serves_its_own_protocols_and_says_why() -> None:
    """`--ws app.live.wire:WebSocketProtocol` and `--http app.protocol:HttpProtocol` then
    name uvicorn's own classes, each with one warning line; nothing fails to start."""
    ran = subprocess.run(
        [sys.executable, "-c", BREAK_AND_IMPORT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert ran.stdout.splitlines() == [
        "WARNING uvicorn.error: Serving WebSockets through uvicorn's own WebSocketsSansIOProtocol,"
        " without Tavoli's additions: WebSocketsSansIOProtocol.handle_pong takes (), not (event)",
        "WARNING uvicorn.error: Serving HTTP (no deadline for request heads) through uvicorn's"
        " own HttpToolsProtocol, without Tavoli's additions: HttpToolsProtocol"
        ".on_headers_complete is gone",
        "True HttpToolsProtocol",
    ], ran.stderr


# a real server, served through the wire (fast) and through uvicorn's own protocol (plain)

FALLBACK = "through uvicorn's own"


@pytest.fixture(scope="module", params=["fast", "plain"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data = tmp_path_factory.mktemp("wire")
    env = {
        "TAVOLI_ADMIN_TOKEN": ADMIN,
        "TAVOLI_SECRET_KEY": "wire-secret-key",
        "TAVOLI_RATE_LIMITS": "false",
        "TAVOLI_PROTOCOLS": request.param,
    }
    log = data / "server.log"
    with running_server(f"sqlite:///{data}/tavoli.db", log, **env) as base:
        fallbacks = [line for line in log.read_text().splitlines() if FALLBACK in line]
        if request.param == "fast":
            assert fallbacks == []
        else:
            assert len(fallbacks) == 2 and "TAVOLI_PROTOCOLS=plain" in fallbacks[0], fallbacks
        yield base


@pytest.mark.timeout(90)
def test_plain_and_compressed_screens_follow_a_hard_vote_in_order(
    server: str, request: pytest.FixtureRequest
) -> None:
    """40 screens (half of them negotiating per-message deflate, which the wire's protocol
    accepts without context takeover), 3 projector pages, 60 voters voting at once, and 10
    screens connecting in the middle of it: every JSON screen sees a contiguous chain and ends
    on the database's tallies; through the wire, the compressed ones read the frames the others
    shared."""
    through_the_wire = request.node.callspec.params["server"] == "fast"

    async def scenario() -> None:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=server, timeout=20, limits=limits) as http:
            code, _moderator, ids = await api_table(http, ADMIN, proposals=6)
            streams = [Stream(server, code) for _ in range(50)]
            plain, compressed = streams[:20], streams[20:40]
            for stream in plain:
                stream.ws = await connect(stream.url, compression=None)
            for stream in compressed:
                stream.ws = await connect(stream.url)
                extensions = stream.ws.response.headers["Sec-WebSocket-Extensions"]
                assert "permessage-deflate" in extensions
                if through_the_wire:
                    assert "server_no_context_takeover" in extensions
            for stream in streams[:40]:
                assert (await stream.read())["type"] == "snapshot"
            screen_url = server.replace("http://", "ws://") + f"/t/{code}/screen/ws"
            projectors = [await connect(screen_url) for _ in range(3)]
            html_seen = [0] * 3

            async def project(i: int) -> None:
                with contextlib.suppress(Exception):
                    async for _message in projectors[i]:
                        html_seen[i] += 1

            readers = [asyncio.create_task(project(i)) for i in range(3)]
            tokens = [
                (await http.post(f"/api/tables/{code}/participants", json={})).json()["token"]
                for _ in range(60)
            ]

            async def vote(n: int, token: str) -> None:
                for round_ in range(3):
                    answer = await http.put(
                        f"/api/proposals/{ids[(n + round_) % len(ids)]}/vote",
                        json={"dots": 1},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert answer.status_code == 200, answer.text

            async def late(stream: Stream) -> None:
                await asyncio.sleep(0.05)
                await stream.open()

            await asyncio.gather(
                *(vote(n, t) for n, t in enumerate(tokens)), *(late(s) for s in streams[40:])
            )
            final = (await http.get(f"/api/tables/{code}")).json()
            want = {p["id"]: p["tally"] for p in final["proposals"]}
            assert sum(want.values()) == 180
            for stream in streams:
                await stream.until(lambda s: s.seq >= final["seq"], within=15)
                assert stream.tallies == want
                await stream.close()
            assert all(s.pushes > 0 for s in compressed)
            assert all(seen > 0 for seen in html_seen)
            for projector, reader in zip(projectors, readers, strict=True):
                await projector.close()
                reader.cancel()

    asyncio.run(scenario())


def test_the_servers_own_command_serves_through_the_wire() -> None:
    """`make run`, the image, the tests' servers and the benchmarks name one protocol."""
    root = Path(__file__).resolve().parents[1]
    for path in ("Makefile", "deploy/entrypoint.sh", "tests/server.py"):
        assert "app.live.wire:WebSocketProtocol" in (root / path).read_text(), path
