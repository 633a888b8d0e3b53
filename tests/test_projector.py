"""The projector's modes as rendered: every result ranked with ties, the phase after a timer,
the longest spotlight (how they fit on the wall is tests/browser/test_projector.py)."""

import re

from fastapi.testclient import TestClient

from tests.test_api import RUNNERS, bearer, create_table, join, set_phase


def screen_mode(client: TestClient, code: str, mode: str, **extra: object) -> None:
    response = client.put(
        f"/api/tables/{code}/screen", json={"mode": mode, **extra}, headers=bearer(RUNNERS[code])
    )
    assert response.status_code == 200, response.text


def posted(client: TestClient, code: str, token: str, title: str, body: str = "") -> int:
    response = client.post(
        f"/api/tables/{code}/proposals",
        json={"kind": "proposal", "title": title, "body": body},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_results_list_every_post_the_first_five_apart_and_ties_share_a_rank(
    client: TestClient,
) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 100, "max_per_proposal": 100})
    people = [join(client, code) for _ in range(4)]
    ids = [
        posted(client, code, people[i % 4], f"Proposta numero {i + 1} per l'Ambito")
        for i in range(40)
    ]
    set_phase(client, code, "voting")
    tallies = [9, 7, 7, 5, 4, 4, 3]  # then nothing: 33 posts tied at 0
    for pid, dots in zip(ids, tallies, strict=False):
        response = client.put(
            f"/api/proposals/{pid}/vote", json={"dots": dots}, headers=bearer(people[0])
        )
        assert response.status_code == 200, response.text
    screen_mode(client, code, "results")
    html = client.get(f"/t/{code}/screen").text

    top, rest = html.split('class="result-list result-top"')[1].split(
        'class="result-list result-rest"'
    )
    assert top.count('class="result kind-') == 5
    assert rest.count('class="result kind-') == 35  # none left out: the screen pages them
    ranks = re.findall(r'data-rank="(\d+)"', html)
    assert ranks[:7] == ["1", "2", "2", "4", "5", "5", "7"]
    assert set(ranks[7:]) == {"8"}  # the posts nobody supported share one rank
    assert 'data-pattern="pagina {page} di {pages}"' in html


def test_a_table_without_posts_says_so_on_the_results(client: TestClient) -> None:
    _, code = create_table(client, phase="voting")
    screen_mode(client, code, "results")
    html = client.get(f"/t/{code}/screen").text
    assert "Ancora nessun contributo." in html
    assert 'class="result kind-' not in html


def test_after_the_timer_the_screen_shows_the_phase_not_dashes(client: TestClient) -> None:
    _, code = create_table(client, phase="discussion")
    screen_mode(client, code, "timer")
    html = client.get(f"/t/{code}/screen").text
    assert "--:--" not in html
    assert re.search(r'class="big-timer-phase-name">Discussione<', html)
    assert "Come rafforzare la rete tra scuole e servizi?" in html  # the question, under it

    response = client.put(
        f"/api/tables/{code}/timer", json={"seconds": 300}, headers=bearer(RUNNERS[code])
    )
    assert response.status_code == 200, response.text
    html = client.get(f"/t/{code}/screen").text
    # 05:00, or 04:59 when a second passed between the two requests (a loaded machine)
    assert 'class="timer timer-huge"' in html and re.search(r">0(5:00|4:5\d)<", html)
    assert "big-timer-phase-name" not in html


def test_a_long_spotlight_description_goes_in_two_columns(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    short = posted(client, code, me, "Centro estivo inclusivo", "Aperto a luglio.")
    long = posted(client, code, me, "T" * 140, "Una descrizione lunga. " * 43)
    screen_mode(client, code, "spotlight", spotlight_id=long)
    html = client.get(f"/t/{code}/screen").text
    assert 'class="spotlight-body spotlight-body-long"' in html
    assert "T" * 140 in html
    screen_mode(client, code, "spotlight", spotlight_id=short)
    assert 'class="spotlight-body">' in client.get(f"/t/{code}/screen").text
