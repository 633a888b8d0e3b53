"""The plenary projected at 1920×1080 and 1280×720 (five tables, long Italian titles), live
as a table votes and as the moderator confirms a theme; the public follow-up page on a phone
(390 px) with outcomes and their history; the coordinator's form. Photographed, axe clean,
nothing wider than the screen."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.browser

SIZES = ((1920, 1080), (1280, 720))
PHONE = {"width": 390, "height": 844}

# (table, question, posts as (kind, title, votes)), as a Stati Generali's tables write them.
TABLES: list[tuple[str, str, list[tuple[str, str, int]]]] = [
    (
        "Disabilità e progetti di vita",
        "Quali servizi servono perché ogni persona con disabilità scelga dove e con chi vivere?",
        [
            (
                "proposal",
                "Trasporto sociale a chiamata per le persone con disabilità che vivono nelle"
                " frazioni più lontane dell'Ambito, anche la sera e nei festivi",
                6,
            ),
            ("proposal", "Centro diurno aperto anche il sabato e nei mesi estivi", 4),
            ("proposal", "Budget di progetto per la vita indipendente (legge 112/2016)", 3),
            ("proposal", "Sportello unico per l'ISEE e le pratiche dell'invalidità civile", 2),
            ("need", "Mancano educatori per l'assistenza domiciliare dei ragazzi con autismo", 0),
            ("resource", "La cooperativa «Il Girasole» offre due educatori, 10 ore a settimana", 0),
        ],
    ),
    (
        "Anziani, domiciliarità e caregiver",
        "Come sostenere chi assiste un familiare anziano a casa?",
        [
            ("proposal", "Trasporti sociali a chiamata per gli anziani delle frazioni", 5),
            ("proposal", "Assistenza domiciliare integrata (SAD e ADI) con un'unica regia", 4),
            ("proposal", "Sollievo per i caregiver familiari: un weekend al mese di respiro", 4),
            ("proposal", "Custode sociale di quartiere nei centri storici", 1),
            ("need", "Solitudine degli anziani soli, soprattutto d'estate", 0),
            (
                "resource",
                "La parrocchia di San Michele presta i locali dell'oratorio il giovedì",
                0,
            ),
        ],
    ),
    (
        "Povertà educativa e dispersione scolastica",
        "Quali alleanze tra scuola e territorio contro l'abbandono?",
        [
            ("proposal", "Patto educativo di comunità tra scuole, oratori e associazioni", 5),
            ("proposal", "Doposcuola gratuito nei quartieri con mediatori culturali", 3),
            ("proposal", "Sportello unico per le famiglie e le pratiche dell'ISEE", 2),
            ("need", "Le famiglie straniere non conoscono i servizi dell'Ambito", 0),
        ],
    ),
    (
        "Inclusione sociale, casa e lavoro",
        "Come accompagnare chi esce dalla povertà verso un lavoro stabile?",
        [
            ("proposal", "Agenzia sociale per la casa con garanzie per i proprietari", 4),
            ("proposal", "Tirocini di inclusione con tutor aziendali formati", 3),
            ("need", "Affitti troppo alti per le famiglie con un solo reddito", 0),
            ("resource", "Confcooperative offre formazione gratuita ai tutor aziendali", 0),
        ],
    ),
    (
        "Famiglia, minori e rete antiviolenza",
        "Come rafforzare la rete tra servizi, scuole, forze dell'ordine e centri antiviolenza?",
        [
            ("proposal", "Sportello antiviolenza in ogni Comune, aperto due giorni a settimana", 2),
            ("proposal", "Formazione comune per insegnanti, medici e forze dell'ordine", 2),
            ("need", "Case rifugio insufficienti per le donne con figli", 0),
        ],
    ),
]


def _hall(base: str) -> dict[str, Any]:
    """Five tables; the first four voted and closed, the last still voting."""
    with httpx.Client(base_url=base) as api:
        event = api.post(
            "/api/events",
            json={
                "title": "Stati Generali del Welfare — Ambito Sociale S6 Valle dell'Irno",
                "date": "2024-11-09",
                "place": "Salerno, Complesso di San Michele",
                "organiser": "Ufficio di Piano dell'Ambito S6",
            },
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()
        moderator = {"Authorization": f"Bearer {event['moderator_token']}"}
        tables = []
        for number, (title, question, posts) in enumerate(TABLES):
            table = api.post(
                f"/api/events/{event['id']}/tables",
                json={"title": title, "question": question, "voting": {"mode": "approval"}},
                headers=moderator,
            ).json()
            code = table["code"]
            api.put(f"/api/tables/{code}/phase", json={"phase": "collect"}, headers=moderator)
            author = api.post(f"/api/tables/{code}/participants", json={"name": "Giulia"}).json()
            ids = {}
            for kind, text, _votes in posts:
                made = api.post(
                    f"/api/tables/{code}/proposals",
                    json={"kind": kind, "title": text},
                    headers={"Authorization": f"Bearer {author['token']}"},
                )
                assert made.status_code == 201, made.text
                ids[text] = made.json()["id"]
            api.put(f"/api/tables/{code}/phase", json={"phase": "voting"}, headers=moderator)
            voters = [
                api.post(f"/api/tables/{code}/participants", json={}).json()["token"]
                for _ in range(6)
            ]
            for _kind, text, votes in posts:
                for token in voters[:votes]:
                    voted = api.put(
                        f"/api/proposals/{ids[text]}/vote",
                        json={"dots": 1},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert voted.status_code == 200, voted.text
            if number < 4:
                api.put(f"/api/tables/{code}/phase", json={"phase": "closed"}, headers=moderator)
            tables.append({"code": code, "ids": ids, "voters": voters})
    return {"event": event, "tables": tables}


def _fits(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{what}: {width}px wide"  # type: ignore[index]


def _accessible(page: Page, what: str) -> None:
    from tests.browser.test_live_table import assert_accessible

    assert_accessible(page, what)


@pytest.fixture(scope="module")
def hall(live_server: str) -> dict[str, Any]:
    return _hall(live_server)


def test_the_plenary_on_the_projector_follows_the_tables_and_the_moderator(
    browser: Browser, live_server: str, screenshots: Path, hall: dict[str, Any]
) -> None:
    token = hall["event"]["moderator_token"]
    pages = []
    for width, height in SIZES:
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        page.goto(f"{live_server}/m/{token}/plenary")
        expect(page.locator("#plenary")).to_contain_text("Trasporti sociali a chiamata")
        expect(page.locator(".plenary-theme.suggested").first).to_be_visible()
        pages.append(page)
    projector, laptop = pages
    # Live: the table still voting gets a vote; the plenary reorders without a reload.
    last = hall["tables"][4]
    formazione = last["ids"]["Formazione comune per insegnanti, medici e forze dell'ordine"]
    httpx.put(
        f"{live_server}/api/proposals/{formazione}/vote",
        json={"dots": 1},
        headers={"Authorization": f"Bearer {last['voters'][5]}"},
    )
    first_of_last = projector.locator("article.plenary-table").nth(4).locator("li").first
    expect(first_of_last).to_contain_text("Formazione comune")
    expect(first_of_last).to_contain_text("3 voti")
    # The moderator confirms the transport theme on the laptop; the projector shows it.
    theme = laptop.locator(".plenary-theme.suggested", has_text="Trasporti sociali")
    theme.get_by_role("button", name="Conferma").click()
    expect(projector.locator(".plenary-theme.confirmed")).to_contain_text("Trasporti sociali")
    expect(laptop.locator(".plenary-theme.confirmed")).to_contain_text("Trasporti sociali")
    for page, (width, height) in zip(pages, SIZES, strict=True):
        page.wait_for_timeout(300)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(screenshots / f"plenary-{width}x{height}.png"), full_page=True)
        page.screenshot(path=str(screenshots / f"plenary-{width}x{height}-screen.png"))
        _fits(page, f"plenary {width}x{height}")
        _accessible(page, f"plenary {width}x{height}")


def test_the_follow_up_on_a_phone_and_the_coordinators_form(
    browser: Browser, live_server: str, screenshots: Path, hall: dict[str, Any]
) -> None:
    event, token = hall["event"], hall["event"]["moderator_token"]
    # After the event: the coordinator records outcomes, one changed later.
    coordinator = httpx.post(
        f"{live_server}/api/events/{event['id']}/coordinator-link",
        headers={"Authorization": f"Bearer {token}"},
    ).json()["token"]
    recorded = [
        (0, TABLES[0][2][0][1], "in valutazione", "2025-01-20", "All'esame del tavolo tecnico"),
        (
            0,
            TABLES[0][2][0][1],
            "accolta",
            "2025-03-14",
            "Inserita nel Piano di Zona 2025-2027, azione 4.2: si parte a settembre",
        ),
        (1, TABLES[1][2][1][1], "realizzata", "2025-06-30", "Regia unica attiva in tutti i Comuni"),
        (2, TABLES[2][2][1][1], "non accolta", "2025-04-02", "Fuori dalle risorse del Fondo"),
    ]
    for index, title, status, date, note in recorded:
        answer = httpx.put(
            f"{live_server}/api/proposals/{hall['tables'][index]['ids'][title]}/outcome",
            json={"status": status, "date": date, "note": note},
            headers={"Authorization": f"Bearer {coordinator}"},
        )
        assert answer.status_code == 200, answer.text
    phone = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    ).new_page()
    phone.goto(f"{live_server}/esiti/{event['id']}")
    expect(phone.locator("h1")).to_contain_text("Stati Generali del Welfare")
    expect(phone.locator(".outcome-accolta").first).to_have_text("Accolta")
    phone.locator(".outcome-history summary").first.click()
    expect(phone.locator(".outcome-history li").nth(1)).to_contain_text("In valutazione")
    phone.screenshot(path=str(screenshots / "followup-390.png"), full_page=True)
    _fits(phone, "follow-up 390")
    _accessible(phone, "follow-up 390")
    # The closed table's page links to it.
    phone.goto(f"{live_server}/t/{hall['tables'][0]['code']}")
    phone.get_by_role("link", name="Il tavolo è chiuso").click()
    expect(phone).to_have_url(f"{live_server}/esiti/{event['id']}")

    form = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    form.goto(f"{live_server}/c/{coordinator}/outcomes")
    item = form.locator(".followed-item", has_text="Patto educativo di comunità")
    item.get_by_label("Esito").select_option("accolta")
    item.get_by_label("Data").fill("2025-05-10")
    item.get_by_label("Nota pubblica").fill("Firmato da 12 scuole e 20 associazioni")
    item.get_by_role("button", name="Registra l'esito").click()
    expect(form.locator(".followed-item", has_text="Patto educativo")).to_contain_text("Salvato")
    form.screenshot(path=str(screenshots / "outcomes-form-1366.png"), full_page=True)
    _fits(form, "outcomes form")
    _accessible(form, "outcomes form")
    narrow = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    narrow.goto(f"{live_server}/c/{coordinator}/outcomes")
    narrow.screenshot(path=str(screenshots / "outcomes-form-390.png"), full_page=True)
    _fits(narrow, "outcomes form 390")
