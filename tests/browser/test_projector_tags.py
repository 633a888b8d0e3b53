"""The projector's wall grouped by tag, at 1920×1080 and 1280×720 with forty posts: titles as
large as the ungrouped wall's, the untagged posts in a group of their own and on the screen,
and each card's kind said in words with its number, not by colour only."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.content import WALL
from tests.browser.test_live_table import RUNNERS, assert_accessible, create_table, run
from tests.browser.test_projector import SIZES, cut, outside, resize

pytestmark = pytest.mark.browser

TAGS = ("Trasporti", "Abitare", "Lavoro", "Famiglie", "Servizi")

# The cards of the page shown (the others wait on their pages, tests/browser/test_wall_pages).
TITLE_SIZES = """() => Array.from(
  document.querySelectorAll('.wall-screen .card:not([hidden]) .card-title'),
  t => parseFloat(getComputedStyle(t).fontSize))"""

# What a card says of its kind, as someone reading the screen sees it (not clipped away).
KIND_WORDS = """() => Array.from(
  document.querySelectorAll('.wall-screen .card:not([hidden])'), card => {
  const kind = card.querySelector('.card-kind');
  const r = kind.getBoundingClientRect();
  const shown = r.width > 4 && r.height > 4 && getComputedStyle(kind).visibility !== 'hidden';
  return shown ? kind.innerText.trim() : '';
})"""


def sizes(page: Page) -> list[float]:
    result: list[float] = page.evaluate(TITLE_SIZES)
    return sorted(result)


def moderate(api: httpx.Client, code: str, method: str, path: str, body: Any = None) -> Any:
    response = api.request(
        method,
        f"/api/tables/{code}{path}",
        json=body,
        headers={"Authorization": f"Bearer {RUNNERS[code]}"},
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_a_wall_grouped_by_tag_stays_readable_and_whole(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    with httpx.Client(base_url=live_server) as api:
        people = [
            api.post(f"/api/tables/{code}/participants", json={}).json()["token"] for _ in range(8)
        ]
        ids = []
        for index, (kind, title, body) in enumerate(WALL):
            answer = api.post(
                f"/api/tables/{code}/proposals",
                json={"kind": kind, "title": title, "body": body},
                headers={"Authorization": f"Bearer {people[index % 8]}"},
            )
            assert answer.status_code == 201, answer.text
            ids.append(int(answer.json()["id"]))
        # Uneven groups, as a real table tags them; the last seven stay untagged.
        tags = [moderate(api, code, "POST", "/tags", {"name": name})["id"] for name in TAGS]
        spans = [(0, 11), (11, 18), (18, 24), (24, 30), (30, 33)]
        for tag_id, (start, end) in zip(tags, spans, strict=True):
            moderate(
                api, code, "POST", f"/tags/{tag_id}/proposals", {"proposal_ids": ids[start:end]}
            )
        run(live_server, code, "phase", {"phase": "voting"})

        page = browser.new_context(
            viewport={"width": 1920, "height": 1080}, locale="it-IT"
        ).new_page()
        page.goto(f"{live_server}/t/{code}/screen")
        expect(page.locator(".wall-screen .card")).to_have_count(40)
        flat: dict[int, list[float]] = {}
        for width, height in SIZES:
            resize(page, width, height)
            flat[width] = sizes(page)
            page.screenshot(path=str(screenshots / f"projector-wall-flat-40-{width}.png"))

        moderate(api, code, "PATCH", "/settings", {"group_by_tag": True})
        expect(page.locator(".wall-screen.by-tag")).to_be_visible()
        expect(page.locator(".wall-screen .card")).to_have_count(40)
        untagged = page.locator(".group-untagged")
        expect(untagged.locator(".group-title")).to_have_text("Senza etichetta")
        expect(untagged.locator(".card")).to_have_count(7)
        for width, height in SIZES:
            resize(page, width, height)
            page.screenshot(path=str(screenshots / f"projector-wall-by-tag-40-{width}.png"))
            assert outside(page, ".wall-screen .card, .wall-screen .group-title") == [], width
            assert cut(page, ".wall-screen .card-title") == [], width
            grouped = sizes(page)
            # Every title at least as large as the wall grouped by kind's smallest, and never
            # under the minimum for the back of the hall (28 px at 1080 lines).
            assert grouped[0] >= flat[width][0] - 0.5, (width, grouped[0], flat[width][0])
            assert grouped[0] >= 28 * height / 1080 - 0.05, (width, grouped[0])
            kinds = [k.lower() for k in page.evaluate(KIND_WORDS)]
            assert all(k.startswith(("bisogno", "proposta", "risorsa")) for k in kinds), kinds
            assert all(re.search(r"n\. \d+$", k) for k in kinds), kinds
        assert_accessible(page, "the wall grouped by tag")


def test_a_short_wall_has_titles_for_the_back_of_the_hall(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    with httpx.Client(base_url=live_server) as api:
        people = [
            api.post(f"/api/tables/{code}/participants", json={}).json()["token"] for _ in range(3)
        ]
        ids = []
        for index, (kind, title, body) in enumerate(WALL[:6]):
            answer = api.post(
                f"/api/tables/{code}/proposals",
                json={"kind": kind, "title": title, "body": body},
                headers={"Authorization": f"Bearer {people[index % 3]}"},
            )
            assert answer.status_code == 201, answer.text
            ids.append(int(answer.json()["id"]))
        tag = moderate(api, code, "POST", "/tags", {"name": "Trasporti"})["id"]
        moderate(api, code, "POST", f"/tags/{tag}/proposals", {"proposal_ids": ids[:3]})
        page = browser.new_context(
            viewport={"width": 1920, "height": 1080}, locale="it-IT"
        ).new_page()
        page.goto(f"{live_server}/t/{code}/screen")
        expect(page.locator(".wall-screen .card")).to_have_count(6)
        assert min(sizes(page)) >= 28, sizes(page)
        moderate(api, code, "PATCH", "/settings", {"group_by_tag": True})
        expect(page.locator(".wall-screen.by-tag .group-untagged .card")).to_have_count(3)
        page.wait_for_timeout(300)
        assert min(sizes(page)) >= 28, sizes(page)
        assert outside(page, ".wall-screen .card") == []
        page.screenshot(path=str(screenshots / "projector-wall-by-tag-6-1920.png"))
