"""Live pushes over WebSockets: every screen and phone sees each change, in order, once."""

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from app.live import broadcaster
from app.live.broadcaster import STOP_SECONDS, Broadcaster
from app.live.hub import Hub, Push
from app.models import Table
from app.services import participants, phases, voting
from app.services.state import TableDelta, TableState, TableStats
from tests.clock import FakeClock
from tests.conftest import make_table, screens
from tests.test_api import RUNNERS, bearer, create_table, join, post, set_phase


def show_wall(client: TestClient, code: str) -> None:
    response = client.put(
        f"/api/tables/{code}/screen", json={"mode": "wall"}, headers=bearer(RUNNERS[code])
    )
    assert response.status_code == 200


def participant_cookie(app: FastAPI, token: str) -> dict[str, str]:
    return {"cookie": f"tavoli_p={app.state.signer.sign(token)}"}


def receive_until(ws: WebSocketTestSession, done: Callable[[str], bool], limit: int = 50) -> str:
    for _ in range(limit):
        text = ws.receive_text()
        if done(text):
            return text
    raise AssertionError("the expected push never came")


def events_of(ws: WebSocketTestSession, count: int) -> list[dict[str, Any]]:
    return [json.loads(ws.receive_text()) for _ in range(count)]


def test_a_post_and_a_vote_reach_the_screen_and_another_phone(
    client: TestClient, app: FastAPI
) -> None:
    _, code = create_table(client)
    show_wall(client, code)
    alice, bob = join(client, code), join(client, code)
    with (
        client.websocket_connect(f"/t/{code}/screen/ws") as screen,
        client.websocket_connect(f"/t/{code}/ws", headers=participant_cookie(app, bob)) as phone,
    ):
        assert 'id="wall"' in screen.receive_text()  # snapshot
        assert 'id="wall"' in phone.receive_text()
        pid = post(client, code, alice, "Centro antiviolenza aperto anche il sabato")
        text = receive_until(phone, lambda t: "Centro antiviolenza" in t)
        assert 'hx-swap-oob="afterbegin:#cards-proposal"' in text  # the card alone
        text = receive_until(screen, lambda t: "Centro antiviolenza" in t)
        stage = '<div id="stage" class="stage mode-wall" hx-ext="morph" hx-swap-oob="morph">'
        assert stage in text  # redrawn (morphed)
        set_phase(client, code, "voting")
        client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(bob))
        for ws in (screen, phone):  # the phase change, then the vote (maybe in one push)
            receive_until(ws, lambda t: f'id="tally-{pid}"' in t and 'tally-count">1<' in t)


def test_pushes_are_rendered_once_per_audience_not_per_connection(
    client: TestClient, app: FastAPI
) -> None:
    _, code = create_table(client)
    me = join(client, code)
    pid = post(client, code, me)
    set_phase(client, code, "voting")
    show_wall(client, code)
    calls: list[int] = []
    render = app.state.live._render

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return render(*args, **kwargs)

    app.state.live._render = counting
    sockets = [client.websocket_connect(f"/t/{code}/screen/ws") for _ in range(5)]
    try:
        for ws in sockets:
            ws.__enter__()
            ws.receive_text()
        calls.clear()
        client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
        for ws in sockets:
            receive_until(ws, lambda t: f'id="tally-{pid}"' in t)
        assert len(calls) == 1
    finally:
        for ws in sockets:
            ws.__exit__(None, None, None)


