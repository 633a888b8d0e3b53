"""A table as people run it: a projector and two phones, in separate browsers, live."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_TOKEN, FlakyLink
from tests.browser.content import WALL

pytestmark = pytest.mark.browser

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1920, "height": 1080}

PROPOSALS = [
    ("need", "Trasporto accessibile per raggiungere i centri diurni dalle frazioni montane"),
    (
        "proposal",
        "Un budget di progetto unico per ogni persona con disabilità, condiviso tra Comune e ASL",
    ),
    ("resource", "La cooperativa mette a disposizione due educatori il sabato mattina"),
    ("proposal", "Sportello unico per le famiglie nei municipi più piccoli dell'Ambito"),
    ("need", "Più posti nei gruppi appartamento per il «dopo di noi»"),
    ("proposal", "Formazione congiunta tra assistenti sociali, scuole ed enti del Terzo Settore"),
    ("resource", "La parrocchia offre i locali dell'oratorio per laboratori pomeridiani"),
    ("need", "Informazioni chiare sui servizi, anche in lingua facile da leggere"),
]


def create_table(
    base: str, voting: dict[str, Any], *, phase: str = "collect", screen: str = "wall"
) -> str:
    with httpx.Client(base_url=base) as api:
        event = api.post(
            "/api/events",
            json={
                "title": "Stati Generali del Welfare — Ambito Sociale S6",
                "date": "2024-11-09",
                "place": "Salerno, Complesso di San Michele",
                "organiser": "Ufficio di Piano",
            },
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()
        table = api.post(
            f"/api/events/{event['id']}/tables",
            json={
                "title": "Disabilità e progetti di vita",
                "question": (
                    "Quali servizi servono perché ogni persona con disabilità possa scegliere"
                    " dove e con chi vivere?"
                ),
                "voting": voting,
            },
            headers={"Authorization": f"Bearer {event['moderator_token']}"},
        ).json()
        code = str(table["code"])
        RUNNERS[code] = event["moderator_token"]
        run(base, code, "phase", {"phase": phase})
        run(base, code, "screen", {"mode": screen})
        return code


RUNNERS: dict[str, str] = {}


def run(base: str, code: str, what: str, body: dict[str, Any]) -> None:
    """A moderator's action over the API (the console itself is driven in test_console)."""
    response = httpx.put(
        f"{base}/api/tables/{code}/{what}",
        json=body,
        headers={"Authorization": f"Bearer {RUNNERS[code]}"},
    )
    assert response.status_code == 200, response.text


