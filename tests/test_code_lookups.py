"""Table codes cannot be enumerated through any door: every door that takes a code answers an
unknown code exactly as a known one it refuses, counts both as a failed lookup of the
client's address, and once the address is over the limit answers 429 (tables.resolve_for)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import SQLModel
from starlette.websockets import WebSocketDisconnect

from app import ratelimit
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from tests.server import bearer

ADMIN = "test-organiser-token"  # tests/conftest.py's settings
FAILURES = 3  # the lookup limit of these tests, per minute
LIMITS = f"lookup={FAILURES}/minute"
UNKNOWN = "ZZZZZ2"  # no table has it: created codes are checked against it


@dataclass
class World:
    """Two events: the caller's (a table A it may use: phone, moderator, facilitator and
    coordinator tokens) and another event's table B, known but refused to every caller."""

    a: str
    b: str
    moderator: str
    facilitator: str
    coordinator: str
    phone: str  # bearer token of a participant of A
    cookie: str  # that participant's signed phone cookie
    csrf: str


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module: nothing here changes a table (every request is refused), and
    each test starts from fresh counts (`limits`)."""
    data = tmp_path_factory.mktemp("lookups")
    settings = Settings(
        database_url=f"sqlite:///{data}/tavoli.db",
        hub_url="memory://",
        tavoli_admin_token=ADMIN,
        tavoli_secret_key="test-secret-key",
        tavoli_warm_pdf=False,
        tavoli_rate_limits=True,
        tavoli_limits=LIMITS,
        tavoli_purge_interval=0,
    )
    engine = make_engine(settings.database_url)
    SQLModel.metadata.create_all(engine)
    with TestClient(create_app(settings)) as client:
        yield client
    engine.dispose()


@pytest.fixture(autouse=True)
def limits() -> Iterator[None]:
    """Fresh counts and these tests' limits (conftest turns limits off before each test)."""
    ratelimit.configure("memory://", overrides=LIMITS)
    yield
    ratelimit.configure(enabled=False)


def _event_table(client: TestClient) -> tuple[str, str, int]:
    event = client.post(
        "/api/events", json={"title": "Stati Generali", "date": "2024-11-09"}, headers=bearer(ADMIN)
    ).json()
    table = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Abitare"},
        headers=bearer(event["moderator_token"]),
    ).json()
    assert table["code"] != UNKNOWN
    client.put(
        f"/api/tables/{table['code']}/phase",
        json={"phase": "collect"},
        headers=bearer(event["moderator_token"]),
    )
    return str(table["code"]), str(event["moderator_token"]), int(event["id"])


@pytest.fixture(scope="module")
def world(client: TestClient) -> World:
    a, moderator, event_id = _event_table(client)
    b, _other, _ = _event_table(client)
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text)
    assert csrf is not None
    handout = client.post(
        f"/m/{moderator}/tables/{a}/facilitator",
        data={"csrf_token": csrf[1]},
        follow_redirects=False,
    )
    facilitator = handout.headers["location"].split("/")[2]
    coordinator = client.post(
        f"/api/events/{event_id}/coordinator-link", headers=bearer(moderator)
    ).json()["token"]
    phone = client.post(f"/api/tables/{a}/participants", json={}).json()["token"]
    joined = client.post(f"/t/{a}/join", data={"csrf_token": csrf[1]}, follow_redirects=False)
    cookie = joined.cookies["tavoli_p"]
    client.cookies.delete("tavoli_p")  # each request says which phone it is, or none
    return World(a, b, moderator, facilitator, coordinator, phone, cookie, csrf[1])


@dataclass(frozen=True)
class Door:
    method: str
    path: str  # {code}, and the caller's token as {moderator}, {facilitator}, {coordinator}
    credential: str = ""  # "cookie", "phone", "moderator", ... sent as a cookie or bearer
    body: dict[str, Any] | None = None
    form: dict[str, str] | None = None

    def call(self, client: TestClient, world: World, code: str) -> Any:
        path = self.path.format(code=code, **vars(world))
        headers: dict[str, str] = {"X-CSRF-Token": world.csrf}
        cookies = {}
        if self.credential == "cookie":
            cookies["tavoli_p"] = world.cookie
        elif self.credential:
            headers.update(bearer(getattr(world, self.credential, self.credential)))
        client.cookies.delete("tavoli_p")
        for name, value in cookies.items():
            client.cookies.set(name, value)
        return client.request(
            self.method,
            path,
            headers=headers,
            json=self.body,
            data=self.form,
            follow_redirects=False,
        )


