"""What a script running an event day met in the JSON API: a paper post without its id, an
unknown field silently ignored, two shapes of `voting`, English errors for an Italian client,
a moderator token that could not find its event, and hidden tallies hidden from the
moderator's own GET."""

from fastapi.testclient import TestClient

from tests.server import bearer
from tests.test_api import RUNNERS, create_event, create_table, join, post, set_phase


def test_a_post_typed_in_for_a_paper_participant_answers_its_id(client: TestClient) -> None:
    _event, code = create_table(client)
    runner = bearer(RUNNERS[code])
    person = client.post(
        f"/api/tables/{code}/paper-participants", json={"name": "Anna Esposito"}, headers=runner
    ).json()
    response = client.post(
        f"/api/tables/{code}/paper-participants/{person['id']}/proposals",
        json={"kind": "need", "title": "Un pulmino per le frazioni"},
        headers=runner,
    )
    assert response.status_code == 201, response.text
    answer = response.json()
    shown = client.get(f"/api/tables/{code}").json()["proposals"]
    assert answer["id"] == shown[0]["id"] and answer["seq"] >= 1
    # The id is the one the moderation routes take.
    hidden = client.post(f"/api/tables/{code}/proposals/{answer['id']}/hide", headers=runner)
    assert hidden.status_code == 200, hidden.text


def test_an_unknown_field_is_refused_and_changes_nothing(client: TestClient) -> None:
    _event, code = create_table(client)
    runner = bearer(RUNNERS[code])
    response = client.patch(f"/api/tables/{code}", json={"titel": "Nuovo tema"}, headers=runner)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "titel"
    assert client.get(f"/api/tables/{code}").json()["title"] == "Tutela minori"
    # The actions of the one list refuse them too (the console's forms still read theirs).
    settings = client.patch(
        f"/api/tables/{code}/settings", json={"results_hiden": True}, headers=runner
    )
    assert settings.status_code == 422, settings.text
    assert client.get(f"/api/tables/{code}").json()["results_hidden"] is False


def test_voting_has_one_shape_in_every_answer(client: TestClient) -> None:
    for voting in (
        {"mode": "approval", "weighting": "person"},
        {"mode": "dots", "dots": 4, "max_per_proposal": 2, "weighting": "organisation"},
    ):
        event = create_event(client)
        created = client.post(
            f"/api/events/{event['id']}/tables",
            json={"title": "Abitare", "voting": voting},
            headers=bearer(event["moderator_token"]),
        ).json()
        code = created["code"]
        runner = bearer(event["moderator_token"])
        patched = client.patch(f"/api/tables/{code}", json={"voting": voting}, headers=runner)
        assert patched.status_code == 200, patched.text
        got = client.get(f"/api/tables/{code}").json()
        assert created["voting"] == patched.json()["voting"] == got["voting"] == voting


def test_api_errors_speak_the_clients_language_with_stable_codes(client: TestClient) -> None:
    _event, code = create_table(client, phase="collect")
    token = join(client, code)
    pid = post(client, code, token)
    english = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(token))
    italian = client.put(
        f"/api/proposals/{pid}/vote",
        json={"dots": 1},
        headers={**bearer(token), "Accept-Language": "it-IT,it;q=0.9"},
    )
    assert english.status_code == italian.status_code == 409
    assert english.json()["code"] == italian.json()["code"]
    assert english.json()["detail"] != italian.json()["detail"]
    assert "vot" in italian.json()["detail"].lower()  # Italian, e.g. "La votazione non è aperta"
    missing = client.get("/api/tables/ZZZZZZ", headers={"Accept-Language": "it"})
    assert missing.status_code == 404 and missing.json()["detail"].startswith(("Nessun", "Tavolo"))
    invalid = client.patch(
        f"/api/tables/{code}",
        json={"title": 5},
        headers={**bearer(RUNNERS[code]), "Accept-Language": "it"},
    )
    assert invalid.status_code == 422
    assert invalid.json()["detail"] == "title: mancante o non valido"
    assert invalid.json()["code"] == "string_type"


def test_a_moderator_token_finds_its_own_event(client: TestClient) -> None:
    event = create_event(client, title="Stati Generali del Welfare")
    # A table's own JSON names its event for whoever runs it.
    table = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Abitare"},
        headers=bearer(event["moderator_token"]),
    ).json()
    assert table["event_id"] == event["id"]
    seen = client.get(f"/api/tables/{table['code']}", headers=bearer(event["moderator_token"]))
    assert seen.json()["event_id"] == event["id"]
    renamed = client.patch(
        f"/api/tables/{table['code']}",
        json={"title": "Abitare e comunità"},
        headers=bearer(event["moderator_token"]),
    )
    assert renamed.json()["event_id"] == event["id"]
    assert "event_id" not in client.get(f"/api/tables/{table['code']}").json()


def test_the_moderator_sees_hidden_tallies_in_its_own_get(client: TestClient, db: str) -> None:
    _event, code = create_table(client)
    runner = bearer(RUNNERS[code])
    token = join(client, code)
    pid = post(client, code, token)
    set_phase(client, code, "voting")
    hide = client.patch(
        f"/api/tables/{code}/settings", json={"results_hidden": True}, headers=runner
    )
    assert hide.status_code == 200, hide.text
    vote = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(token))
    assert vote.status_code == 200, vote.text
    moderator = client.get(f"/api/tables/{code}", headers=runner).json()
    assert moderator["proposals"][0]["tally"] == 1 and moderator["tallies_shown"] is True
    for headers in ({}, bearer(token), bearer("a-wrong-token")):
        public = client.get(f"/api/tables/{code}", headers=headers).json()
        assert public["proposals"][0]["tally"] is None and public["tallies_shown"] is False