def phone(browser: Browser, base: str, code: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{base}/")
    page.get_by_label("Codice del tavolo").fill(code.lower())
    page.get_by_role("button", name="Entra").click()
    page.get_by_role("textbox", name="Nome").fill("Giulia")
    page.get_by_label("Il mio nome e la mia organizzazione").check()
    page.get_by_label("Tipologia di soggetto").select_option("Ente del Terzo Settore")
    page.get_by_role("button", name="Entra al tavolo").click()
    expect(page.locator("#status .status-phase")).to_be_visible()
    return page


def post_from(page: Page, kind_label: str, title: str) -> None:
    page.locator("#post-form label", has_text=kind_label).click()  # the post form's own
    page.get_by_label("Titolo", exact=True).fill(title)
    page.get_by_role("button", name="Pubblica").click()
    # Wait for this post's own answer: the notice of the phone's previous post is already
    # on the page, and an answer still on its way replaces the form, emptying a title
    # typed meanwhile (the next post would then never be sent).
    expect(page.locator("#post-form .notice-ok")).to_contain_text(f"«{title}»")


def assert_accessible(page: Page, what: str) -> None:
    result = Axe().run(page, options=WCAG)
    violations = [
        (v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"]
    ]
    assert result.violations_count == 0, f"{what}: {violations}"


def test_a_post_and_a_vote_reach_the_screen_and_the_other_phone(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    screen = browser.new_context(viewport=PROJECTOR).new_page()
    screen.goto(f"{live_server}/t/{code}/screen")
    expect(screen.locator(".join-code")).to_contain_text(code[:3])
    anna, bruno = phone(browser, live_server, code), phone(browser, live_server, code)
    expect(screen.locator("#stats")).to_contain_text("2")  # two phones connected

    _, title = PROPOSALS[0]
    post_from(anna, "Bisogno", title)
    with httpx.Client(base_url=live_server) as api:
        card = f"#p-{api.get(f'/api/tables/{code}').json()['proposals'][0]['id']}"
    for page in (screen, bruno, anna):
        expect(page.locator(card)).to_contain_text(title)  # no reload anywhere
    expect(anna.locator(card)).to_have_class("card kind-need mine")  # marked as her own
    expect(bruno.locator(card)).to_have_class("card kind-need")  # not his, and no clue whose
    for page in (screen, bruno, anna):
        assert "data-authors" not in page.content()

    run(live_server, code, "phase", {"phase": "voting"})
    expect(bruno.locator(".status")).to_contain_text("Votazione")

    bruno.locator(card).get_by_role("button", name="Sostengo").click()
    expect(bruno.locator(card).get_by_role("button", name="Sostengo")).to_have_attribute(
        "aria-pressed", "true"
    )
    for page in (screen, anna, bruno):
        expect(page.locator(f"{card} .tally-count")).to_have_text("1")

    # A fuller table, as it looks mid-session.
    run(live_server, code, "phase", {"phase": "collect"})
    for kind_value, text in PROPOSALS[1:]:
        label = {"need": "Bisogno", "proposal": "Proposta", "resource": "Risorsa"}[kind_value]
        post_from(bruno if len(text) % 2 else anna, label, text)
    expect(screen.locator(".wall .card")).to_have_count(len(PROPOSALS))
    run(live_server, code, "phase", {"phase": "voting"})
    second = anna.locator(".card", has_text=PROPOSALS[1][1])
    second.get_by_role("button", name="Sostengo").click()
    expect(screen.locator(".card", has_text=PROPOSALS[1][1]).locator(".tally-count")).to_have_text(
        "1"
    )

    anna.screenshot(path=str(screenshots / "participant-phone.png"), full_page=True)
    screen.screenshot(path=str(screenshots / "screen-1920.png"))
    screen.set_viewport_size({"width": 1280, "height": 720})
    screen.screenshot(path=str(screenshots / "screen-1280.png"))

    assert_accessible(anna, "participant page")
    assert_accessible(screen, "screen")

    # Anna's duplicate folded into Bruno's post: both phones now mark the survivor as their
    # own (from their own state), the screen marks nobody's.
    with httpx.Client(base_url=live_server) as api:
        ids = {p["title"]: p["id"] for p in api.get(f"/api/tables/{code}").json()["proposals"]}
        merged = api.post(
            f"/api/tables/{code}/merges",
            json={"survivor_id": ids[PROPOSALS[1][1]], "proposal_ids": [ids[PROPOSALS[3][1]]]},
            headers={"Authorization": f"Bearer {RUNNERS[code]}"},
        )
        assert merged.status_code in (200, 201), merged.text
    survivor = f"#p-{ids[PROPOSALS[1][1]]}"
    for page in (anna, bruno):
        expect(page.locator(survivor)).to_contain_text("1")  # "merges 1 similar post"
        expect(page.locator(survivor)).to_have_class("card kind-proposal mine")
    expect(screen.locator(f"{survivor}.mine")).to_have_count(0)


def test_a_phone_that_loses_the_connection_catches_up(
    browser: Browser, live_server: str, flaky_link: FlakyLink
) -> None:
    code = create_table(live_server, {"mode": "dots", "dots": 3, "max_per_proposal": 2})
    carla = phone(browser, f"http://127.0.0.1:{flaky_link.port}", code)  # on the venue Wi-Fi
    expect(carla.locator("#dots-left")).to_contain_text("3")
    flaky_link.cut()
    expect(carla.get_by_text("Connessione persa: mi sto ricollegando")).to_be_visible()
    other = phone(browser, live_server, code)
    post_from(other, "Proposta", "Centro diurno aperto anche d'estate")
    run(live_server, code, "phase", {"phase": "voting"})
    other.get_by_role("button", name="Dai un bollino").click()
    expect(other.locator(".tally-count")).to_have_text("1")
    flaky_link.restore()
    # The WebSocket extension reconnects by itself; the snapshot brings what was missed.
    title = carla.get_by_role("heading", name="Centro diurno aperto anche d'estate")
    expect(title).to_be_visible(timeout=30_000)
    expect(carla.get_by_text("Connessione persa: mi sto ricollegando")).to_be_hidden()
    expect(carla.locator(".tally-count")).to_have_text("1")
    carla.get_by_role("button", name="Dai un bollino").click()
    expect(carla.locator("#dots-left strong")).to_have_text("2")
    carla.get_by_role("button", name="Dai un bollino").click()
    expect(carla.locator("#dots-left strong")).to_have_text("1")
    expect(carla.locator(".tally-count")).to_have_text("3")
    expect(other.locator(".tally-count")).to_have_text("3")
    expect(carla.get_by_role("button", name="Dai un bollino")).to_be_disabled()  # the cap is 2
    assert_accessible(carla, "participant page, dot voting")


def test_organiser_and_moderator_pages(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.goto(f"{live_server}/admin/{ADMIN_TOKEN}")
    page.get_by_label("Titolo").fill("Stati Generali dell'Innovazione Sociale 2024")
    page.get_by_label("Luogo").fill("Fisciano, Aula Magna dell'Università")
    page.get_by_label("Organizzatore").fill("Ambito Sociale S6 — Ufficio di Piano")
    assert_accessible(page, "organiser page")
    page.get_by_role("button", name="Crea l'evento").click()
    expect(page.get_by_text("Evento creato.")).to_be_visible()
    for theme in ("Governance partecipata", "Sostenibilità dei servizi"):
        page.get_by_label("Tema").fill(theme)
        page.get_by_label("Domanda guida").fill(
            "Che cosa possiamo fare insieme nei prossimi tre anni?"
        )
        page.get_by_role("button", name="Aggiungi il tavolo").click()
        expect(page.get_by_role("link", name=theme)).to_be_visible()
    page.screenshot(path=str(screenshots / "moderator-laptop.png"), full_page=True)
    assert_accessible(page, "moderator page")


def test_a_full_wall_is_readable_on_projectors_and_phones(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "dots", "dots": 5, "max_per_proposal": 3})
    with httpx.Client(base_url=live_server) as api:
        people = [
            api.post(f"/api/tables/{code}/participants", json={}).json()["token"] for _ in range(12)
        ]
        ids = []
        for index, (kind, title, body) in enumerate(WALL):
            response = api.post(
                f"/api/tables/{code}/proposals",
                json={"kind": kind, "title": title, "body": body},
                headers={"Authorization": f"Bearer {people[index % len(people)]}"},
            )
            ids.append(response.json()["id"])
        run(live_server, code, "phase", {"phase": "voting"})
        for index, token in enumerate(people):  # deterministic, uneven support
            picks = (ids[index % 9], ids[(index + 3) % len(ids)], ids[(2 * index + 7) % len(ids)])
            for pid, dots in zip(picks, (2, 2, 1), strict=True):
                api.put(
                    f"/api/proposals/{pid}/vote",
                    json={"dots": dots},
                    headers={"Authorization": f"Bearer {token}"},
                )
    screen = browser.new_context(viewport=PROJECTOR).new_page()
    screen.goto(f"{live_server}/t/{code}/screen")
    expect(screen.locator(".wall .card")).to_have_count(len(WALL))
    for width, height in ((1920, 1080), (1366, 768), (1280, 720)):
        screen.set_viewport_size({"width": width, "height": height})
        screen.screenshot(path=str(screenshots / f"screen-full-{width}.png"))
        assert (
            screen.evaluate("document.documentElement.scrollWidth") <= width
        )  # no sideways scroll
    assert_accessible(screen, "screen with a full wall")
    mobile = phone(browser, live_server, code)
    mobile.screenshot(path=str(screenshots / "participant-full-phone.png"))
    mobile.locator("#wall-title").scroll_into_view_if_needed()
    mobile.screenshot(path=str(screenshots / "participant-full-phone-wall.png"))
    assert_accessible(mobile, "participant page with a full wall")
