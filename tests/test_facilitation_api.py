"""The facilitation API: who may run a table, and what moderators and participants then see."""

from typing import Any

from fastapi.testclient import TestClient

from tests.test_api import RUNNERS, bearer, create_event, create_table, join, post, set_phase


def add_table(client: TestClient, event: dict[str, Any], title: str = "Anziani") -> str:
    """Another table of the same event."""
    response = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": title},
        headers=bearer(event["moderator_token"]),
    )
    assert response.status_code == 201, response.text
    code = str(response.json()["code"])
    RUNNERS[code] = event["moderator_token"]
    return code


def join_with_id(client: TestClient, code: str) -> tuple[int, str]:
    response = client.post(f"/api/tables/{code}/participants", json={})
    assert response.status_code == 201, response.text
    return int(response.json()["participant_id"]), str(response.json()["token"])


def public(client: TestClient, code: str) -> dict[str, Any]:
    response = client.get(f"/api/tables/{code}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def wall(client: TestClient, code: str) -> dict[str, Any]:
    """Title -> tally, as anyone sees it (None before voting: the count is not public yet)."""
    return {p["title"]: p["tally"] for p in public(client, code)["proposals"]}


def moderation_view(client: TestClient, code: str, token: str | None = None) -> dict[str, Any]:
    response = client.get(f"/api/tables/{code}/moderation", headers=bearer(token or RUNNERS[code]))
    assert response.status_code == 200, response.text
    return dict(response.json())


def run(client: TestClient, method: str, code: str, path: str, **kwargs: Any) -> Any:
    """A facilitation call with the event's moderator token."""
    token = kwargs.pop("token", RUNNERS[code])
    return client.request(method, f"/api/tables/{code}{path}", headers=bearer(token), **kwargs)


def vote(client: TestClient, token: str, proposal_id: int, dots: int) -> dict[str, Any]:
    response = client.put(
        f"/api/proposals/{proposal_id}/vote", json={"dots": dots}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- phases --------------------------------------------------------------------------------


def test_phase_is_set_by_the_moderator_and_nobody_else(client: TestClient) -> None:
    _, code = create_table(client)
    _, other_code = create_table(client)  # another event's moderator
    me = join(client, code)
    start = public(client, code)["seq"]

    response = run(client, "PUT", code, "/phase", json={"phase": "voting"})
    assert response.status_code == 200
    assert response.json() == {"seq": start + 1}
    assert (public(client, code)["phase"], public(client, code)["seq"]) == ("voting", start + 1)

    for headers, status in (
        (bearer(me), 403),
        (bearer(RUNNERS[other_code]), 403),
        (bearer("not-a-token"), 403),
        ({}, 401),
    ):
        refused = client.put(f"/api/tables/{code}/phase", json={"phase": "closed"}, headers=headers)
        assert refused.status_code == status, headers
        assert isinstance(refused.json()["detail"], str)
    bad = run(client, "PUT", code, "/phase", json={"phase": "lunch"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "phase"

    after = public(client, code)
    assert (after["phase"], after["seq"]) == ("voting", start + 1)
    timeline = [c["phase"] for c in moderation_view(client, code)["timeline"]]
    assert timeline == ["collect", "voting"]


def test_stepping_back_reopens_posting(client: TestClient) -> None:
    _, code = create_table(client, phase="voting")
    me = join(client, code)
    url = f"/api/tables/{code}/proposals"
    refused = client.post(url, json={"title": "Tardi"}, headers=bearer(me))
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "Posting is closed in this phase",
        "code": "posting_is_closed_in_this_phase",
    }
    assert public(client, code)["proposals"] == []

    set_phase(client, code, "collect")
    pid = post(client, code, me, "Riaperto")
    refused_vote = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
    assert refused_vote.status_code == 409
    assert refused_vote.json() == {
        "detail": "Voting is not open in this phase",
        "code": "voting_is_not_open_in_this_phase",
    }
    assert wall(client, code) == {"Riaperto": None}


def test_timer_over_the_api(client: TestClient) -> None:
    _, code = create_table(client)
    assert run(client, "POST", code, "/timer/extend", json={"seconds": 30}).status_code == 409
    assert run(client, "PUT", code, "/timer", json={"seconds": 0}).status_code == 422
    started = run(client, "PUT", code, "/timer", json={"seconds": 120, "advance": True})
    assert started.status_code == 200
    assert public(client, code)["timer"]["seconds_left"] in (119, 120)
    assert public(client, code)["timer"]["advances"] is True
    assert run(client, "POST", code, "/timer/extend", json={"seconds": 60}).status_code == 200
    assert public(client, code)["timer"]["seconds_left"] in (179, 180)
    assert run(client, "DELETE", code, "/timer").status_code == 200
    assert public(client, code)["timer"] == {"seconds_left": None, "advances": False}
    assert public(client, code)["phase"] == "collect"


# --- facilitator links ---------------------------------------------------------------------


def test_facilitator_link_runs_only_its_own_table(client: TestClient) -> None:
    event = create_event(client)
    code, other = add_table(client, event, "Minori"), add_table(client, event, "Anziani")
    set_phase(client, code, "collect")
    me = join(client, code)
    pid = post(client, code, me, "Educativa di strada")

    response = run(client, "POST", code, "/facilitator-link")
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert response.json()["url"].endswith(f"/run/{token}/{code}/")

    moved = run(client, "PUT", code, "/phase", json={"phase": "discussion"}, token=token)
    assert moved.status_code == 200
    assert public(client, code)["phase"] == "discussion"
    assert run(client, "POST", code, f"/proposals/{pid}/hide", token=token).status_code == 200
    assert public(client, code)["proposals"] == []
    assert moderation_view(client, code, token)["off_wall"][0]["id"] == pid

    elsewhere = run(client, "PUT", other, "/phase", json={"phase": "voting"}, token=token)
    assert elsewhere.status_code == 403
    assert run(client, "GET", other, "/moderation", token=token).status_code == 403
    assert public(client, other)["phase"] == "preparation"

    # Only the event's moderator hands out links, for this table or any other.
    refused = run(client, "POST", code, "/facilitator-link", token=token)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Only the event's moderator can hand out facilitator links",
        "code": "only_the_event_s_moderator_can_hand_out_facilitator_links",
    }
    assert run(client, "POST", other, "/facilitator-link", token=token).status_code == 403

    # A new link revokes the previous one.
    fresh = run(client, "POST", code, "/facilitator-link").json()["token"]
    assert run(client, "GET", code, "/moderation", token=token).status_code == 403
    assert run(client, "GET", code, "/moderation", token=fresh).status_code == 200


# --- merges --------------------------------------------------------------------------------


def test_merge_and_undo_keep_tallies_exact(client: TestClient) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 5, "max_per_proposal": 3})
    alice, bob = join(client, code), join(client, code)
    a, b = post(client, code, alice, "Casa"), post(client, code, bob, "Abitare")
    c = post(client, code, bob, "Bus")
    set_phase(client, code, "voting")
    vote(client, alice, a, 2)
    vote(client, alice, b, 2)
    vote(client, bob, b, 3)
    vote(client, bob, c, 2)
    assert wall(client, code) == {"Casa": 2, "Abitare": 5, "Bus": 2}

    merged = run(client, "POST", code, "/merges", json={"survivor_id": a, "proposal_ids": [b]})
    assert merged.status_code == 201, merged.text
    merge_id = merged.json()["id"]
    assert merged.json()["seq"] == public(client, code)["seq"]
    assert wall(client, code) == {"Casa": 3 + 3, "Bus": 2}
    survivor = public(client, code)["proposals"][0]
    assert (survivor["id"], survivor["merged_from"], survivor["voters"]) == (a, [b], 2)
    # Alice's 2+2 became 3 (the cap): one dot back. Re-sending a vote changes nothing.
    assert vote(client, alice, a, 3)["dots_left"] == 2
    assert vote(client, bob, a, 3)["dots_left"] == 0
    assert [m["id"] for m in moderation_view(client, code)["merges"]] == [merge_id]

    assert run(client, "DELETE", code, f"/merges/{merge_id}").status_code == 200
    assert wall(client, code) == {"Casa": 2, "Abitare": 5, "Bus": 2}
    assert vote(client, alice, a, 2)["dots_left"] == 1
    assert moderation_view(client, code)["merges"] == []
    again = run(client, "DELETE", code, f"/merges/{merge_id}")
    assert again.status_code == 409
    assert again.json() == {
        "detail": "This merge was already undone",
        "code": "this_merge_was_already_undone",
    }
    assert wall(client, code) == {"Casa": 2, "Abitare": 5, "Bus": 2}


