"""One phone, two tabs (a QR code scanned twice): a vote says the count it was sent from, so a
tab left behind by the other never moves a count it did not show; and each tab follows the
other's votes, pushed to that phone's own sockets only."""

import html
import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.live.hub import SEQ, Hub, Notice, Push, table_channel
from app.services import proposals, state, voting
from app.services.errors import DomainError
from tests.conftest import in_phase, make_participant, make_table
from tests.test_api import bearer, create_table, join, post, set_phase
from tests.test_live import participant_cookie, receive_until, show_wall
from tests.test_pages import HTMX, csrf_of, joined

DOTS = {"mode": "dots", "dots": 5, "max_per_proposal": 5}


def _me_votes(text: str) -> dict[str, int]:
    """The votes in a fragment's `#me` (this phone's own state)."""
    match = re.search(r'<div id="me"[^>]*data-votes="([^"]*)"', text)
    assert match, "no #me in the fragment"
    return dict(json.loads(html.unescape(match.group(1))))


def _me_left(text: str) -> str:
    match = re.search(r'<div id="me"[^>]*data-left="([^"]*)"', text)
    assert match, "no #me in the fragment"
    return match.group(1)


# --- the service ---------------------------------------------------------------------------


def test_a_vote_sent_from_a_stale_count_changes_nothing(session: Session) -> None:
    table = make_table(session, mode="dots", dots=5, cap=5)
    author, _ = make_participant(session, table)
    me, _ = make_participant(session, table)
    pid = proposals.post_proposal(session, participant=author, kind="need", title="Bus").proposal.id
    assert pid is not None
    table = in_phase(session, table, "voting")
    for shown in range(3):  # tab 1: + + +, each from the count it shows
        voting.set_vote(session, participant=me, proposal_id=pid, dots=shown + 1, expected=shown)
    seq = state.current_seq(session, table.id or 0)

    # Tab 2 still shows 0 and asks for 1: refused, with the count as it stands.
    with pytest.raises(voting.StaleVote) as stale:
        voting.set_vote(session, participant=me, proposal_id=pid, dots=1, expected=0)
    assert stale.value.status == 409 and stale.value.field == "expected"
    current = stale.value.current
    assert (current.my_dots, current.dots_left, current.tally, current.seq) == (3, 2, 3, seq)
    assert voting.my_votes(session, me) == {pid: 3}
    assert state.current_seq(session, table.id or 0) == seq  # no seq spent, nothing pushed

    # A stale − never raises a count either: tab 2 showed 4 when tab 1 took two back.
    voting.set_vote(session, participant=me, proposal_id=pid, dots=4, expected=3)
    voting.set_vote(session, participant=me, proposal_id=pid, dots=2, expected=4)
    with pytest.raises(voting.StaleVote):
        voting.set_vote(session, participant=me, proposal_id=pid, dots=3, expected=4)
    assert voting.my_votes(session, me) == {pid: 2}

    # A request that finds its target already stored (a retry, or the other tab did the
    # same) is answered as done, changing nothing; without `expected` the count is absolute.
    again = voting.set_vote(session, participant=me, proposal_id=pid, dots=2, expected=1)
    assert (again.my_dots, again.seq) == (2, None)
    assert voting.set_vote(session, participant=me, proposal_id=pid, dots=5).my_dots == 5
    with pytest.raises(DomainError) as negative:
        voting.set_vote(session, participant=me, proposal_id=pid, dots=1, expected=-1)
    assert negative.value.status == 422