def test_api_stream_snapshot_then_contiguous_deltas(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    first = post(client, code, me, "Banco alimentare di comunità")
    with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["type"] == "snapshot"
        assert [p["title"] for p in snapshot["proposals"]] == ["Banco alimentare di comunità"]
        second = post(client, code, me, "Orti sociali")
        voting_seq = set_phase(client, code, "voting")
        client.put(f"/api/proposals/{first}/vote", json={"dots": 1}, headers=bearer(me))
        last, kinds, seen_new, tallies = snapshot["seq"], set(), [], {}
        while last < voting_seq + 1:
            event = json.loads(ws.receive_text())
            if event["type"] == "snapshot":  # a push that raced the connect: a resync
                last = event["seq"]
                seen_new += [
                    p["id"] for p in event["proposals"] if p["id"] not in (*seen_new, first)
                ]
                tallies.update({str(p["id"]): p["tally"] for p in event["proposals"]})
                continue
            assert event["prev_seq"] == last, "a push was skipped"
            last = event["seq"]
            kinds.add(event["type"])
            if event["type"] == "delta":
                seen_new += [p["id"] for p in event["proposals"]]
                tallies.update(event["tallies"])
            else:  # a phase change sends the whole table
                assert event["type"] == "state" and event["phase"] == "voting"
                seen_new += [
                    p["id"]
                    for p in event["proposals"]
                    if p["id"] not in seen_new and p["id"] != first
                ]
                tallies.update({str(p["id"]): p["tally"] for p in event["proposals"]})
        assert seen_new == [second]
        assert tallies[str(first)] == 1
        assert "state" in kinds


def test_a_burst_of_votes_is_coalesced_without_losing_any(
    tmp_path: Any, settings: Any, engine: Any
) -> None:
    from app.main import create_app

    app = create_app(settings.model_copy(update={"tavoli_push_interval": 0.5}))
    render = app.state.live._render

    def slow(*args: Any, **kwargs: Any) -> Any:  # a busy server: votes land while it builds
        time.sleep(0.1)
        return render(*args, **kwargs)

    app.state.live._render = slow
    with TestClient(app) as client:
        _, code = create_table(client)
        voters = [join(client, code) for _ in range(12)]
        pid = post(client, code, voters[0])
        set_phase(client, code, "voting")
        with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
            start = json.loads(ws.receive_text())["seq"]
            for token in voters:
                client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(token))
            pushes, last, tally = 0, start, 0
            while last < start + len(voters):
                event = json.loads(ws.receive_text())
                if event["type"] == "snapshot":  # a push overlapped the first snapshot: reset
                    last = event["seq"]
                    tally = next(p["tally"] for p in event["proposals"] if p["id"] == pid)
                    continue
                assert event["prev_seq"] == last
                last, pushes = event["seq"], pushes + 1
                tally = event["tallies"].get(str(pid), tally)
            assert tally == 12
            assert pushes < len(voters) / 2  # votes committed during a build share the next push


def test_a_reconnecting_client_receives_the_full_current_state(
    client: TestClient, app: FastAPI
) -> None:
    _, code = create_table(client)
    me = join(client, code)
    with client.websocket_connect(f"/t/{code}/ws", headers=participant_cookie(app, me)) as phone:
        assert "Ancora nessun contributo" in phone.receive_text()  # Italian by default
    # The phone sleeps; meanwhile the table moves on.
    pid = post(client, code, me, "Sportello di ascolto nelle scuole")
    set_phase(client, code, "voting")
    client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
    seq = client.get(f"/api/tables/{code}").json()["seq"]
    with client.websocket_connect(f"/t/{code}/ws", headers=participant_cookie(app, me)) as phone:
        snapshot = phone.receive_text()
    wall = 'id="wall" class="wall wall-participant" hx-ext="morph" hx-swap-oob="morph"'
    assert wall in snapshot
    assert "Sportello di ascolto nelle scuole" in snapshot
    assert '<strong class="tally-count">1</strong>' in snapshot
    assert 'aria-pressed="true"' in snapshot  # this phone's own vote is shown as its own
    assert f'data-votes="{{&#34;{pid}&#34;: 1}}"' in snapshot
    assert "Votazione" in snapshot  # the phase banner
    assert f'data-seq="{seq}"' in snapshot


def test_participant_socket_needs_the_participant_cookie(client: TestClient) -> None:
    _, code = create_table(client)
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(f"/t/{code}/ws") as ws,
    ):
        ws.receive_text()
    assert closed.value.code == 1008


def test_cross_site_pages_cannot_open_a_socket(client: TestClient) -> None:
    _, code = create_table(client)
    headers = {"origin": "https://evil.example"}
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(f"/t/{code}/screen/ws", headers=headers) as ws,
    ):
        ws.receive_text()


def test_unknown_code_closes_the_socket(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/api/tables/ZZZZZZ/stream") as ws,
    ):
        ws.receive_text()


def test_a_client_that_falls_behind_is_dropped_and_can_resync(
    client: TestClient, app: FastAPI
) -> None:
    _, code = create_table(client)
    hub: Hub = app.state.hub
    with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
        ws.receive_text()
        channel = next(iter(hub._subscribers))

        def flood() -> None:  # more pushes than the queue holds, before the sender can run
            for seq in range(1, 500):
                hub._fan_out(Push(channel=channel, seq=seq, prev_seq=seq - 1, payloads={}))

        client.portal.call(_run_sync, flood)  # type: ignore[union-attr]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1013
    with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
        assert json.loads(ws.receive_text())["type"] == "snapshot"


async def _run_sync(fn: Callable[[], None]) -> None:
    fn()


@pytest.mark.anyio
async def test_hub_subscription_drops_a_slow_subscriber_only() -> None:
    hub = Hub()
    async with (
        hub.subscribe("table:1", maxsize=2) as slow,
        hub.subscribe("table:1", maxsize=100) as fast,
    ):
        for seq in range(1, 6):
            await hub.publish(Push(channel="table:1", seq=seq, prev_seq=seq - 1, payloads={}))
        assert await slow.next() is None
        assert [(await fast.next()).seq for _ in range(5)] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    assert hub.subscriber_count("table:1") == 0


