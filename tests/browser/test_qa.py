"""Questions and answers in a real browser: thirty questions of a course's Q&A on the
projector (1920×1080, titles at least 28 px, none cut), on a phone (390×844: the list does
not re-sort under a thumb, "Nuove domande" offers the new order) and on the console
(1366×768: a question marked answered with its note), photographed and checked with axe."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_TOKEN
from tests.browser.test_live_table import PHONE, PROJECTOR, assert_accessible

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}

# A "welfare generativo" course's questions, as people type them: long, with accents.
QUESTIONS = [
    "Come si può garantire la continuità dei servizi quando cambia l'ente gestore a metà anno?",
    "Perché le famiglie con un figlio disabile aspettano più di sei mesi per la valutazione"
    " multidimensionale?",
    "È previsto un tavolo permanente con le realtà del Terzo Settore dopo la fine del corso?",
    "Qual è il ruolo dei Comuni più piccoli nella co-programmazione dell'Ambito sociale?",
    "Il budget di salute può finanziare anche l'abitare autonomo?",
    "Chi valuta l'impatto sociale dei progetti co-progettati, e con quali indicatori?",
    "Come si coinvolgono le parrocchie senza che diventino semplici fornitori di spazi?",
    "Le cooperative sociali possono partecipare alla co-programmazione e poi candidarsi ai bandi?",
    "Quali sono i tempi per l'approvazione del nuovo Piano di Zona 2025-2027?",
    "Come si evita che la co-progettazione diventi un affidamento mascherato?",
    "Ci sono fondi PNRR ancora disponibili per l'housing sociale?",
    "Cosa succede ai progetti quando finisce il finanziamento europeo?",
    "Come si misurano i risultati del welfare generativo oltre al numero di prestazioni?",
    "È possibile coinvolgere le imprese del territorio come partner e non solo come sponsor?",
    "Gli enti del Terzo Settore piccoli come fanno a sostenere i costi della rendicontazione?",
    "Esiste un modello di convenzione già pronto per la co-progettazione ex art. 55?",
    "Come si garantisce la partecipazione degli utenti e delle loro famiglie?",
    "Che differenza c'è tra co-programmazione e concertazione sindacale?",
    "Si possono usare i beni confiscati alla criminalità per i servizi di comunità?",
    "Quanto tempo serve, realisticamente, per avviare un percorso di co-progettazione?",
    "Il volontariato può sostituire personale qualificato nei servizi essenziali?",
    "Come si gestiscono i conflitti di interesse tra enti che programmano e poi gestiscono?",
    "Quali dati sui bisogni sono disponibili per l'Ambito, e chi li aggiorna?",
    "Perché i caregiver familiari non hanno ancora un riconoscimento regionale?",
    "Le scuole possono essere enti co-progettanti a pieno titolo?",
    "Come si rende accessibile la partecipazione alle persone che non usano internet?",
    "L'Ufficio di Piano ha personale sufficiente per seguire tutti i tavoli tematici?",
    "Qual è il rapporto tra Piano di Zona e programmazione sanitaria dell'ASL?",
    "Si può prevedere un fondo di garanzia per gli enti che anticipano le spese?",
    "Come vengono scelte le priorità quando le risorse non bastano per tutto?",
]
assert len(QUESTIONS) == 30 and all(len(q) <= 140 for q in QUESTIONS)


CLIENT = httpx.Client(timeout=30)  # one connection pool: hundreds of set-up requests


@pytest.fixture(scope="module", autouse=True)
def _close_client() -> Iterator[None]:
    yield
    CLIENT.close()


def api(base: str, method: str, path: str, token: str, **body: Any) -> Any:
    response = CLIENT.request(
        method, f"{base}{path}", json=body or None, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def qa_table(base: str) -> tuple[str, str]:
    event = api(
        base,
        "POST",
        "/api/events",
        ADMIN_TOKEN,
        title="Corso IFEL «Welfare generativo»",
        date="2024-11-09",
        place="Diretta nazionale",
        organiser="IFEL — Fondazione ANCI",
    )
    token = event["moderator_token"]
    table = api(
        base,
        "POST",
        f"/api/events/{event['id']}/tables",
        token,
        title="Domande e risposte: il welfare generativo nei Piani di Zona",
        question="Che cosa chiedete ai relatori?",
        format="qa",
    )
    code = table["code"]
    api(base, "PUT", f"/api/tables/{code}/phase", token, phase="collect")
    api(base, "PUT", f"/api/tables/{code}/screen", token, mode="wall")
    return code, token


def people(base: str, code: str, count: int) -> list[str]:
    return [
        CLIENT.post(f"{base}/api/tables/{code}/participants", json={}).json()["token"]
        for _ in range(count)
    ]


def support(base: str, token: str, pid: int, dots: int = 1) -> None:
    api(base, "PUT", f"/api/proposals/{pid}/vote", token, dots=dots)


def fill(base: str, code: str) -> tuple[list[int], list[str]]:
    """Thirty questions from thirty phones (one named, with consent), uneven support."""
    crowd = people(base, code, 29)
    named = CLIENT.post(
        f"{base}/api/tables/{code}/participants",
        json={"name": "Maria Grazia Esposito", "named_in_minutes": True},
    ).json()["token"]
    askers = [named, *crowd]
    ids = [
        api(base, "POST", f"/api/tables/{code}/proposals", who, kind="proposal", title=q)["id"]
        for who, q in zip(askers, QUESTIONS, strict=True)
    ]
    for i, pid in enumerate(ids):
        for voter in crowd[: (7 * i) % 9]:  # ties aplenty
            support(base, voter, pid)
    return ids, crowd


def order(page: Page) -> list[str]:
    return list(
        page.eval_on_selector_all("#cards-open > .card", "cards => cards.map(c => c.id.slice(2))")
    )


def wanted(page: Page) -> list[str]:
    return str(page.get_attribute("#wall-order", "data-order") or "").split(",")


def join_phone(browser: Browser, base: str, code: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="it-IT"
    )
    page = context.new_page()
    page.goto(f"{base}/t/{code}")
    page.get_by_role("textbox", name="Nome").fill("Giulia Ferrà")
    page.get_by_label("Il mio nome può comparire con le mie domande").check()
    page.get_by_role("button", name="Entra al tavolo").click()
    expect(page.locator("#status .status-phase")).to_contain_text("Domande aperte")
    return page


@pytest.mark.timeout(180)
def test_the_projector_shows_the_top_questions_large_and_whole(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code, token = qa_table(live_server)
    ids, crowd = fill(live_server, code)
    for size, name in ((PROJECTOR, "1920x1080"), ({"width": 1280, "height": 720}, "1280x720")):
        screen = browser.new_context(viewport=size).new_page()
        screen.goto(f"{live_server}/t/{code}/screen")
        board = screen.locator(".qa-board")
        expect(board).to_be_visible()
        expect(screen.locator(".qa-more")).to_contain_text("altre")
        shown = screen.locator(".qa-item:not([hidden])")
        assert shown.count() >= 4
        box = board.bounding_box()
        assert box is not None
        sizes = screen.eval_on_selector_all(
            ".qa-item:not([hidden]) .qa-title",
            "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize))",
        )
        if size is PROJECTOR:
            assert min(sizes) >= 28, sizes  # readable from the back of a hall
        for i in range(shown.count()):  # nothing cut: every shown question whole, on screen
            item = shown.nth(i).bounding_box()
            assert item is not None and item["y"] + item["height"] <= box["y"] + box["height"]
            title = shown.nth(i).locator(".qa-title")
            assert title.evaluate("t => t.scrollHeight <= t.clientHeight + 1")
        # The most supported first, as the stream orders them.
        first = screen.locator(".qa-item").first.get_attribute("id")
        expected = httpx.get(f"{live_server}/api/tables/{code}").json()["order"][0]
        assert first == f"screen-q-{expected}"
        if size is PROJECTOR:
            # A support is a patch, not a redraw: the least supported question, supported by
            # twenty more, climbs to the top of the board with its number, and the board is
            # fitted again (the last question shown still whole, the rest counted).
            last = httpx.get(f"{live_server}/api/tables/{code}").json()["order"][-1]
            assert screen.locator(f"#screen-q-{last}").is_hidden()
            for voter in crowd[:20]:
                support(live_server, voter, last)
            expect(screen.locator(".qa-item").first).to_have_attribute("id", f"screen-q-{last}")
            expect(screen.locator(f"#screen-support-{last} strong")).to_have_text("20")
            expect(screen.locator(f"#screen-q-{last}")).to_be_visible()
            bottom = screen.eval_on_selector_all(
                ".qa-item:not([hidden])", "items => items.at(-1).getBoundingClientRect().bottom"
            )
            assert bottom <= box["y"] + box["height"] + 1
            expect(screen.locator(".qa-more")).to_contain_text("altre")
        screen.screenshot(path=str(screenshots / f"qa-projector-{name}.png"))
        if size is PROJECTOR:
            assert_accessible(screen, "Q&A projector")
            # The question being answered, in the spotlight, with its asker (who consented).
            api(
                live_server,
                "PUT",
                f"/api/tables/{code}/screen",
                token,
                mode="spotlight",
                spotlight_id=ids[0],
            )
            expect(screen.locator(".spotlight-author")).to_contain_text("Maria Grazia Esposito")
            screen.screenshot(path=str(screenshots / "qa-projector-spotlight.png"))
            api(live_server, "PUT", f"/api/tables/{code}/screen", token, mode="wall")
        screen.context.close()


@pytest.mark.timeout(180)
def test_the_phone_list_does_not_reorder_under_the_thumb(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code, token = qa_table(live_server)
    _ids, crowd = fill(live_server, code)
    page = join_phone(browser, live_server, code)
    expect(page.locator("#cards-open > .card")).to_have_count(30)
    assert order(page) == wanted(page)
    page.screenshot(path=str(screenshots / "qa-phone.png"))
    assert_accessible(page, "Q&A phone")

    # A thumb on the list: the supports that re-sort it arrive, the list stays as it is.
    page.locator("#cards-open .card").nth(3).scroll_into_view_if_needed()
    page.dispatch_event("#cards-open .card >> nth=3", "touchstart")
    before = order(page)
    last = before[-1]
    for voter in crowd[:20]:
        support(live_server, voter, int(last))
    page.wait_for_function(
        "(id) => document.getElementById('wall-order').dataset.order.startsWith(id + ',')",
        arg=last,
    )
    page.wait_for_timeout(2000)  # longer than the idle pause: the thumb is still down
    assert order(page) == before
    button = page.locator("#new-order")
    expect(button).to_be_visible()
    expect(button).to_contain_text("Nuove domande")
    page.screenshot(path=str(screenshots / "qa-phone-new-order.png"))
    assert_accessible(page, "Q&A phone with new questions")
    button.tap()
    assert order(page) == wanted(page) and order(page)[0] == last
    expect(button).to_be_hidden()

    # Thumb lifted: a new order is applied by itself once the person is still.
    page.dispatch_event("#cards-open .card >> nth=0", "touchend")
    second = order(page)[-1]
    for voter in crowd[:25]:
        support(live_server, voter, int(second))
    page.wait_for_function(
        "(id) => document.getElementById('wall-order').dataset.order.startsWith(id + ',')",
        arg=second,
    )
    page.wait_for_function(
        "(id) => document.querySelector('#cards-open > .card').id === 'p-' + id",
        arg=second,
        timeout=10000,
    )
    expect(button).to_be_hidden()

    # A redraw of the whole wall under the thumb (the moderator answers a question) keeps
    # the order being read: only the answered one leaves it.
    page.dispatch_event("#cards-open .card >> nth=2", "touchstart")
    before = order(page)
    gone, rising = before[1], before[-2]
    for voter in crowd[:28]:
        support(live_server, voter, int(rising))
    api(live_server, "PUT", f"/api/proposals/{gone}/answered", token, answered=True, note="Sì")
    expect(page.locator(f"#cards-answered #p-{gone}")).to_be_visible()
    page.wait_for_timeout(300)
    assert order(page) == [pid for pid in before if pid != gone]
    expect(button).to_be_visible()
    expect(page.locator(f"#p-{gone} .vote")).to_have_count(0)  # its support is frozen
    button.tap()
    assert order(page)[0] == rising
    page.dispatch_event("#cards-open .card >> nth=0", "touchend")
    page.locator(f"#cards-answered #p-{gone}").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "qa-phone-answered.png"))

    # The phone's own question goes in at the end, never above what is being read.
    page.get_by_label("La tua domanda").fill("Quando saranno disponibili le slide del corso?")
    page.get_by_role("button", name="Invia la domanda").click()
    expect(page.locator("#cards-open > .card").last).to_contain_text("slide del corso")
    expect(page.locator("#cards-open > .card").last).to_contain_text("posta da Giulia Ferrà")


@pytest.mark.timeout(180)
def test_the_console_marks_a_question_answered(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code, token = qa_table(live_server)
    ids, crowd = fill(live_server, code)
    console = browser.new_context(viewport=LAPTOP, locale="it-IT").new_page()
    console.goto(f"{live_server}/run/{token}/{code}/")
    console.screenshot(path=str(screenshots / "qa-console-1366x768.png"))
    card = console.locator(f"#p-{ids[1]}")
    card.get_by_text("Segna come risposta data…").click()
    card.get_by_label("Nota per il verbale").fill("Risponde la dott.ssa Russo: entro gennaio")
    card.get_by_role("button", name="Segna come risposta data").click()
    answered = console.locator("#cards-answered")
    expect(answered.locator(f"#p-{ids[1]}")).to_contain_text("entro gennaio")
    expect(console.locator(f"#cards-open #p-{ids[1]}")).to_have_count(0)
    # A support refused: frozen.
    refused = httpx.put(
        f"{live_server}/api/proposals/{ids[1]}/vote",
        json={"dots": 1},
        headers={"Authorization": f"Bearer {crowd[-1]}"},
    )
    assert refused.status_code == 409
    answered.scroll_into_view_if_needed()
    console.screenshot(path=str(screenshots / "qa-console-answered.png"))
    assert_accessible(console, "Q&A console")
