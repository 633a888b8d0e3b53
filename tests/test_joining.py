"""Closing the door: the moderator closes joining once the room is in, the screen and the
phones say so, and the projector counts who has joined, so stuffing shows."""

import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Participant
from app.services import moderation, screen, state
from app.services.errors import DomainError
from tests.conftest import make_participant, make_table
from tests.test_api import RUNNERS, bearer, create_table, join, post
from tests.test_console import console_url
from tests.test_live import participant_cookie, receive_until, show_wall
from tests.test_pages import HTMX, csrf_of, joined

STAT = re.compile(r"<div><dt>([^<]+)</dt><dd>(\d+)</dd></div>")
SWITCH = re.compile(
    r'name="name" value="joining_open">.*?aria-checked="(true|false)"[^>]*>'
    r'<span class="toggle-track" aria-hidden="true"></span> ([^<]+)</button>',
    re.DOTALL,
)


def set_joining(client: TestClient, code: str, open_: bool) -> None:
    response = client.patch(
        f"/api/tables/{code}/settings", json={"joining_open": open_}, headers=bearer(RUNNERS[code])
    )
    assert response.status_code == 200, response.text


def stats_of(html: str) -> dict[str, int]:
    """The figures of the stats block (the first one in the page or push), by their label."""
    start = html.index('id="stats"')
    block = html[start : html.index("</dl>", start)]
    return {label: int(value) for label, value in STAT.findall(block)}


def joined_count(html: str) -> int:
    stats = stats_of(html)
    return stats.get("iscritti", stats.get("iscritto", -1))


def switch_of(html: str) -> tuple[str, str]:
    match = SWITCH.search(html)
    assert match, "no joining switch"
    return match.group(1), match.group(2)


def test_the_console_switch_closes_and_reopens_joining(client: TestClient) -> None:
    _, code = create_table(client)
    page = client.get(console_url(code)).text
    assert switch_of(page) == ("true", "Accetta nuovi partecipanti")
    assert 'value="joining_open">' in page.split('class="toggles"')[1]  # with the others
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    form = {"name": "joining_open", "value": "false"}
    refused = client.post(console_url(code) + "settings", data=form, headers=HTMX)
    assert refused.status_code == 403  # no CSRF token
    assert client.post(f"/api/tables/{code}/participants", json={}).status_code == 201

    closed = client.post(console_url(code) + "settings", data=form, headers=headers)
    assert closed.status_code == 200
    assert switch_of(client.get(console_url(code)).text)[0] == "false"
    refused = client.post(f"/api/tables/{code}/participants", json={})
    assert refused.status_code == 409

    reopened = client.post(
        console_url(code) + "settings",
        data={"name": "joining_open", "value": "true"},
        headers=headers,
    )
    assert reopened.status_code == 200
    assert switch_of(client.get(console_url(code)).text)[0] == "true"
    assert client.post(f"/api/tables/{code}/participants", json={}).status_code == 201
    assert joined_count(client.get(console_url(code)).text) == 2


def test_the_join_page_says_joining_is_closed_and_those_in_stay_in(client: TestClient) -> None:
    _, code = create_table(client)
    assert f'action="/t/{code}/join"' in client.get(f"/t/{code}").text
    already_in = join(client, code)
    joined(client, code)  # this client's phone is in, by its cookie
    set_joining(client, code, False)

    mine = client.get(f"/t/{code}")
    assert mine.status_code == 200 and "Accesso chiuso" not in mine.text
    assert 'id="post-form"' in mine.text  # still posting
    assert post(client, code, already_in, "Sportello unico per le famiglie")

    client.cookies.clear()  # a new phone
    page = client.get(f"/t/{code}").text
    assert "Accesso chiuso" in page
    assert "Questo tavolo non accoglie nuovi partecipanti: chiedi al moderatore." in page
    assert f'action="/t/{code}/join"' not in page and 'name="category"' not in page
    set_joining(client, code, True)
    assert f'action="/t/{code}/join"' in client.get(f"/t/{code}").text