# Doors where the caller's credential decides: an unknown code must look like table B.
REFUSING = {
    "phone's state (no cookie)": Door("GET", "/t/{code}/me"),
    "phone's state": Door("GET", "/t/{code}/me", "cookie"),
    "phone posts": Door("POST", "/t/{code}/proposals", "cookie", form={"title": "Orti"}),
    "phone edits": Door("POST", "/t/{code}/proposals/1/edit", "cookie", form={"title": "Orti"}),
    "phone withdraws": Door("POST", "/t/{code}/proposals/1/withdraw", "cookie"),
    "phone votes": Door("POST", "/t/{code}/proposals/1/vote", "cookie", form={"dots": "1"}),
    "phone's data": Door("GET", "/t/{code}/my-data", "cookie"),
    "phone's data (no cookie)": Door("GET", "/t/{code}/my-data"),
    "phone erases": Door("POST", "/t/{code}/my-data/erase", "cookie", form={"confirm": "true"}),
    "API my data (no token)": Door("GET", "/api/tables/{code}/me"),
    "API my data": Door("GET", "/api/tables/{code}/me", "phone"),
    "API erase (no token)": Door("DELETE", "/api/tables/{code}/me"),
    "API erase": Door("DELETE", "/api/tables/{code}/me", "phone"),
    "API post": Door("POST", "/api/tables/{code}/proposals", "phone", body={"title": "Orti"}),
    "API post (any token)": Door(
        "POST", "/api/tables/{code}/proposals", "nonsense", body={"title": "Orti"}
    ),
    "API phase": Door("PUT", "/api/tables/{code}/phase", "moderator", body={"phase": "voting"}),
    "API phase (facilitator)": Door(
        "PUT", "/api/tables/{code}/phase", "facilitator", body={"phase": "voting"}
    ),
    "API edit table": Door("PATCH", "/api/tables/{code}", "moderator", body={"title": "X"}),
    "API card": Door("GET", "/api/tables/{code}/card.pdf", "moderator"),
    "API delete table": Door("DELETE", "/api/tables/{code}", "moderator"),
    "API report": Door("GET", "/api/tables/{code}/report.json", "coordinator"),
    "API report (facilitator)": Door("GET", "/api/tables/{code}/report.csv", "facilitator"),
    "console": Door("GET", "/run/{moderator}/{code}/"),
    "console (facilitator)": Door("GET", "/run/{facilitator}/{code}/"),
    "console action": Door("POST", "/run/{moderator}/{code}/phase", form={"phase": "voting"}),
    "console reports": Door("GET", "/run/{moderator}/{code}/reports"),
    "facilitator handout": Door("GET", "/run/{facilitator}/{code}/link"),
    "facilitator card": Door("GET", "/run/{facilitator}/{code}/card.pdf"),
    "table settings": Door("GET", "/m/{moderator}/tables/{code}"),
    "table edit": Door("POST", "/m/{moderator}/tables/{code}", form={"title": "X"}),
    "table delete": Door("POST", "/m/{moderator}/tables/{code}/delete", form={"confirm": "1"}),
    "new facilitator link": Door("POST", "/m/{moderator}/tables/{code}/facilitator"),
    "table card": Door("GET", "/m/{moderator}/tables/{code}/card.pdf"),
    "coordinator download": Door("GET", "/c/{coordinator}/tables/{code}/report.md"),
}
# Doors open to anyone with the code: a known code is never refused there.
OPEN = {
    "find by code": Door("GET", "/join?code={code}"),
    "table page": Door("GET", "/t/{code}"),
    "join form": Door("POST", "/t/{code}/join"),
    "projector": Door("GET", "/t/{code}/screen"),
    "QR code": Door("GET", "/t/{code}/qr.svg"),
    "privacy notice": Door("GET", "/t/{code}/privacy"),
    "API table": Door("GET", "/api/tables/{code}"),
    "API join": Door("POST", "/api/tables/{code}/participants", body={}),
}
DOORS = {**REFUSING, **OPEN}