def test_a_stale_support_button_asks_for_what_is_already_stored(session: Session) -> None:
    """Approval: the page's toggle says the state it showed, so a stale one never flips a
    vote the other tab just set; it is answered as done, with the state as it stands."""
    table = make_table(session)
    me, _ = make_participant(session, table)
    pid = proposals.post_proposal(session, participant=me, kind="need", title="Bus").proposal.id
    assert pid is not None
    in_phase(session, table, "voting")
    voting.set_vote(session, participant=me, proposal_id=pid, dots=1, expected=0)  # tab 1
    stale = voting.set_vote(session, participant=me, proposal_id=pid, dots=1, expected=0)
    assert (stale.my_dots, stale.seq) == (1, None)  # tab 2 ("support", as it showed none)
    voting.set_vote(session, participant=me, proposal_id=pid, dots=0, expected=1)  # tab 1
    stale = voting.set_vote(session, participant=me, proposal_id=pid, dots=0, expected=1)
    assert (stale.my_dots, stale.seq) == (0, None)  # tab 2, "withdraw": done, not flipped
    assert voting.my_votes(session, me) == {}


# --- the JSON API --------------------------------------------------------------------------


def test_the_api_put_stays_absolute_and_takes_an_optional_precondition(
    client: TestClient,
) -> None:
    _, code = create_table(client, DOTS)
    me = join(client, code)
    pid = post(client, code, join(client, code), "Sportello casa")
    set_phase(client, code, "voting")
    url = f"/api/proposals/{pid}/vote"
    for _ in range(2):  # absolute and idempotent, as before
        answer = client.put(url, json={"dots": 3}, headers=bearer(me))
        assert answer.status_code == 200 and answer.json()["dots"] == 3

    stale = client.put(url, json={"dots": 1, "expected": 0}, headers=bearer(me))
    assert stale.status_code == 409
    body = stale.json()
    assert body["field"] == "expected"
    assert body["detail"].startswith("Your vote here changed in another window")
    assert body["code"] == "your_vote_here_changed_in_another_window_this_is_how_it_stands_now"
    seq = client.get(f"/api/tables/{code}").json()["seq"]
    assert body["current"] == {
        "proposal_id": pid,
        "dots": 3,
        "dots_left": 2,
        "tally": 3,
        "seq": seq,
    }
    assert client.get(f"/api/tables/{code}").json()["proposals"][0]["tally"] == 3

    italian = client.put(
        url, json={"dots": 1, "expected": 0}, headers={**bearer(me), "Accept-Language": "it"}
    )
    assert italian.status_code == 409 and italian.json()["current"]["dots"] == 3
    assert italian.json()["detail"].startswith("Il tuo voto qui è cambiato")

    ok = client.put(url, json={"dots": 4, "expected": 3}, headers=bearer(me))
    assert (ok.status_code, ok.json()["dots"], ok.json()["dots_left"]) == (200, 4, 1)
    done = client.put(url, json={"dots": 4, "expected": 3}, headers=bearer(me))  # a retry
    assert (done.status_code, done.json()["dots"]) == (200, 4)


# --- the phone's page ----------------------------------------------------------------------


def test_three_dots_in_one_tab_then_plus_in_the_other_keeps_three(client: TestClient) -> None:
    """The issue's story: budget 5, tab 1 gives three dots, tab 2 (still showing none)
    presses +. Before, its form sent "1" and the total dropped to 1."""
    _, code = create_table(client, DOTS)
    pid = post(client, code, join(client, code), "Centro diurno aperto il sabato")
    set_phase(client, code, "voting")
    tab1 = tab2 = joined(client, code)  # both tabs loaded before any vote
    assert 'name="expected" value="0" data-role="shown"' in tab2
    headers = {**HTMX, "X-CSRF-Token": csrf_of(tab1)}
    vote_url = f"/t/{code}/proposals/{pid}/vote"
    for shown in range(3):
        answer = client.post(
            vote_url, data={"dots": str(shown + 1), "expected": str(shown)}, headers=headers
        )
        assert answer.status_code == 200
    assert _me_votes(answer.text) == {str(pid): 3}

    plus = client.post(vote_url, data={"dots": "1", "expected": "0"}, headers=headers)  # tab 2
    assert plus.status_code == 409
    assert _me_votes(plus.text) == {str(pid): 3} and _me_left(plus.text) == "2"
    assert 'id="flash" hx-swap-oob="innerHTML"' in plus.text
    assert "Il tuo voto qui è cambiato in un'altra finestra" in plus.text
    assert client.get(f"/api/tables/{code}").json()["proposals"][0]["tally"] == 3
    # Reloaded, each form says the count it is sent from.
    page = client.get(f"/t/{code}").text
    assert page.count('name="expected" value="3" data-role="shown"') == 2  # − and +

    # Without htmx (no script), the refusal is a page saying why.
    plain = client.post(vote_url, data={"dots": "1", "expected": "0", "csrf_token": csrf_of(tab1)})
    assert plain.status_code == 409
    assert "Il tuo voto qui è cambiato" in plain.text


