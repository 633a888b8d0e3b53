"""The coordinator's downloads page in Debian's chromium: accessible, CSP-clean, and a slow
format is fetched with a progress message and saved under the server's file name."""

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ADMIN_TOKEN
from tests.browser.test_live_table import assert_accessible
from tests.server import running_server

pytestmark = pytest.mark.browser


NAMED = (
    ("Maria Giovanna Esposito De Santis", "Cooperativa Sociale Il Girasole Onlus"),
    ("Pasquale D'Amato", "Comune di Mercato San Severino – Ufficio di Piano"),
    ("Rosaria Capuano", "Associazione Genitori Insieme per l'Autonomia"),
)


def _event_with_votes(base: str, *, closed: bool = False) -> tuple[int, str, str]:
    """An event with one table of three voters; `closed`: the table is closed, and its
    voters gave their names and organisations for the minutes."""
    with httpx.Client(base_url=base) as http:
        event = http.post(
            "/api/events",
            json={"title": "Stati Generali 2024", "date": "2024-11-09", "place": "Fisciano"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()
        moderator = {"Authorization": f"Bearer {event['moderator_token']}"}
        table = http.post(
            f"/api/events/{event['id']}/tables",
            json={"title": "Disabilità e progetti di vita"},
            headers=moderator,
        ).json()
        code = table["code"]
        http.put(f"/api/tables/{code}/phase", json={"phase": "collect"}, headers=moderator)
        people = [
            http.post(
                f"/api/tables/{code}/participants",
                json={"category": "Ente del Terzo Settore"}
                | (
                    {"name": name, "organisation": organisation, "named_in_minutes": True}
                    if closed
                    else {}
                ),
            ).json()["token"]
            for name, organisation in NAMED
        ]
        post = http.post(
            f"/api/tables/{code}/proposals",
            json={"title": "Trasporto sociale a chiamata"},
            headers={"Authorization": f"Bearer {people[0]}"},
        ).json()
        http.put(f"/api/tables/{code}/phase", json={"phase": "voting"}, headers=moderator)
        for token in people:
            http.put(
                f"/api/proposals/{post['id']}/vote",
                json={"dots": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
        if closed:
            http.put(f"/api/tables/{code}/phase", json={"phase": "closed"}, headers=moderator)
        link = http.post(f"/api/events/{event['id']}/coordinator-link", headers=moderator)
        return event["id"], code, link.json()["url"]


def test_the_coordinator_downloads_the_minutes(
    browser: Browser,
    live_server: str,
    screenshots: Path,
) -> None:
    _event_id, code, url = _event_with_votes(live_server)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    expect(page.get_by_role("heading", name="L'intero evento")).to_be_visible()
    assert_accessible(page, "downloads page")
    page.screenshot(path=str(screenshots / "reports-downloads.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a coordinator on a phone
    page.screenshot(path=str(screenshots / "reports-downloads-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})

    with page.expect_download() as download:
        page.get_by_role("link", name="PDF · Stati Generali 2024").click()
    expect(page.locator("#download-status")).to_contain_text("Il file è pronto")
    assert re.fullmatch(  # the table is still running: a draft, totals only
        r"stati-generali-2024_sintesi_2024-11-09_bozza\.pdf", download.value.suggested_filename
    )
    saved = download.value.path()
    assert saved is not None and Path(saved).read_bytes().startswith(b"%PDF")

    report = context.new_page()
    report.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    report.goto(f"{url}/tables/{code}/report.html")
    expect(report.get_by_role("heading", name="Disabilità e progetti di vita")).to_be_visible()
    assert report.locator("svg.chart rect").count() == 1
    report.screenshot(path=str(screenshots / "reports-table-html.png"), full_page=True)
    assert errors == []  # no CSP violation, no failed script
    context.close()


def test_the_final_minutes_read_on_a_phone_without_swiping_sideways(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    """The register's names and the lines to sign wrap on a 390 px screen."""
    _event_id, code, url = _event_with_votes(live_server, closed=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{url}/tables/{code}/report.html")
    register = page.locator("table.register").first
    expect(register).to_contain_text(NAMED[0][0])
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 391)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 8)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    box = register.locator("xpath=..")  # its scrolling wrapper: nothing to swipe either
    assert box.evaluate("e => e.scrollWidth <= e.clientWidth")
    register.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "reports-register-phone.png"))
    page.context.close()


def test_a_pdf_being_prepared_shows_its_progress_then_downloads(
    browser: Browser, tmp_path: Path, screenshots: Path
) -> None:
    """A server that answers every slow file with 202 at once (TAVOLI_REPORT_WAIT=0): the
    page says the file is being prepared, polls where the server said, then saves it; and
    without the page's script, the 202 page itself says so and reloads until the file."""
    with running_server(
        f"sqlite:///{tmp_path}/tavoli.db",
        tmp_path / "server.log",
        TAVOLI_ADMIN_TOKEN=ADMIN_TOKEN,
        TAVOLI_SECRET_KEY="browser-secret-key",
        TAVOLI_RATE_LIMITS="false",
        TAVOLI_REPORT_WAIT="0",
    ) as base:
        _event_id, _code, url = _event_with_votes(base, closed=True)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(url)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("link", name="PDF · Stati Generali 2024").click()
            expect(page.locator("#download-status")).to_contain_text("Preparazione del file")
        expect(page.locator("#download-status")).to_contain_text("Il file è pronto")
        saved = download.value.path()
        assert saved is not None and Path(saved).read_bytes().startswith(b"%PDF")
        assert download.value.suggested_filename.endswith(".pdf")

        plain = context.new_page()  # a reader who opens the link itself
        with plain.expect_download(timeout=60_000) as by_itself:
            plain.goto(f"{url}/report.pdf?lang=en")
            expect(plain.locator("p.status")).to_contain_text("being prepared")
            plain.screenshot(path=str(screenshots / "reports-preparing.png"))
        assert by_itself.value.suggested_filename.endswith(".pdf")  # the page reloaded to it
        assert errors == []
        context.close()
