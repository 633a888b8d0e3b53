"""The console pages behind moderator and facilitator links, and the live dashboard."""

import re
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.live.fragments import Fragments
from app.live.hub import Push, table_channel
from tests.test_api import RUNNERS, bearer, create_table, join, post, set_phase
from tests.test_pages import HTMX, csrf_of

TOKEN_PATTERN = re.compile(r"/run/([A-Za-z0-9_-]+)/")
VOTING_PILL = '<span class="phase-pill phase-voting">'


def console_url(code: str, token: str | None = None) -> str:
    return f"/run/{token or RUNNERS[code]}/{code}/"


def test_console_opens_for_the_moderator_and_the_facilitator_only(client: TestClient) -> None:
    event, code = create_table(client)
    page = client.get(console_url(code))
    assert page.status_code == 200
    assert "Fase successiva" in page.text and f'ws-connect="{console_url(code)}ws"' in page.text
    link = client.post(
        f"/api/tables/{code}/facilitator-link", headers=bearer(event["moderator_token"])
    ).json()
    facilitator = link["token"]
    assert link["url"].endswith(console_url(code, facilitator))
    assert client.get(console_url(code, facilitator)).status_code == 200
    _, other = create_table(client)
    assert client.get(console_url(other, facilitator)).status_code == 403
    participant = join(client, code)
    assert client.get(console_url(code, participant)).status_code == 403
    assert client.get(console_url(code, "nonsense")).status_code == 403


def test_console_forms_change_the_phase_with_csrf(client: TestClient) -> None:
    _, code = create_table(client, phase="preparation")
    token = csrf_of(client.get(console_url(code)).text)
    refused = client.post(console_url(code) + "phase", data={"phase": "collect"})
    assert refused.status_code == 403
    assert client.get(f"/api/tables/{code}").json()["phase"] == "preparation"
    with client.websocket_connect(console_url(code) + "ws") as ws:
        ws.receive_text()  # the snapshot
        moved = client.post(
            console_url(code) + "phase/step",
            data={"step": "1"},
            headers={**HTMX, "X-CSRF-Token": token},
        )
        push = ws.receive_text()
    assert moved.status_code == 200
    # One renderer per region: the push draws the live region on this console too (morphed),
    # and the answer carries only what is this moderator's own (here, nothing to say).
    assert 'id="console-live"' not in moved.text
    assert '<div id="console-live" class="console-live"' in push and 'hx-swap-oob="morph"' in push
    assert 'aria-current="step">Raccolta</button>' in push
    assert client.get(f"/api/tables/{code}").json()["phase"] == "collect"
    without_htmx = client.post(
        console_url(code) + "phase/step",
        data={"step": "1", "csrf_token": token},
        follow_redirects=False,
    )
    assert without_htmx.status_code == 303
    assert without_htmx.headers["location"] == console_url(code)


