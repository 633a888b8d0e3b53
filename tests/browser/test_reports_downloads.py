"""The coordinator's downloads page in Debian's chromium: accessible, CSP-clean, and a slow
format is fetched with a progress message and saved under the server's file name."""

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ADMIN_TOKEN
from tests.browser.test_live_table import assert_accessible

pytestmark = pytest.mark.browser


def _event_with_votes(base: str) -> tuple[int, str, str]:
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
                f"/api/tables/{code}/participants", json={"category": "Ente del Terzo Settore"}
            ).json()["token"]
            for _ in range(3)
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
