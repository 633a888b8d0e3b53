"""The phone: limits shown as the services apply them, votes that count once, the wall's
wording, the language it speaks, and a merged author's own posts."""

import re

import pytest
from fastapi.testclient import TestClient

from app.services import proposals
from tests.test_api import RUNNERS, bearer, create_table, join, post, set_phase
from tests.test_pages import HTMX, csrf_of, joined


def _field(html: str, field_id: str) -> str:
    match = re.search(rf'<(?:input|textarea) id="{field_id}"[^>]*>', html)
    assert match, f"no field {field_id}"
    return match.group(0)


def test_the_counters_show_the_limits_the_services_apply(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proposals, "TITLE_LIMIT", 60)
    monkeypatch.setattr(proposals, "BODY_LIMIT", 300)
    _, code = create_table(client)
    page = joined(client, code)
    title, body = _field(page, "title"), _field(page, "body")
    assert 'data-limit="60"' in title and 'data-limit="300"' in body
    assert "maxlength" not in title and "maxlength" not in body  # a paste is never cut
    assert "Caratteri rimasti: 60" in page and "Caratteri rimasti: 300" in page
    assert "Una frase, al massimo 60 caratteri." in page

    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    refused = client.post(
        f"/t/{code}/proposals", data={"title": "Trasporto" + "a" * 52}, headers=headers
    )
    assert refused.status_code == 422
    assert "Al massimo 60 caratteri" in refused.text
    paste = "Le famiglie delle frazioni non hanno mezzi per raggiungere i centri. " * 75
    refused = client.post(
        f"/t/{code}/proposals", data={"title": "Trasporto", "body": paste}, headers=headers
    )
    assert refused.status_code == 422 and "Al massimo 300 caratteri" in refused.text
    assert client.get(f"/api/tables/{code}").json()["proposals"] == []  # nothing stored, cut

    posted = client.post(
        f"/t/{code}/proposals", data={"title": "Trasporto", "body": paste[:300]}, headers=headers
    )
    assert posted.status_code == 200
    edit = _field(posted.text, r"edit-body-\d+")  # the author's own edit form counts too
    assert 'data-limit="300"' in edit and "maxlength" not in edit
    assert "Caratteri rimasti: 0" in posted.text  # the saved body fills the limit exactly


def test_a_repeated_vote_request_counts_once(client: TestClient) -> None:
    _, code = create_table(client)
    headers = {**HTMX, "X-CSRF-Token": csrf_of(joined(client, code))}
    proposal = post(client, code, join(client, code), "Sportello unico per le famiglie")
    set_phase(client, code, "voting")
    seq = client.get(f"/api/tables/{code}").json()["seq"]
    # Two taps that both left before the first answer came back carry the same target state.
    for _ in range(2):
        answer = client.post(
            f"/t/{code}/proposals/{proposal}/vote", data={"dots": "1"}, headers=headers
        )
        assert answer.status_code == 200
        assert f'data-votes="{{&#34;{proposal}&#34;: 1}}"' in answer.text
    table = client.get(f"/api/tables/{code}").json()
    assert table["proposals"][0]["tally"] == 1
    assert table["seq"] == seq + 1  # the repeat changed nothing: no step, no push


def test_the_vote_buttons_send_the_state_they_ask_for(client: TestClient) -> None:
    _, code = create_table(client)
    page = joined(client, code)
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    proposal = post(client, code, join(client, code), "Centro estivo inclusivo")
    set_phase(client, code, "voting")
    before = client.get(f"/t/{code}").text
    assert re.search(rf'id="vote-{proposal}"[^>]*hx-sync="this:drop"', before)
    assert 'name="dots" value="1" data-role="toggle"' in before  # "support", not "toggle"
    client.post(f"/t/{code}/proposals/{proposal}/vote", data={"dots": "1"}, headers=headers)
    after = client.get(f"/t/{code}").text
    assert 'name="dots" value="0" data-role="toggle"' in after  # now "withdraw"
    assert 'aria-pressed="true"' in after


