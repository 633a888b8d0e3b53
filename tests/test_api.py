"""The JSON API: status codes, JSON errors, and nothing stored by a failed request."""

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.server import bearer


def create_event(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"title": "Stati Generali dell'Innovazione Sociale", "date": "2024-11-09", **fields}
    response = client.post("/api/events", json=body, headers=bearer(ADMIN_TOKEN))
    assert response.status_code == 201, response.text
    return dict(response.json())


RUNNERS: dict[str, str] = {}  # table code -> its event's moderator token


def set_phase(client: TestClient, code: str, phase: str) -> int:
    response = client.put(
        f"/api/tables/{code}/phase", json={"phase": phase}, headers=bearer(RUNNERS[code])
    )
    assert response.status_code == 200, response.text
    return int(response.json()["seq"])


def create_table(
    client: TestClient, voting: dict[str, Any] | None = None, phase: str = "collect"
) -> tuple[dict[str, Any], str]:
    event = create_event(client)
    response = client.post(
        f"/api/events/{event['id']}/tables",
        json={
            "title": "Tutela minori",
            "question": "Come rafforzare la rete tra scuole e servizi?",
            "voting": voting or {"mode": "approval"},
        },
        headers=bearer(event["moderator_token"]),
    )
    assert response.status_code == 201, response.text
    code = str(response.json()["code"])
    RUNNERS[code] = event["moderator_token"]
    set_phase(client, code, phase)
    return event, code


def join(client: TestClient, code: str, **fields: str) -> str:
    response = client.post(f"/api/tables/{code}/participants", json=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def post(client: TestClient, code: str, token: str, title: str = "Educativa di strada") -> int:
    response = client.post(
        f"/api/tables/{code}/proposals",
        json={"kind": "proposal", "title": title},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_organiser_token_is_required_to_create_events(client: TestClient) -> None:
    body = {"title": "Stati Generali", "date": "2024-11-09"}
    assert client.post("/api/events", json=body).status_code == 401
    response = client.post("/api/events", json=body, headers=bearer("wrong"))
    assert response.status_code == 403
    assert response.json() == {
        "detail": "The organiser token is not valid",
        "code": "the_organiser_token_is_not_valid",
    }


def test_event_gets_default_categories_and_a_moderator_token(client: TestClient) -> None:
    event = create_event(client)
    assert event["categories"][1] == "Ente del Terzo Settore"
    assert event["moderator_url"] == f"http://testserver/m/{event['moderator_token']}"


def test_tables_need_the_moderator_token_of_their_event(client: TestClient) -> None:
    first, second = create_event(client), create_event(client)
    body = {"title": "Famiglia e rete antiviolenza"}
    url = f"/api/events/{first['id']}/tables"
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=bearer("nope")).status_code == 403
    assert client.post(url, json=body, headers=bearer(second["moderator_token"])).status_code == 403


def test_dots_table_and_invalid_voting_rules(client: TestClient) -> None:
    event = create_event(client)
    url = f"/api/events/{event['id']}/tables"
    headers = bearer(event["moderator_token"])
    bad = {"title": "Governance", "voting": {"mode": "dots", "dots": 3, "max_per_proposal": 5}}
    response = client.post(url, json=bad, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "max_per_proposal"
    good = {"title": "Governance", "voting": {"mode": "dots", "dots": 5, "max_per_proposal": 2}}
    table = client.post(url, json=good, headers=headers).json()
    assert table["voting"] == {
        "mode": "dots",
        "dots": 5,
        "max_per_proposal": 2,
        "weighting": "person",
    }
    assert client.get(f"/api/tables/{table['code']}").json()["voting"]["dots"] == 5


def test_unknown_code_is_404_everywhere(client: TestClient) -> None:
    assert client.get("/api/tables/ZZZZZZ").status_code == 404
    assert client.post("/api/tables/ZZZZZZ/participants", json={}).json() == {
        "detail": "No table has this code",
        "code": "no_table_has_this_code",
    }


def test_whole_flow_and_table_snapshot(client: TestClient) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 4, "max_per_proposal": 3})
    alice = join(client, code, name="Anna", category="Ente del Terzo Settore")
    bob = join(client, code)
    pid = post(client, code, alice)
    voting_seq = set_phase(client, code, "voting")
    response = client.put(f"/api/proposals/{pid}/vote", json={"dots": 3}, headers=bearer(bob))
    assert response.status_code == 200
    assert response.json() == {
        "proposal_id": pid,
        "dots": 3,
        "dots_left": 1,
        "tally": 3,
        "seq": voting_seq + 1,
    }
    table = client.get(f"/api/tables/{code}").json()
    assert table["seq"] == voting_seq + 1
    assert table["phase"] == "voting"
    assert table["participants"] == 2
    assert [(p["title"], p["tally"]) for p in table["proposals"]] == [("Educativa di strada", 3)]
    assert "Anna" not in str(table)  # names are never published


def test_vote_errors_are_json_and_change_nothing(client: TestClient) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 2, "max_per_proposal": 2})
    me = join(client, code)
    a, b = post(client, code, me, "Casa"), post(client, code, me, "Lavoro")
    set_phase(client, code, "voting")
    assert (
        client.put(f"/api/proposals/{a}/vote", json={"dots": 2}, headers=bearer(me)).status_code
        == 200
    )
    over = client.put(f"/api/proposals/{b}/vote", json={"dots": 1}, headers=bearer(me))
    assert over.status_code == 409
    assert over.json() == {"detail": "Not enough dots left: 0", "code": "not_enough_dots_left"}
    assert (
        client.put(
            f"/api/proposals/{b}/vote", json={"dots": "many"}, headers=bearer(me)
        ).status_code
        == 422
    )
    assert client.put(f"/api/proposals/{b}/vote", json={"dots": 1}).status_code == 401
    assert (
        client.put(f"/api/proposals/{b}/vote", json={"dots": 1}, headers=bearer("x")).status_code
        == 403
    )
    assert (
        client.put("/api/proposals/999/vote", json={"dots": 1}, headers=bearer(me)).status_code
        == 404
    )
    table = client.get(f"/api/tables/{code}").json()
    assert {p["title"]: p["tally"] for p in table["proposals"]} == {"Casa": 2, "Lavoro": 0}


def test_invalid_posts_are_422_and_store_nothing(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    url = f"/api/tables/{code}/proposals"
    for body in (
        {"title": ""},
        {"title": "x" * 141},
        {"title": "ok", "body": "y" * 1001},
        {"title": "ok", "kind": "wish"},
    ):
        assert client.post(url, json=body, headers=bearer(me)).status_code == 422, body
    too_long = client.post(url, json={"title": "x" * 141}, headers=bearer(me)).json()
    assert too_long == {
        "detail": "At most 140 characters",
        "code": "at_most_characters",
        "field": "title",
    }
    assert client.get(f"/api/tables/{code}").json()["proposals"] == []


def test_participant_of_another_table_cannot_post_here(client: TestClient) -> None:
    _, code = create_table(client)
    _, other = create_table(client)
    stranger = join(client, other)
    response = client.post(
        f"/api/tables/{code}/proposals", json={"title": "Intrusione"}, headers=bearer(stranger)
    )
    assert response.status_code == 403


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/events",
        "/api/events/{event_id}/tables",
        "/api/tables/{code}/participants",
        "/api/tables/{code}/proposals",
        "/api/proposals/{proposal_id}/vote",
        "/api/tables/{code}",
    ):
        assert path in paths
    assert not any(path.startswith("/t/") for path in paths)