def test_undoing_a_merge_keeps_a_withdrawal_made_after_it(client: TestClient) -> None:
    """B supports P1 and P2, P2 is merged into P1, B withdraws (200), the merge is undone:
    neither P1 nor P2 counts B's vote again, live or in the minutes."""
    _, code = create_table(client)
    alice, bob = join(client, code), join(client, code)
    p1, p2 = post(client, code, alice, "Casa"), post(client, code, alice, "Abitare")
    set_phase(client, code, "voting")
    vote(client, bob, p1, 1)
    vote(client, bob, p2, 1)
    vote(client, alice, p2, 1)
    merged = run(client, "POST", code, "/merges", json={"survivor_id": p1, "proposal_ids": [p2]})
    assert merged.status_code == 201, merged.text
    assert wall(client, code) == {"Casa": 2}
    assert vote(client, bob, p1, 0)["dots"] == 0

    assert run(client, "DELETE", code, f"/merges/{merged.json()['id']}").status_code == 200
    assert wall(client, code) == {"Casa": 0, "Abitare": 1}
    mine = client.get(f"/api/tables/{code}/me", headers=bearer(bob))
    assert mine.json()["votes"] == []
    minutes = run(client, "GET", code, "/report.json").json()
    assert {p["title"]: p["votes"] for p in minutes["proposals"]} == {"Casa": 0, "Abitare": 1}


