"""A tour of Tavoli as its people see it, with forty realistic Italian posts: the organiser's
page, the moderator's dashboard, the console, the phone, the projector, the downloads, the
minutes and the printable table card, photographed at phone, laptop and projector sizes."""

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import ADMIN_TOKEN, FlakyLink
from tests.browser.content import WALL
from tests.browser.test_console import PUSH_COUNTER
from tests.browser.test_live_table import RUNNERS
from tests.browser.test_projector import LONG_BODY, LONG_TITLE, cut, outside, resize

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
PROJECTOR: ViewportSize = {"width": 1920, "height": 1080}
PROJECTORS = ((1920, 1080), (1280, 720))
THEME = "Disabilità, progetti di vita e «dopo di noi»: servizi che accompagnano la persona"
NEW_THEME = "Progetti di vita indipendente e abitare sociale nell'Ambito S6"

# Text that does not fit its own box on the projector (its box clips or scrolls it).
TEXT_BOXES = (
    "#stage h1, #stage h2, #stage p, #stage .card, #stage .card-title, #stage .result-title,"
    " #stage .spotlight-body, #stage .spotlight-title"
)


class Tour:
    """One event and one table filled through the JSON API, as forty phones would."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base)
        event = self._ok(
            "POST",
            "/api/events",
            {
                "title": "Stati Generali del Welfare — Ambito Sociale S6 «Valle dell'Irno»",
                "date": "2024-11-09",
                "place": "Fisciano, Aula Magna dell'Università",
                "organiser": "Ufficio di Piano dell'Ambito S6",
            },
            ADMIN_TOKEN,
        )
        self.event_id = int(event["id"])
        self.token = str(event["moderator_token"])
        table = self._ok(
            "POST",
            f"/api/events/{self.event_id}/tables",
            {
                "title": THEME,
                "question": (
                    "Quali servizi servono perché ogni persona con disabilità possa scegliere"
                    " dove e con chi vivere, anche quando la famiglia non potrà più esserci?"
                ),
                "voting": {"mode": "dots", "dots": 5, "max_per_proposal": 2},
            },
            self.token,
        )
        self.code = str(table["code"])
        RUNNERS[self.code] = self.token
        self.table("PUT", "/phase", {"phase": "collect"})
        self.table("PUT", "/screen", {"mode": "wall"})
        self.people = [
            str(self._ok("POST", f"/api/tables/{self.code}/participants", {})["token"])
            for _ in range(12)
        ]
        self.ids = [
            self.post(self.people[i % 12], kind, title, body)
            for i, (kind, title, body) in enumerate(WALL)
        ]

    def _ok(self, method: str, path: str, body: dict[str, Any] | None, token: str = "") -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = self.http.request(method, path, json=body, headers=headers)
        assert answer.status_code < 300, (path, answer.text)
        return answer.json() if answer.content else None

    def table(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._ok(method, f"/api/tables/{self.code}{path}", body, self.token)

    def post(self, token: str, kind: str, title: str, body: str = "") -> int:
        answer = self._ok(
            "POST",
            f"/api/tables/{self.code}/proposals",
            {"kind": kind, "title": title, "body": body},
            token,
        )
        return int(answer["id"])

    def vote(self) -> None:
        """Uneven support: every person spends their five dots on a few posts."""
        for n, token in enumerate(self.people):
            for k, dots in ((0, 2), (n + 3, 2), (3 * n + 7, 1)):
                pid = self.ids[(k * 5 + n) % len(self.ids)] if k else self.ids[n % 6]
                self._ok("PUT", f"/api/proposals/{pid}/vote", {"dots": dots}, token)

    def get(self, path: str) -> bytes:
        answer = self.http.get(path, headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 200, (path, answer.text[:200])
        return answer.content


def pdf_pages(pdf: bytes, folder: Path, name: str) -> list[Path]:
    """The PDF's pages as PNG at 60 dpi (pdftoppm), to look at like the office would."""
    source = folder / f"{name}.pdf"
    source.write_bytes(pdf)
    for old in folder.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(source), str(folder / name)], check=True)
    return sorted(folder.glob(f"{name}-*.png"))


