"""The vote's lane (app/vote_lane.py) answers exactly as the route it goes around.

Two apps on two new databases get the same event, table, phones and posts through the API;
one has the lane, the other has not. The same requests, well formed or not, then get the
same answers from both: status, body, the headers a client reads. And the lane did answer
the well-formed ones (the route never saw them), while it passed the others on."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import SQLModel

from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.routers import api
from app.vote_lane import VoteLane
from tests.conftest import ADMIN_TOKEN

# (what the request is, the phone whose token it carries or a header of its own, the
# proposal's index or a path of its own, the body's bytes, the content type)
Case = tuple[str, int | str | None, int | str, bytes, str]

CASES: list[Case] = [
    ("a first vote", 0, 0, b'{"dots": 2}', "application/json"),
    ("the same again: nothing changes", 0, 0, b'{"dots": 2}', "application/json"),
    ("with a charset", 0, 1, b'{"dots":1}', "application/json; charset=utf-8"),
    ("expected as shown", 1, 0, b'{"dots": 1, "expected": 0}', "application/json"),
    ("stale: another tab changed it", 1, 0, b'{"dots": 3, "expected": 0}', "application/json"),
    ("over the cap", 2, 0, b'{"dots": 9}', "application/json"),
    ("over the budget", 0, 2, b'{"dots": 3}', "application/json"),
    ("negative dots", 0, 1, b'{"dots": -1}', "application/json"),
    ("negative expected", 0, 1, b'{"dots": 1, "expected": -2}', "application/json"),
    ("a number as text", 3, 1, b'{"dots": "2"}', "application/json"),
    ("no token", None, 0, b'{"dots": 1}', "application/json"),
    ("an unknown token", "Bearer not-a-token", 0, b'{"dots": 1}', "application/json"),
    ("another scheme", "Basic dXNlcjpwYXNz", 0, b'{"dots": 1}', "application/json"),
    ("an unknown post", 0, "/api/proposals/999999/vote", b'{"dots": 1}', "application/json"),
    ("post 0", 0, "/api/proposals/0/vote", b'{"dots": 1}', "application/json"),
    ("a huge id", 0, "/api/proposals/999999999999999999/vote", b'{"dots": 1}', "application/json"),
    ("a signed id", 0, "/api/proposals/+1/vote", b'{"dots": 1}', "application/json"),
    ("an unknown field", 0, 1, b'{"dots": 1, "dot": 1}', "application/json"),
    ("not JSON", 0, 1, b'{"dots": ', "application/json"),
    ("no body", 0, 1, b"", "application/json"),
    ("JSON null", 0, 1, b"null", "application/json"),
    ("a float", 0, 1, b'{"dots": 1.5}', "application/json"),
    ("JSON sent as text", 0, 1, b'{"dots": 1}', "text/plain"),
    ("JSON of a kindred type", 4, 1, b'{"dots": 1}', "application/merge-patch+json"),
]

# What the lane leaves to the route: FastAPI reads "+1" as 1, and a kindred JSON type too.
PASSED_ON = {
    "a signed id",
    "an unknown field",
    "not JSON",
    "no body",
    "JSON null",
    "a float",
    "JSON sent as text",
    "JSON of a kindred type",
}


def build(settings: Settings, tmp_path: Path, name: str, lane: bool) -> FastAPI:
    settings = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/{name}.db"})
    engine = make_engine(settings.database_url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    app = create_app(settings)
    if not lane:  # before the first request builds the middleware stack
        lane_class: object = VoteLane
        app.user_middleware = [m for m in app.user_middleware if m.cls is not lane_class]
    return app


World = tuple[list[str], list[int], str]


def world(http: TestClient) -> World:
    """An event, a table voting with 5 dots (3 at most on a post), five phones, three posts."""

    def call(method: str, path: str, token: str | None, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = http.request(method, path, headers=headers, json=body)
        assert response.status_code < 300, response.text
        return response.json()

    event = call(
        "POST", "/api/events", ADMIN_TOKEN, {"title": "Stati Generali", "date": "2026-12-07"}
    )
    moderator = event["moderator_token"]
    table = call(
        "POST",
        f"/api/events/{event['id']}/tables",
        moderator,
        {
            "title": "Anziani e domiciliarità",
            "voting": {"mode": "dots", "dots": 5, "max_per_proposal": 3},
        },
    )
    base = f"/api/tables/{table['code']}"
    call("PUT", f"{base}/phase", moderator, {"phase": "collect"})
    phones = [call("POST", f"{base}/participants", None, {})["token"] for _ in range(5)]
    titles = (
        "Assistenza domiciliare anche il sabato",
        "Un centro diurno a Baronissi",
        "Taxi sociale",
    )
    posts = [
        call("POST", f"{base}/proposals", phones[i], {"kind": "proposal", "title": title})["id"]
        for i, title in enumerate(titles)
    ]
    call("PUT", f"{base}/phase", moderator, {"phase": "voting"})
    return phones, posts, table["code"]


def answer(http: TestClient, phones: list[str], posts: list[int], case: Case) -> tuple[object, ...]:
    """What a client reads of the answer: status, body, content type, the security headers."""
    _what, who, where, body, content_type = case
    headers = {"content-type": content_type, "accept-language": "it"}
    if isinstance(who, int):
        headers["authorization"] = f"Bearer {phones[who]}"
    elif who is not None:
        headers["authorization"] = who
    path = where if isinstance(where, str) else f"/api/proposals/{posts[where]}/vote"
    response = http.put(path, headers=headers, content=body)
    read = {name: response.headers.get(name) for name in ("content-type", "retry-after")}
    secure = {name for name in response.headers if name.startswith(("x-", "content-security"))}
    return response.status_code, response.json(), read, frozenset(secure)


@pytest.fixture
def route_votes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The votes the route itself answered (the lane calls its own reference)."""
    served: list[int] = []
    cast: Callable[..., Any] = api.cast_vote

    async def counted(*args: Any) -> Any:
        served.append(1)
        return await cast(*args)

    monkeypatch.setattr(api, "cast_vote", counted)
    yield served


