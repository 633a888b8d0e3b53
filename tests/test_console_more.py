"""The console's second round: the whole queue at once, a post's kind, removals that say what
they do and keep what others support, paper participants like anyone else, live counters."""

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import Participant
from tests.test_api import create_table, join, post
from tests.test_console import console_url
from tests.test_facilitation_api import join_with_id, moderation_view, public, run, vote
from tests.test_pages import HTMX, csrf_of


def console_headers(client: TestClient, code: str) -> dict[str, str]:
    return {**HTMX, "X-CSRF-Token": csrf_of(client.get(console_url(code)).text)}


def premoderated(client: TestClient, phase: str = "collect") -> str:
    _, code = create_table(client, phase=phase)
    assert run(client, "PATCH", code, "/settings", json={"premoderation": True}).status_code == 200
    return code


def titles(client: TestClient, code: str) -> list[str]:
    return [p["title"] for p in public(client, code)["proposals"]]


# --- the queue -------------------------------------------------------------------------------


def test_accept_all_puts_the_whole_queue_on_the_wall_through_the_api(
    client: TestClient, db: str
) -> None:
    code = premoderated(client)
    me = join(client, code)
    for title in ("Doposcuola nei quartieri", "Sportello unico", "Trasporto sociale"):
        post(client, code, me, title)
    assert titles(client, code) == [] and len(moderation_view(client, code)["queue"]) == 3
    accepted = run(client, "POST", code, "/queue/accept")
    assert accepted.status_code == 200
    assert accepted.json()["seq"] == public(client, code)["seq"]
    assert sorted(titles(client, code)) == [
        "Doposcuola nei quartieri",
        "Sportello unico",
        "Trasporto sociale",
    ]
    assert moderation_view(client, code)["queue"] == []
    again = run(client, "POST", code, "/queue/accept")  # nothing waits: no change, no new seq
    assert again.json()["seq"] == accepted.json()["seq"]
    assert run(client, "POST", code, "/queue/accept", token=me).status_code == 403


def test_the_console_accepts_the_whole_queue_with_one_button(client: TestClient, db: str) -> None:
    code = premoderated(client)
    me = join(client, code)
    post(client, code, me, "Centro diurno per anziani")
    post(client, code, me, "Più educatori di strada")
    page = client.get(console_url(code)).text
    assert "Accetta tutti (2)" in page
    answer = client.post(console_url(code) + "queue/accept", headers=console_headers(client, code))
    assert answer.status_code == 200
    assert "Accetta tutti" not in answer.text
    assert len(titles(client, code)) == 2


def test_a_pending_post_offers_to_remove_its_author_before_the_wall_sees_it(
    client: TestClient, db: str
) -> None:
    code = premoderated(client)
    troll_id, troll = join_with_id(client, code)
    post(client, code, troll, "Insulti a tutto il tavolo")
    page = client.get(console_url(code)).text
    queue = page[page.index('id="queue-title"') : page.index('id="mod-wall-title"')]
    assert f'hx-get="participants/{troll_id}/remove"' in queue
    # The author's id never reaches the public cards or the phones.
    assert f"participants/{troll_id}" not in client.get(f"/t/{code}/screen").text
    confirm = client.get(console_url(code) + f"participants/{troll_id}/remove", headers=HTMX)
    assert confirm.headers["HX-Retarget"] == "#remove-panel"
    assert "lascia la bacheca e la coda" in confirm.text
    removed = client.post(
        console_url(code) + f"participants/{troll_id}/remove",
        headers=console_headers(client, code),
    )
    assert removed.status_code == 200 and removed.headers["HX-Trigger"] == "tavoli:removed"
    assert titles(client, code) == [] and moderation_view(client, code)["queue"] == []


# --- a post's kind -----------------------------------------------------------------------------


def test_the_moderator_changes_a_posts_kind_through_the_api(client: TestClient, db: str) -> None:
    _, code = create_table(client)
    me = join(client, code)
    pid = post(client, code, me, "Mancano posti al nido")
    changed = run(client, "PUT", code, f"/proposals/{pid}/kind", json={"kind": "need"})
    assert changed.status_code == 200
    assert [p["kind"] for p in public(client, code)["proposals"]] == ["need"]
    assert (
        run(client, "PUT", code, f"/proposals/{pid}/kind", json={"kind": "wish"}).status_code == 422
    )
    assert (
        run(client, "PUT", code, "/proposals/99999/kind", json={"kind": "need"}).status_code == 404
    )
    assert (
        run(client, "PUT", code, f"/proposals/{pid}/kind", json={"kind": "need"}, token=me)
    ).status_code == 403


def test_the_console_edit_block_changes_the_kind(client: TestClient, db: str) -> None:
    _, code = create_table(client)
    me = join(client, code)
    pid = post(client, code, me, "Una sala civica libera il sabato")
    page = client.get(console_url(code)).text
    assert f'id="edit-{pid}-kind"' in page and "Cambia tipo" in page
    answer = client.post(
        console_url(code) + f"proposals/{pid}/kind",
        data={"kind": "resource"},
        headers=console_headers(client, code),
    )
    assert answer.status_code == 200
    assert [p["kind"] for p in public(client, code)["proposals"]] == ["resource"]


