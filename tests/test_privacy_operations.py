"""Privacy in operation (issue 9): no capability token in the server's logs, Secure cookies
and HSTS over HTTPS (behind a proxy too), and no author mark on shared cards."""

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.config import Settings
from app.logs import redact_path
from app.main import create_app
from app.views import own_cards
from tests.server import running_server
from tests.test_api import RUNNERS, bearer, create_table, join, post, set_phase
from tests.test_live import participant_cookie, receive_until, show_wall
from tests.test_pages import HTMX, csrf_of, joined

TOKEN = "Ab3_" + "x" * 39  # shaped like secrets.token_urlsafe(32)


# --- The access log --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        (f"/m/{TOKEN}", "/m/…"),
        (f"/m/{TOKEN}/ws", "/m/…/ws"),
        (f"/run/{TOKEN}/ABC234/", "/run/…/ABC234/"),
        (f"/run/{TOKEN}/ABC234/phase?x=1", "/run/…/ABC234/phase?x=1"),
        (f"/c/{TOKEN}/tables/ABC234/report.pdf", "/c/…/tables/ABC234/report.pdf"),
        (f"/admin/{TOKEN}", "/admin/…"),
        (f"/admin/{TOKEN}/events", "/admin/…/events"),
        (f"/lang/en?next=%2Fm%2F{TOKEN}", "/lang/en?next=/m/…"),
        (f"/lang/it?next=/run/{TOKEN}/ABC234/", "/lang/it?next=/run/…/ABC234/"),
        (f"/t/ABC234?token={TOKEN}&lang=en", "/t/ABC234?token=…&lang=en"),
        ("/t/ABC234?access_token=short", "/t/ABC234?access_token=…"),
        (f"/t/ABC234?code={TOKEN}", "/t/ABC234?code=…"),  # token-shaped, whatever its name
        ("/t/ABC234/screen", "/t/ABC234/screen"),
        # Links typed or pasted wrong: no prefix to go by, the token is redacted all the same.
        (f"/{TOKEN}", "/…"),
        (f"/m{TOKEN}", "/…"),
        (f"/mm/{TOKEN}/ws", "/mm/…/ws"),
        (f"/run/{TOKEN}ABC234/", "/run/…/"),
        (f"/t/ABC234/{TOKEN}.", "/t/ABC234/…."),
        (f"/lang/en?next=/{TOKEN}", "/lang/en?next=/…"),
        ("/join?code=abc234", "/join?code=abc234"),
        ("/static/m/x.js", "/static/m/x.js"),
    ],
)
def test_capability_paths_are_redacted(target: str, logged: str) -> None:
    assert redact_path(target) == logged


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    data = tmp_path_factory.mktemp("privacy")
    admin = "Org4n1ser_" + "k" * 33
    log = data / "server.log"
    with running_server(
        f"sqlite:///{data}/tavoli.db",
        log,
        "--proxy-headers",
        TAVOLI_ADMIN_TOKEN=admin,
        TAVOLI_SECRET_KEY="privacy-secret-key",
        TAVOLI_SECURE_COOKIES="false",
        FORWARDED_ALLOW_IPS="127.0.0.1",
    ) as base:
        yield base, log, admin