def test_the_lane_answers_as_the_route_would(
    settings: Settings, tmp_path: Path, route_votes: list[int]
) -> None:
    with (
        TestClient(build(settings, tmp_path, "lane", lane=True)) as lane,
        TestClient(build(settings, tmp_path, "route", lane=False)) as route,
    ):
        lane_world, route_world = world(lane), world(route)
        for case in CASES:
            before = len(route_votes)
            got = answer(lane, *lane_world[:2], case)
            by_route_there = len(route_votes) - before
            want = answer(route, *route_world[:2], case)
            by_route_here = len(route_votes) - before - by_route_there
            assert got == want, case[0]
            assert got[0] in (200, 401, 403, 404, 409, 422), case[0]
            # The route took each of them in the app without the lane; in the other, the
            # lane took every well-formed one, and the route the rest.
            assert by_route_here == 1 or got[0] == 422, case[0]
            assert by_route_there == (by_route_here if case[0] in PASSED_ON else 0), case[0]
        # The votes themselves stand alike in both databases, at the same seq: on the
        # first post 1 + 1 ("+1" is post 1: phone 0 went from 2 to 1), on the second 1 + 2 + 1.
        there, here = (
            http.get(f"/api/tables/{w[2]}").json()
            for http, w in ((lane, lane_world), (route, route_world))
        )
        assert there["seq"] == here["seq"]
        assert list(tallies(there).values()) == list(tallies(here).values()) == [2, 4, 0]


def tallies(table: dict[str, Any]) -> dict[str, int]:
    return {p["title"]: p["tally"] for p in table["proposals"]}


BODIES = [
    b'{"dots": 1} ',
    b'{"dots": 1}\n\n',
    b'{"dots": 01}',
    b'{"dots": 1,}',
    b"{'dots': 1}",
    b'{"dots": +1}',
    b'{"dots": 1}x',
    b'\xef\xbb\xbf{"dots": 1}',
    b'{"dots": 1e0}',
    b'{"dots": 1.0}',
    b'{"dots": true}',
    b'{"dots": " 1"}',
    b'{"dots": "1_0"}',
    b'{"dots": 1, "dots": 2}',
    b'{"dots": -0}',
    b'{"dots": 2, "expected": null}',
    b'{"dots": 9223372036854775808}',
    b'{"dots": "\\u0661"}',
    b'{"dots": NaN}',
    b"[1]",
]


@pytest.mark.parametrize("body", BODIES)
def test_the_lane_reads_a_body_as_the_route_does_or_passes_it_on(body: bytes) -> None:
    """The lane parses with pydantic's JSON reader, the route with `json.loads`: whatever the
    lane accepts, the route reads alike (what it refuses, the route answers itself)."""
    try:
        lane = api.VoteIn.model_validate_json(body)
    except ValueError:
        return  # passed on to the route
    assert api.VoteIn.model_validate(json.loads(body)) == lane