# --- removing someone ------------------------------------------------------------------------


def test_removal_keeps_a_supported_post_and_withdraws_all_their_votes(
    client: TestClient, db: str
) -> None:
    _, code = create_table(client)
    troll_id, troll = join_with_id(client, code)
    fair = join(client, code)
    good = post(client, code, troll, "Una proposta che piace a molti")
    bad = post(client, code, troll, "Insulto")
    other = post(client, code, fair, "Proposta seria")
    run(client, "PUT", code, "/phase", json={"phase": "voting"})
    vote(client, fair, good, 1)
    vote(client, troll, good, 1)
    vote(client, troll, other, 1)

    confirm = client.get(console_url(code) + f"participants/{troll_id}/remove", headers=HTMX)
    assert f'name="keep_ids" value="{good}"' in confirm.text
    assert f'value="{bad}"' not in confirm.text  # nobody else supports it: nothing to keep
    assert "I voti dati da altri ai suoi contributi tornano" in confirm.text

    refused = run(client, "DELETE", code, f"/participants/{troll_id}", json={"keep_ids": [other]})
    assert refused.status_code == 422
    removed = run(client, "DELETE", code, f"/participants/{troll_id}", json={"keep_ids": [good]})
    assert removed.status_code == 200
    wall = {p["title"]: p["tally"] for p in public(client, code)["proposals"]}
    assert wall == {"Una proposta che piace a molti": 1, "Proposta seria": 0}


def test_removal_without_a_body_still_hides_everything(client: TestClient, db: str) -> None:
    _, code = create_table(client)
    troll_id, troll = join_with_id(client, code)
    post(client, code, troll, "Insulto")
    assert run(client, "DELETE", code, f"/participants/{troll_id}").status_code == 200
    assert titles(client, code) == []


def test_the_console_removal_form_sends_the_posts_to_keep(client: TestClient, db: str) -> None:
    _, code = create_table(client)
    troll_id, troll = join_with_id(client, code)
    fair = join(client, code)
    good = post(client, code, troll, "Un banco alimentare di quartiere")
    post(client, code, troll, "Insulto")
    run(client, "PUT", code, "/phase", json={"phase": "voting"})
    vote(client, fair, good, 1)
    answer = client.post(
        console_url(code) + f"participants/{troll_id}/remove",
        data={"keep_ids": [str(good)]},
        headers=console_headers(client, code),
    )
    assert answer.status_code == 200
    assert titles(client, code) == ["Un banco alimentare di quartiere"]
    gone = client.get(console_url(code) + f"participants/{troll_id}/remove", headers=HTMX)
    assert gone.status_code == 409  # already removed: the panel does not open again


# --- paper participants -----------------------------------------------------------------------


def test_paper_participants_give_organisation_and_consent(
    client: TestClient, app: FastAPI, db: str
) -> None:
    _, code = create_table(client)
    added = run(
        client,
        "POST",
        code,
        "/paper-participants",
        json={
            "name": "Maria Rossi",
            "organisation": "Cooperativa Il Girasole",
            "category": "Ente del Terzo Settore",
            "named_in_minutes": True,
        },
    )
    assert added.status_code == 201, added.text
    answer = client.post(
        console_url(code) + "paper",
        data={
            "name": "Giuseppe Bianchi",
            "organisation": "Parrocchia San Nicolò",
            "named_in_minutes": "true",
        },
        headers=console_headers(client, code),
    )
    assert answer.status_code == 200
    assert "Parrocchia San Nicolò" in client.get(console_url(code)).text
    with Session(app.state.engine) as session:
        people = {
            p.name: (p.organisation, p.category, p.named_in_minutes)
            for p in session.exec(select(Participant).where(col(Participant.proxy).is_(True)))
        }
    assert people == {
        "Maria Rossi": ("Cooperativa Il Girasole", "Ente del Terzo Settore", True),
        "Giuseppe Bianchi": ("Parrocchia San Nicolò", "", True),
    }


def paper_panel(html: str) -> str:
    return html[html.index('id="paper-title"') : html.index('id="synthesis-title"')]


def test_the_paper_panel_says_what_it_can_do_in_each_phase(client: TestClient, db: str) -> None:
    _, code = create_table(client, phase="preparation")
    run(client, "POST", code, "/paper-participants", json={"name": "Anna"})
    said: dict[str, str] = {}
    for phase in ("preparation", "collect", "voting", "closed"):
        run(client, "PUT", code, "/phase", json={"phase": phase})
        said[phase] = paper_panel(client.get(console_url(code)).text)
    assert "Niente da inserire in questa fase" in said["preparation"]
    assert "inserisci i loro contributi" in said["collect"]
    assert "inserisci i loro voti" in said["voting"]
    assert "Il tavolo è chiuso" in said["closed"]


