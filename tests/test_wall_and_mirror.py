"""Issue 20 without a browser: the wall's pace and page turns through both doors, and "the
screen on my phone" (the mirror) on a phone's socket, with the projector's tally rule."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.services import phases, screen
from tests.conftest import make_participant
from tests.test_api import RUNNERS, bearer, create_table, join, post, set_phase
from tests.test_consensus import TITLES, _worked_table
from tests.test_live import participant_cookie, receive_until, show_wall


def screen_of(client: TestClient, code: str) -> dict[str, object]:
    screen: dict[str, object] = client.get(f"/api/tables/{code}").json()["screen"]
    return screen


def test_the_wall_pace_and_turns_through_the_api(client: TestClient) -> None:
    _, code = create_table(client)
    show_wall(client, code)
    assert screen_of(client, code)["wall_page_seconds"] == 12  # the default pace
    runner = bearer(RUNNERS[code])
    answer = client.put(f"/api/tables/{code}/wall/pace", json={"seconds": 0}, headers=runner)
    assert answer.status_code == 200, answer.text
    seq = answer.json()["seq"]
    # The same pace again (a double tap) changes nothing and spends no seq.
    again = client.put(f"/api/tables/{code}/wall/pace", json={"seconds": 0}, headers=runner)
    assert again.status_code == 200 and again.json()["seq"] == seq
    for bad in (-1, 1, 4, 121, 100000):
        refused = client.put(f"/api/tables/{code}/wall/pace", json={"seconds": bad}, headers=runner)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["field"] == "seconds"
    assert screen_of(client, code)["wall_page_seconds"] == 0
    for step in (1, 1, 1, -1):
        turned = client.post(f"/api/tables/{code}/wall/turn", json={"step": step}, headers=runner)
        assert turned.status_code == 200, turned.text
    assert screen_of(client, code)["wall_turns"] == 2
    refused = client.post(f"/api/tables/{code}/wall/turn", json={"step": 2}, headers=runner)
    assert refused.status_code == 422
    # Only the moderator turns the pages; and only while the screen shows the wall.
    someone = join(client, code)
    denied = client.post(f"/api/tables/{code}/wall/turn", json={"step": 1}, headers=bearer(someone))
    assert denied.status_code in (401, 403)
    client.put(f"/api/tables/{code}/screen", json={"mode": "results"}, headers=runner)
    conflict = client.post(f"/api/tables/{code}/wall/turn", json={"step": 1}, headers=runner)
    assert conflict.status_code == 409
    assert screen_of(client, code)["wall_turns"] == 2


def test_the_projector_carries_the_pace_and_the_turns(client: TestClient) -> None:
    _, code = create_table(client)
    show_wall(client, code)
    runner = bearer(RUNNERS[code])
    client.put(f"/api/tables/{code}/wall/pace", json={"seconds": 20}, headers=runner)
    client.post(f"/api/tables/{code}/wall/turn", json={"step": -1}, headers=runner)
    with client.websocket_connect(f"/t/{code}/screen/ws") as screen:
        snapshot = screen.receive_text()
        assert 'data-page-seconds="20" data-turns="-1"' in snapshot
        client.post(f"/api/tables/{code}/wall/turn", json={"step": 1}, headers=runner)
        receive_until(screen, lambda t: 'data-turns="0"' in t)
        client.put(f"/api/tables/{code}/wall/pace", json={"seconds": 0}, headers=runner)
        paused = receive_until(screen, lambda t: 'data-page-seconds="0"' in t)
        assert "in pausa" in paused or "paused" in paused


def test_the_mirror_is_a_phones_socket_with_the_projectors_tallies(
    client: TestClient, app: FastAPI
) -> None:
    _, code = create_table(client)
    show_wall(client, code)
    alice, bob = join(client, code), join(client, code)
    pid = post(client, code, alice, "Sportello di ascolto per i caregiver il sabato mattina")
    # No participant cookie: no socket (and the page sends the person to join).
    page = client.get(f"/t/{code}/mirror", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/t/{code}"
    cookie = participant_cookie(app, bob)
    page = client.get(f"/t/{code}/mirror", headers=cookie)
    assert page.status_code == 200 and 'id="mirror-phase"' in page.text
    assert 'aria-live="assertive"' in page.text and "mirror-tally" not in page.text
    with client.websocket_connect(f"/t/{code}/mirror/ws", headers=cookie) as mirror:
        assert 'id="mirror-head"' in mirror.receive_text()  # the snapshot
        # A new post: the mirror's wall is drawn again, the post with the words that
        # announce it (tavoli.js says them in #mirror-news).
        post(client, code, alice, "Trasporto accessibile dalle frazioni verso i centri diurni")
        text = receive_until(mirror, lambda t: "Trasporto accessibile dalle frazioni" in t)
        assert 'data-say="Proposta n. 2, «Trasporto accessibile dalle frazioni' in text
        # Hostile words are said as words, in what is announced and on the wall alike.
        post(client, code, alice, '<img src=x onerror="alert(1)"> «Centro» & co.')
        text = receive_until(mirror, lambda t: "onerror" in t)
        assert "<img" not in text and text.count("&lt;img src=x onerror=") == 2
        # Voting: the projector shows tallies, so does the mirror; a vote patches them.
        set_phase(client, code, "voting")
        receive_until(mirror, lambda t: f'id="mirror-tally-{pid}"' in t)
        client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(bob))
        voted = receive_until(mirror, lambda t: f'id="mirror-tally-{pid}" hx-swap-oob' in t)
        assert "1 " in voted
        # Hidden by the moderator: no count on the projector, none on the mirror.
        runner = bearer(RUNNERS[code])
        client.patch(f"/api/tables/{code}/settings", json={"results_hidden": True}, headers=runner)
        hidden = receive_until(mirror, lambda t: 'id="mirror-head"' in t)
        assert "mirror-tally" not in hidden
        client.put(f"/api/tables/{code}/screen", json={"mode": "results"}, headers=runner)
        results = receive_until(mirror, lambda t: "mirror-now" in t and "nascosti" in t)
        assert "mirror-results" not in results and "mirror-tally" not in results
        client.put(f"/api/proposals/{pid}/vote", json={"dots": 0}, headers=bearer(bob))
        for text in (mirror.receive_text(),):  # the push of a vote while hidden
            assert "mirror-tally" not in text


def test_a_removed_participants_mirror_is_refused(client: TestClient, app: FastAPI) -> None:
    _, code = create_table(client)
    joined = client.post(f"/api/tables/{code}/participants", json={}).json()
    bob, pid = joined["token"], joined["participant_id"]
    removed = client.request(
        "DELETE", f"/api/tables/{code}/participants/{pid}", json={}, headers=bearer(RUNNERS[code])
    )
    assert removed.status_code in (200, 204), removed.text
    page = client.get(f"/t/{code}/mirror", headers=participant_cookie(app, bob))
    assert page.status_code == 403


def test_the_mirror_lists_the_ranking_the_projector_shows_once_closed(
    session: Session, client: TestClient, app: FastAPI
) -> None:
    table, _ids = _worked_table(session)
    _me, token = make_participant(session, table)
    screen.set_mode(session, table, "results")
    phases.set_phase(session, table, "closed")
    screen.set_ranking(session, table, "bridging")
    projector = client.get(f"/t/{table.code}/screen").text
    mirror = client.get(f"/t/{table.code}/mirror", headers=participant_cookie(app, token)).text
    # The same order on both (B, C, A by consensus across categories), and its name.
    for html in (projector, mirror):
        order = [html.index(TITLES[i]) for i in (1, 2, 0)]
        assert order == sorted(order), html
    assert "per consenso trasversale" in mirror
    assert f"Al primo posto: n. 2, «{TITLES[1]}»" in mirror
