"""The HTML side: organiser, moderator, participant and screen pages, with CSRF and escaping."""

import re

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.test_api import RUNNERS, bearer, create_table, join, post, set_phase

HTMX = {"HX-Request": "true"}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def joined(client: TestClient, code: str, **fields: str) -> str:
    """Join through the page as a phone would; returns the participant page."""
    page = client.get(f"/t/{code}").text
    response = client.post(f"/t/{code}/join", data={"csrf_token": csrf_of(page), **fields})
    assert response.status_code == 200, response.text  # followed the redirect
    return response.text


def test_home_speaks_italian_first_and_english_on_request(client: TestClient) -> None:
    page = client.get("/")
    assert '<html lang="it">' in page.text
    assert "Inserisci il codice" in page.text
    client.get("/lang/en?next=/")
    assert "Enter the code shown on the screen" in client.get("/").text


def test_pages_carry_a_strict_csp_and_no_inline_script(client: TestClient) -> None:
    _, code = create_table(client)
    for url in ("/", f"/t/{code}", f"/t/{code}/screen", f"/admin/{ADMIN_TOKEN}"):
        response = client.get(url)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp
        assert response.headers["referrer-policy"] == "no-referrer"
        html = response.text
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], url
        assert not re.search(r"\son[a-z]+=|hx-on", html), url
        assert '"allowEval":false' in html


def test_finding_a_table_by_code(client: TestClient) -> None:
    _, code = create_table(client)
    found = client.get(f"/join?code={code.lower()}", follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/t/{code}"
    missing = client.get("/join?code=ZZZZZZ")
    assert missing.status_code == 404
    assert "Nessun tavolo ha questo codice" in missing.text


def test_join_with_optional_identity_then_see_the_table(client: TestClient) -> None:
    _, code = create_table(client)
    page = client.get(f"/t/{code}").text
    assert "Ente del Terzo Settore" in page  # the category list
    assert "Privacy" in page
    html = joined(client, code, name="Lucia", category="Scuola o università")
    assert "Porta al tavolo" in html
    assert f'ws-connect="/t/{code}/ws"' in html
    assert "Lucia" not in html  # the wall never shows names


def test_join_without_csrf_token_is_refused(client: TestClient) -> None:
    _, code = create_table(client)
    client.get(f"/t/{code}")
    response = client.post(f"/t/{code}/join", data={"name": "Mario"})
    assert response.status_code == 403
    assert "Il modulo è scaduto" in response.text
    assert client.get(f"/api/tables/{code}").json()["participants"] == 0


def test_post_and_vote_with_htmx_answers_with_fragments(client: TestClient) -> None:
    _, code = create_table(client)
    token = csrf_of(joined(client, code))
    headers = {**HTMX, "X-CSRF-Token": token}
    response = client.post(
        f"/t/{code}/proposals",
        data={
            "kind": "need",
            "title": "Trasporto per le visite mediche",
            "body": "Per chi vive nelle frazioni",
        },
        headers=headers,
    )
    assert response.status_code == 200
    assert response.text.startswith('<form id="post-form"')
    assert "Pubblicato:" in response.text
    proposal = client.get(f"/api/tables/{code}").json()["proposals"][0]
    assert (proposal["kind"], proposal["body"]) == ("need", "Per chi vive nelle frazioni")
    set_phase(client, code, "voting")
    vote = client.post(
        f"/t/{code}/proposals/{proposal['id']}/vote", data={"dots": "1"}, headers=headers
    )
    assert f'data-votes="{{&#34;{proposal["id"]}&#34;: 1}}"' in vote.text  # this phone's votes
    tally = f'id="tally-{proposal["id"]}" class="tally" hx-ext="ignore:morph"'
    assert f'{tally} hx-swap-oob="innerHTML"' in vote.text
    assert client.get(f"/api/tables/{code}").json()["proposals"][0]["tally"] == 1


def test_htmx_errors_go_to_the_flash_region_in_italian(client: TestClient) -> None:
    _, code = create_table(client)
    token = csrf_of(joined(client, code))
    headers = {**HTMX, "X-CSRF-Token": token}
    response = client.post(f"/t/{code}/proposals", data={"title": "x" * 141}, headers=headers)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#flash"
    assert "Al massimo 140 caratteri" in response.text
    assert client.get(f"/api/tables/{code}").json()["proposals"] == []


def test_dots_budget_error_and_dots_left(client: TestClient) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 2, "max_per_proposal": 2})
    page = joined(client, code)
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    assert "Bollini rimasti" in page
    other = join(client, code)
    a, b = post(client, code, other, "Casa"), post(client, code, other, "Lavoro")
    set_phase(client, code, "voting")
    ok = client.post(f"/t/{code}/proposals/{a}/vote", data={"dots": "2"}, headers=headers)
    assert 'id="dots-left"' in ok.text and "<strong>0</strong>" in ok.text
    refused = client.post(f"/t/{code}/proposals/{b}/vote", data={"dots": "1"}, headers=headers)
    assert refused.status_code == 409
    assert "Non hai abbastanza bollini" in refused.text


