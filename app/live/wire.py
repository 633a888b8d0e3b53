"""uvicorn's WebSocket protocol with one door more: a push framed once, written to every socket.

Why: through ASGI, each socket's push is a task waking up, a `send` through Starlette into
uvicorn, and the frame built again for that socket. With a thousand screens that was most of
a push's cost, and six times the CPU of the bare `websockets` broadcast (docs/performance.md).
This protocol gives the application, in the ASGI scope's extensions (`WIRE_EXTENSION`), a `Wire`
to its own connection: the hub frames a push once per audience and frame kind and writes
the same bytes to every transport in one loop, as `websockets.broadcast` does.

Serve with `uvicorn --ws app.live.wire:WebSocketProtocol` (`make run`, the image, the tests and
the benchmarks do). Without it (another server, the test client) the application sends
through ASGI as before: the extension is only ever an optimisation, and the application
never imports this module (only uvicorn does). uvicorn's internals it builds on are no public
API, so uvicorn is not pinned: at import this module checks that the protocol it extends has
what it needs (app/uvicorn_fit.py) and, when it does not, `WebSocketProtocol` is uvicorn's own
sans-I/O protocol (pushes through ASGI, none of the limits below but `--ws-max-size`), with
one log line that says why. `TAVOLI_PROTOCOLS=plain` asks for uvicorn's own on purpose.

Per-message deflate: a frame compressed once can go to many sockets only if no socket's
compressor keeps context between messages. So this protocol negotiates
`server_no_context_takeover` (RFC 7692 lets a server add it): each message is compressed on
its own, identically for every socket with the same window size, and a frame written here
never disturbs the connection's own compressor. It also frees the compressor between
messages, the larger part of a deflate socket's memory.

Message size: Tavoli reads no message from a client, so this protocol refuses any larger
than `MAX_MESSAGE_BYTES` (closed with 1009, Message Too Big, as soon as the frame's header
says so: nothing is buffered), whatever `--ws-max-size` says; uvicorn's default of 16 MiB let
a hundred sockets hold gigabytes. The start commands pass `--ws-max-size` as well, for a
server started without this protocol.

Pings: uvicorn answers each client ping at once, out of the application's sight, so a
flood of them (50 sockets made pages six times slower) is refused here: past `PING_BURST`
pings and pongs, more than one every `PING_EVERY` seconds closes the socket with 1008. A
client library's keepalive (one ping every 20 s or so) and the pongs answering the
server's own pings stay far below it. Data messages are budgeted by the application
(app/routers/sockets.py), which sees them.
"""

import asyncio
from typing import Any, NamedTuple

from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from app import uvicorn_fit
from app.config import get_settings
from app.live.hub import WIRE_EXTENSION

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    MISSING: str | None = None
except ImportError as exc:  # a uvicorn that moved it: nothing to extend, `--ws auto` serves
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    WebSocketsSansIOProtocol = AutoWebSocketsProtocol or asyncio.Protocol  # type: ignore[assignment,misc]
    MISSING = f"uvicorn has no sans-I/O WebSocket protocol ({exc})"


class Deflate(NamedTuple):
    """Frames compressed on their own (no context takeover) with these parameters."""

    window_bits: int
    settings: tuple[tuple[str, Any], ...]


# How a connection's frames are encoded: PLAIN, or compressed.
FrameKind = str | Deflate
PLAIN: FrameKind = "plain"
WINDOW_BITS = 12  # as uvicorn's own deflate settings
MAX_MESSAGE_BYTES = 4096  # control frames carry at most 125 bytes; Tavoli reads no message
PING_BURST = 10  # pings and pongs a client may send before the pace below counts
PING_EVERY = 1.0  # seconds per ping or pong past the burst
CLOSE_POLICY = 1008
COMPRESS_SETTINGS = {"memLevel": 5}


def frame_kind(extensions: list[Extension]) -> FrameKind | None:
    """The connection's frame kind, or None when frames written for others would not do."""
    if not extensions:
        return PLAIN
    if len(extensions) == 1:
        deflate = extensions[0]
        if isinstance(deflate, PerMessageDeflate) and deflate.local_no_context_takeover:
            settings = tuple(sorted(deflate.compress_settings.items()))
            return Deflate(deflate.local_max_window_bits, settings)
    return None


def encode(text: str, kind: FrameKind) -> bytes:
    """A server's text frame carrying `text`, encoded for connections of this kind."""
    frame = Frame(Opcode.TEXT, text.encode())
    if not isinstance(kind, Deflate):
        return frame.serialize(mask=False)
    deflate = PerMessageDeflate(
        remote_no_context_takeover=False,
        local_no_context_takeover=True,
        remote_max_window_bits=15,
        local_max_window_bits=kind.window_bits,
        compress_settings=dict(kind.settings),
    )
    return frame.serialize(mask=False, extensions=[deflate])