def test_the_kind_goes_back_to_the_default_after_a_post(client: TestClient) -> None:
    _, code = create_table(client)
    headers = {**HTMX, "X-CSRF-Token": csrf_of(joined(client, code))}
    answer = client.post(
        f"/t/{code}/proposals",
        data={"kind": "resource", "title": "Due educatori il sabato mattina"},
        headers=headers,
    )
    assert answer.status_code == 200
    checked = re.findall(r'id="kind-(\w+)"[^>]*\bchecked', answer.text)
    assert checked == ["proposal"]


def test_be_the_first_only_while_posting_is_open(client: TestClient) -> None:
    _, code = create_table(client)
    joined(client, code)
    assert "scrivi il primo!" in client.get(f"/t/{code}").text
    set_phase(client, code, "voting")
    page = client.get(f"/t/{code}").text
    assert "scrivi il primo" not in page
    assert "Ancora nessun contributo." in page


def test_the_header_shows_the_whole_theme(client: TestClient) -> None:
    _, code = create_table(client)
    page = joined(client, code)
    assert '<span class="table-bar-name">Tutela minori</span>' in page


def test_lang_in_the_address_chooses_english_and_is_remembered(client: TestClient) -> None:
    _, code = create_table(client)
    assert '<html lang="it">' in client.get(f"/t/{code}").text
    english = client.get(f"/t/{code}?lang=en")
    assert '<html lang="en">' in english.text and "Join the table" in english.text
    assert "tavoli_lang=en" in english.headers["set-cookie"]
    assert '<html lang="en">' in client.get("/").text  # remembered, on every page
    back = client.get("/?lang=it")
    assert '<html lang="it">' in back.text and "tavoli_lang=it" in back.headers["set-cookie"]
    assert '<html lang="it">' in client.get(f"/t/{code}").text
    assert '<html lang="it">' in client.get("/?lang=fr").text  # unknown: Italian


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("en-US,en;q=0.9,it;q=0.8", "en"),
        ("it-IT,it;q=0.9,en-US;q=0.8,en;q=0.7", "it"),
        ("de-DE,de;q=0.9,en;q=0.5", "en"),
        ("de-DE,fr;q=0.8", "it"),
        ("it;q=0.2,en;q=0.9", "en"),
        ("", "it"),
    ],
)
def test_the_browsers_languages_choose_when_nothing_was_chosen(
    client: TestClient, accept: str, lang: str
) -> None:
    page = client.get("/", headers={"Accept-Language": accept})
    assert f'<html lang="{lang}">' in page.text
    assert "tavoli_lang" not in page.headers.get("set-cookie", "")  # nothing remembered
    client.get("/lang/it?next=/")  # a choice made in the footer wins over the browser
    assert '<html lang="it">' in client.get("/", headers={"Accept-Language": accept}).text


def test_a_merged_authors_posts_still_count_their_merged_post(client: TestClient) -> None:
    _, code = create_table(client)
    page = joined(client, code)
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    other = join(client, code)
    survivor = post(client, code, other, "Trasporto accessibile verso i centri diurni")
    mine = client.post(
        f"/t/{code}/proposals",
        data={"title": "Un pulmino per i centri diurni dalle frazioni"},
        headers=headers,
    )
    assert re.search(r'<span class="count">1</span>', mine.text)
    merged = client.post(
        f"/api/tables/{code}/merges",
        json={"survivor_id": survivor, "proposal_ids": [int(_ids(mine.text)[0])]},
        headers=bearer(RUNNERS[code]),
    )
    assert merged.status_code in (200, 201), merged.text
    after = client.get(f"/t/{code}").text
    my_posts = after[
        after.index('id="my-posts"') : after.index("</section>", after.index('id="my-posts"'))
    ]
    assert '<span class="count">1</span>' in my_posts  # still one contribution of theirs
    assert "Trasporto accessibile verso i centri diurni" in my_posts
    assert "Unito a un contributo simile" in my_posts
    assert f'id="my-edit-{survivor}"' not in my_posts  # not theirs to edit or withdraw
    assert "hidden" not in my_posts.split(">", 1)[0]


def _ids(html: str) -> list[str]:
    return re.findall(r'id="my-edit-(\d+)"', html)
