"""The organiser's list of events, editing and deleting events and tables, the facilitator's
link page, closing joining, and the printable table cards."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.test_api import RUNNERS, bearer, create_event, create_table, join, post, set_phase
from tests.test_pages import csrf_of

SHOTS = Path(__file__).resolve().parent.parent / "screenshots"


def admin_page(client: TestClient) -> str:
    response = client.get(f"/admin/{ADMIN_TOKEN}")
    assert response.status_code == 200
    return response.text


# --- the organiser's list ---------------------------------------------------------------------


def test_organiser_sees_every_event_newest_first_with_its_tables_state(
    client: TestClient, db: str
) -> None:
    old = create_event(client, title="Stati Generali 2023", date="2023-05-10", place="Salerno")
    new = create_event(client, title="Stati Generali 2025", date="2025-03-02", place="Fisciano")
    for phase in ("collect", "closed", "preparation"):
        code = client.post(
            f"/api/events/{new['id']}/tables",
            json={"title": f"Tavolo {phase}"},
            headers=bearer(new["moderator_token"]),
        ).json()["code"]
        RUNNERS[code] = new["moderator_token"]
        if phase != "preparation":
            set_phase(client, code, phase)

    listed = client.get("/api/events", headers=bearer(ADMIN_TOKEN))
    assert listed.status_code == 200
    rows = listed.json()
    assert [r["id"] for r in rows] == [new["id"], old["id"]]
    assert rows[0]["tables"] == 3
    assert (rows[0]["running"], rows[0]["closed"], rows[0]["preparing"]) == (1, 1, 1)
    assert rows[1]["tables"] == 0

    page = admin_page(client)
    assert page.index("Stati Generali 2025") < page.index("Stati Generali 2023")
    assert "Fisciano" in page and "1 in corso" in page and "1 chiuso" in page


def test_events_list_and_moderator_links_are_the_organisers_only(
    client: TestClient, db: str
) -> None:
    event = create_event(client)
    assert client.get("/api/events").status_code == 401
    assert client.get("/api/events", headers=bearer(event["moderator_token"])).status_code == 403
    path = f"/api/events/{event['id']}/moderator-link"
    assert client.post(path, headers=bearer(event["moderator_token"])).status_code == 403
    assert (
        client.post("/api/events/999999/moderator-link", headers=bearer(ADMIN_TOKEN)).status_code
        == 404
    )


def test_a_reissued_moderator_link_stops_the_old_one_at_once(client: TestClient, db: str) -> None:
    event = create_event(client)
    old = event["moderator_token"]
    answer = client.post(f"/api/events/{event['id']}/moderator-link", headers=bearer(ADMIN_TOKEN))
    assert answer.status_code == 201
    new = answer.json()["moderator_token"]
    assert answer.json()["moderator_url"].endswith(f"/m/{new}")
    assert client.get(f"/m/{old}").status_code == 403
    assert client.get(f"/m/{new}").status_code == 200
    table = {"title": "Tutela minori"}
    assert (
        client.post(
            f"/api/events/{event['id']}/tables", json=table, headers=bearer(old)
        ).status_code
        == 403
    )


def test_the_organisers_page_reissues_a_link_and_shows_it_once(client: TestClient, db: str) -> None:
    event = create_event(client)
    page = admin_page(client)
    response = client.post(
        f"/admin/{ADMIN_TOKEN}/events/{event['id']}/moderator-link",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    target = response.headers["location"]
    assert target.startswith("/m/") and target.endswith("?reissued=1")
    shown = client.get(target).text
    assert "Nuovo link del moderatore" in shown
    assert target.split("?")[0] in shown
    assert "Nuovo link del moderatore" not in client.get(target.split("?")[0]).text
    assert client.get(f"/m/{event['moderator_token']}").status_code == 403


# --- editing an event -------------------------------------------------------------------------


def test_the_moderator_edits_the_event_and_categories_until_someone_joins(
    client: TestClient, db: str
) -> None:
    event, code = create_table(client)
    path, auth = f"/api/events/{event['id']}", bearer(event["moderator_token"])
    edited = client.patch(
        path,
        json={
            "title": "Stati Generali del Welfare",
            "place": "Baronissi",
            "categories": ["ETS", "Comune"],
        },
        headers=auth,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["categories"] == ["ETS", "Comune"]
    assert edited.json()["date"] == "2024-11-09"  # untouched
    join(client, code, category="ETS")
    refused = client.patch(path, json={"categories": ["Altro"]}, headers=auth)
    assert refused.status_code == 409
    assert (
        client.patch(path, json={"title": "Stati Generali 2026"}, headers=auth).status_code == 200
    )
    page = client.get(f"/m/{event['moderator_token']}").text
    assert "Stati Generali 2026" in page and "Baronissi" in page


def test_event_edits_are_refused_to_others_and_checked(client: TestClient, db: str) -> None:
    event = create_event(client)
    other = create_event(client)
    path = f"/api/events/{event['id']}"
    assert (
        client.patch(
            path, json={"title": "x"}, headers=bearer(other["moderator_token"])
        ).status_code
        == 403
    )
    assert (
        client.patch(
            path, json={"title": "  "}, headers=bearer(event["moderator_token"])
        ).status_code
        == 422
    )


def test_the_event_form_saves_and_says_so(client: TestClient, db: str) -> None:
    event = create_event(client)
    token = event["moderator_token"]
    page = client.get(f"/m/{token}").text
    response = client.post(
        f"/m/{token}/event",
        data={
            "csrf_token": csrf_of(page),
            "title": "Stati Generali dell'Innovazione Sociale — edizione 2026",
            "date": "2026-04-18",
            "place": "Mercato San Severino",
            "organiser": "Ufficio di Piano S6",
            "categories": "Comune\nEnte del Terzo Settore",
        },
    )
    assert response.status_code == 200
    assert "Evento salvato" in response.text
    assert "edizione 2026" in response.text and "Mercato San Severino" in response.text


# --- editing and deleting a table --------------------------------------------------------------


def test_a_table_is_edited_by_its_facilitator_and_the_screen_shows_the_new_theme(
    client: TestClient, db: str
) -> None:
    _event, code = create_table(client)
    facilitator = client.post(
        f"/api/tables/{code}/facilitator-link", headers=bearer(RUNNERS[code])
    ).json()["token"]
    before = client.get(f"/api/tables/{code}").json()["seq"]
    edited = client.patch(
        f"/api/tables/{code}",
        json={"title": "Famiglia e rete antiviolenza", "question": "Chi accoglie?"},
        headers=bearer(facilitator),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["seq"] == before + 1
    assert "Famiglia e rete antiviolenza" in client.get(f"/t/{code}/screen").text
    again = client.patch(
        f"/api/tables/{code}",
        json={"title": "Famiglia e rete antiviolenza"},
        headers=bearer(facilitator),
    )
    assert again.json()["seq"] == before + 1  # nothing changed: no seq spent


def test_the_voting_method_changes_until_voting_opens_once(client: TestClient, db: str) -> None:
    _event, code = create_table(client)
    path, auth = f"/api/tables/{code}", bearer(RUNNERS[code])
    dots = {"voting": {"mode": "dots", "dots": 6, "max_per_proposal": 2}}
    changed = client.patch(path, json=dots, headers=auth)
    assert changed.status_code == 200, changed.text
    assert changed.json()["voting"] == {
        "mode": "dots",
        "dots": 6,
        "max_per_proposal": 2,
        "weighting": "person",
    }
    bad = client.patch(
        path, json={"voting": {"mode": "dots", "dots": 2, "max_per_proposal": 3}}, headers=auth
    )
    assert bad.status_code == 422
    set_phase(client, code, "voting")
    set_phase(client, code, "discussion")  # back a step: voting has opened all the same
    refused = client.patch(path, json={"voting": {"mode": "approval"}}, headers=auth)
    assert refused.status_code == 409
    same = client.patch(path, json={**dots, "title": "Tutela minori e scuola"}, headers=auth)
    assert same.status_code == 200  # the same method, a new title: allowed
    assert client.get(f"/api/tables/{code}").json()["voting"]["dots"] == 6


def test_only_the_events_moderator_deletes_a_table(client: TestClient, db: str) -> None:
    _event, code = create_table(client)
    _other_event, other = create_table(client)
    author = join(client, code)
    post(client, code, author)
    facilitator = client.post(
        f"/api/tables/{code}/facilitator-link", headers=bearer(RUNNERS[code])
    ).json()["token"]
    refused = client.delete(f"/api/tables/{code}", headers=bearer(facilitator))
    assert refused.status_code == 403
    assert "Only the event's moderator can delete a table" in refused.text
    assert client.delete(f"/api/tables/{code}", headers=bearer(RUNNERS[other])).status_code == 403
    assert client.delete(f"/api/tables/{code}").status_code == 401
    assert client.delete(f"/api/tables/{code}", headers=bearer(RUNNERS[code])).status_code == 204
    assert client.get(f"/api/tables/{code}").status_code == 404
    assert client.get(f"/api/tables/{other}").status_code == 200
    # Gone, it is refused as any table this token does not run: codes cannot be enumerated.
    again = client.delete(f"/api/tables/{code}", headers=bearer(RUNNERS[code]))
    assert again.status_code == 403
    assert again.json() == {
        "detail": "Only the event's moderator can delete a table",
        "code": "only_the_event_s_moderator_can_delete_a_table",
    }


def test_the_table_page_says_what_deleting_loses_and_asks_to_confirm(
    client: TestClient, db: str
) -> None:
    event, code = create_table(client)
    token = event["moderator_token"]
    for _ in range(2):
        post(client, code, join(client, code))
    page = client.get(f"/m/{token}/tables/{code}").text
    assert "2 partecipanti" in page and "2 contributi" in page and "0 voti" in page
    unconfirmed = client.post(
        f"/m/{token}/tables/{code}/delete", data={"csrf_token": csrf_of(page)}
    )
    assert unconfirmed.status_code == 422
    assert client.get(f"/api/tables/{code}").status_code == 200
    deleted = client.post(
        f"/m/{token}/tables/{code}/delete", data={"csrf_token": csrf_of(page), "confirm": "true"}
    )
    assert deleted.status_code == 200 and "Tavolo eliminato" in deleted.text
    assert client.get(f"/api/tables/{code}").status_code == 404


def test_the_table_form_edits_and_locks_the_voting_once_it_opened(
    client: TestClient, db: str
) -> None:
    event, code = create_table(client)
    token = event["moderator_token"]
    page = client.get(f"/m/{token}/tables/{code}").text
    saved = client.post(
        f"/m/{token}/tables/{code}",
        data={
            "csrf_token": csrf_of(page),
            "title": "Inclusione sociale e lavoro",
            "question": "Quali percorsi?",
            "mode": "dots",
            "dots": "4",
            "max_per_proposal": "2",
        },
    )
    assert saved.status_code == 200 and "Tavolo salvato" in saved.text
    assert "Inclusione sociale e lavoro" in saved.text
    set_phase(client, code, "voting")
    locked = client.get(f"/m/{token}/tables/{code}").text
    assert "<fieldset disabled" in locked
    # the disabled fieldset sends no mode: the other fields still save
    again = client.post(
        f"/m/{token}/tables/{code}",
        data={"csrf_token": csrf_of(locked), "title": "Inclusione sociale", "question": ""},
    )
    assert again.status_code == 200
    assert client.get(f"/api/tables/{code}").json()["voting"]["dots"] == 4


# --- the facilitator's link is a page -----------------------------------------------------------


def test_the_facilitator_link_is_a_page_that_reloads_and_is_bookmarked(
    client: TestClient, db: str
) -> None:
    event, code = create_table(client)
    token = event["moderator_token"]
    dashboard = client.get(f"/m/{token}").text
    response = client.post(
        f"/m/{token}/tables/{code}/facilitator",
        data={"csrf_token": csrf_of(dashboard)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    link_page = response.headers["location"]
    match = re.fullmatch(rf"/run/([^/]+)/{code}/link", link_page)
    assert match and match.group(1) != token
    for _reload in range(2):  # a reload shows the same link, and does not revoke it
        shown = client.get(link_page)
        assert shown.status_code == 200
        assert f"/run/{match.group(1)}/{code}/" in shown.text
    assert client.get(f"/run/{match.group(1)}/{code}/").status_code == 200
    # a newer link revokes this page and its console
    client.post(f"/m/{token}/tables/{code}/facilitator", data={"csrf_token": csrf_of(dashboard)})
    assert client.get(link_page).status_code == 403
    # the moderator's own link is never shown as a facilitator's
    assert client.get(f"/run/{token}/{code}/link").status_code == 404


# --- joining ------------------------------------------------------------------------------------


def test_joining_closes_and_reopens(client: TestClient, db: str) -> None:
    _event, code = create_table(client)
    path, auth = f"/api/tables/{code}/joining", bearer(RUNNERS[code])
    assert client.put(path, json={"open": False}, headers=auth).status_code == 200
    refused = client.post(f"/api/tables/{code}/participants", json={})
    assert refused.status_code in (403, 409), refused.text
    assert client.put(path, json={"open": True}, headers=auth).status_code == 200
    join(client, code)
    assert client.put(path, json={"open": False}).status_code == 401


# --- table cards ---------------------------------------------------------------------------------

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no poppler-utils")


def pdf_text(body: bytes, tmp_path: Path) -> str:
    path = tmp_path / "card.pdf"
    path.write_bytes(body)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@needs_poppler
def test_a_table_card_prints_the_theme_the_question_and_the_code(
    client: TestClient, tmp_path: Path
) -> None:
    event, code = create_table(client)
    facilitator = client.post(
        f"/api/tables/{code}/facilitator-link", headers=bearer(RUNNERS[code])
    ).json()["token"]
    for auth in (RUNNERS[code], facilitator):
        response = client.get(f"/api/tables/{code}/card.pdf", headers=bearer(auth))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert f"tavolo-{code}.pdf" in response.headers["content-disposition"]
    text = pdf_text(response.content, tmp_path)
    assert code in text and "Tutela minori" in text
    assert "Come rafforzare la rete" in text
    assert f"testserver/t/{code}" in text.replace(" ", "") or "testserver" in text
    assert client.get(f"/api/tables/{code}/card.pdf").status_code == 401
    page = client.get(f"/m/{event['moderator_token']}").text
    assert f"/m/{event['moderator_token']}/tables/{code}/card.pdf" in page
    assert client.get(f"/m/{event['moderator_token']}/tables/{code}/card.pdf").status_code == 200
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / "table-card.pdf").write_bytes(response.content)


@needs_poppler
def test_the_events_cards_have_one_page_per_table(client: TestClient, tmp_path: Path) -> None:
    event = create_event(client)
    auth = bearer(event["moderator_token"])
    codes = []
    for title in (
        "Governance partecipata",
        "Sostenibilità dei servizi",
        "Disabilità e progetti di vita",
    ):
        answer = client.post(
            f"/api/events/{event['id']}/tables", json={"title": title}, headers=auth
        )
        codes.append(answer.json()["code"])
    response = client.get(f"/api/events/{event['id']}/cards.pdf", headers=auth)
    assert response.status_code == 200
    text = pdf_text(response.content, tmp_path)
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == 3
    for code, page in zip(codes, pages, strict=False):
        assert code in page
    assert "Sostenibilità dei servizi" in " ".join(pages[1].split())
    other = create_event(client)
    refused = client.get(
        f"/api/events/{event['id']}/cards.pdf", headers=bearer(other["moderator_token"])
    )
    assert refused.status_code == 403
    assert client.get(f"/m/{event['moderator_token']}/cards.pdf").status_code == 200