def test_without_javascript_forms_redirect_back(client: TestClient) -> None:
    _, code = create_table(client)
    token = csrf_of(joined(client, code))
    response = client.post(
        f"/t/{code}/proposals",
        data={"csrf_token": token, "title": "Oratori aperti d'estate"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Oratori aperti d&#39;estate" in client.get(f"/t/{code}").text


def test_user_text_is_escaped_everywhere(client: TestClient) -> None:
    _, code = create_table(client)
    me = join(client, code)
    post(client, code, me, '<script>alert("x")</script><img src=x onerror=alert(1)>')
    client.put(f"/api/tables/{code}/screen", json={"mode": "wall"}, headers=bearer(RUNNERS[code]))
    for url in (f"/t/{code}/screen",):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert" in html
    joined(client, code)
    assert "&lt;img src=x onerror=alert(1)&gt;" in client.get(f"/t/{code}").text


def test_screen_shows_qr_code_and_join_code(client: TestClient) -> None:
    _, code = create_table(client)
    html = client.get(f"/t/{code}/screen").text
    assert f'src="/t/{code}/qr.svg"' in html
    assert f"{code[:3]}<span" in html
    assert f'ws-connect="/t/{code}/screen/ws"' in html
    svg = client.get(f"/t/{code}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<?xml") and "<svg" in svg.text


def test_lowercase_code_redirects_to_the_canonical_url(client: TestClient) -> None:
    _, code = create_table(client)
    while code.lower() == code:  # all digits (about 1 code in 2,400): nothing to lowercase
        _, code = create_table(client)
    response = client.get(f"/t/{code.lower()}", follow_redirects=False)
    assert response.headers["location"] == f"/t/{code}"


def test_organiser_creates_an_event_and_the_moderator_adds_tables(client: TestClient) -> None:
    assert client.get("/admin/wrong-token").status_code == 403
    page = client.get(f"/admin/{ADMIN_TOKEN}").text
    assert "Comune / ente pubblico\nEnte del Terzo Settore" in page
    created = client.post(
        f"/admin/{ADMIN_TOKEN}/events",
        data={
            "csrf_token": csrf_of(page),
            "title": "Stati Generali del Welfare",
            "date": "2024-11-09",
            "place": "Salerno",
            "organiser": "Ambito S6",
            "categories": "Comune\nEnte del Terzo Settore\nCittadino/a",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    moderator_url = created.headers["location"].split("?")[0]
    console = client.get(created.headers["location"]).text
    assert "sabato 9 novembre 2024" in console
    assert "Conserva il link" in console
    added = client.post(
        f"{moderator_url}/tables",
        data={
            "csrf_token": csrf_of(console),
            "title": "Inclusione sociale",
            "question": "Chi resta escluso dai servizi?",
            "mode": "dots",
            "dots": "5",
            "max_per_proposal": "2",
        },
    )
    assert "Inclusione sociale" in added.text
    assert "Bollini: 5 a testa, al massimo 2 su una proposta" in added.text
    code = re.search(r'class="code-chip">([A-Z0-9]{6})<', added.text)
    assert (
        code
        and client.get(f"/api/tables/{code.group(1)}").json()["voting"]["max_per_proposal"] == 2
    )


def test_organiser_form_needs_a_date_and_a_title(client: TestClient) -> None:
    page = client.get(f"/admin/{ADMIN_TOKEN}").text
    response = client.post(
        f"/admin/{ADMIN_TOKEN}/events",
        data={"csrf_token": csrf_of(page), "title": "Evento", "date": ""},
    )
    assert response.status_code == 422
    assert "Inserisci la data" in response.text


def test_moderator_link_must_be_valid(client: TestClient) -> None:
    assert client.get("/m/not-a-real-token").status_code == 403
    event_id_token = client.post(
        "/api/events", json={"title": "Evento", "date": "2024-11-09"}, headers=bearer(ADMIN_TOKEN)
    ).json()["moderator_token"]
    assert client.get(f"/m/{event_id_token}").status_code == 200


def test_joining_can_consent_to_be_named_in_the_minutes(client: TestClient) -> None:
    _, code = create_table(client)
    page = client.get(f"/t/{code}").text
    assert "Il mio nome e la mia organizzazione possono comparire nel verbale" in page
    client.post(
        f"/t/{code}/join",
        data={
            "csrf_token": csrf_of(page),
            "name": "Lucia Bianchi",
            "organisation": "Caritas diocesana",
            "named_in_minutes": "true",
        },
    )
    join(client, code, name="Paolo Gialli")  # no consent: never named
    join(client, code)  # below three people a table names nobody (docs/privacy.md)
    set_phase(client, code, "closed")  # drafts name nobody either
    minutes = client.get(f"/api/tables/{code}/report.json", headers=bearer(RUNNERS[code])).json()
    assert [p["name"] for p in minutes["participants"]["named"]] == ["Lucia Bianchi"]
