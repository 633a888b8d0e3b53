"""A link replaced, or a participant removed, closes the sockets it opened at once (a real
server process): the page is told why, and nothing the old link may not see reaches it."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from app.security import Signer
from tests.server import bearer, running_server, until_closed

pytestmark = pytest.mark.timeout(90)

ADMIN = "revocation-organiser"
SECRET = "revocation-secret-key"
POLICY = 1008  # htmx-ext-ws reconnects on 1006, 1011, 1012 and 1013 only
SECRET_TITLE = "Una proposta scritta dopo la revoca"
REPLACED = "Questo link è stato sostituito"
REMOVED = "Il moderatore ti ha allontanato da questo tavolo."


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("revocation")
    with running_server(
        f"sqlite:///{tmp / 'revocation.db'}",
        tmp / "server.log",
        TAVOLI_ADMIN_TOKEN=ADMIN,
        TAVOLI_SECRET_KEY=SECRET,
        TAVOLI_RATE_LIMITS="false",
    ) as url:
        yield url


@dataclass
class Event:
    id: int
    moderator: str
    code: str


async def _event(http: httpx.AsyncClient) -> Event:
    """An event with one table collecting posts."""
    created = await http.post(
        "/api/events", json={"title": "Welfare", "date": "2026-11-30"}, headers=bearer(ADMIN)
    )
    assert created.status_code == 201, created.text
    event_id, moderator = created.json()["id"], created.json()["moderator_token"]
    table = await http.post(
        f"/api/events/{event_id}/tables", json={"title": "Abitare"}, headers=bearer(moderator)
    )
    assert table.status_code == 201, table.text
    code = table.json()["code"]
    phase = await http.put(
        f"/api/tables/{code}/phase", json={"phase": "collect"}, headers=bearer(moderator)
    )
    assert phase.status_code == 200, phase.text
    return Event(event_id, moderator, code)


async def _join(http: httpx.AsyncClient, code: str) -> tuple[str, int]:
    joined = await http.post(f"/api/tables/{code}/participants", json={})
    assert joined.status_code == 201, joined.text
    return joined.json()["token"], joined.json()["participant_id"]


async def _post(http: httpx.AsyncClient, code: str, title: str = SECRET_TITLE) -> None:
    author, _ = await _join(http, code)
    posted = await http.post(
        f"/api/tables/{code}/proposals", json={"title": title}, headers=bearer(author)
    )
    assert posted.status_code == 201, posted.text


async def _socket(base: str, path: str, cookie: str = "") -> ClientConnection:
    """A page's socket, its first message (the snapshot) read."""
    headers = {"Cookie": cookie} if cookie else {}
    ws = await connect(base.replace("http", "ws", 1) + path, additional_headers=headers)
    await asyncio.wait_for(ws.recv(), 10)
    return ws


async def _until_seen(ws: ClientConnection, text: str, within: float = 10) -> None:
    async with asyncio.timeout(within):
        while text not in str(await ws.recv()):
            pass


def test_a_new_moderator_link_closes_the_old_consoles_and_dashboard(base: str) -> None:
    """Before: the old link's console and dashboard kept getting the queue and the names."""

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            event = await _event(http)
            console = await _socket(base, f"/run/{event.moderator}/{event.code}/ws")
            dashboard = await _socket(base, f"/m/{event.moderator}/ws")
            new = await http.post(f"/api/events/{event.id}/moderator-link", headers=bearer(ADMIN))
            assert new.status_code == 201, new.text
            fresh = await _socket(base, f"/run/{new.json()['moderator_token']}/{event.code}/ws")
            await _post(http, event.code)
            await _until_seen(fresh, SECRET_TITLE)  # what the old console would have had
            for ws in (console, dashboard):
                messages, code = await until_closed(ws)
                assert code == POLICY
                assert not any(SECRET_TITLE in m for m in messages)
                assert REPLACED in messages[-1]
            await fresh.close()

    asyncio.run(scenario())


def test_a_new_facilitator_link_closes_only_the_old_facilitator_console(base: str) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            event = await _event(http)
            link = f"/api/tables/{event.code}/facilitator-link"
            old = (await http.post(link, headers=bearer(event.moderator))).json()["token"]
            facilitator = await _socket(base, f"/run/{old}/{event.code}/ws")
            moderator = await _socket(base, f"/run/{event.moderator}/{event.code}/ws")
            answer = await http.post(link, headers=bearer(event.moderator))
            assert answer.status_code == 201, answer.text
            await _post(http, event.code)
            messages, code = await until_closed(facilitator)
            assert code == POLICY
            assert not any(SECRET_TITLE in m for m in messages)
            assert REPLACED in messages[-1]
            await _until_seen(moderator, SECRET_TITLE)  # the moderator's link still holds
            await moderator.close()

    asyncio.run(scenario())


def test_a_removed_participant_is_told_at_once_and_gets_nothing_more(base: str) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            event = await _event(http)
            token, participant_id = await _join(http, event.code)
            cookie = f"tavoli_p={Signer(SECRET).sign(token)}"
            phone = await _socket(base, f"/t/{event.code}/ws", cookie)
            removed = await http.request(
                "DELETE",
                f"/api/tables/{event.code}/participants/{participant_id}",
                json={},
                headers=bearer(event.moderator),
            )
            assert removed.status_code == 200, removed.text
            await _post(http, event.code)
            messages, code = await until_closed(phone)
            assert code == POLICY
            assert not any(SECRET_TITLE in m for m in messages)
            assert REMOVED in messages[-1]

    asyncio.run(scenario())


def test_a_page_offline_when_its_link_went_is_told_when_it_reconnects(base: str) -> None:
    """A phone loses the Wi-Fi now and then: if its participant was removed (or a console's
    link replaced) meanwhile, its socket comes back to be told why and closed for good.
    Before, the console's was refused before the handshake (the browser reads 1006 and
    retries for ever) and the phone's closed without a word."""

    async def told(path: str, cookie: str = "") -> tuple[list[str], int | None]:
        headers = {"Cookie": cookie} if cookie else {}
        ws = await connect(base.replace("http", "ws", 1) + path, additional_headers=headers)
        return await until_closed(ws)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            event = await _event(http)
            token, participant_id = await _join(http, event.code)
            new = await http.post(f"/api/events/{event.id}/moderator-link", headers=bearer(ADMIN))
            moderator = new.json()["moderator_token"]
            removed = await http.request(
                "DELETE",
                f"/api/tables/{event.code}/participants/{participant_id}",
                json={},
                headers=bearer(moderator),
            )
            assert removed.status_code == 200, removed.text
        for path, cookie, why in (
            (f"/run/{event.moderator}/{event.code}/ws", "", REPLACED),
            (f"/m/{event.moderator}/ws", "", REPLACED),
            (f"/t/{event.code}/ws", f"tavoli_p={Signer(SECRET).sign(token)}", REMOVED),
        ):
            messages, code = await told(path, cookie)
            assert code == POLICY, path
            assert len(messages) == 1 and why in messages[0], (path, messages)

    asyncio.run(scenario())
