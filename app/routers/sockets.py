"""WebSocket streams: a snapshot on every (re)connect, then the table's pushes in order.

Slow clients: a client that does not read is not noticed by `send_text` at first. Its bytes
wait in the server's kernel socket buffer (autotuned up to `net.ipv4.tcp_wmem`'s maximum,
4 MiB on Linux by default), then in uvicorn's transport (64 KiB high-water mark); only then
does `send_text` wait. So a connection is dropped (1013: it reconnects and resynchronises)
when its queue holds `TAVOLI_SEND_QUEUE` pushes or `TAVOLI_SEND_BUFFER_BYTES` bytes of its
payload, or when one send has waited `TAVOLI_SEND_TIMEOUT` seconds. The kernel's share is
out of an ASGI app's reach (no socket options): the host bounds it (`net.ipv4.tcp_wmem`).
A dropped client's close frame queues behind what it has not read; the TCP connection ends
once it reads, or when its connection dies.

Abuse: a worker holds at most `ratelimit` "worker_sockets" open sockets, a phone's
participant "phone_sockets" and any other address "websocket" (over a cap: accepted and
closed with 1013, which htmx-ext-ws retries with backoff); unknown table codes count as
failed lookups like on the pages (over the limit: 1013). Tavoli reads nothing a client
sends: a message is dropped as it arrives (uvicorn reads the next only then, and refuses one
over 4 KiB with 1009), and a socket that sends more than `INBOUND_BURST` messages, or more
than one every `INBOUND_EVERY` seconds after them, is closed with 1008 (not reconnected).

Deletion: when a table is deleted, each of its connections (in every worker) gets a last
message (HTML: the page says the table was deleted, with a link home; JSON:
`{"type": "deleted"}`) and is closed with 1000, normal closure: htmx-ext-ws reconnects only
on 1006, 1011, 1012 and 1013, so the page stays as it is, and machine clients should treat
1000 after `deleted` as the end.

Revocation: a console or dashboard opened with a moderator or facilitator link that has
been replaced, and a removed participant's phone, receive nothing more from that moment
(the hub holds their pushes, in every worker) and check their link again: when it no longer
opens the page, the page says why (the link was replaced; the moderator removed you) and the
socket is closed with 1008, on which htmx-ext-ws does not reconnect.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlmodel import Session

from app import ratelimit
from app.db import open_session
from app.i18n import current_locale, using_locale
from app.live.broadcaster import Broadcaster
from app.live.deadline import SendWatch
from app.live.fragments import (
    API,
    DASHBOARD,
    MIRROR,
    MODERATOR,
    PARTICIPANT,
    SCREEN,
    Fragments,
    payload_key,
    snapshot_json,
)
from app.live.hub import (
    CHECK,
    RUNNERS,
    Hub,
    Subscription,
    participant_holder,
    table_channel,
    wire_of,
)
from app.models import Participant, Table
from app.security import Signer
from app.services import access, events, participants, plenary, state, tables
from app.services.errors import DomainError, Forbidden, TooMany, Unauthorized
from app.views import participant_context, shared_context

router = APIRouter()
log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000  # the table was deleted: do not reconnect
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011  # what uvicorn's keepalive closes with
CLOSE_TRY_AGAIN = 1013  # htmx-ext-ws reconnects on this code, and so should machine clients
CLOSE_SECONDS = 1.0  # a close frame queues behind what a stalled client has not read
INBOUND_BURST = 10  # messages a client may send (all ignored) before the pace below counts
INBOUND_EVERY = 5.0  # seconds per message past the burst: a client library's keepalive fits

Snapshot = Callable[[Session], tuple[int, str]]


@dataclass(frozen=True)
class Guard:
    """Who holds a socket (`app.live.hub` holders), whether their link still opens it (a
    DomainError counts as no), and the last message when it no longer does."""

    holder: str | None
    allowed: Callable[[Session], object]
    revoked: Callable[[], str]

    def holds(self, session: Session) -> bool:
        try:
            return bool(self.allowed(session))
        except DomainError:
            return False


# Screens and API streams: anonymous, nothing to revoke.
PUBLIC = Guard(holder=None, allowed=lambda _session: True, revoked=lambda: "")


class Revoked(Exception):
    """The socket's link no longer opens it (found while building a snapshot)."""