def test_the_projector_says_joining_is_closed_without_a_qr_code(client: TestClient) -> None:
    _, code = create_table(client)
    open_ = client.get(f"/t/{code}/screen").text
    assert "mode-join" in open_ and "qr.svg" in open_ and "Inquadra il codice" in open_
    set_joining(client, code, False)
    closed = client.get(f"/t/{code}/screen").text
    assert "Accesso chiuso" in closed and "Ci siamo tutti" in closed
    assert "qr.svg" not in closed and "Inquadra il codice" not in closed
    assert f">{code[:3]}<" not in closed  # no code to type either
    show_wall(client, code)
    wall = client.get(f"/t/{code}/screen").text
    assert "mode-wall" in wall and "qr.svg" not in wall  # nor the corner's small code


def test_the_projector_counts_who_has_joined_live(client: TestClient, app: FastAPI) -> None:
    _, code = create_table(client)
    page = client.get(f"/t/{code}/screen").text
    assert joined_count(page) == 0 and "collegati" in page
    with client.websocket_connect(f"/t/{code}/screen/ws") as projector:
        assert joined_count(projector.receive_text()) == 0  # snapshot
        first = join(client, code)
        receive_until(projector, lambda t: 'id="stats"' in t and joined_count(t) == 1)
        with client.websocket_connect(f"/t/{code}/ws", headers=participant_cookie(app, first)):
            text = receive_until(
                projector, lambda t: 'id="stats"' in t and stats_of(t)["collegati"] == 1
            )
            assert joined_count(text) == 1  # beside how many are connected now
        join(client, code)
        receive_until(projector, lambda t: 'id="stats"' in t and joined_count(t) == 2)
    assert joined_count(client.get(f"/t/{code}/screen").text) == 2


def test_a_json_stream_gets_a_contiguous_push_after_each_join(client: TestClient) -> None:
    _, code = create_table(client)
    with client.websocket_connect(f"/api/tables/{code}/stream") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["type"] == "snapshot" and snapshot["participants"] == 0
        last = snapshot["seq"]
        for count in (1, 2):
            join(client, code)
            event = json.loads(ws.receive_text())
            assert event["type"] == "delta"
            assert (event["prev_seq"], event["seq"]) == (last, last + 1)
            assert event["participants"] == count
            last = event["seq"]


def test_a_join_spends_one_seq_and_a_refused_join_none(session: Session) -> None:
    table = make_table(session)
    before = table.seq
    participant, token = make_participant(session, table)
    assert participant.id and token
    assert state.table_state(session, table).seq == before + 1
    screen.update_settings(session, table, joining_open=False)
    closed_at = state.table_state(session, table).seq
    with pytest.raises(DomainError) as refused:
        make_participant(session, table)
    assert refused.value.status == 409
    assert state.table_state(session, table).seq == closed_at


def test_removed_participants_are_not_counted_as_joined(session: Session) -> None:
    table = make_table(session)
    stays, _ = make_participant(session, table)
    leaves, _ = make_participant(session, table)
    assert state.table_state(session, table).stats(people=0).joined == 2
    moderation.remove_participant(session, table, leaves.id or 0)
    current = state.table_state(session, table)
    assert current.participants == 1 and current.stats(people=0).joined == 1
    assert stays.id != leaves.id


def test_a_removed_phone_cannot_rejoin_as_someone_new(client: TestClient) -> None:
    """The join form is still reachable by URL; posting it again with the removed phone's
    cookie is refused, and the table counts no one new."""
    _, code = create_table(client)
    page = joined(client, code, name="Disturbatore")  # the cookie is now that participant
    assert client.get(f"/api/tables/{code}").json()["participants"] == 1
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        person = session.exec(select(Participant).where(Participant.name == "Disturbatore")).one()
    removed = client.delete(
        f"/api/tables/{code}/participants/{person.id}", headers=bearer(RUNNERS[code])
    )
    assert removed.status_code == 200
    assert client.get(f"/t/{code}").status_code == 403  # the "you were removed" page
    again = client.post(
        f"/t/{code}/join", data={"csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert again.status_code == 403
    assert "Sei stato allontanato da questo tavolo" in again.text
    assert client.get(f"/api/tables/{code}").json()["participants"] == 0
    # Another phone (no cookie) still joins.
    assert "Sei stato allontanato" not in joined(TestClient(client.app), code)
    assert client.get(f"/api/tables/{code}").json()["participants"] == 1