class Wire:
    """The application's handle on its connection: whole frames, written now, never awaited."""

    __slots__ = ("_kind", "_protocol")

    def __init__(self, protocol: "FastWebSocketProtocol") -> None:
        self._protocol = protocol
        self._kind: FrameKind | None = None

    @property
    def kind(self) -> FrameKind | None:
        """Read once the handshake is done (the extensions are negotiated by then)."""
        if self._kind is None:
            self._kind = frame_kind(self._protocol.conn.extensions)
        return self._kind

    def encode(self, text: str) -> bytes:
        """`text` as a frame of this connection's kind (the same bytes for its kind's others)."""
        kind = self.kind
        assert kind is not None, "only a connection of a known kind is written through"
        return encode(text, kind)

    def buffered(self) -> int:
        """Bytes written and not yet taken by the kernel: what a stalled client holds here."""
        return self._protocol.transport.get_write_buffer_size()

    def write(self, frame: bytes) -> bool:
        """Write a frame of this connection's kind; False when the connection is closing."""
        protocol = self._protocol
        if (
            protocol.close_sent
            or protocol.disconnected
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        ):
            return False
        protocol.transport.write(frame)
        return True


class FastWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol; adds the `Wire`, deflate without context takeover, a
    small message limit and a pace for pings."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: Any = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        extensions = []
        if config.ws_per_message_deflate:
            extensions.append(
                ServerPerMessageDeflateFactory(
                    server_no_context_takeover=True,
                    server_max_window_bits=WINDOW_BITS,
                    client_max_window_bits=WINDOW_BITS,
                    compress_settings=dict(COMPRESS_SETTINGS),
                )
            )
        self.conn = ServerProtocol(
            extensions=extensions,
            max_size=min(config.ws_max_size, MAX_MESSAGE_BYTES),
            logger=self.conn.logger,
        )
        self._pings = float(PING_BURST)
        self._pinged_at = self.loop.time()

    def handle_ping(self) -> None:
        if self._control_frame_allowed():
            super().handle_ping()

    def handle_pong(self, event: Frame) -> None:
        if self._control_frame_allowed():
            super().handle_pong(event)

    def _control_frame_allowed(self) -> bool:
        """Count a ping or pong; past the budget, close the socket (1008) and say no."""
        if self.close_sent:
            return False
        now = self.loop.time()
        self._pings = min(PING_BURST, self._pings + (now - self._pinged_at) / PING_EVERY) - 1
        self._pinged_at = now
        if self._pings >= 0:
            return True
        # As uvicorn closes for the application: the close frame, then the client's answer
        # (or `close_timeout`) ends the connection, so the frame is not lost to a reset.
        self.queue.put_nowait({"type": "websocket.disconnect", "code": CLOSE_POLICY})
        self.conn.send_close(CLOSE_POLICY, "Too many pings")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
        return False

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # Set only when the handshake goes ahead; a uvicorn that named them otherwise gets no
        # wire, so the application sends through ASGI (tests/test_wire.py would tell).
        scope = getattr(self, "scope", None)
        response = getattr(self, "response", None)
        if scope is not None and getattr(response, "status_code", None) == 101:
            scope["extensions"][WIRE_EXTENSION] = {"wire": Wire(self)}


# What FastWebSocketProtocol overrides or calls on uvicorn's protocol (parameters after self),
# and the attributes it reads or sets, as an instance made without a connection has them.
NEEDS = {
    "__init__": ("config", "server_state", "app_state", "_loop"),
    "handle_ping": (),
    "handle_pong": ("event",),
    "handle_connect": ("event",),
}
ATTRIBUTES: uvicorn_fit.Attributes = {
    "conn": ServerProtocol,
    "loop": asyncio.AbstractEventLoop,
    "queue": asyncio.Queue,
    "close_sent": bool,
    "disconnected": bool,
    "read_paused": bool,
    "close_timeout": (int, float),
    "close_timer": (type(None), asyncio.TimerHandle),
    "transport": object,
}


def unfit() -> str | None:
    """Why this module serves through uvicorn's own protocol, or None (it serves its own)."""
    if get_settings().tavoli_protocols == "plain":
        return "TAVOLI_PROTOCOLS=plain"
    return MISSING or uvicorn_fit.unmet(
        WebSocketsSansIOProtocol, NEEDS, FastWebSocketProtocol, ATTRIBUTES
    )


# The class `uvicorn --ws app.live.wire:WebSocketProtocol` serves with, decided once here.
WebSocketProtocol: type[asyncio.Protocol] = uvicorn_fit.choose(
    FastWebSocketProtocol, WebSocketsSansIOProtocol, unfit(), "WebSockets"
)