def _guarded(snapshot: Snapshot, guard: Guard) -> Snapshot:
    """Every snapshot checks the link first, in its own session: a link replaced while the
    socket was opening (after its lookup, before it subscribed) is caught here."""
    if guard.holder is None:
        return snapshot

    def checked(session: Session) -> tuple[int, str]:
        if not guard.holds(session):
            raise Revoked
        return snapshot(session)

    return checked


async def _still_allowed(engine: object, guard: Guard) -> bool:
    def check() -> bool:
        with open_session(engine) as session:  # type: ignore[arg-type]
            return guard.holds(session)

    return await asyncio.to_thread(check)


async def _revoke(websocket: WebSocket, guard: Guard) -> None:
    """Say why, then close for good (1008: htmx-ext-ws does not reconnect)."""
    await _send(websocket, guard.revoked())
    await _close(websocket, CLOSE_POLICY)


def _revoked_page(websocket: WebSocket, audience: str, table: Table | None = None) -> str:
    fragments: Fragments = websocket.app.state.fragments
    return fragments.render("partials/_revoked.html", audience=audience, table=table)


async def _link_gone(websocket: WebSocket, audience: str, table: Table | None = None) -> None:
    """A page whose link no longer opens it (its socket was down when the link was replaced
    or the participant removed): accepted only to say why and close for good. Refused
    before accepting, the browser would read 1006, which htmx-ext-ws retries for ever."""
    await websocket.accept()
    await _send(websocket, _revoked_page(websocket, audience, table))
    await _close(websocket, CLOSE_POLICY)


