"""The bare baseline: what the `websockets` library alone costs to fan a push out.

A minimal server that accepts WebSocket clients on any path and, for every vote (an HTTP
`PUT` or `POST` on its HTTP port, answered with `{"seq": n}`), calls `broadcast()` once per
kind of client with a payload of the same size and content as Tavoli's push for that table
(templates captured by `benchmarks/fanout.py` from the Tavoli run, with `%SEQ%` and `%PREV%`
standing for the sequence numbers). No database, no coalescing, no rendering: the floor a
Python server on this machine can reach. A path ending in `/ws` gets the HTML template
(the htmx screens), any other path the JSON one. Clients offering per-message deflate get
it, like from uvicorn.

    python benchmarks/bare_server.py --port 9000 --vote-port 9001 \
        --json-template json.txt --html-template html.txt
"""

import argparse
import asyncio
import json
import signal
from collections import defaultdict
from pathlib import Path

from websockets.asyncio.server import ServerConnection, broadcast, serve

DEFAULT_JSON = '{"seq":%SEQ%,"type":"delta","prev_seq":%PREV%,"tallies":{}}'
DEFAULT_HTML = '<span id="seq" data-seq="%SEQ%" hidden hx-swap-oob="true"></span>'


class Room:
    """Every table's clients by kind, its seq and its tallies (for the final check)."""

    def __init__(self, json_template: str, html_template: str) -> None:
        self.templates = {"json": json_template, "html": html_template}
        self.clients: dict[str, dict[str, set[ServerConnection]]] = defaultdict(
            lambda: {"json": set(), "html": set()}
        )
        self.seq: dict[str, int] = defaultdict(int)
        self.tallies: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.dots: dict[tuple[str, str, int], int] = {}

    def message(self, kind: str, table: str, seq: int) -> str:
        if seq == 0 or kind == "snapshot":
            return json.dumps({"seq": seq, "type": "snapshot", "tallies": self.tallies[table]})
        return self.templates[kind].replace("%SEQ%", str(seq)).replace("%PREV%", str(seq - 1))

    def vote(self, table: str, voter: str, proposal: int, dots: int) -> int:
        """Apply a vote and broadcast it at once: one push per vote."""
        before = self.dots.get((table, voter, proposal), 0)
        if before == dots:  # a vote that changes nothing spends no seq, like Tavoli's
            return self.seq[table]
        self.dots[table, voter, proposal] = dots
        self.tallies[table][proposal] += dots - before
        self.seq[table] += 1
        seq = self.seq[table]
        for kind, clients in self.clients[table].items():
            if clients:
                broadcast(clients, self.message(kind, table, seq))
        return seq


async def handle_ws(room: Room, ws: ServerConnection) -> None:
    path = ws.request.path if ws.request else "/"
    parts = [p for p in path.split("/") if p]
    table = parts[2] if len(parts) > 2 else "t"  # /api/tables/CODE/stream, /t/CODE/screen/ws
    if parts and parts[0] == "t":
        table = parts[1]
    kind = "html" if path.endswith("/ws") else "json"
    seq = room.seq[table]
    if kind == "html":
        await ws.send(f'<span id="seq" data-seq="{seq}" hidden></span>')
    else:
        await ws.send(json.dumps({"seq": seq, "type": "snapshot", "proposals": []}))
    room.clients[table][kind].add(ws)
    try:
        await ws.wait_closed()
    finally:
        room.clients[table][kind].discard(ws)


async def handle_http(
    room: Room, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """HTTP/1.1 keep-alive: `PUT /vote/TABLE/PROPOSAL` with `Authorization: Bearer VOTER`
    and a JSON body `{"dots": d}`."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, v in (ln.split(":", 1) for ln in lines[1:] if ln)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            parts = [p for p in target.split("/") if p]
            if method in ("PUT", "POST") and len(parts) == 3 and parts[0] == "vote":
                voter = headers.get("authorization", "")
                dots = int(json.loads(body or b"{}").get("dots", 1))
                seq = room.vote(parts[1], voter, int(parts[2]), dots)
                answer = json.dumps({"seq": seq}).encode()
                status = b"200 OK"
            elif method == "GET" and len(parts) == 2 and parts[0] == "tallies":
                answer = json.dumps(
                    {"seq": room.seq[parts[1]], "tallies": room.tallies[parts[1]]}
                ).encode()
                status = b"200 OK"
            else:
                answer, status = b"{}", b"404 Not Found"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(args: argparse.Namespace, room: Room) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    http = await asyncio.start_server(
        lambda r, w: handle_http(room, r, w), "127.0.0.1", args.vote_port, backlog=4096
    )
    async with (
        serve(
            lambda ws: handle_ws(room, ws),
            "127.0.0.1",
            args.port,
            ping_interval=None,
            max_size=None,
            backlog=4096,
            compression=None if args.no_deflate else "deflate",
        ),
        http,
    ):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="WebSocket port")
    parser.add_argument("--vote-port", type=int, required=True, help="HTTP port for votes")
    parser.add_argument("--json-template", default="", help="JSON push, %%SEQ%% / %%PREV%%")
    parser.add_argument("--html-template", default="", help="HTML push, %%SEQ%% / %%PREV%%")
    parser.add_argument("--no-deflate", action="store_true", help="decline per-message deflate")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    args = parser.parse_args()
    json_t = Path(args.json_template).read_text() if args.json_template else DEFAULT_JSON
    html_t = Path(args.html_template).read_text() if args.html_template else DEFAULT_HTML
    asyncio.run(main(args, Room(json_t, html_t)))
