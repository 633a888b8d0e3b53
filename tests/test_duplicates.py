"""Duplicate suggestions on a table: the API, the console's list (drawn by the push), the
existing merge from a suggestion (votes move, undo works), dismissals kept for good."""

import html
import re
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.services import duplicates as duplicates_service
from tests.test_api import RUNNERS, bearer, create_table, join, set_phase
from tests.test_console import console_url
from tests.test_facilitation_api import run, vote
from tests.test_pages import HTMX, csrf_of

# Two by two, what a moderator would merge; then posts on other things.
WALL = [
    ("need", "Il SAD copre troppe poche ore per gli anziani soli"),
    ("proposal", "Più ore di assistenza domiciliare comunale per gli anziani"),
    ("need", "Siamo in quaranta in lista d'attesa al nido comunale"),
    ("proposal", "Più posti negli asili nido del distretto"),
    ("proposal", "Corsi di italiano per le mamme straniere"),
    ("resource", "Offriamo la sala parrocchiale il venerdì sera"),
]


def post_kind(client: TestClient, code: str, token: str, kind: str, title: str) -> int:
    response = client.post(
        f"/api/tables/{code}/proposals",
        json={"kind": kind, "title": title},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def duplicates(client: TestClient, code: str, **params: Any) -> list[tuple[int, int, float]]:
    response = run(client, "GET", code, "/duplicates", params=params)
    assert response.status_code == 200, response.text
    return [(p["a"], p["b"], p["score"]) for p in response.json()["pairs"]]


def pairs_of(found: list[tuple[int, int, float]]) -> list[frozenset[int]]:
    return [frozenset((a, b)) for a, b, _ in found]


def a_wall(client: TestClient) -> tuple[str, str, list[int]]:
    _, code = create_table(client)
    me = join(client, code)
    return code, me, [post_kind(client, code, me, kind, title) for kind, title in WALL]


def test_the_api_lists_likely_duplicates_best_first(client: TestClient) -> None:
    code, _me, ids = a_wall(client)
    found = duplicates(client, code)
    scores = [score for _, _, score in found]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert set(pairs_of(found)[:2]) == {frozenset(ids[0:2]), frozenset(ids[2:4])}
    # A resource is never a duplicate of a need or a proposal.
    assert all(ids[5] not in pair for pair in pairs_of(found))
    assert len(duplicates(client, code, limit=1)) == 1


def test_the_default_limit_is_20_and_the_largest_5000(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    for k in range(8):  # 28 pairs
        post_kind(client, code, me, "proposal", f"Trasporto sociale per anziani, zona {k}")
    assert len(duplicates(client, code)) == 20
    assert len(duplicates(client, code, limit=5000)) == 28
    for limit in (0, -1, 5001, "many"):
        refused = run(client, "GET", code, "/duplicates", params={"limit": limit})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "limit"


def test_only_the_tables_runners_see_its_duplicates(client: TestClient) -> None:
    code, me, _ids = a_wall(client)
    _, other = create_table(client)
    for headers, status in (
        (bearer(me), 403),
        (bearer(RUNNERS[other]), 403),
        ({}, 401),
    ):
        response = client.get(f"/api/tables/{code}/duplicates", headers=headers)
        assert response.status_code == status, response.text


def test_merged_and_hidden_posts_are_left_out(client: TestClient) -> None:
    code, me, ids = a_wall(client)
    extra = post_kind(client, code, me, "proposal", "Aumentare le ore di SAD agli anziani")
    merged = run(
        client, "POST", code, "/merges", json={"survivor_id": ids[1], "proposal_ids": [extra]}
    )
    assert merged.status_code == 201, merged.text
    assert run(client, "POST", code, f"/proposals/{ids[3]}/hide").status_code == 200
    listed = {pid for pair in pairs_of(duplicates(client, code, limit=5000)) for pid in pair}
    assert extra not in listed and ids[3] not in listed
    assert ids[0] in listed and ids[1] in listed
    # Undone, the post is back among the suggestions.
    assert run(client, "DELETE", code, f"/merges/{merged.json()['id']}").status_code == 200
    assert frozenset((ids[1], extra)) in pairs_of(duplicates(client, code, limit=5000))


def test_a_dismissed_pair_stays_dismissed(client: TestClient) -> None:
    code, me, ids = a_wall(client)
    seq = client.get(f"/api/tables/{code}").json()["seq"]
    dismissed = run(client, "POST", code, "/duplicates/dismiss", json={"a": ids[3], "b": ids[2]})
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json() == {"seq": seq + 1}
    assert frozenset(ids[2:4]) not in pairs_of(duplicates(client, code, limit=5000))
    # Again: nothing changes, no seq is spent.
    again = run(client, "POST", code, "/duplicates/dismiss", json={"a": ids[2], "b": ids[3]})
    assert again.json() == {"seq": seq + 1}
    # New posts, an edit of one of the two: still dismissed.
    post_kind(client, code, me, "proposal", "Aprire nuove sezioni di nido")
    edited = run(
        client, "PUT", code, f"/proposals/{ids[2]}/text", json={"title": "Lista d'attesa al nido"}
    )
    assert edited.status_code == 200
    found = pairs_of(duplicates(client, code, limit=5000))
    assert frozenset(ids[2:4]) not in found and frozenset(ids[0:2]) in found


def test_dismissing_unknown_posts_or_another_tables_is_refused(client: TestClient) -> None:
    code, _me, ids = a_wall(client)
    _, other = create_table(client)
    theirs = post_kind(client, other, join(client, other), "need", "Il SAD non basta")
    seq = client.get(f"/api/tables/{code}").json()["seq"]
    for body, field in (
        ({"a": ids[0], "b": theirs}, "b"),
        ({"a": 99_999_999, "b": ids[0]}, "a"),
        ({"a": 2**40, "b": ids[0]}, "a"),
        ({"a": ids[0], "b": ids[0]}, "b"),
    ):
        refused = run(client, "POST", code, "/duplicates/dismiss", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == field
    assert run(client, "POST", code, "/duplicates/dismiss", json={"a": ids[0]}).status_code == 422
    assert client.get(f"/api/tables/{code}").json()["seq"] == seq


def test_hostile_and_empty_texts_do_not_break_the_suggestions(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    for title in ("àèìòù", "'''", "???", "<script>alert(1)</script>", "🙂🙂🙂", "x" * 140):
        post_kind(client, code, me, "need", title)
    post_kind(client, code, me, "need", "<script>alert(1)</script>")
    found = duplicates(client, code, limit=5000)
    assert all(0 <= score <= 1 for _, _, score in found)
    page = client.get(console_url(code)).text
    assert "<script>alert(1)</script>" not in page
    assert html.escape("<script>alert(1)</script>") in page.replace("&#34;", '"')


def console_pairs(page: str) -> list[tuple[int, list[int]]]:
    """The suggestions' merge forms on a console page: (first survivor offered, ids)."""
    region = page.split('id="duplicates"', 1)[1].split("</ol>", 1)[0]
    forms = re.findall(r'<form method="post" action="merges".*?</form>', region, re.S)
    return [
        (
            int(re.findall(r'name="survivor_id" value="(\d+)"', form)[0]),
            [int(v) for v in re.findall(r'name="proposal_ids" value="(\d+)"', form)],
        )
        for form in forms
    ]


def test_merging_from_a_suggestion_moves_votes_and_undo_restores_them(
    client: TestClient,
) -> None:
    code, me, ids = a_wall(client)
    bob = join(client, code)
    set_phase(client, code, "voting")
    vote(client, me, ids[0], 1)
    vote(client, bob, ids[1], 1)
    vote(client, me, ids[1], 1)
    set_phase(client, code, "discussion")  # back a step: suggestions show again

    page = client.get(console_url(code)).text
    assert "Probabili doppioni" in page
    survivor, chosen = console_pairs(page)[0]
    assert set(chosen) in ({ids[0], ids[1]}, {ids[2], ids[3]})
    sad = next(p for p in console_pairs(page) if set(p[1]) == {ids[0], ids[1]})
    survivor, chosen = sad
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    merged = client.post(
        console_url(code) + "merges",
        data={"survivor_id": str(survivor), "proposal_ids": [str(i) for i in chosen]},
        headers=headers,
    )
    assert merged.status_code == 200, merged.text
    tallies = tallies_of(client, code)
    assert tallies[survivor] == 2 and (set(chosen) - {survivor}).isdisjoint(tallies)
    page = client.get(console_url(code)).text
    assert all(set(c) != {ids[0], ids[1]} for _, c in console_pairs(page))

    merge_id = run(client, "GET", code, "/moderation").json()["merges"][0]["id"]
    undone = client.post(console_url(code) + f"merges/{merge_id}/undo", headers=headers)
    assert undone.status_code == 200, undone.text
    assert {pid: tallies_of(client, code)[pid] for pid in ids[:2]} == {ids[0]: 1, ids[1]: 2}


def tallies_of(client: TestClient, code: str) -> dict[int, int]:
    table = client.get(f"/api/tables/{code}", headers=bearer(RUNNERS[code])).json()
    return {p["id"]: p["tally"] for p in table["proposals"]}


def test_dismissing_from_the_console_redraws_every_console_by_the_push(
    client: TestClient,
) -> None:
    code, _me, ids = a_wall(client)
    page = client.get(console_url(code)).text
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    with client.websocket_connect(console_url(code) + "ws") as ws:
        ws.receive_text()  # the snapshot
        answer = client.post(
            console_url(code) + "duplicates/dismiss",
            data={"a": str(ids[0]), "b": str(ids[1])},
            headers=headers,
        )
        push = ws.receive_text()
    assert answer.status_code == 200 and 'id="duplicates"' not in answer.text
    assert 'id="duplicates"' in push
    assert all(set(c) != {ids[0], ids[1]} for _, c in console_pairs(push))


def test_a_new_posts_duplicates_reach_the_console_by_the_push(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    first = post_kind(client, code, me, "need", "Mancano posti nei centri diurni per anziani")
    post_kind(client, code, me, "proposal", "Corsi di italiano per le mamme straniere")
    with client.websocket_connect(console_url(code) + "ws") as ws:
        snapshot = ws.receive_text()
        assert console_pairs(snapshot) == []
        assert "Per ora nessun probabile doppione in bacheca." in snapshot
        started = time.monotonic()
        second = post_kind(client, code, me, "proposal", "Più posti al CDI per gli anziani")
        push = ws.receive_text()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert [set(c) for _, c in console_pairs(push)] == [{first, second}]
    assert "Più posti al CDI per gli anziani" in push


def test_no_suggestions_outside_collecting_and_discussing(client: TestClient) -> None:
    code, _me, _ids = a_wall(client)
    assert "Probabili doppioni" in client.get(console_url(code)).text
    set_phase(client, code, "voting")
    assert "Probabili doppioni" not in client.get(console_url(code)).text
    assert duplicates(client, code)  # the API still answers


def test_the_events_glossary_is_saved_from_both_doors_and_used(client: TestClient) -> None:
    event, code = create_table(client)
    me = join(client, code)
    a = post_kind(client, code, me, "need", "Il PIS risponde solo in orario d'ufficio")
    b = post_kind(
        client, code, me, "proposal", "Un pronto intervento sociale attivo anche di notte"
    )
    post_kind(client, code, me, "proposal", "Più posti al nido comunale")
    before = {(x, y): s for x, y, s in duplicates(client, code, limit=100)}
    moderator = bearer(event["moderator_token"])
    saved = client.patch(
        f"/api/events/{event['id']}",
        json={"glossary": "PIS = pronto intervento sociale"},
        headers=moderator,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["glossary"] == "PIS = pronto intervento sociale"
    after = {(x, y): s for x, y, s in duplicates(client, code, limit=100)}
    key = (a, b) if (a, b) in after else (b, a)
    assert after[key] > before.get(key, 0.0)
    refused = client.patch(
        f"/api/events/{event['id']}", json={"glossary": "solo una parola"}, headers=moderator
    )
    assert refused.status_code == 422 and refused.json()["field"] == "glossary"

    page = client.get(console_url(code)).text
    assert "PIS = pronto intervento sociale</textarea>" in page
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    form = client.post(
        console_url(code) + "glossary",
        data={"glossary": "PIS = pronto intervento sociale\n\nPdZ = piano di zona"},
        headers=headers,
    )
    assert form.status_code == 200 and "Glossario salvato." in form.text
    assert (
        "PIS = pronto intervento sociale\nPdZ = piano di zona</textarea>"
        in client.get(console_url(code)).text
    )

    # A facilitator runs one table: the event's words are not theirs to change.
    link = client.post(f"/api/tables/{code}/facilitator-link", headers=moderator).json()
    desk = client.get(console_url(code, link["token"])).text
    assert 'id="glossary"' not in desk
    refused_form = client.post(
        console_url(code, link["token"]) + "glossary",
        data={"glossary": "a = b"},
        headers={**HTMX, "X-CSRF-Token": csrf_of(desk)},
    )
    assert refused_form.status_code == 403
    assert client.get(console_url(code)).text.count("PdZ = piano di zona") == 1


def test_concurrent_dismissals_and_reads_store_one_pair(client: TestClient) -> None:
    code, me, ids = a_wall(client)
    seq = client.get(f"/api/tables/{code}").json()["seq"]
    answers: list[int] = []

    def dismiss() -> None:
        body = {"a": ids[0], "b": ids[1]}
        answers.append(run(client, "POST", code, "/duplicates/dismiss", json=body).status_code)

    def read() -> None:
        answers.append(run(client, "GET", code, "/duplicates").status_code)

    def write() -> None:
        post_kind(client, code, me, "proposal", "Ancora più ore di SAD per gli anziani")
        answers.append(201)

    threads = [threading.Thread(target=f) for f in (dismiss, read, write) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(answers)) == [200, 201]
    assert client.get(f"/api/tables/{code}").json()["seq"] == seq + 1 + 4  # one dismissal, 4 posts
    assert frozenset(ids[0:2]) not in pairs_of(duplicates(client, code, limit=5000))


def test_queued_posts_and_a_changed_kind_follow_the_wall(client: TestClient) -> None:
    code, me, ids = a_wall(client)
    assert run(client, "PATCH", code, "/settings", json={"premoderation": True}).status_code == 200
    queued = post_kind(client, code, me, "proposal", "Più ore di SAD per gli anziani soli")
    assert all(queued not in pair for pair in pairs_of(duplicates(client, code, limit=5000)))
    # Said to be a resource, a post leaves its need/proposal pairs.
    assert frozenset(ids[2:4]) in pairs_of(duplicates(client, code))
    moved = run(client, "PUT", code, f"/proposals/{ids[3]}/kind", json={"kind": "resource"})
    assert moved.status_code == 200, moved.text
    partners = {
        pid
        for pair in pairs_of(duplicates(client, code, limit=5000))
        if ids[3] in pair
        for pid in pair
    }
    assert partners <= {ids[3], ids[5]}  # the other resource only


def test_a_closed_table_refuses_dismissals(client: TestClient) -> None:
    code, _me, ids = a_wall(client)
    set_phase(client, code, "closed")
    refused = run(client, "POST", code, "/duplicates/dismiss", json={"a": ids[0], "b": ids[1]})
    assert refused.status_code == 409, refused.text
    assert "Probabili doppioni" not in client.get(console_url(code)).text


def test_a_post_does_not_wait_for_the_suggestions(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suggestions are computed while the push is built, after the commit: a slow
    similarity slows the console's list, never the phone's post."""
    _, code = create_table(client)
    me = join(client, code)
    first = post_kind(client, code, me, "need", "Mancano posti nei centri diurni per anziani")
    slow = duplicates_service.ranked

    def slower(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.8)
        return slow(*args, **kwargs)

    with client.websocket_connect(console_url(code) + "ws") as ws:
        ws.receive_text()  # the snapshot
        monkeypatch.setattr(duplicates_service, "ranked", slower)
        started = time.monotonic()
        second = post_kind(client, code, me, "proposal", "Più posti al CDI per gli anziani")
        answered = time.monotonic() - started
        push = ws.receive_text()
    assert answered < 0.5, answered
    assert [set(c) for _, c in console_pairs(push)] == [{first, second}]
