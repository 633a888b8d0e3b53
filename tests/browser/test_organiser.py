"""The organiser's list of events, the moderator's page, editing a table and the facilitator's
link page, in a real browser (screenshots under screenshots/)."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_TOKEN
from tests.browser.test_live_table import assert_accessible

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

EVENTS: list[dict[str, Any]] = [
    {
        "title": "Stati Generali dell'Innovazione Sociale — Ambito Sociale S6 Valle dell'Irno",
        "date": "2026-11-21",
        "place": "Fisciano, Aula Magna «Vincenzo Buonocore» dell'Università",
        "organiser": "Ufficio di Piano dell'Ambito S6",
        "tables": [
            ("Governance partecipata e co-programmazione", "collect"),
            ("Sviluppo delle competenze nel Terzo Settore", "voting"),
            ("Innovazione sociale attraverso le nuove tecnologie", "closed"),
            ("Sostenibilità dei servizi e del «dopo di noi»", "preparation"),
        ],
    },
    {
        "title": "Tavoli tematici del Piano di Zona 2025–2027",
        "date": "2026-05-14",
        "place": "Mercato San Severino, Sala consiliare",
        "organiser": "Comune capofila",
        "tables": [
            ("Tutela minori", "closed"),
            ("Famiglia e rete antiviolenza", "closed"),
            ("Disabilità e progetti di vita", "closed"),
        ],
    },
    {
        "title": "Workshop: inclusione sociale e reddito",
        "date": "2025-10-03",
        "place": "Baronissi",
        "organiser": "",
        "tables": [],
    },
]


def seed(base: str) -> list[tuple[str, list[str]]]:
    made = []
    with httpx.Client(base_url=base) as api:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for spec in EVENTS:
            fields = {k: v for k, v in spec.items() if k != "tables"}
            event = api.post("/api/events", json=fields, headers=admin).json()
            auth = {"Authorization": f"Bearer {event['moderator_token']}"}
            codes = []
            for title, phase in spec["tables"]:
                table = api.post(
                    f"/api/events/{event['id']}/tables",
                    json={
                        "title": title,
                        "question": "Quali azioni per il Piano di Zona, e chi può contribuire?",
                        "voting": {"mode": "dots", "dots": 5, "max_per_proposal": 3},
                    },
                    headers=auth,
                ).json()
                codes.append(table["code"])
                if phase != "preparation":
                    api.put(
                        f"/api/tables/{table['code']}/phase", json={"phase": phase}, headers=auth
                    )
            made.append((event["moderator_token"], codes))
    return made


def shoot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def test_the_organiser_and_the_moderator_pages(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    made = seed(live_server)
    moderator, codes = made[0]

    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page = browser.new_context(viewport=viewport, locale="it-IT").new_page()
        page.goto(f"{live_server}/admin/{ADMIN_TOKEN}")
        expect(page.get_by_role("heading", name="Eventi", exact=True)).to_be_visible()
        # The browser tests share one server: other tests' events are listed too.
        first = page.locator(".event-item").filter(has_text="Valle dell'Irno").first
        expect(first).to_contain_text("Stati Generali dell'Innovazione Sociale")
        expect(first).to_contain_text("4 tavoli")
        expect(first).to_contain_text("2 in corso")
        expect(first).to_contain_text("1 chiuso")
        assert_accessible(page, f"organiser {name}")
        shoot(page, screenshots, f"organiser-{name}")

        page.goto(f"{live_server}/m/{moderator}")
        expect(page.get_by_role("link", name="Cartello del tavolo (PDF)").first).to_be_visible()
        assert_accessible(page, f"moderator {name}")
        shoot(page, screenshots, f"moderator-{name}")

    # the facilitator's link: a page that survives a reload
    page = browser.new_context(viewport=LAPTOP, locale="it-IT").new_page()
    page.goto(f"{live_server}/m/{moderator}")
    page.get_by_role("button", name="Nuovo link per il facilitatore").first.click()
    expect(page.get_by_role("heading", name="Link per il facilitatore")).to_be_visible()
    link = page.locator(".secret-link code").inner_text()
    assert link.endswith(f"/{codes[0]}/") and moderator not in link
    page.reload()
    expect(page.locator(".secret-link code")).to_have_text(link)
    assert_accessible(page, "facilitator link")
    shoot(page, screenshots, "facilitator-link-laptop")
    page.get_by_role("link", name="Apri la console").click()
    expect(page.get_by_role("heading", name="Fase")).to_be_visible()

    # edit a table whose voting has opened: the method is locked, the theme changes
    page.goto(f"{live_server}/m/{moderator}/tables/{codes[1]}")
    expect(page.get_by_text("La votazione è stata aperta")).to_be_visible()
    assert_accessible(page, "table settings")
    shoot(page, screenshots, "table-settings-laptop")
    page.get_by_label("Tema").fill("Competenze nel Terzo Settore: formazione e volontariato")
    page.get_by_role("button", name="Salva il tavolo").click()
    expect(page.get_by_text("Tavolo salvato.")).to_be_visible()
    expect(page.locator(".dashboard")).to_contain_text("formazione e volontariato")

    # the organiser reissues the moderator link: the new page says so, the old link stops
    page.goto(f"{live_server}/admin/{ADMIN_TOKEN}")
    item = page.locator(".event-item").filter(has_text="Valle dell'Irno").first
    item.get_by_text("Nuovo link del moderatore…").click()  # opens the second step only
    assert httpx.get(f"{live_server}/m/{moderator}").status_code == 200
    shoot(page, screenshots, "moderator-link-confirm-laptop")
    item.get_by_role("button", name="Sì, sostituisci il link del moderatore").click()
    expect(page.get_by_text("Il link precedente non funziona più")).to_be_visible()
    shoot(page, screenshots, "moderator-reissued-laptop")
    assert httpx.get(f"{live_server}/m/{moderator}").status_code == 403