def test_bad_merges_are_refused_over_the_api(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    a, b = post(client, code, me, "Casa"), post(client, code, me, "Abitare")
    single = run(client, "POST", code, "/merges", json={"survivor_id": a, "proposal_ids": [a]})
    assert single.status_code == 422
    assert single.json()["field"] == "proposal_ids"
    assert run(client, "POST", code, f"/proposals/{b}/hide").status_code == 200
    hidden = run(client, "POST", code, "/merges", json={"survivor_id": a, "proposal_ids": [b]})
    assert hidden.status_code == 409
    assert moderation_view(client, code)["merges"] == []


# --- pre-moderation and moderation ---------------------------------------------------------


def test_premoderation_queue_is_for_moderators_only(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    response = run(client, "PATCH", code, "/settings", json={"premoderation": True})
    assert response.status_code == 200
    first, second = post(client, code, me, "Casa"), post(client, code, me, "Boh")
    third = post(client, code, me, "Insulto")

    assert public(client, code)["proposals"] == []
    queue = moderation_view(client, code)["queue"]
    assert [(p["id"], p["status"]) for p in queue] == [
        (first, "pending"),
        (second, "pending"),
        (third, "pending"),
    ]
    assert client.get(f"/api/tables/{code}/moderation", headers=bearer(me)).status_code == 403
    assert client.get(f"/api/tables/{code}/moderation").status_code == 401

    assert run(client, "POST", code, f"/proposals/{first}/accept").status_code == 200
    empty_note = run(client, "POST", code, f"/proposals/{second}/rephrase", json={"note": ""})
    assert empty_note.status_code == 422
    assert empty_note.json()["field"] == "note"
    rephrase = run(
        client, "POST", code, f"/proposals/{second}/rephrase", json={"note": "Cosa proponi?"}
    )
    assert rephrase.status_code == 200
    reject = run(client, "POST", code, f"/proposals/{third}/reject", json={"note": "Offensivo"})
    assert reject.status_code == 200

    assert wall(client, code) == {"Casa": None}
    seen = moderation_view(client, code)
    assert seen["queue"] == []
    assert [(p["id"], p["status"], p["note"]) for p in seen["off_wall"]] == [
        (second, "rephrase", "Cosa proponi?"),
        (third, "rejected", "Offensivo"),
    ]

    # The author rewrites it: back to the queue, still off the public wall.
    edited = client.patch(
        f"/api/proposals/{second}", json={"title": "Centro diurno"}, headers=bearer(me)
    )
    assert edited.status_code == 200
    assert [p["title"] for p in moderation_view(client, code)["queue"]] == ["Centro diurno"]
    assert wall(client, code) == {"Casa": None}


def test_moderator_edit_hide_restore_and_tags(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    a, b = post(client, code, me, "Csa"), post(client, code, me, "Lavoro")
    edit = run(client, "PUT", code, f"/proposals/{a}/text", json={"title": "Casa"})
    assert edit.status_code == 200
    assert [(p["title"], p["edited"]) for p in public(client, code)["proposals"]] == [
        ("Casa", True),
        ("Lavoro", False),
    ]

    assert run(client, "POST", code, f"/proposals/{b}/hide").status_code == 200
    assert wall(client, code) == {"Casa": None}
    assert run(client, "POST", code, f"/proposals/{b}/hide").status_code == 409
    assert run(client, "POST", code, f"/proposals/{b}/restore").status_code == 200
    assert wall(client, code) == {"Casa": None, "Lavoro": None}

    tag = run(client, "POST", code, "/tags", json={"name": "Abitare"})
    assert tag.status_code == 201
    tag_id = tag.json()["id"]
    assert run(client, "POST", code, "/tags", json={"name": "ABITARE"}).status_code == 409
    tagged = run(client, "POST", code, f"/tags/{tag_id}/proposals", json={"proposal_ids": [a, b]})
    assert tagged.status_code == 200
    assert [p["tags"] for p in public(client, code)["proposals"]] == [["Abitare"], ["Abitare"]]
    untag = run(
        client, "POST", code, f"/tags/{tag_id}/proposals", json={"proposal_ids": [b], "on": False}
    )
    assert untag.status_code == 200
    assert [p["tags"] for p in public(client, code)["proposals"]] == [["Abitare"], []]
    assert run(client, "DELETE", code, f"/tags/{tag_id}").status_code == 200
    assert [p["tags"] for p in public(client, code)["proposals"]] == [[], []]
    assert moderation_view(client, code)["tags"] == []


def test_authors_own_edit_and_withdraw_over_the_api(client: TestClient) -> None:
    _, code = create_table(client)
    author, other = join(client, code), join(client, code)
    pid = post(client, code, author, "Doposcuola")
    url = f"/api/proposals/{pid}"
    assert client.patch(url, json={"title": "Mio"}, headers=bearer(other)).status_code == 403
    assert client.delete(url, headers=bearer(other)).status_code == 403
    edited = client.patch(url, json={"title": "Doposcuola gratis"}, headers=bearer(author))
    assert edited.status_code == 200
    assert wall(client, code) == {"Doposcuola gratis": None}
    set_phase(client, code, "voting")
    assert client.delete(url, headers=bearer(author)).status_code == 409
    set_phase(client, code, "collect")
    assert client.delete(url, headers=bearer(author)).status_code == 200
    assert wall(client, code) == {}


# --- results hiding ------------------------------------------------------------------------


def test_hidden_results_hide_tallies_from_the_public(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    pid = post(client, code, me, "Casa")
    set_phase(client, code, "voting")
    vote(client, me, pid, 1)
    assert wall(client, code) == {"Casa": 1}

    hide = run(client, "PATCH", code, "/settings", json={"results_hidden": True})
    assert hide.status_code == 200
    hidden = public(client, code)
    assert hidden["results_hidden"] is True
    assert [(p["title"], p["tally"], p["voters"]) for p in hidden["proposals"]] == [
        ("Casa", None, None)
    ]
    show = run(client, "PATCH", code, "/settings", json={"results_hidden": False})
    assert show.status_code == 200
    assert wall(client, code) == {"Casa": 1}


def test_hidden_results_are_not_leaked_by_the_vote_response(client: TestClient) -> None:
    _, code = create_table(client)
    me, other = join(client, code), join(client, code)
    pid = post(client, code, me, "Casa")
    set_phase(client, code, "voting")
    vote(client, other, pid, 1)
    run(client, "PATCH", code, "/settings", json={"results_hidden": True})
    # A participant who has not voted re-sends "no vote": nothing changes, but what is told?
    assert vote(client, me, pid, 0)["tally"] is None
    assert vote(client, me, pid, 1)["tally"] is None
    run(client, "PATCH", code, "/settings", json={"results_hidden": False})
    assert vote(client, me, pid, 1)["tally"] == 2


# --- paper participants --------------------------------------------------------------------


def test_paper_participants_over_the_api(client: TestClient) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 3, "max_per_proposal": 2})
    url = "/paper-participants"
    bad = run(client, "POST", code, url, json={"name": "Maria", "category": "Marziani"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "category"
    assert run(client, "POST", code, url, json={"name": "Maria"}, token="nope").status_code == 403
    created = run(client, "POST", code, url, json={"name": "Maria", "category": "Cittadino/a"})
    assert created.status_code == 201
    maria = created.json()["id"]
    assert created.json()["name"] == "Maria"

    run(client, "PATCH", code, "/settings", json={"premoderation": True})
    posted = run(client, "POST", code, f"{url}/{maria}/proposals", json={"title": "Più bus"})
    assert posted.status_code == 201
    assert posted.json()["seq"] == public(client, code)["seq"]
    proposals = public(client, code)["proposals"]
    assert [(p["title"], p["proxy"]) for p in proposals] == [("Più bus", True)]
    assert public(client, code)["participants"] == 0
    pid = proposals[0]["id"]

    early = run(client, "PUT", code, f"{url}/{maria}/votes/{pid}", json={"dots": 1})
    assert early.status_code == 409
    set_phase(client, code, "voting")
    late = run(client, "POST", code, f"{url}/{maria}/proposals", json={"title": "Tardi"})
    assert late.status_code == 409
    over_cap = run(client, "PUT", code, f"{url}/{maria}/votes/{pid}", json={"dots": 3})
    assert over_cap.status_code == 409
    within = run(client, "PUT", code, f"{url}/{maria}/votes/{pid}", json={"dots": 2})
    assert within.status_code == 200
    assert wall(client, code) == {"Più bus": 2}

    phone_id, _ = join_with_id(client, code)
    not_paper = run(client, "POST", code, f"{url}/{phone_id}/proposals", json={"title": "X"})
    assert not_paper.status_code == 404


# --- removing a participant ----------------------------------------------------------------


def test_removed_participant_gets_403_and_leaves_the_wall(client: TestClient) -> None:
    _, code = create_table(client)
    troll_id, troll = join_with_id(client, code)
    fair = join(client, code)
    post(client, code, troll, "Insulto")
    post(client, code, fair, "Proposta seria")

    assert run(client, "DELETE", code, f"/participants/{troll_id}", token=fair).status_code == 403
    assert wall(client, code) == {"Insulto": None, "Proposta seria": None}

    removed = run(client, "DELETE", code, f"/participants/{troll_id}")
    assert removed.status_code == 200
    assert removed.json()["seq"] == public(client, code)["seq"]
    assert wall(client, code) == {"Proposta seria": None}
    again = client.post(
        f"/api/tables/{code}/proposals", json={"title": "Ancora"}, headers=bearer(troll)
    )
    assert again.status_code == 403
    assert again.json() == {
        "detail": "You were removed from this table",
        "code": "you_were_removed_from_this_table",
    }
    assert post(client, code, fair, "Altra proposta")
    assert run(client, "DELETE", code, "/participants/9999").status_code == 404


# --- OpenAPI -------------------------------------------------------------------------------


def test_openapi_lists_the_facilitation_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    prefix = "/api/tables/{code}"
    expected = {
        "/phase": {"put"},
        "/timer": {"put", "delete"},
        "/timer/extend": {"post"},
        "/settings": {"patch"},
        "/screen": {"put"},
        "/proposals/{proposal_id}/accept": {"post"},
        "/proposals/{proposal_id}/reject": {"post"},
        "/proposals/{proposal_id}/rephrase": {"post"},
        "/proposals/{proposal_id}/hide": {"post"},
        "/proposals/{proposal_id}/restore": {"post"},
        "/proposals/{proposal_id}/text": {"put"},
        "/merges": {"post"},
        "/merges/{merge_id}": {"delete"},
        "/tags": {"post"},
        "/tags/{tag_id}": {"delete"},
        "/tags/{tag_id}/proposals": {"post"},
        "/participants/{participant_id}": {"delete"},
        "/paper-participants": {"post"},
        "/paper-participants/{participant_id}/proposals": {"post"},
        "/paper-participants/{participant_id}/votes/{proposal_id}": {"put"},
        "/paper-participants/{participant_id}/votes": {"put"},
        "/facilitator-link": {"post"},
        "/moderation": {"get"},
    }
    for path, methods in expected.items():
        assert prefix + path in paths, path
        assert methods <= set(paths[prefix + path]), path
    assert {"patch", "delete"} <= set(paths["/api/proposals/{proposal_id}"])