def _same_origin(websocket: WebSocket) -> bool:
    """Browsers send Origin: refuse cross-site pages (cookies ride along); tools send none."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def _lookup(
    engine: object, code: str, client: str, signer: Signer | None, cookie: str | None
) -> tuple[Table, Participant | None]:
    """The table, and for a phone's socket its participant there (tables.resolve_for: an
    unknown code is refused as a table the phone has not joined, and both count)."""
    with open_session(engine) as session:  # type: ignore[arg-type]
        if signer is None:
            return tables.resolve(session, code, client=client), None
        admit = participants.member(session, signer.unsign(cookie))
        return tables.resolve_for(session, code, client=client, admit=admit)


async def _serve(
    websocket: WebSocket,
    *,
    table: Table,
    audience: str,
    snapshot: Snapshot,
    guard: Guard,
    participant_id: int | None = None,
) -> None:
    app_state = websocket.app.state
    hub: Hub = app_state.hub
    live: Broadcaster = app_state.live
    key = payload_key(audience, current_locale())
    snapshot = _guarded(snapshot, guard)
    table_id = table.id or 0
    async with hub.subscribe(
        table_channel(table_id),
        maxsize=app_state.settings.tavoli_send_queue,
        max_bytes=app_state.settings.tavoli_send_buffer_bytes,
        key=key,
        owner=participant_id,
        holder=guard.holder,
    ) as sub:
        live.watching(table_id)
        if participant_id is not None:
            live.arrive(table_id, participant_id)
        try:
            try:
                last = await _send_snapshot(websocket, app_state.engine, snapshot)
            except Revoked:
                await _revoke(websocket, guard)
                return
            if last is None:
                await _close_try_again(websocket)
                return
            live.shown(table_id, last)
            # The receiver ends the connection when the client leaves; the loop below sends
            # without a task per push (a thousand screens, several pushes a second).
            async with anyio.create_task_group() as group:

                async def receive() -> None:
                    await _drain(websocket)
                    group.cancel_scope.cancel()

                group.start_soon(receive)
                try:
                    behind = await _stream(websocket, sub, key, last, snapshot, guard)
                except TimeoutError:  # a send waited past TAVOLI_SEND_TIMEOUT
                    behind = True
                except Revoked:  # found by a snapshot resynchronising the client
                    await _revoke(websocket, guard)
                    behind = False
                if behind:  # 1013: it comes back and resynchronises
                    log.warning(
                        "closing a socket (%s) of table %s with 1013: it does not keep up",
                        audience,
                        table_id,
                    )
                    sub.drop()
                    await _close_try_again(websocket)
                group.cancel_scope.cancel()
        except* WebSocketDisconnect:
            pass  # the client left while we were sending
        finally:
            if participant_id is not None:
                live.leave(table_id, participant_id)


async def _stream(
    websocket: WebSocket,
    sub: Subscription,
    key: str,
    last: int,
    snapshot: Snapshot,
    guard: Guard,
) -> bool:
    """Send the table's pushes in order: True when the client fell behind, False when the
    table was deleted or the link revoked (the client was told and the socket closed for
    good).

    With uvicorn serving through app/live/wire.py, the pushes that follow what the client
    has are written by the hub itself while this loop waits (framed once for every socket);
    this loop sends the rest. Its sends run under the worker's one watchdog
    (app/live/deadline.py), not a timer each: one that waits too long raises TimeoutError."""
    engine = websocket.app.state.engine
    watch: SendWatch = websocket.app.state.send_watch
    sub.seq = last
    sub.wire = wire_of(websocket.scope)
    async with watch.guard() as watched:
        while True:
            push = await sub.next()
            if push is None:  # dropped for falling behind
                return True
            if push is CHECK:  # a link was replaced, or a participant removed
                if not await _still_allowed(engine, guard):
                    await _revoke(websocket, guard)
                    return False
                sub.checked()
                continue
            if push.final:  # the table was deleted: say so, and end for good
                if key in push.payloads:
                    await _send(websocket, push.payloads[key])
                await _close(websocket, CLOSE_NORMAL)
                return False
            if push.own:  # this participant's own state, changed from another tab
                if key in push.payloads:
                    watched.send_started()
                    await _write(websocket, push.payloads[key])
                    watched.send_done()
                continue
            if sub.follows(push):
                if key in push.payloads:
                    watched.send_started()
                    await _write(websocket, push.payloads[key])
                    watched.send_done()
                sub.seq = push.seq
            elif push.seq > (sub.seq or 0):  # overlaps our snapshot, skips past it, or
                # was rendered before this connection subscribed (its key is missing)
                sent = await _send_snapshot(websocket, engine, snapshot)
                if sent is None:
                    return True
                sub.seq = sent


async def _send_snapshot(websocket: WebSocket, engine: object, snapshot: Snapshot) -> int | None:
    """Send the current state; its sequence number, or None when the client did not take it."""

    def build() -> tuple[int, str]:
        with open_session(engine) as session:  # type: ignore[arg-type]
            return snapshot(session)

    seq, text = await asyncio.to_thread(build)
    return seq if await _send(websocket, text) else None


async def _send(websocket: WebSocket, text: str) -> bool:
    """Send, unless the client has stopped reading: False when the send waited too long."""
    with anyio.move_on_after(websocket.app.state.settings.tavoli_send_timeout):
        await _write(websocket, text)
        return True
    return False


async def _write(websocket: WebSocket, text: str) -> None:
    """Send a text frame. uvicorn closes a socket whose client stopped answering pings (1011)
    on its own, and then refuses any send with a RuntimeError: that client is gone."""
    try:
        await websocket.send_text(text)
    except RuntimeError as closed:
        raise WebSocketDisconnect(CLOSE_INTERNAL) from closed


async def _close_try_again(websocket: WebSocket, reason: str = "") -> None:
    """Close with 1013 (the client comes back and resynchronises)."""
    await _close(websocket, CLOSE_TRY_AGAIN, reason)


async def _close(websocket: WebSocket, code: int, reason: str = "") -> None:
    """Close without waiting long: for a stalled client the close frame queues behind
    everything it has not read (returning ends the connection all the same)."""
    with anyio.move_on_after(CLOSE_SECONDS), contextlib.suppress(RuntimeError):
        await websocket.close(code, reason)


async def _capped(
    websocket: WebSocket, stream: Coroutine[Any, Any, None], *, phone: bool = False
) -> None:
    """Run a stream while it holds its open-socket slots: one of the worker's, and unless it
    is a phone's, one of its address's (a phone's is its participant's, taken once the
    cookie is read: a hall behind one address is not one client). Over a cap the socket is
    accepted only to be closed with 1013 (try again later), before any lookup."""
    slots = [("worker_sockets", "worker")]
    if not phone:
        slots.append(("websocket", ratelimit.address(websocket)))
    with contextlib.ExitStack() as stack:
        try:
            for name, key in slots:
                stack.enter_context(ratelimit.holding(name, key))
        except TooMany:
            stream.close()
            await websocket.accept()
            await _close_try_again(websocket, "Too many connections")
            return
        await stream


async def _drain(websocket: WebSocket) -> None:
    """Read what the client sends, so a disconnect is noticed at once, and drop it: a client
    that floods (50 such sockets made pushes 50 times slower) is closed with 1008."""
    clock = asyncio.get_running_loop().time
    allowance, last = float(INBOUND_BURST), clock()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        now = clock()
        allowance = min(INBOUND_BURST, allowance + (now - last) / INBOUND_EVERY) - 1
        last = now
        if allowance < 0:
            log.warning("closing a socket with 1008: it floods the server with messages")
            await _close(websocket, CLOSE_POLICY, "Tavoli reads no messages")
            return


async def _open(
    websocket: WebSocket, code: str, *, with_participant: bool
) -> tuple[Table, Participant | None] | None:
    if not _same_origin(websocket):
        await websocket.close(CLOSE_POLICY)
        return None
    signer: Signer = websocket.app.state.signer
    cookie = websocket.cookies.get("tavoli_p") if with_participant else None
    try:
        found = await asyncio.to_thread(
            _lookup,
            websocket.app.state.engine,
            code,
            ratelimit.address(websocket),
            signer if with_participant else None,
            cookie,
        )
    except TooMany:
        await websocket.accept()
        await _close_try_again(websocket, "Too many unknown codes from this address")
        return None
    except DomainError:
        await websocket.close(CLOSE_POLICY)
        return None
    await websocket.accept()
    return found


@router.websocket("/t/{code}/ws")
async def participant_stream(websocket: WebSocket, code: str) -> None:
    await _capped(websocket, _participant_stream(websocket, code), phone=True)


@router.websocket("/t/{code}/mirror/ws")
async def mirror_stream(websocket: WebSocket, code: str) -> None:
    """ "The screen on my phone": a phone's socket (its participant's slots, its presence,
    its removal), carrying the projector's content in text (partials/_mirror.html)."""
    await _capped(websocket, _participant_stream(websocket, code, audience=MIRROR), phone=True)


