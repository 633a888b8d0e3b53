"""A lean WebSocket client for the fan-out benchmark: a raw asyncio protocol that does the
handshake, reads frame headers and hands each text frame's payload, undecoded, to a
callback. No UTF-8 decoding, no JSON, no per-message task: a client process can follow
a thousand screens without its own loop becoming what the benchmark measures (the
`websockets` client, decoding every push, read the bare broadcast's p99 at 2,000 screens
as 103-144 ms where these clients read about 39).

Only what the servers send is handled: unfragmented text frames, pings (answered with a
masked pong), close frames. Per-message deflate is not offered; scenarios that offer it
use the `websockets` client."""

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

OnMessage = Callable[[float, bytes], None]

_PONG = 0x8A
_CLOSE = 0x88


class LeanScreen(asyncio.Protocol):
    """One screen. `opened` resolves with the first message (the snapshot) or an error;
    `closed` resolves with the close code (1006 when the connection dropped)."""

    def __init__(self, host: str, path: str, on_message: OnMessage) -> None:
        loop = asyncio.get_running_loop()
        self.host, self.path, self.on_message = host, path, on_message
        self.opened: asyncio.Future[bytes] = loop.create_future()
        self.closed: asyncio.Future[int] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.handshaken = False
        self.received = 0  # payload bytes

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self.buf
        if not buf and self.handshaken and len(data) >= 2 and self.opened.done():
            # The common read: one whole text frame of a push, not copied in and out.
            length, head = data[1] & 0x7F, 2
            if length == 126 and len(data) >= 4:
                length, head = (data[2] << 8) | data[3], 4
            if length < 65536 and len(data) == head + length and data[0] & 0x0F == 0x1:
                self.received += length
                self.on_message(now, data[head:])
                return
        buf += data
        if not self.handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            if b" 101 " not in status:
                self._fail(ConnectionError(status.decode("latin-1")))
                return
            del buf[: end + 4]
            self.handshaken = True
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if size - pos < head + length:
                break
            start = pos + head
            pos = start + length
            opcode = b0 & 0x0F
            if opcode == 0x1 or opcode == 0x2:
                payload = bytes(buf[start:pos])
                self.received += length
                if not self.opened.done():
                    self.opened.set_result(payload)
                else:
                    self.on_message(now, payload)
            elif opcode == 0x9:
                self._send(_PONG, bytes(buf[start:pos]))
            elif opcode == 0x8:
                code = struct.unpack_from("!H", buf, start)[0] if length >= 2 else 1005
                self._send(_CLOSE, struct.pack("!H", code))
                self._finish(code)
                if self.transport is not None:
                    self.transport.close()
                del buf[:pos]
                return
        del buf[:pos]

    def _send(self, first: int, payload: bytes) -> None:
        """A client frame must be masked (RFC 6455 5.3); control payloads are short."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((first, 0x80 | len(payload))) + mask + masked)

    def _fail(self, exc: BaseException) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        self._finish(1006)
        if self.transport is not None:
            self.transport.close()

    def _finish(self, code: int) -> None:
        if not self.closed.done():
            self.closed.set_result(code)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the snapshot"))
        self._finish(1006)

    def pause(self) -> None:
        """Stop reading at the TCP level (a stalled phone)."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def close(self) -> None:
        self._send(_CLOSE, struct.pack("!H", 1000))
        if self.transport is not None:
            self.transport.close()


async def connect(url: str, local_host: str, on_message: OnMessage) -> LeanScreen:
    """Open a screen from `local_host` (one of many loopback addresses: a hall's phones
    are not all one address, and one address has only so many ports)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    _transport, screen = await loop.create_connection(
        lambda: LeanScreen(f"{host}:{port}", parts.path or "/", on_message),
        host,
        port,
        local_addr=(local_host, 0),
    )
    return screen
