"""The projector at 1920×1080 and 1280×720: results of 12, 40 and 80 posts, a full wall, the
longest spotlight and the end of a timer, all inside the screen, photographed."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.content import WALL
from tests.browser.test_live_table import RUNNERS, assert_accessible, create_table, run

pytestmark = pytest.mark.browser

SIZES = ((1920, 1080), (1280, 720))

# Forty more posts after content.WALL's forty, some as long as a title may be (140).
MORE: list[tuple[str, str]] = [
    ("need", "Liste d'attesa troppo lunghe per la neuropsichiatria infantile"),
    (
        "proposal",
        "Equipe multidisciplinare unica per l'Ambito, con sede a rotazione nei Comuni più"
        " piccoli e orari pensati per chi lavora",
    ),
    ("resource", "La Pro Loco di Pellezzano presta il pulmino attrezzato nei giorni festivi"),
    ("need", "Più educatori domiciliari per i ragazzi con disturbi del comportamento"),
    ("proposal", "Patto educativo di comunità tra scuole, oratori e associazioni sportive"),
    (
        "need",
        "Le famiglie straniere non conoscono i servizi: mancano mediatori culturali negli"
        " sportelli sociali e nei consultori familiari",
    ),
    ("proposal", "Bando unico annuale per i contributi alle associazioni di volontariato"),
    ("resource", "Il Rotary offre borse di studio per operatori socio-sanitari"),
    ("need", "Barriere architettoniche nei parchi giochi comunali"),
    ("proposal", "Parchi inclusivi con giochi accessibili in almeno tre Comuni entro il 2026"),
    ("need", "Solitudine degli anziani soli nei centri storici, soprattutto d'estate"),
    (
        "proposal",
        "Custode sociale di quartiere: una figura di riferimento che conosce le persone"
        " fragili e le collega ai servizi dell'Ambito",
    ),
    (
        "resource",
        "La banca del tempo di Mercato San Severino offre compagnia e piccole commissioni",
    ),
    ("need", "Dati sui bisogni sparsi tra uffici diversi e mai confrontati"),
    ("proposal", "Osservatorio sociale d'Ambito con un rapporto pubblico ogni anno"),
    ("need", "Poca partecipazione dei giovani alle scelte che li riguardano"),
    ("proposal", "Consulta dei giovani dell'Ambito con un piccolo budget da gestire"),
    ("resource", "L'istituto superiore «Galilei» offre l'aula magna per gli incontri serali"),
    ("need", "Caregiver giovani: ragazzi che assistono un genitore malato senza alcun aiuto"),
    (
        "proposal",
        "Percorso di riconoscimento dei giovani caregiver nelle scuole, con permessi, tutor e"
        " un gruppo di auto-mutuo aiuto",
    ),
    ("need", "Povertà alimentare in crescita tra le famiglie con figli piccoli"),
    ("proposal", "Emporio solidale d'Ambito con tessere a punti al posto dei pacchi"),
    ("resource", "Il Banco Alimentare può rifornire un emporio solidale ogni settimana"),
    ("need", "Violenza domestica: le donne non sanno a chi rivolgersi fuori città"),
    ("proposal", "Sportello antiviolenza itinerante nei mercati settimanali"),
    ("resource", "L'ordine degli avvocati offre consulenze gratuite il primo lunedì del mese"),
    ("need", "Dipendenze da gioco d'azzardo in aumento tra gli over 60"),
    ("proposal", "Regolamento comunale che limita gli orari delle sale slot vicino alle scuole"),
    (
        "need",
        "Gli operatori dei servizi sociali cambiano troppo spesso e le famiglie devono"
        " raccontare la propria storia ogni volta da capo",
    ),
    ("proposal", "Contratti stabili per gli assistenti sociali dell'Ambito"),
    ("resource", "La Diocesi mette a disposizione due appartamenti per l'emergenza abitativa"),
    ("need", "Emergenza abitativa per famiglie sfrattate con minori"),
    ("proposal", "Agenzia sociale per la casa che garantisca i proprietari che affittano"),
    ("need", "Servizi per la salute mentale chiusi il fine settimana"),
    ("proposal", "Gruppi di parola per i figli di genitori separati, nelle scuole medie"),
    ("resource", "Il consultorio familiare offre una psicologa il giovedì pomeriggio"),
    ("need", "Digital divide: molti anziani non riescono a prenotare visite online"),
    ("proposal", "Facilitatori digitali nelle biblioteche comunali due mattine a settimana"),
    ("resource", "I ragazzi del servizio civile possono affiancare gli anziani allo sportello"),
    (
        "proposal",
        "Tavolo permanente tra Ambito, ASL, scuole e Terzo Settore per monitorare ogni sei"
        " mesi le azioni del Piano di Zona 2025-2027",
    ),
]
POSTS = [(kind, title, body) for kind, title, body in WALL] + [(k, t, "") for k, t in MORE]
assert len(POSTS) == 80 and max(len(t) for _, t, _ in POSTS) <= 140

LONG_TITLE = (
    "Un progetto di vita per ogni persona con disabilità, scritto con lei e con la sua"
    " famiglia, che segua la persona dalla scuola all'età adulta"
)[:140]
LONG_BODY = (
    "Oggi ogni servizio fa la sua parte: la scuola, l'ASL, il Comune, la cooperativa che"
    " gestisce il centro diurno. Nessuno però tiene insieme il quadro, e le famiglie devono"
    " ripetere la stessa storia a ogni sportello, compilare gli stessi moduli, aspettare"
    " valutazioni che arrivano quando il bisogno è già cambiato. Proponiamo che ogni persona"
    " abbia un progetto di vita unico, scritto insieme a lei e alla sua famiglia da"
    " un'équipe che comprenda l'assistente sociale, il medico, l'insegnante e un referente del"
    " Terzo Settore; che il progetto abbia un budget che mette insieme le risorse sociali e"
    " sanitarie, e un case manager che la famiglia possa chiamare per nome. Il progetto va"
    " rivisto ogni anno, e nei passaggi delicati (la fine della scuola, la perdita di un"
    " genitore) prima che diventino emergenze. Chiediamo infine che i risultati siano"
    " misurati con la persona: qualità della vita, autonomia, relazioni, e non solo il numero"
    " di prestazioni erogate nell'anno dal servizio, con un incontro annuale."
)[:1000]


def target(index: int) -> int:
    """Uneven, deterministic support with plenty of ties."""
    return (37 * index) % 23 + (9 if index % 7 == 0 else 0)


class Table:
    """One table filled in steps: posts from forty phones, dots spent to reach the targets."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.code = create_table(base, {"mode": "dots", "dots": 100, "max_per_proposal": 100})
        self.api = httpx.Client(base_url=base)
        self.people = [self._join() for _ in range(40)]
        self.left = {token: 100 for token in self.people}
        self.ids: list[int] = []

    def _join(self) -> str:
        response = self.api.post(f"/api/tables/{self.code}/participants", json={})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def fill(self, count: int) -> None:
        run(self.base, self.code, "phase", {"phase": "collect"})
        start = len(self.ids)
        for index in range(start, count):
            kind, title, body = POSTS[index]
            response = self.api.post(
                f"/api/tables/{self.code}/proposals",
                json={"kind": kind, "title": title, "body": body},
                headers={"Authorization": f"Bearer {self.people[index % len(self.people)]}"},
            )
            assert response.status_code == 201, response.text
            self.ids.append(int(response.json()["id"]))
        run(self.base, self.code, "phase", {"phase": "voting"})
        for index in range(start, count):
            self._give(self.ids[index], target(index))

    def _give(self, pid: int, dots: int) -> None:
        while dots:
            token = max(self.left, key=lambda t: self.left[t])
            give = min(dots, self.left[token])
            response = self.api.put(
                f"/api/proposals/{pid}/vote",
                json={"dots": give},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            self.left[token] -= give
            dots -= give

    def screen(self, mode: str, **extra: Any) -> None:
        run(self.base, self.code, "screen", {"mode": mode, **extra})

    def close(self) -> None:
        self.api.close()


OVERFLOW = """() => {
  const out = [];
  const w = innerWidth, h = innerHeight;
  const root = document.documentElement;
  if (root.scrollHeight > h) out.push('page ' + root.scrollHeight);
  if (root.scrollWidth > w) out.push('page width');
  for (const el of document.querySelectorAll(SELECTOR)) {
    if (el.closest('[hidden]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.top < -1 || r.left < -1 || r.bottom > h + 1 || r.right > w + 1) {
      const box = JSON.stringify([r.top, r.bottom, r.left, r.right]);
      out.push(el.textContent.trim().slice(0, 50) + ' ' + box);
    }
  }
  return out;
}"""


def outside(page: Page, selector: str) -> list[str]:
    result: list[str] = page.evaluate(OVERFLOW.replace("SELECTOR", repr(selector)))
    return result


def cut(page: Page, selector: str) -> list[str]:
    """Elements whose own content is clipped (taller or wider than their box)."""
    result: list[str] = page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)]
            .filter(e => !e.closest('[hidden]') &&
                    (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1))
            .map(e => e.textContent.trim().slice(0, 50))""",
        selector,
    )
    return result


# tavoli.js refits the projector 150 ms after the last resize event. This listener, added
# after the page's own, sets its timer after the page's on each event: it fires once the refit
# has run, and resolves after the frame that follows it.
ARM_REFIT = """() => {
  window.tavoliRefitted = new Promise(resolve => {
    let pending = 0;
    addEventListener('resize', () => {
      clearTimeout(pending);
      pending = setTimeout(() => requestAnimationFrame(() => setTimeout(resolve)), 150);
    });
  });
}"""
REFITTED = """() => Promise.race([window.tavoliRefitted, new Promise((_, fail) =>
  setTimeout(() => fail(new Error('no refit 5 s after the resize')), 5000))])"""


def resize(page: Page, width: int, height: int) -> None:
    """The viewport at this size, once the projector has refitted to it."""
    if page.viewport_size == {"width": width, "height": height}:
        # No resize event to wait for: the time the pushes still on their way need.
        page.wait_for_timeout(600)
        return
    page.evaluate(ARM_REFIT)
    page.set_viewport_size({"width": width, "height": height})
    page.evaluate(REFITTED)


def check_results(page: Page, count: int, shots: Path, name: str) -> None:
    expect(page.locator(".result")).to_have_count(count)
    for width, height in SIZES:
        resize(page, width, height)
        page.screenshot(path=str(shots / f"projector-{name}-{width}.png"))
        assert outside(page, ".result, .results-page, .results-title") == [], (name, width)
        assert cut(page, ".result-title") == [], (name, width)
        top = page.locator(".result-top .result")
        expect(top).to_have_count(5)
        for index in range(5):
            expect(top.nth(index)).to_be_visible()
        pages = page.evaluate(
            "new Set([...document.querySelectorAll('.result-rest .result')]"
            ".map(r => r.dataset.page)).size"
        )
        rest = page.locator(".result-rest .result")
        assert rest.count() == count - 5
        assert page.locator(".result-rest .result:not([data-page])").count() == 0
        if pages > 1:
            expect(page.locator(".results-page")).to_have_text(
                re.compile(rf"pagina \d+ di {pages}")
            )
        else:
            expect(page.locator(".results-page")).to_be_hidden()
            expect(rest.first).to_be_visible()


PAGE_SHOWN = """() => [
  document.querySelector(".results-page").innerText,
  Array.from(document.querySelectorAll(".result-rest .result:not([hidden])"), r => r.innerText),
]"""


def page_shown(page: Page) -> tuple[str, list[str]]:
    """The pager's label and the rows it shows, read at one instant (the pages turn by
    themselves: read one at a time, the two could belong to different pages)."""
    label, rows = page.evaluate(PAGE_SHOWN)
    return str(label), [str(row) for row in rows]


def test_results_of_12_40_and_80_posts_fit_both_projectors(
    browser: Browser, live_server: str, screenshots: Path, request: pytest.FixtureRequest
) -> None:
    table = Table(live_server)
    request.addfinalizer(table.close)
    table.fill(12)
    table.screen("results")
    page = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="it-IT").new_page()
    page.goto(f"{live_server}/t/{table.code}/screen")
    check_results(page, 12, screenshots, "results-12")
    # Ties share a rank: the screen shows 1, 2, 2, 4 … as the standings say.
    ranks = page.locator(".result-rank").all_inner_texts()
    assert ranks[0] == "1" and len(set(ranks)) < len(ranks)

    table.fill(40)
    check_results(page, 40, screenshots, "results-40")  # the push redraws, no reload
    table.screen("wall")
    expect(page.locator(".wall .card")).to_have_count(40)
    for width, height in SIZES:
        resize(page, width, height)
        page.screenshot(path=str(screenshots / f"projector-wall-40-{width}.png"))
        assert outside(page, ".wall .card") == [], width
        assert cut(page, ".wall .card") == [], width
    table.screen("results")

    table.fill(80)
    check_results(page, 80, screenshots, "results-80")
    pager = page.locator(".results-page")
    first_label, first_page = page_shown(page)
    shown, total = (int(n) for n in first_label.split()[1::2])
    assert total >= 2
    # The pages turn by themselves; the first five stay.
    expect(pager).to_have_text(f"pagina {shown % total + 1} di {total}", timeout=12_000)
    second_label, second_page = page_shown(page)
    assert second_label != first_label
    assert second_page and not set(first_page) & set(second_page)
    expect(page.locator(".result-top .result")).to_have_count(5)
    assert outside(page, ".result") == []
    page.screenshot(path=str(screenshots / "projector-results-80-1280-page2.png"))
    assert_accessible(page, "results of 80 posts")


def test_the_longest_spotlight_fits_both_projectors(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    with httpx.Client(base_url=live_server) as api:
        token = api.post(f"/api/tables/{code}/participants", json={}).json()["token"]
        response = api.post(
            f"/api/tables/{code}/proposals",
            json={"kind": "proposal", "title": LONG_TITLE, "body": LONG_BODY},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        pid = response.json()["id"]
    assert len(LONG_TITLE) == 140 and len(LONG_BODY) == 1000
    run(live_server, code, "screen", {"mode": "spotlight", "spotlight_id": pid})
    page = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="it-IT").new_page()
    page.goto(f"{live_server}/t/{code}/screen")
    expect(page.locator(".spotlight-title")).to_have_text(LONG_TITLE)
    for width, height in SIZES:
        resize(page, width, height)
        page.screenshot(path=str(screenshots / f"projector-spotlight-long-{width}.png"))
        assert outside(page, ".spotlight-title, .spotlight-body, .spotlight-kind") == [], width
        assert cut(page, ".spotlight") == [], width
        size = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.spotlight-body')).fontSize)"
        )
        assert size >= height / 60, (width, size)  # still readable from the back of the hall


def test_after_the_timer_the_screen_shows_the_phase(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"}, phase="discussion", screen="timer")
    page = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="it-IT").new_page()
    page.goto(f"{live_server}/t/{code}/screen")
    response = httpx.put(
        f"{live_server}/api/tables/{code}/timer",
        json={"seconds": 2, "advance": True},
        headers={"Authorization": f"Bearer {RUNNERS[code]}"},
    )
    assert response.status_code == 200, response.text
    expect(page.locator(".timer-huge")).to_be_visible()
    # At zero the phase moves on; the screen says so, not "--:--".
    expect(page.locator(".big-timer-phase-name")).to_have_text("Votazione", timeout=10_000)
    expect(page.locator(".big-timer-over")).to_have_text("Tempo scaduto")
    expect(page.locator(".big-timer-over")).to_be_visible()
    assert "--:--" not in page.locator("#stage").inner_text()
    for width, height in SIZES:
        resize(page, width, height)
        page.screenshot(path=str(screenshots / f"projector-timer-over-{width}.png"))
        assert outside(page, ".big-timer > *") == [], width
    # A few seconds later, only the phase.
    expect(page.locator(".big-timer-over")).to_be_hidden(timeout=15_000)
    page.screenshot(path=str(screenshots / "projector-timer-phase-1280.png"))