def test_a_vote_that_changes_nothing_pushes_nothing(client: TestClient) -> None:
    _, code = create_table(client)
    me, other = join(client, code), join(client, code)
    pid = post(client, code, me, "Doposcuola nei quartieri")
    set_phase(client, code, "voting")
    with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
        last = json.loads(ws.receive_text())["seq"]
        first = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
        while last < first.json()["seq"]:
            last = json.loads(ws.receive_text())["seq"]
        for _ in range(3):  # a double tap, a retry: the same vote again
            again = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
            assert again.json()["seq"] == last
        client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(other))
        event = json.loads(ws.receive_text())  # the next push is that vote, not an empty one
        assert event["prev_seq"] == last
        assert event["tallies"] == {str(pid): 2}


def test_a_table_with_no_socket_here_costs_no_push_and_a_later_screen_follows(
    app: FastAPI, client: TestClient
) -> None:
    """A worker builds a table's pushes only for its own sockets: votes on a table nobody
    watches here build nothing, and a screen that opens afterwards gets the state, then
    every later vote in an unbroken chain."""
    live = app.state.live
    built: list[int] = []
    render = live._render

    def counting(delta: TableDelta, *args: Any, **kwargs: Any) -> Mapping[str, str]:
        built.append(delta.seq)
        return render(delta, *args, **kwargs)  # type: ignore[no-any-return]

    live._render = counting
    _, code = create_table(client)
    me, other = join(client, code), join(client, code)
    pid = post(client, code, me, "Sportello unico per l'abitare")
    set_phase(client, code, "voting")
    client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
    time.sleep(0.3)
    assert built == []
    with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
        snapshot = json.loads(ws.receive_text())
        assert [p["tally"] for p in snapshot["proposals"]] == [1]
        vote = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(other))
        event = json.loads(ws.receive_text())
        assert event["type"] == "delta" and event["prev_seq"] == snapshot["seq"]
        assert event["seq"] == vote.json()["seq"] and event["tallies"] == {str(pid): 2}
    assert built == [event["seq"]]


def test_a_commit_announced_late_by_another_worker_leaves_no_gap_on_the_screens(
    app: FastAPI, client: TestClient
) -> None:
    """Two workers share the table: the other worker's vote is committed, but its notice
    arrives after this worker's own later vote. The screen opened here before both gets one
    push continuing its snapshot, with both votes, not a gap and a full reload."""
    _, code = create_table(client)
    me, other = join(client, code), join(client, code)
    pid = post(client, code, me, "Sportello unico per l'abitare")
    set_phase(client, code, "voting")
    with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
        snapshot = json.loads(ws.receive_text())
        with Session(app.state.engine) as session:  # the other worker: no notice here
            voter = participants.participant_by_token(session, other)
            elsewhere = voting.set_vote(session, participant=voter, proposal_id=pid, dots=1)
        vote = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
        assert vote.json()["seq"] == elsewhere.seq + 1 == snapshot["seq"] + 2
        event = json.loads(ws.receive_text())
        assert event["type"] == "delta" and event["prev_seq"] == snapshot["seq"]
        assert event["seq"] == vote.json()["seq"] and event["tallies"] == {str(pid): 2}


@pytest.mark.anyio
async def test_a_stopping_server_waits_for_the_push_being_built_and_starts_no_more(
    engine: Engine, session: Session
) -> None:
    """A push is built in a thread with a database connection: the server stops only once
    it is done (so the engine is disposed with nothing left open), and promptly."""
    table = make_table(session)
    built: list[int] = []

    def slow_render(
        delta: TableDelta, _stats: TableStats, _state: TableState, **_: object
    ) -> Mapping[str, str]:
        time.sleep(0.3)
        built.append(delta.seq)
        return {}

    hub = Hub()
    live = Broadcaster(hub=hub, engine=engine, render=slow_render, interval=0.01)
    await live.start()
    async with screens([hub], table.id or 0):
        live.notify(table.id or 0, 1)
        await asyncio.sleep(0.1)  # the push is being built
        began = time.monotonic()
        await live.stop()
    assert len(built) == 1  # finished before stop() returned
    assert time.monotonic() - began < STOP_SECONDS
    live.arrive(table.id or 0, 1)  # a socket closing late changes nothing any more
    await asyncio.sleep(0.05)
    assert len(built) == 1