# --- the other tab follows -----------------------------------------------------------------


def test_a_vote_reaches_the_phones_other_tabs_and_no_other_phone(
    client: TestClient, app: FastAPI
) -> None:
    _, code = create_table(client, DOTS)
    show_wall(client, code)
    pid = post(client, code, join(client, code), "Orti sociali")
    set_phase(client, code, "voting")
    page = joined(client, code)  # this client is the phone: its cookie opens both tabs
    other = join(client, code)
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    with (
        client.websocket_connect(f"/t/{code}/ws") as tab1,
        client.websocket_connect(f"/t/{code}/ws") as tab2,
        client.websocket_connect(f"/t/{code}/ws", headers=participant_cookie(app, other)) as bob,
    ):
        for ws in (tab1, tab2, bob):
            assert 'id="wall"' in ws.receive_text()  # snapshot
        answer = client.post(
            f"/t/{code}/proposals/{pid}/vote",
            data={"dots": "2", "expected": "0"},
            headers=headers,
        )
        assert answer.status_code == 200
        for tab in (tab1, tab2):
            own = receive_until(tab, lambda t: 'id="me"' in t)
            assert _me_votes(own) == {str(pid): 2} and _me_left(own) == "3"
            assert 'id="dots-left"' in own and "<strong>3</strong>" in own
        # Bob sees the tally, and never this phone's own state; a later vote of his own
        # reaches him (and is the last message here, so everything before it was read).
        bob_vote = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(other))
        assert bob_vote.status_code == 200
        seen = []
        while True:
            text = bob.receive_text()
            seen.append(text)
            if 'id="me"' in text:
                break
        assert not any('id="me"' in t for t in seen[:-1])
        assert _me_votes(seen[-1]) == {str(pid): 1}


# --- the seam ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_own_push_reaches_its_owners_connections_only() -> None:
    """The hub hands one participant's own state to the connections opened with their
    cookie, outside the table's seq chain; nobody else's queue ever holds it."""
    hub = Hub()
    channel = table_channel(7)
    async with (
        hub.subscribe(channel, key="participant:it", owner=1) as tab1,
        hub.subscribe(channel, key="participant:en", owner=1) as tab2,
        hub.subscribe(channel, key="participant:it", owner=2) as other,
        hub.subscribe(channel, key="screen:it") as screen,
    ):
        assert hub.owner_keys(channel, 1) == {"participant:it", "participant:en"}
        assert hub.owner_keys(channel, 3) == frozenset()
        for sub in (tab1, tab2, other, screen):
            sub.seq = 5
        own = Push(channel=channel, seq=5, prev_seq=5, payloads={"participant:it": "me"}, own=True)
        hub.deliver_own(1, own)
        assert not tab1.follows(own)  # never taken for the next push of the table
        assert await tab1.next() is own and await tab2.next() is own
        shared = Push(channel=channel, seq=6, prev_seq=5, payloads={})
        await hub.publish(shared)
        for sub in (other, screen):
            assert await sub.next() is shared  # the shared push first: the own one never came
    assert hub.owner_keys(channel, 1) == frozenset()  # forgotten with its connections
    raw = Notice(SEQ, 7, 6, owner=1).encode("worker-a")
    assert Notice.decode(raw) == ("worker-a", Notice(SEQ, 7, 6, owner=1))