async def _participant_stream(
    websocket: WebSocket, code: str, *, audience: str = PARTICIPANT
) -> None:
    opened = await _open(websocket, code, with_participant=True)
    if opened is None:
        return
    table, me = opened
    if me is None:
        await websocket.close(CLOSE_POLICY)
        return
    if me.removed:
        await _send(websocket, _revoked_page(websocket, audience, table))
        await _close(websocket, CLOSE_POLICY)
        return
    fragments: Fragments = websocket.app.state.fragments
    live: Broadcaster = websocket.app.state.live
    locale = current_locale()

    def snapshot(session: Session) -> tuple[int, str]:
        if audience == MIRROR:
            context = shared_context(session, table, MIRROR, live.people(table.id or 0))
        else:
            context = participant_context(session, table, me)
        with using_locale(locale):
            return context["state"].seq, fragments.render("partials/_snapshot.html", **context)

    participant_id = me.id or 0
    guard = Guard(
        holder=participant_holder(participant_id),
        allowed=lambda session: participants.still_at_table(session, participant_id),
        revoked=lambda: _revoked_page(websocket, audience, table),
    )
    with contextlib.ExitStack() as stack:
        try:  # a phone's few tabs
            stack.enter_context(ratelimit.holding("phone_sockets", str(participant_id)))
        except TooMany:
            await _close_try_again(websocket, "Too many connections from this phone")
            return
        await _serve(
            websocket,
            table=table,
            audience=audience,
            snapshot=snapshot,
            guard=guard,
            participant_id=participant_id,
        )


def _shared_snapshot(websocket: WebSocket, table: Table, audience: str) -> Snapshot:
    fragments: Fragments = websocket.app.state.fragments
    live: Broadcaster = websocket.app.state.live
    locale = current_locale()

    def snapshot(session: Session) -> tuple[int, str]:
        context = shared_context(session, table, audience, live.people(table.id or 0))
        with using_locale(locale):
            return context["state"].seq, fragments.render("partials/_snapshot.html", **context)

    return snapshot


@router.websocket("/t/{code}/screen/ws")
async def screen_stream(websocket: WebSocket, code: str) -> None:
    await _capped(websocket, _screen_stream(websocket, code))