def no_sideways(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (what, width)


def clipped(page: Page, selector: str) -> list[str]:
    """Text taller or wider than its own box (clipped, or spilling out), with the sizes.

    A box that lets its text show (overflow visible) may let an accent or a descender out."""
    found: list[str] = page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].filter(e => {
              if (e.closest('[hidden]') || e.clientWidth <= 2) return false;
              const style = getComputedStyle(e);
              const slack = style.overflow === 'visible' ? parseFloat(style.fontSize) / 2 : 1;
              return e.scrollHeight > e.clientHeight + slack
                  || e.scrollWidth > e.clientWidth + slack;
            })
            .map(e => `${e.className} ${e.scrollWidth}x${e.scrollHeight}>`
                      + `${e.clientWidth}x${e.clientHeight} `
                      + e.textContent.trim().slice(0, 40))""",
        selector,
    )
    return found


def projector_fits(page: Page, what: str) -> None:
    found = clipped(page, TEXT_BOXES)
    assert not found, f"{what}: " + " | ".join(found[:6])
    width, size = page.evaluate("document.documentElement.scrollWidth"), page.viewport_size
    assert size is not None and width <= size["width"], what


def shoot_projector(page: Page, shots: Path, name: str) -> None:
    for width, height in PROJECTORS:
        resize(page, width, height)
        page.screenshot(path=str(shots / f"tour-projector-{name}-{width}.png"))
        projector_fits(page, f"{name} {width}")


# About 30 s alone; the 2-core CI runner shared with other jobs may double it.
@pytest.mark.timeout(150)
def test_the_tour(
    browser: Browser,
    live_server: str,
    flaky_link: FlakyLink,
    screenshots: Path,
    request: pytest.FixtureRequest,
) -> None:
    tour = Tour(live_server)
    request.addfinalizer(tour.http.close)
    shots = screenshots / "tour"
    shots.mkdir(exist_ok=True)
    code, token = tour.code, tour.token
    console_url = f"{live_server}/run/{token}/{code}/"

    # The projector shows the wall of forty posts.
    projector = browser.new_context(viewport=PROJECTOR, locale="it-IT").new_page()
    projector.goto(f"{live_server}/t/{code}/screen")
    expect(projector.locator(".wall .card")).to_have_count(40)
    shoot_projector(projector, shots, "wall-40")
    assert outside(projector, ".wall .card") == []

    # The phone, through the venue Wi-Fi: join with consent, the wall, a long text.
    phone = browser.new_context(
        viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="it-IT"
    ).new_page()
    phone.goto(f"http://127.0.0.1:{flaky_link.port}/t/{code}")
    phone.get_by_role("textbox", name="Nome").fill("Maria Grazia D'Ambrosio")
    consent = phone.get_by_label("Il mio nome e la mia organizzazione")
    consent.check()
    consent.scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / "tour-phone-join-consent.png"))
    no_sideways(phone, "join")
    phone.locator("button[type=submit]").click()
    expect(phone.locator("#status .status-phase")).to_be_visible()
    phone.screenshot(path=str(shots / "tour-phone-collect-top.png"))
    no_sideways(phone, "phone, collect")
    phone.locator("#body").fill(LONG_BODY + " " + LONG_BODY[:180])
    expect(phone.locator("#body-count")).to_contain_text("oltre il limite")
    phone.locator("#body-count").scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / "tour-phone-counter.png"))
    phone.locator("#body").fill("")
    phone.locator(".wall .card").nth(30).scroll_into_view_if_needed()
    flaky_link.cut()
    expect(phone.get_by_text("Connessione persa: mi sto ricollegando…")).to_be_visible()
    phone.screenshot(path=str(shots / "tour-phone-reconnecting.png"))
    flaky_link.restore()
    phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    phone.screenshot(path=str(shots / "tour-phone-footer.png"))
    mine = phone.get_by_role("link", name="I miei dati").bounding_box()
    assert mine is not None and mine["x"] >= 12  # in line with the page, off the screen's edge

    # Posts now wait in the pre-moderation queue; a paper participant is added.
    tour.table("PATCH", "/settings", {"premoderation": True})
    abusive = tour.post(
        tour.people[0], "proposal", "Siete tutti incompetenti, questo tavolo è una farsa!!!"
    )
    tour.post(
        tour.people[1],
        "need",
        "Un trasporto a chiamata per chi abita nelle frazioni più lontane da Baronissi",
        "Oggi l'autobus passa due volte al giorno e non ha la pedana.",
    )
    tour.post(tour.people[2], "resource", "L'Auser di Fisciano offre tre autisti volontari")
    long_id = tour.post(tour.people[3], "proposal", LONG_TITLE, LONG_BODY)
    tour.table(
        "POST",
        "/paper-participants",
        {
            "name": "Rosaria Esposito",
            "organisation": "Associazione Genitori Insieme per l'Autonomia",
            "category": "Ente del Terzo Settore",
            "named_in_minutes": True,
        },
    )

    # The organiser's page and the moderator's dashboard, on a laptop and on a phone.
    for size, label in ((LAPTOP, "1366"), (PHONE, "phone")):
        page = browser.new_context(viewport=size, locale="it-IT").new_page()
        page.goto(f"{live_server}/admin/{ADMIN_TOKEN}")
        expect(page.locator("h1")).to_be_visible()
        page.screenshot(path=str(shots / f"tour-organiser-{label}.png"))
        page.goto(f"{live_server}/m/{token}")
        expect(page.locator(f"a[href$='/{code}/']").first).to_be_visible()
        page.screenshot(path=str(shots / f"tour-moderator-{label}.png"), full_page=True)
        if size is PHONE:
            no_sideways(page, "moderator dashboard")
        page.context.close()

    # The console on a laptop: the queue, the merge panel, the paper panel, editing the table.
    desk_context = browser.new_context(viewport=LAPTOP, locale="it-IT")
    # Each load's first push (the socket's snapshot) redraws the live regions: wait for it,
    # or it may replace what is being clicked or scrolled.
    desk_context.add_init_script(PUSH_COUNTER)
    desk = desk_context.new_page()
    desk.goto(console_url)
    desk.wait_for_function("() => window.__pushes > 0")
    expect(desk.locator(".queue-item")).to_have_count(4)
    desk.screenshot(path=str(shots / "tour-console-queue-1366.png"))
    cards = desk.locator(".wall-moderator .card")
    expect(cards).to_have_count(40)
    cards.nth(4).get_by_text("Seleziona").click()
    cards.nth(5).get_by_text("Seleziona").click()
    desk.get_by_role("button", name="Unisci…").click()
    expect(desk.locator("#merge-panel")).to_contain_text("quale testo resta?")
    desk.locator("#merge-panel").scroll_into_view_if_needed()
    desk.screenshot(path=str(shots / "tour-console-merge-1366.png"))
    desk.goto(console_url)
    desk.wait_for_function("() => window.__pushes > 0")
    paper = desk.locator(".paper")
    paper.scroll_into_view_if_needed()
    desk.screenshot(path=str(shots / "tour-console-paper-1366.png"))
    desk.get_by_text("Modifica il tavolo").click()
    theme = desk.get_by_label("Tema")
    theme.scroll_into_view_if_needed()
    desk.screenshot(path=str(shots / "tour-console-edit-1366.png"))
    theme.fill(NEW_THEME)
    desk.get_by_role("button", name="Salva il tavolo").click()
    # The header follows without a reload, like the projector does.
    expect(desk.locator("h1").first).to_contain_text(NEW_THEME)
    expect(projector.locator(".stage-title, h1").first).to_contain_text(NEW_THEME)
    expect(phone.locator("h1")).to_have_text(NEW_THEME)  # and the phones, in two places
    expect(phone.locator(".table-bar-name")).to_have_text(NEW_THEME)
    desk.evaluate("window.scrollTo(0, 0)")
    desk.screenshot(path=str(shots / "tour-console-edited-1366.png"))

    # Voting: the phone, then the results of forty posts on both projectors.
    tour.table("POST", f"/proposals/{abusive}/reject", {})
    tour.table("POST", "/queue/accept")
    tour.table("PUT", "/phase", {"phase": "voting"})
    tour.vote()
    expect(phone.locator("#status .status-phase")).to_contain_text("Votazione")
    phone.evaluate("window.scrollTo(0, 0)")
    phone.screenshot(path=str(shots / "tour-phone-voting-top.png"))
    phone.wait_for_timeout(500)  # the votes' pushes redraw the tallies meanwhile
    phone.locator(".wall .card").nth(3).scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / "tour-phone-voting.png"))
    no_sideways(phone, "phone, voting")
    tour.table("PUT", "/screen", {"mode": "results"})
    expect(projector.locator(".result")).to_have_count(43, timeout=20_000)
    for width, height in PROJECTORS:
        resize(projector, width, height)
        projector.screenshot(path=str(shots / f"tour-projector-results-40-{width}.png"))
        assert outside(projector, ".result, .results-title") == [], width
        assert cut(projector, ".result-title") == [], width
        top = projector.locator(".result-top .result").first
        expect(top).to_be_visible()
        box = top.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height

    # A long post in the spotlight, the join slide, then joining closed.
    tour.table("PUT", "/screen", {"mode": "spotlight", "spotlight_id": long_id})
    expect(projector.locator(".spotlight-title")).to_have_text(LONG_TITLE)
    shoot_projector(projector, shots, "spotlight-long")
    tour.table("PUT", "/screen", {"mode": "join"})
    expect(projector.locator(".join-code").first).to_be_visible()
    shoot_projector(projector, shots, "join")
    tour.table("PUT", "/joining", {"open": False})
    expect(projector.locator(".join-shut")).to_be_visible()
    shoot_projector(projector, shots, "join-closed")

    # The coordinator's downloads page, the minutes in HTML and PDF, the table card.
    link = tour._ok("POST", f"/api/events/{tour.event_id}/coordinator-link", None, token)
    office = browser.new_context(viewport=LAPTOP, locale="it-IT").new_page()
    office.goto(link["url"])
    expect(office.get_by_role("heading", name="L'intero evento")).to_be_visible()
    office.screenshot(path=str(shots / "tour-downloads-1366.png"), full_page=True)
    office.goto(f"{link['url']}/tables/{code}/report.html")
    expect(office.get_by_role("heading", name=NEW_THEME)).to_be_visible()
    office.screenshot(path=str(shots / "tour-minutes-html-1366.png"), full_page=True)
    office.context.close()
    minutes = pdf_pages(tour.get(f"/api/tables/{code}/report.pdf"), shots, "tour-minutes-pdf")
    card = pdf_pages(tour.get(f"/api/tables/{code}/card.pdf"), shots, "tour-card-pdf")
    assert minutes and len(card) == 1  # the card is one A4 sheet

    # The table is deleted: the projector says so, large enough for the room.
    answer = tour.http.delete(f"/api/tables/{code}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 204
    heading = projector.get_by_role("heading", name="Questo tavolo è stato eliminato.")
    expect(heading).to_be_visible()
    for width, height in PROJECTORS:
        resize(projector, width, height)
        projector.screenshot(path=str(shots / f"tour-projector-deleted-{width}.png"))
        size = heading.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= height / 25, (width, size)  # read from the back of the hall
    expect(phone.get_by_role("heading", name="Questo tavolo è stato eliminato.")).to_be_visible()
    phone.screenshot(path=str(shots / "tour-phone-deleted.png"))
    for page in (projector, phone, desk):
        page.context.close()