def _wait_for(log: Path, *needles: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        text = log.read_text(encoding="utf-8")
        if all(n in text for n in needles) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_the_server_log_holds_no_capability_token(server: tuple[str, Path, str]) -> None:
    base, log, admin = server
    with httpx.Client(base_url=base) as http:
        event = http.post(
            "/api/events",
            json={"title": "Stati Generali", "date": "2024-11-09"},
            headers=bearer(admin),
        ).json()
        moderator = event["moderator_token"]
        code = http.post(
            f"/api/events/{event['id']}/tables",
            json={"title": "Abitare"},
            headers=bearer(moderator),
        ).json()["code"]
        coordinator = http.post(
            f"/api/events/{event['id']}/coordinator-link", headers=bearer(moderator)
        ).json()["token"]
        facilitator = http.post(
            f"/api/tables/{code}/facilitator-link", headers=bearer(moderator)
        ).json()["token"]
        tokens = {admin, moderator, coordinator, facilitator}
        assert all(len(t) >= 32 for t in tokens)
        for path in (
            f"/admin/{admin}",
            f"/m/{moderator}",
            f"/run/{moderator}/{code}/",
            f"/run/{facilitator}/{code}/",
            f"/run/{facilitator}/{code}/reports",
            f"/c/{coordinator}",
            f"/lang/en?next=/m/{moderator}",
            f"/m/{moderator}?token={moderator}",
        ):
            assert http.get(path, follow_redirects=False).status_code in (200, 303), path
    ws = base.replace("http://", "ws://")
    for path in (f"/m/{moderator}/ws", f"/run/{facilitator}/{code}/ws"):
        with connect(ws + path) as socket:
            socket.recv(timeout=5)  # the snapshot: it was accepted
    text = _wait_for(
        log,
        "GET /admin/… HTTP",
        "GET /m/… HTTP",
        f"GET /run/…/{code}/ HTTP",
        f"GET /run/…/{code}/reports HTTP",
        "GET /c/… HTTP",
        "GET /lang/en?next=/m/… HTTP",
        "GET /m/…?token=… HTTP",
        '"WebSocket /m/…/ws"',
        f'"WebSocket /run/…/{code}/ws"',
    )
    for needle in (
        "GET /admin/… HTTP",
        "GET /m/… HTTP",
        f"GET /run/…/{code}/ HTTP",
        f"GET /run/…/{code}/reports HTTP",
        "GET /c/… HTTP",
        "GET /lang/en?next=/m/… HTTP",
        "GET /m/…?token=… HTTP",
        '"WebSocket /m/…/ws"',
        f'"WebSocket /run/…/{code}/ws"',
    ):
        assert needle in text, (needle, text)
    for token in tokens:
        assert token not in text
        assert token[:16] not in text  # not even a part of it


def test_a_link_typed_wrong_leaves_no_token_in_the_server_log(
    server: tuple[str, Path, str],
) -> None:
    """`GET /<token>` (the prefix lost in a paste) was logged whole: a 404 with the token."""
    base, log, admin = server
    with httpx.Client(base_url=base) as http:
        moderator = http.post(
            "/api/events",
            json={"title": "Stati Generali", "date": "2024-11-09"},
            headers=bearer(admin),
        ).json()["moderator_token"]
        for path in (f"/{moderator}", f"/m{moderator}", f"/mm/{moderator}/", f"/{admin}/x"):
            assert http.get(path).status_code == 404, path
    with pytest.raises(InvalidStatus), connect(base.replace("http", "ws", 1) + f"/{moderator}"):
        pass
    text = _wait_for(log, "GET /mm/…/ HTTP", '"WebSocket /…"')
    for needle in ("GET /… HTTP", "GET /mm/…/ HTTP", "GET /…/x HTTP", '"WebSocket /…"'):
        assert needle in text, (needle, text)
    for token in (admin, moderator):
        assert token[:16] not in text


# --- HTTPS: Secure cookies and HSTS ---------------------------------------------------------


def _cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def _secure(cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in cookie.split(";")[1:]]


def test_over_https_every_cookie_is_secure_and_hsts_is_sent(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        _, code = create_table(client)
        page = client.get(f"/t/{code}")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        sid = _cookies(page)
        assert [c.split("=")[0] for c in sid] == ["tavoli_sid"] and all(map(_secure, sid))
        joined = client.post(
            f"/t/{code}/join", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
        )
        assert joined.status_code == 303
        participant = _cookies(joined)
        assert [c.split("=")[0] for c in participant] == ["tavoli_p"]
        assert all(map(_secure, participant))
        assert "Secure; Secure" not in participant[0]
        lang = client.get("/lang/en?next=/", follow_redirects=False)
        assert [c.split("=")[0] for c in _cookies(lang)] == ["tavoli_lang"]
        assert all(map(_secure, _cookies(lang)))
        assert client.get("/api/tables/" + code).headers["strict-transport-security"]


def test_over_plain_http_no_hsts_and_cookies_secure_only_when_forced(
    app: FastAPI, settings: Settings
) -> None:
    with TestClient(app) as client:
        page = client.get("/")
        assert "strict-transport-security" not in page.headers
        assert _cookies(page) and not any(map(_secure, _cookies(page)))
    forced = create_app(settings.model_copy(update={"tavoli_secure_cookies": True}))
    with TestClient(forced) as client:
        page = client.get("/")
        assert "strict-transport-security" not in page.headers  # HTTPS answers only
        assert all(map(_secure, _cookies(page)))
        lang = client.get("/lang/en?next=/", follow_redirects=False)
        assert all(map(_secure, _cookies(lang)))


def test_behind_a_proxy_x_forwarded_proto_makes_it_https(server: tuple[str, Path, str]) -> None:
    base, _log, _admin = server
    proxied = httpx.get(base + "/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["strict-transport-security"] == "max-age=31536000"
    assert _cookies(proxied) and all(map(_secure, _cookies(proxied)))
    direct = httpx.get(base + "/")
    assert "strict-transport-security" not in direct.headers
    assert not any(map(_secure, _cookies(direct)))


# --- Author marks -------------------------------------------------------------------------


def _old_tag(participant_id: int) -> str:
    """The per-author mark cards used to carry (HMAC of the secret key and the author)."""
    digest = hmac.new(b"test-secret-key", f"author:{participant_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:12]


def _mine(html: str) -> list[int]:
    match = re.search(r'<div id="me"[^>]* data-mine="([^"]*)"', html)
    assert match, "no #me with data-mine"
    return list(json.loads(match.group(1).replace("&#34;", '"').replace("&quot;", '"')))


def _participant_id(client: TestClient, code: str, proposal_id: int) -> int:
    """Who wrote a post, as only the moderators may know it (their console's controls)."""
    console = client.get(f"/run/{RUNNERS[code]}/{code}/").text
    card = console.split(f'id="p-{proposal_id}"', 1)[1]
    match = re.search(r"participants/(\d+)/remove", card)
    assert match
    return int(match.group(1))


def test_own_cards_follow_merges() -> None:
    rows = [(1, 7, None), (2, 8, 3), (3, 9, 4), (4, 8, None), (5, 7, 1), (6, 9, None)]
    assert own_cards(rows, 7) == [1, 5]
    assert own_cards(rows, 8) == [2, 3, 4]  # its duplicate went into 3, then 3 into 4
    assert own_cards(rows, 9) == [3, 4, 6]
    assert own_cards(rows, 10) == []


def test_no_shared_view_carries_an_author_mark(client: TestClient, app: FastAPI) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 3, "max_per_proposal": 2})
    show_wall(client, code)
    alice, bob = join(client, code), join(client, code)
    a1 = post(client, code, alice, "Centro diurno aperto il sabato")
    b1 = post(client, code, bob, "Trasporto dalle frazioni")
    a2 = post(client, code, alice, "Trasporto per i centri diurni")  # a duplicate of b1
    merged = client.post(
        f"/api/tables/{code}/merges",
        json={"survivor_id": b1, "proposal_ids": [a2]},
        headers=bearer(RUNNERS[code]),
    )
    assert merged.status_code in (200, 201), merged.text
    alice_id, bob_id = _participant_id(client, code, a1), _participant_id(client, code, b1)
    tags = {_old_tag(alice_id), _old_tag(bob_id)}

    def shared(html: str, where: str) -> None:
        assert "data-authors" not in html and "data-me=" not in html, where
        assert not any(tag in html for tag in tags), where

    alice_page = client.get(f"/t/{code}", headers=participant_cookie(app, alice)).text
    bob_page = client.get(f"/t/{code}", headers=participant_cookie(app, bob)).text
    shared(client.get(f"/t/{code}/screen").text, "screen")
    shared(bob_page, "bob's phone")
    shared(alice_page, "alice's phone")
    shared(client.get(f"/run/{RUNNERS[code]}/{code}/").text, "console")
    # Each phone learns its own cards from its own state: alice co-authored the survivor.
    assert _mine(alice_page) == sorted([a1, a2, b1])
    assert _mine(bob_page) == [b1]
    me = client.get(f"/t/{code}/me", headers=participant_cookie(app, alice)).text
    assert _mine(me) == sorted([a1, a2, b1])

    with (
        client.websocket_connect(f"/t/{code}/screen/ws") as screen,
        client.websocket_connect(f"/t/{code}/ws", headers=participant_cookie(app, bob)) as phone,
        client.websocket_connect(f"/api/tables/{code}/stream") as stream,
    ):
        shared(screen.receive_text(), "screen snapshot")
        snapshot = phone.receive_text()
        assert _mine(snapshot) == [b1]  # its own snapshot: bob's own cards only
        shared(snapshot, "bob's snapshot")
        assert "author" not in stream.receive_text()
        a3 = post(client, code, alice, "Sportello unico nei piccoli comuni")
        for ws, where in ((screen, "screen push"), (phone, "phone push")):
            shared(receive_until(ws, lambda t: f'id="p-{a3}"' in t), where)
        set_phase(client, code, "voting")  # a layout push: whole regions redrawn
        shared(receive_until(phone, lambda t: 'id="wall"' in t), "phone redraw")
        shared(receive_until(screen, lambda t: 'id="stage"' in t), "screen redraw")
        assert "author" not in receive_until(stream, lambda t: f'"id":{a3}' in t)

    # A vote's own answer keeps this phone's cards in its #me.
    page = client.get(f"/t/{code}", headers=participant_cookie(app, alice))
    cookie = f"{participant_cookie(app, alice)['cookie']}; tavoli_sid={page.cookies['tavoli_sid']}"
    voted = client.post(
        f"/t/{code}/proposals/{b1}/vote",
        data={"dots": 1},
        headers={**HTMX, "cookie": cookie, "X-CSRF-Token": csrf_of(page.text)},
    )
    assert voted.status_code == 200, voted.text
    assert _mine(voted.text) == sorted([a1, a2, a3, b1])


def test_a_post_answer_tells_the_phone_its_new_card(client: TestClient) -> None:
    _, code = create_table(client)
    page = joined(client, code)
    assert _mine(page) == []
    answer = client.post(
        f"/t/{code}/proposals",
        data={"title": "Oratori aperti d'estate"},
        headers={**HTMX, "X-CSRF-Token": csrf_of(page)},
    )
    assert answer.status_code == 200, answer.text
    own = client.get(f"/api/tables/{code}").json()["proposals"]
    assert _mine(answer.text) == [p["id"] for p in own]
    assert "data-authors" not in answer.text