async def _screen_stream(websocket: WebSocket, code: str) -> None:
    opened = await _open(websocket, code, with_participant=False)
    if opened is None:
        return
    table, _ = opened
    await _serve(
        websocket,
        table=table,
        audience=SCREEN,
        snapshot=_shared_snapshot(websocket, table, SCREEN),
        guard=PUBLIC,
    )


@router.websocket("/run/{token}/{code}/ws")
async def moderator_stream(websocket: WebSocket, token: str, code: str) -> None:
    await _capped(websocket, _moderator_stream(websocket, token, code))


async def _moderator_stream(websocket: WebSocket, token: str, code: str) -> None:
    """The console's live region, for the event's moderator or the table's facilitator."""
    if not _same_origin(websocket):
        await websocket.close(CLOSE_POLICY)
        return

    client = ratelimit.address(websocket)

    def lookup() -> Table:
        with open_session(websocket.app.state.engine) as session:
            return access.table_for_runner(session, token, code, client=client)

    try:
        table = await asyncio.to_thread(lookup)
    except TooMany:
        await websocket.accept()
        await _close_try_again(websocket, "Too many unknown codes from this address")
        return
    except (Forbidden, Unauthorized):  # a link replaced while the console was offline
        await _link_gone(websocket, MODERATOR)
        return
    except DomainError:
        await websocket.close(CLOSE_POLICY)
        return
    await websocket.accept()
    await _serve(
        websocket,
        table=table,
        audience=MODERATOR,
        snapshot=_shared_snapshot(websocket, table, MODERATOR),
        guard=Guard(
            holder=RUNNERS,
            allowed=lambda session: access.table_for_runner(session, token, code, client=None),
            revoked=lambda: _revoked_page(websocket, MODERATOR),
        ),
    )


@router.websocket("/api/tables/{code}/stream")
async def api_stream(websocket: WebSocket, code: str) -> None:
    await _capped(websocket, _api_stream(websocket, code))


async def _api_stream(websocket: WebSocket, code: str) -> None:
    """JSON events for machine clients: a `snapshot`, then a `delta` or a whole `state` per push."""
    opened = await _open(websocket, code, with_participant=False)
    if opened is None:
        return
    table, _ = opened
    live: Broadcaster = websocket.app.state.live

    def snapshot(session: Session) -> tuple[int, str]:
        current = state.table_state(session, table)
        return current.seq, snapshot_json(current, people=live.people(table.id or 0))

    await _serve(websocket, table=table, audience=API, snapshot=snapshot, guard=PUBLIC)


@router.websocket("/m/{token}/ws")
async def dashboard_stream(websocket: WebSocket, token: str) -> None:
    await _capped(websocket, _dashboard_stream(websocket, token))


@router.websocket("/m/{token}/plenary/ws")
async def plenary_stream(websocket: WebSocket, token: str) -> None:
    await _capped(websocket, _plenary_stream(websocket, token))


@dataclass(frozen=True)
class EventView:
    """A page of the whole event over the one event-wide stream (every table's channel):
    `draw` renders its live region from the database (in a thread: the first message, and
    after a reconnect); then either it forwards each push's payload under `key` (the
    dashboard's rows, rendered once per push by the table's flusher), or, with `key` None,
    any push of any table makes it draw again, at most once per `pause` seconds (the
    plenary, which reads every table at once: a burst of votes costs one redraw)."""

    key: str | None
    draw: Callable[[], str]
    pause: float = 0.0


async def _dashboard_stream(websocket: WebSocket, token: str) -> None:
    """The event dashboard: every table's row, live. Rows are whole, so no sequence to keep."""
    app_state = websocket.app.state
    live: Broadcaster = app_state.live
    fragments: Fragments = app_state.fragments
    locale = current_locale()

    def rows() -> str:
        """Read after subscribing (as a table's snapshot is): a change committed meanwhile
        is in these rows or in a push, never in neither."""
        with open_session(app_state.engine) as session:
            event = events.event_for_moderator(session, token)
            with using_locale(locale):
                return "".join(
                    fragments.render(
                        "partials/_dashboard_row.html",
                        oob=True,
                        **shared_context(session, t, DASHBOARD, live.people(t.id or 0)),
                    )
                    for t in tables.tables_of(session, event)
                )

    await _event_stream(websocket, token, EventView(payload_key(DASHBOARD, locale), rows))


