"""The wall and the minutes share each proposal's number; the minutes' wording is Italian
with right plurals and dated timelines (issue 10)."""

import re

from fastapi.testclient import TestClient

from tests.test_api import RUNNERS, bearer, create_table, join, post, set_phase


def test_the_wall_and_the_minutes_share_each_proposals_number(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    titles = ["Trasporto sociale per le frazioni", "Sportello unico", "Orti condivisi"]
    ids = [post(client, code, me, title) for title in titles]
    runner = bearer(RUNNERS[code])
    client.post(f"/api/tables/{code}/proposals/{ids[1]}/hide", headers=runner)
    client.put(f"/api/tables/{code}/screen", json={"mode": "wall"}, headers=runner)
    screen = client.get(f"/t/{code}/screen").text
    assert "n. 1" in screen and "n. 3" in screen  # posting order, kept when one is hidden
    set_phase(client, code, "closed")
    minutes = client.get(f"/api/tables/{code}/report.json", headers=runner).json()
    numbers = {line["title"]: line["number"] for line in minutes["proposals"]}
    assert numbers == {titles[0]: 1, titles[2]: 3}
    markdown = client.get(f"/api/tables/{code}/report.md", headers=runner).text
    assert "nascosto dal moderatore: 1" in markdown  # singular for one


def test_the_timeline_gives_the_date_and_the_rank_column_its_name(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    post(client, code, me, "Centro diurno aperto il sabato")
    set_phase(client, code, "closed")
    html = client.get(f"/api/tables/{code}/report.html", headers=bearer(RUNNERS[code])).text
    assert "Posizione" in html
    assert re.search(
        r"(lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica) \d+ \w+ \d{4}", html
    )