def test_after_a_proxy_vote_the_console_confirms_and_lists_it_with_undo(
    client: TestClient, db: str
) -> None:
    _, code = create_table(client)
    me = join(client, code)
    pid = post(client, code, me, "Più corse dell'autobus la sera")
    person: dict[str, Any] = run(
        client, "POST", code, "/paper-participants", json={"name": "Anna Ferri"}
    ).json()
    run(client, "PUT", code, "/phase", json={"phase": "voting"})
    headers = console_headers(client, code)
    with client.websocket_connect(console_url(code) + "ws") as ws:
        ws.receive_text()  # the snapshot
        voted = client.post(
            console_url(code) + f"paper/{person['id']}/votes",
            data={"proposal_id": str(pid), "dots": "1"},
            headers=headers,
        )
        push = ws.receive_text()
    assert voted.status_code == 200
    assert 'id="flash" hx-swap-oob="innerHTML"' in voted.text and "flash-ok" in voted.text
    # The answer says it is done; the push lists it on every console (this one included).
    panel = paper_panel(push)
    assert "Inserito per Anna Ferri" in panel
    assert "Più corse dell&#39;autobus la sera" in panel
    assert 'name="dots" value="0"' in panel  # undo: the same action, back to 0
    assert public(client, code)["proposals"][0]["tally"] == 1
    undone = client.post(
        console_url(code) + f"paper/{person['id']}/votes",
        data={"proposal_id": str(pid), "dots": "0"},
        headers=headers,
    )
    assert undone.status_code == 200
    assert public(client, code)["proposals"][0]["tally"] == 0
    assert "Inserito per Anna Ferri" not in paper_panel(client.get(console_url(code)).text)


def test_an_error_replaces_the_flash_region_not_beside_a_success(client: TestClient) -> None:
    _, code = create_table(client)
    refused = client.post(
        console_url(code) + "tags", data={"name": ""}, headers=console_headers(client, code)
    )
    assert refused.headers["HX-Retarget"] == "#flash"
    assert refused.headers["HX-Reswap"] == "innerHTML"  # replaces whatever was there


# --- live counters -----------------------------------------------------------------------------


def test_a_push_of_new_cards_updates_the_console_wall_count(client: TestClient, db: str) -> None:
    _, code = create_table(client)
    me = join(client, code)
    with client.websocket_connect(console_url(code) + "ws") as ws:
        ws.receive_text()  # the snapshot
        post(client, code, me, "Biblioteca aperta la sera")
        push = ws.receive_text()
    assert '<span id="wall-count" class="count" hx-swap-oob="true">1</span>' in push


# --- editing the table from the console --------------------------------------------------------


def test_the_console_edits_the_tables_theme_question_and_voting_before_voting(
    client: TestClient, db: str
) -> None:
    _, code = create_table(client)
    page = client.get(console_url(code)).text
    assert "<summary>Modifica il tavolo</summary>" in page
    assert 'id="table-voting-locked"' not in page  # not locked yet
    saved = client.post(
        console_url(code) + "table",
        data={
            "title": "Tutela minori e famiglie fragili",
            "question": "Quali servizi mancano nei quartieri?",
            "mode": "dots",
            "dots": "5",
            "max_per_proposal": "2",
        },
        headers=console_headers(client, code),
    )
    assert saved.status_code == 200
    assert "Tavolo salvato." in saved.text
    assert 'value="Tutela minori e famiglie fragili"' in client.get(console_url(code)).text
    table = public(client, code)
    assert (table["title"], table["question"]) == (
        "Tutela minori e famiglie fragili",
        "Quali servizi mancano nei quartieri?",
    )
    assert table["voting"] == {
        "mode": "dots",
        "dots": 5,
        "max_per_proposal": 2,
        "weighting": "person",
    }


def test_once_voting_opened_the_console_says_the_method_is_locked_and_refuses_it(
    client: TestClient, db: str
) -> None:
    _, code = create_table(client)
    run(client, "PUT", code, "/phase", json={"phase": "voting"})
    run(client, "PUT", code, "/phase", json={"phase": "discussion"})  # a step back: still locked
    page = client.get(console_url(code)).text
    assert "La votazione è stata aperta: il metodo non può più cambiare." in page
    assert 'disabled aria-describedby="table-voting-locked"' in page
    headers = console_headers(client, code)
    refused = client.post(
        console_url(code) + "table",
        data={"title": "Tutela minori", "mode": "dots", "dots": "3", "max_per_proposal": "3"},
        headers=headers,
    )
    assert refused.status_code == 409
    assert "Il metodo di voto non può cambiare dopo l&#39;apertura della votazione" in refused.text
    assert public(client, code)["voting"]["mode"] == "approval"
    # The theme still changes (the locked fieldset sends no method).
    renamed = client.post(
        console_url(code) + "table", data={"title": "Tutela dei minori"}, headers=headers
    )
    assert renamed.status_code == 200 and public(client, code)["title"] == "Tutela dei minori"