def test_console_merge_asks_which_wording_stays(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    a = post(client, code, me, "Trasporto sociale per anziani")
    b = post(client, code, me, "Trasporti per gli anziani soli")
    headers = {**HTMX, "X-CSRF-Token": csrf_of(client.get(console_url(code)).text)}
    panel = client.post(
        console_url(code) + "bulk",
        data={"action": "merge", "proposal_ids": [str(a), str(b)]},
        headers=headers,
    )
    assert panel.headers["HX-Retarget"] == "#merge-panel"
    assert "quale testo resta?" in panel.text
    merged = client.post(
        console_url(code) + "merges",
        data={"survivor_id": str(b), "proposal_ids": [str(a), str(b)]},
        headers=headers,
    )
    assert merged.status_code == 200 and 'id="console-live"' not in merged.text
    assert merged.headers["HX-Trigger"] == "tavoli:merged"  # the page clears its selection
    assert "unisce 1 contributo simile" in client.get(console_url(code)).text
    titles = [p["title"] for p in client.get(f"/api/tables/{code}").json()["proposals"]]
    assert titles == ["Trasporti per gli anziani soli"]


def test_the_dashboard_follows_every_table_live(client: TestClient, app: FastAPI) -> None:
    event, code = create_table(client)
    me = join(client, code)
    dashboard = client.get(f"/m/{event['moderator_token']}").text
    assert f'ws-connect="/m/{event["moderator_token"]}/ws"' in dashboard
    with client.websocket_connect(f"/m/{event['moderator_token']}/ws") as ws:
        assert "row-" in ws.receive_text()  # the snapshot of every row
        post(client, code, me, "Orti urbani condivisi")
        for _ in range(20):
            text = ws.receive_text()
            if "-posts" in text and ">1</td>" in text:
                break
        else:
            raise AssertionError("the dashboard row never showed the new post")
        set_phase(client, code, "voting")
        for _ in range(20):
            if "Votazione" in ws.receive_text():
                break
        else:
            raise AssertionError("the dashboard never showed the new phase")


def test_the_dashboard_misses_no_change_made_while_it_reads_its_rows(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its socket subscribes before it reads the rows: a change committed after a row was
    read arrives as a push, never in neither."""
    event, first = create_table(client)
    token = event["moderator_token"]
    made = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Povertà educativa", "voting": {"mode": "approval"}},
        headers=bearer(token),
    )
    second = str(made.json()["code"])
    RUNNERS[second] = token
    set_phase(client, second, "collect")
    read: list[tuple[int, str]] = []  # the table whose row was read first: id, code
    rendering, go, handed = threading.Event(), threading.Event(), threading.Event()
    fragments: Fragments = app.state.fragments
    render = fragments.render

    def slow_render(name: str, **context: Any) -> str:
        """Holds the first dashboard row between its read and the snapshot's send."""
        if name == "partials/_dashboard_row.html" and not rendering.is_set():
            read.append((context["table"].id, context["table"].code))
            rendering.set()
            assert go.wait(10)
        return render(name, **context)

    hub = app.state.hub
    publish = hub.publish

    async def noted_publish(push: Push) -> None:
        await publish(push)
        if read and push.channel == table_channel(read[0][0]):
            handed.set()

    monkeypatch.setattr(fragments, "render", slow_render)
    monkeypatch.setattr(hub, "publish", noted_publish)
    with client.websocket_connect(f"/m/{token}/ws") as ws:
        assert rendering.wait(10)
        changed, code = read[0]
        set_phase(client, code, "voting")  # after its row was read
        assert handed.wait(10)  # its push is out before the snapshot is
        go.set()
        assert f'id="row-{changed}-phase"' in ws.receive_text()  # the snapshot
        set_phase(client, second if code == first else first, "voting")
        seen = ""
        while seen.count(VOTING_PILL) < 2:  # the other table's push is in
            seen += ws.receive_text()
    assert f'id="row-{changed}-phase" hx-swap-oob="true">{VOTING_PILL}' in seen


def test_a_phone_refreshes_its_own_state(client: TestClient) -> None:
    _, code = create_table(client)
    page = client.get(f"/t/{code}").text
    client.post(f"/t/{code}/join", data={"csrf_token": csrf_of(page)})
    mine = client.get(f"/t/{code}/me")
    assert 'id="me"' in mine.text and 'id="dots-left"' in mine.text and 'id="my-posts"' in mine.text
    client.cookies.clear()  # another phone, that has not joined
    assert client.get(f"/t/{code}/me").status_code == 404


def test_every_console_route_refuses_a_link_that_runs_nothing(client: TestClient) -> None:
    """The panels' cancel buttons answered any token (a door that told a guessed link from
    nothing); now they refuse it as the console's other routes do, and serve a real one."""
    _, code = create_table(client)
    headers = {**HTMX, "X-CSRF-Token": csrf_of(client.get(console_url(code)).text)}
    bad = console_url(code, "nonsense")
    refused = [
        client.get(bad + "participants/cancel", headers=HTMX),
        client.post(bad + "merges/cancel", headers=headers),
        client.post(bad + "bulk", data={"action": "merge"}, headers=headers),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert len({r.text for r in refused}) == 1  # the same answer at every door
    good = console_url(code)
    removal = client.get(good + "participants/cancel", headers=HTMX)
    merge = client.post(good + "merges/cancel", headers=headers)
    assert removal.text == '<div id="remove-panel"></div>'
    assert merge.text == '<div id="merge-panel"></div>'