def _shown(response: Any, code: str) -> tuple[int, str]:
    """Status and body; the code the client sent is echoed in links (the language switch)."""
    return response.status_code, response.text.replace(code, "{code}")


@pytest.mark.parametrize("name", REFUSING)
def test_an_unknown_code_is_answered_as_a_known_table_the_door_refuses(
    client: TestClient, world: World, name: str
) -> None:
    door = REFUSING[name]
    known = _shown(door.call(client, world, world.b), world.b)
    unknown = _shown(door.call(client, world, UNKNOWN), UNKNOWN)
    assert known[0] in (401, 403, 404), known
    assert unknown == known


@pytest.mark.parametrize("name", DOORS)
def test_each_failed_lookup_counts_and_then_the_door_answers_429(
    client: TestClient, world: World, name: str
) -> None:
    door = DOORS[name]
    codes = [UNKNOWN, world.b] if name in REFUSING else [UNKNOWN]
    for n in range(FAILURES):
        refused = door.call(client, world, codes[n % len(codes)])
        assert refused.status_code in (401, 403, 404), refused.text
    for code in codes:
        over = door.call(client, world, code)
        assert over.status_code == 429, (code, over.text)
        assert int(over.headers["retry-after"]) > 0


@pytest.mark.parametrize("name", DOORS)
def test_once_an_address_is_blocked_every_door_answers_429(
    client: TestClient, world: World, name: str
) -> None:
    for _ in range(FAILURES):  # a script guessing codes on the API
        assert client.get(f"/api/tables/{UNKNOWN}").status_code == 404
    door = DOORS[name]
    for code in (UNKNOWN, world.b) if name in REFUSING else (UNKNOWN, world.a, world.b):
        answer = door.call(client, world, code)
        assert answer.status_code == 429, (code, answer.text)


def test_a_blocked_address_still_serves_the_callers_own_table(
    client: TestClient, world: World
) -> None:
    """A hall behind one address keeps voting while someone there was guessing: a door that
    lets the caller in tells nothing the credential did not already name."""
    for _ in range(FAILURES):
        client.get(f"/api/tables/{UNKNOWN}")
    assert REFUSING["phone's state"].call(client, world, world.a).status_code == 200
    assert REFUSING["API my data"].call(client, world, world.a).status_code == 200
    assert REFUSING["console"].call(client, world, world.a).status_code == 200
    phone_page = Door("GET", "/t/{code}", "cookie")  # reloaded (a phone wakes up)
    assert phone_page.call(client, world, world.a).status_code == 200
    assert phone_page.call(client, world, world.b).status_code == 429
    assert phone_page.call(client, world, UNKNOWN).status_code == 429
    assert OPEN["table page"].call(client, world, world.a).status_code == 429


SOCKETS = {
    "phone": ("/t/{code}/ws", True),
    "projector": ("/t/{code}/screen/ws", False),
    "API stream": ("/api/tables/{code}/stream", False),
    "console": ("/run/{moderator}/{code}/ws", False),
}


def _socket(client: TestClient, world: World, name: str, code: str) -> int:
    """The close code a socket of this door gets (a refused one is closed at once, or, for
    a console, after the page that says its link no longer opens it)."""
    path, phone = SOCKETS[name]
    client.cookies.delete("tavoli_p")
    if phone:
        client.cookies.set("tavoli_p", world.cookie)
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(path.format(code=code, **vars(world))) as ws,
    ):
        while True:
            ws.receive_text()
    return closed.value.code


@pytest.mark.parametrize("name", SOCKETS)
def test_sockets_refuse_unknown_and_known_codes_alike_and_count_them(
    client: TestClient, world: World, name: str
) -> None:
    refusing = name in ("phone", "console")
    codes = [UNKNOWN, world.b] if refusing else [UNKNOWN]
    closes = [_socket(client, world, name, codes[n % len(codes)]) for n in range(FAILURES)]
    assert set(closes) == {1008}
    for code in (*codes, world.a) if not refusing else codes:
        assert _socket(client, world, name, code) == 1013  # try again later