PLENARY_PAUSE = 0.5  # the plenary redraws at most this often while votes arrive


async def _plenary_stream(websocket: WebSocket, token: str) -> None:
    """The plenary (services/plenary.py): its region redrawn whole after any table's push."""
    app_state = websocket.app.state
    fragments: Fragments = app_state.fragments
    locale = current_locale()

    def draw() -> str:
        with open_session(app_state.engine) as session:
            event = events.event_for_moderator(session, token)
            with using_locale(locale):
                return fragments.render(
                    "partials/_plenary.html", oob=True, plenary=plenary.plenary(session, event)
                )

    await _event_stream(websocket, token, EventView(None, draw, PLENARY_PAUSE))


async def _event_stream(websocket: WebSocket, token: str, view: EventView) -> None:
    """One stream for the event's moderator pages: subscribed to every table of the event
    (as they were when it opened), revoked with the moderator link."""
    if not _same_origin(websocket):
        await websocket.close(CLOSE_POLICY)
        return
    app_state = websocket.app.state
    live: Broadcaster = app_state.live

    def table_ids() -> list[int]:
        with open_session(app_state.engine) as session:
            event = events.event_for_moderator(session, token)
            return [t.id or 0 for t in tables.tables_of(session, event)]

    try:
        watched = await asyncio.to_thread(table_ids)
    except (Forbidden, Unauthorized):  # a link replaced while the page was offline
        await _link_gone(websocket, DASHBOARD)
        return
    except DomainError:
        await websocket.close(CLOSE_POLICY)
        return
    await websocket.accept()
    hub: Hub = app_state.hub
    key = view.key
    async with contextlib.AsyncExitStack() as stack:
        subs = [
            await stack.enter_async_context(
                hub.subscribe(
                    table_channel(tid),
                    maxsize=app_state.settings.tavoli_send_queue,
                    max_bytes=app_state.settings.tavoli_send_buffer_bytes,
                    key=key,
                    holder=RUNNERS,
                    paces=False,  # one page of every table: it must not pace them all
                )
            )
            for tid in watched
        ]
        guard = Guard(
            holder=RUNNERS,
            allowed=lambda session: events.event_for_moderator(session, token),
            revoked=lambda: _revoked_page(websocket, DASHBOARD),
        )
        for tid in watched:
            live.watching(tid)
        try:
            snapshot = await asyncio.to_thread(view.draw)
        except DomainError:  # the event was deleted meanwhile
            await _close(websocket, CLOSE_POLICY)
            return
        if not await _send(websocket, snapshot):
            await _close_try_again(websocket)
            return
        dirty = asyncio.Event()

        async def redraw() -> None:
            """Draw again after a push, paced; returns only when a send failed."""
            while True:
                await dirty.wait()
                await asyncio.sleep(view.pause)
                dirty.clear()
                try:
                    html = await asyncio.to_thread(view.draw)
                except DomainError:  # the event was deleted: its last push said so
                    return
                if not await _send(websocket, html):
                    return

        receiver = asyncio.create_task(_drain(websocket))
        redrawer = asyncio.create_task(redraw())
        getters = {asyncio.create_task(sub.next()): sub for sub in subs}
        try:
            while True:
                done, _pending = await asyncio.wait(
                    {*getters, receiver, redrawer}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiver in done:
                    return
                if redrawer in done:
                    await _close_try_again(websocket)
                    return
                for task in sorted(done, key=lambda t: t.result() is not CHECK):
                    sub = getters.pop(task)
                    push = task.result()
                    if push is CHECK:  # checked before any push of the same wake-up
                        if not await _still_allowed(app_state.engine, guard):
                            await _revoke(websocket, guard)
                            return
                        sub.checked()
                    elif push is None:
                        await _close_try_again(websocket)
                        return
                    elif key is None:
                        dirty.set()
                    elif key in push.payloads and not await _send(websocket, push.payloads[key]):
                        await _close_try_again(websocket)
                        return
                    getters[asyncio.create_task(sub.next())] = sub
        except WebSocketDisconnect:
            return
        finally:
            for task in (*getters, receiver, redrawer):
                task.cancel()