@pytest.mark.anyio
async def test_a_timer_moves_the_phase_at_zero_unless_the_server_stopped(
    engine: Engine, session: Session
) -> None:
    def no_render(_d: TableDelta, _s: TableStats, _t: TableState, **_: object) -> Mapping[str, str]:
        return {}

    def phase_of(table: Table) -> str:
        session.expire_all()
        fresh = session.get(Table, table.id)
        assert fresh is not None
        return fresh.phase

    running, stopped = make_table(session), make_table(session)
    clock = FakeClock()
    live = Broadcaster(hub=Hub(), engine=engine, render=no_render, interval=0.01, clock=clock)
    await live.start()
    phases.start_timer(session, running, seconds=1, advance=True)
    live.watch_timer(running.id or 0, running.timer_ends_at)
    clock.advance(0.5)
    await live.stop()  # waits for a timer reaching zero: none has
    assert phase_of(running) == "collect"
    await live.start()  # watches it again
    clock.advance(1.0)
    await live.stop()
    assert phase_of(running) == "discussion"

    phases.start_timer(session, stopped, seconds=1, advance=True)
    await live.start()  # a restart watches the timers still running...
    await live.stop()  # ...and stopping cancels them: nothing moves after it
    clock.advance(1.5)
    await live.stop()  # (it would wait for one reaching zero)
    assert phase_of(stopped) == "collect"


def test_posts_from_many_phones_at_once_all_reach_the_screen_and_the_stream(
    client: TestClient,
) -> None:
    """Posts committed while pushes are built (several threads, load-paced pushes): the
    projector and a JSON client both end with every card of the database."""
    _, code = create_table(client)
    show_wall(client, code)
    posters = [join(client, code) for _ in range(4)]
    titles = [
        f"{topic} ({n + 1})"
        for n, topic in enumerate(
            ["Trasporto sociale nelle frazioni", "Sportello unico per le famiglie"] * 10
        )
    ]

    def post_some(index: int) -> None:
        for title in titles[index::4]:
            post(client, code, posters[index], title)

    with (
        client.websocket_connect(f"/t/{code}/screen/ws") as screen,
        client.websocket_connect(f"/api/tables/{code}/stream") as stream,
    ):
        screen_seq = int(seq_of(screen.receive_text()))
        first = json.loads(stream.receive_text())
        stream_seq, shown = first["seq"], {str(p["id"]) for p in first["proposals"]}
        threads = [threading.Thread(target=post_some, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        join(client, code)  # a change after the posts that redraws no card
        table = client.get(f"/api/tables/{code}").json()
        final, wanted = table["seq"], {str(p["id"]) for p in table["proposals"]}
        assert len(wanted) == len(titles)

        cards: set[str] = set()
        while screen_seq < final:  # apply each fragment as the projector's page does
            text = screen.receive_text()
            found = set(re.findall(r'<article id="p-(\d+)"', text))
            cards = found if '<div id="stage"' in text else cards | found
            screen_seq = int(seq_of(text))
        assert cards == wanted

        while stream_seq < final:  # and as a machine client does with the JSON events
            event = json.loads(stream.receive_text())
            ids = {str(p["id"]) for p in event["proposals"]}
            shown = shown | ids if event["type"] == "delta" else ids  # or a snapshot, a state
            stream_seq = event["seq"]
        assert shown == wanted


def seq_of(fragment: str) -> str:
    found = re.search(r'id="seq" data-seq="(\d+)"', fragment)
    assert found, fragment[:200]
    return found.group(1)


@pytest.mark.anyio
async def test_a_change_marked_as_the_table_goes_idle_is_still_pushed(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flusher ends after IDLE_SECONDS without changes. A change marked in the same turn
    of the event loop as that timeout found the flusher not yet done (so no new one was
    started) and its wake-up already cancelled: it waited for the next change to be pushed."""
    monkeypatch.setattr(broadcaster, "IDLE_SECONDS", 0.05)
    table = make_table(session)
    table_id = table.id or 0
    people: list[int] = []

    def render(
        delta: TableDelta,
        stats: TableStats,
        current: TableState,
        *,
        keys: AbstractSet[str] | None = None,
    ) -> Mapping[str, str]:
        people.append(stats.people)
        return {}

    live = Broadcaster(hub=Hub(), engine=engine, render=render, interval=0.01)
    await live.start()
    try:
        live.arrive(table_id, 1)
        for _ in range(100):
            if people:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)  # the flusher waits again, for at most 0.05 s
        asyncio.get_running_loop().call_later(0.06, live.arrive, table_id, 2)
        # A busy loop: the timeout and the arrival come due in the same turn.
        time.sleep(0.15)  # noqa: ASYNC251
        for _ in range(100):
            if len(people) == 2:
                break
            await asyncio.sleep(0.01)
        assert people == [1, 2]
    finally:
        await live.stop()
