"""The projector's wall never hides a post (issue 20): with 12, 40, 80 and 150 posts, at
1920×1080 and 1280×720, grouped by kind and by tag, every post is on some page, no title is
under 28 px at 1080 lines (18.7 px at 720) in font size or in drawn height, and nothing is
cut. The pages turn by themselves at the moderator's pace, or by hand from the console."""

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_console import console
from tests.browser.test_live_table import RUNNERS, assert_accessible, create_table, run
from tests.browser.test_projector import POSTS, SIZES, resize

pytestmark = pytest.mark.browser

# Seventy more posts after test_projector's eighty: the same needs and ideas as they come
# back from other municipalities of the Ambito (a big table repeats itself).
COMUNI = ("Baronissi", "Pellezzano", "Fisciano", "Mercato San Severino", "Calvanico")
AGAIN = [
    (kind, f"{title} — anche a {COMUNI[index % len(COMUNI)]}", "")
    for index, (kind, title, _body) in enumerate(POSTS)
    if len(title) + len(" — anche a Mercato San Severino") <= 140
]
WALL_POSTS = POSTS + AGAIN[:70]
assert len(WALL_POSTS) == 150 and max(len(t) for _, t, _ in WALL_POSTS) <= 140

# One page as the screen shows it, read at one instant: the pager, each card shown (its
# number, its title's computed size and drawn height, whether it is inside the wall and
# its column, whether its text is clipped, whether its tally is drawn over its words) and
# the group titles shown.
PAGE = """() => {
  const wall = document.querySelector('.wall-screen');
  const box = wall.getBoundingClientRect();
  const style = getComputedStyle(wall);
  const columns = parseInt(style.columnCount, 10);
  const gap = parseFloat(style.columnGap);
  const column = (wall.clientWidth - gap * (columns - 1)) / columns;
  const pager = document.querySelector('.wall-pager');
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
    && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const words = node => { const r = document.createRange(); r.selectNodeContents(node);
    return [...r.getClientRects()]; };
  const cards = [...wall.querySelectorAll('.card')].filter(c => !c.hidden).map(c => {
    const r = c.getBoundingClientRect();
    const title = c.querySelector('.card-title');
    const t = title.getBoundingClientRect();
    const kind = c.querySelector('.card-kind');
    const tally = c.querySelector('.tally');
    const drawn = tally ? tally.getBoundingClientRect() : null;
    return {
      id: c.id,
      kind: kind.innerText.trim(),
      kindCut: kind.scrollWidth > kind.clientWidth + 1,
      size: parseFloat(getComputedStyle(title).fontSize),
      height: t.height,
      inside: r.top >= box.top - 1 && r.bottom <= box.bottom + 1 && r.left >= box.left - 1
        && r.right <= box.right + 1 && r.bottom <= innerHeight && r.right <= innerWidth,
      inColumn: r.width <= column + 1,
      cut: c.scrollHeight > c.clientHeight + 1 || c.scrollWidth > c.clientWidth + 1
        || title.scrollWidth > title.clientWidth + 1,
      clash: drawn !== null && [...words(title), ...words(kind)].some(w => hit(w, drawn)),
    };
  });
  const titles = [...wall.querySelectorAll('.group-title')].filter(t => !t.hidden
      && getComputedStyle(t).display !== 'none')
    .map(t => [t.textContent.trim(), t.classList.contains('continued'),
               getComputedStyle(t, '::after').content]);
  return {
    pager: pager.hidden ? '' : pager.querySelector('.wall-page-of').textContent,
    cards, titles,
    page: document.documentElement.scrollHeight <= innerHeight
      && document.documentElement.scrollWidth <= innerWidth,
  };
}"""


class WallTable:
    """A table whose wall grows in steps, supported unevenly (tallies on the cards)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.code = create_table(base, {"mode": "approval"})
        self.api = httpx.Client(base_url=base)
        self.people = [
            self.api.post(f"/api/tables/{self.code}/participants", json={}).json()["token"]
            for _ in range(30)
        ]
        self.ids: list[int] = []

    def moderate(self, method: str, path: str, body: Any = None) -> Any:
        response = self.api.request(
            method,
            f"/api/tables/{self.code}{path}",
            json=body,
            headers={"Authorization": f"Bearer {RUNNERS[self.code]}"},
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def fill(self, count: int, *, votes: bool = True) -> None:
        run(self.base, self.code, "phase", {"phase": "collect"})
        start = len(self.ids)
        for index in range(start, count):
            kind, title, body = WALL_POSTS[index]
            response = self.api.post(
                f"/api/tables/{self.code}/proposals",
                json={"kind": kind, "title": title, "body": body},
                headers={"Authorization": f"Bearer {self.people[index % len(self.people)]}"},
            )
            assert response.status_code == 201, response.text
            self.ids.append(int(response.json()["id"]))
        run(self.base, self.code, "phase", {"phase": "voting"})
        # Some posts supported, up to two-digit tallies.
        for index in range(start, count if votes else start, 3):
            for person in self.people[: (index * 7) % 13]:
                response = self.api.put(
                    f"/api/proposals/{self.ids[index]}/vote",
                    json={"dots": 1},
                    headers={"Authorization": f"Bearer {person}"},
                )
                assert response.status_code == 200, response.text

    def shown_on(self, page: Page) -> None:
        """Wait until the screen shows the table as it is now (every push drawn and fitted):
        the votes' pushes change the cards' heights, so the pages, after the posts' count."""
        seq = self.api.get(f"/api/tables/{self.code}").json()["seq"]
        expect(page.locator("#seq")).to_have_attribute("data-seq", str(seq))
        page.evaluate(NEXT_FRAME)  # tavoli.js fits the screen in the frame after a push

    def close(self) -> None:
        self.api.close()


NEXT_FRAME = "() => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve)))"


def read_page(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(PAGE)
    return result


def pages_of(page: Page) -> int:
    pager = read_page(page)["pager"]
    return int(pager.split("/")[1]) if pager else 1


def walk(
    page: Page, table: WallTable, count: int, shots: Path, name: str, height: int
) -> list[str]:
    """Every page, turned by hand from the moderator's API (the pace is paused): each one
    checked, the first and the last photographed. Answers the post ids seen."""
    minimum = 28 * height / 1080
    total = pages_of(page)
    seen: list[str] = []
    for index in range(total):
        shown = read_page(page)
        if total > 1:
            assert re.fullmatch(r"\d+/\d+", shown["pager"]), shown["pager"]
            assert shown["pager"].endswith(f"/{total}"), (name, shown["pager"])
        assert shown["page"], (name, "the page scrolls")
        assert shown["cards"], (name, index, "an empty page")
        for card in shown["cards"]:
            assert card["size"] >= minimum - 0.05, (name, card)
            assert card["height"] >= minimum - 0.05, (name, card)
            assert card["inside"] and card["inColumn"] and not card["cut"], (name, card)
            assert not card["kindCut"], (name, card)
            assert not card["clash"], (name, "the tally is drawn over the words", card)
            words = card["kind"].lower()
            assert words.startswith(("bisogno", "proposta", "risorsa")), card
            assert re.search(r"n\. \d+$", words), card
        # A group going on from the previous page says so in its title, shown once on top.
        for text, continued, after in shown["titles"]:
            assert text
            if continued:
                assert "segue" in after, (name, text, after)
        seen += [card["id"] for card in shown["cards"]]
        if index in (0, total - 1):
            page.screenshot(path=str(shots / f"wall-{name}-page{index + 1}.png"))
        if total > 1:
            # The push that carries the turn redraws the wall (its pager says "1/1" until
            # the screen has measured it again, before the next frame): wait for the page.
            table.moderate("POST", "/wall/turn", {"step": 1})
            expect(page.locator(".wall-page-of")).to_have_text(f"{(index + 1) % total + 1}/{total}")
    if total > 1:  # round the last page: back on the first
        expect(page.locator(".wall-page-of")).to_have_text(f"1/{total}")
    assert len(seen) == len(set(seen)), (name, "a post on two pages")
    return seen


def check_every_size(
    page: Page, table: WallTable, count: int, shots: Path, grouping: str
) -> dict[int, int]:
    expect(page.locator(".wall-screen .card")).to_have_count(count)
    table.shown_on(page)
    pages: dict[int, int] = {}
    for width, height in SIZES:
        if page.viewport_size != {"width": width, "height": height}:
            resize(page, width, height)
        name = f"{grouping}-{count}-{width}"
        seen = walk(page, table, count, shots, name, height)
        assert sorted(seen) == sorted(f"p-{pid}" for pid in table.ids), name
        pages[width] = pages_of(page)
    return pages


@pytest.mark.timeout(400)
def test_every_post_is_on_a_page_at_every_size(
    browser: Browser, live_server: str, screenshots: Path, request: pytest.FixtureRequest
) -> None:
    table = WallTable(live_server)
    request.addfinalizer(table.close)
    table.moderate("PUT", "/wall/pace", {"seconds": 0})  # the test turns the pages
    page = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="it-IT").new_page()
    page.goto(f"{live_server}/t/{table.code}/screen")
    counts: dict[int, dict[int, int]] = {}
    for count in (12, 40, 80, 150):
        table.fill(count)  # the pushes redraw the wall: no reload
        counts[count] = check_every_size(page, table, count, screenshots, "kind")
    # Twelve posts fit on one page, a hundred and fifty do not; both sizes page alike.
    assert counts[12] == {1920: 1, 1280: 1}, counts
    assert counts[150][1920] >= 3, counts
    assert counts[150][1920] == counts[150][1280], counts
    assert_accessible(page, "the wall in pages")

    # Grouped by tag: uneven groups, the last posts untagged; pages break between cards.
    names = ("Trasporti e accessibilità", "Abitare", "Lavoro", "Famiglie e caregiver")
    tags = [table.moderate("POST", "/tags", {"name": name})["id"] for name in names]
    spans = [(0, 50), (50, 70), (70, 110), (110, 130)]
    for tag_id, (start, end) in zip(tags, spans, strict=True):
        table.moderate("POST", f"/tags/{tag_id}/proposals", {"proposal_ids": table.ids[start:end]})
    table.moderate("PATCH", "/settings", {"group_by_tag": True})
    expect(page.locator(".wall-screen.by-tag")).to_have_count(1)
    check_every_size(page, table, 150, screenshots, "tag")
    # Some page starts inside a group: its title is there again, "continued".
    continued = page.evaluate(
        "() => [...document.querySelectorAll('.wall-screen .card')]"
        ".some((c, i, all) => i > 0 && c.dataset.page !== all[i - 1].dataset.page"
        " && c.closest('.group') === all[i - 1].closest('.group'))"
    )
    assert continued


@pytest.mark.timeout(240)
def test_the_pages_turn_at_the_moderators_pace(
    browser: Browser, live_server: str, screenshots: Path, request: pytest.FixtureRequest
) -> None:
    table = WallTable(live_server)
    request.addfinalizer(table.close)
    table.fill(150, votes=False)
    page = browser.new_context(viewport={"width": 1280, "height": 720}, locale="it-IT").new_page()
    page.goto(f"{live_server}/t/{table.code}/screen")
    pager = page.locator(".wall-page-of")
    expect(page.locator(".wall-pager")).to_be_visible()  # shown once the script has paged
    expect(pager).to_have_text(re.compile(r"^1/\d+$"))
    total = pages_of(page)
    # The table's default pace: a page every 12 s; 5 s when the moderator says so.
    table.moderate("PUT", "/wall/pace", {"seconds": 5})
    expect(pager).to_have_text(f"2/{total}", timeout=8_000)
    expect(pager).to_have_text(f"3/{total}", timeout=8_000)
    # Paused: the page stays, and says so; the moderator turns it back by hand.
    table.moderate("PUT", "/wall/pace", {"seconds": 0})
    expect(page.locator(".wall-paused")).to_have_text("in pausa")
    # The push draws the pager as the server knows it ("1/1", hidden); the screen's script
    # then counts the pages again: read the page once it has.
    expect(pager).to_have_text(re.compile(rf"^\d+/{total}$"))
    shown, paused_at = pager.inner_text(), time.monotonic()
    # Meanwhile the console opens, with the wall's pages among its controls (paused).
    desk = console(browser, live_server, table.code)
    expect(desk.get_by_label("Pagine", exact=True)).to_be_visible()
    assert_accessible(desk, "the console with the wall's pages")
    # Longer than a page at the last pace (5 s), and the page stays.
    page.wait_for_timeout(max(0.0, 6.0 - (time.monotonic() - paused_at)) * 1000)
    expect(pager).to_have_text(shown)
    table.moderate("POST", "/wall/turn", {"step": -1})
    expect(pager).to_have_text(f"{int(shown.split('/')[0]) - 1}/{total}")
    page.screenshot(path=str(screenshots / "wall-paused-1280.png"))
    # From the console: the page turned with the key a presenter's clicker sends, and the
    # pace chosen from its list.
    before = pager.inner_text()
    desk.keyboard.press("PageDown")
    expect(pager).to_have_text(f"{int(before.split('/')[0]) % total + 1}/{total}")
    desk.get_by_role("button", name="← Pagina indietro").click()
    expect(pager).to_have_text(before)
    desk.get_by_label("Pagine", exact=True).select_option("8")
    desk.get_by_role("button", name="Imposta").click()
    expect(page.locator(".wall-paused")).to_have_count(0)
    expect(page.locator(".screen-wall")).to_have_attribute("data-page-seconds", "8")
    desk.screenshot(path=str(screenshots / "wall-console-1366.png"))
    # The API refuses a pace out of range and a turn when the wall is not on the screen.
    response = table.api.put(
        f"/api/tables/{table.code}/wall/pace",
        json={"seconds": 2},
        headers={"Authorization": f"Bearer {RUNNERS[table.code]}"},
    )
    assert response.status_code == 422 and response.json()["field"] == "seconds"
    run(live_server, table.code, "screen", {"mode": "results"})
    response = table.api.post(
        f"/api/tables/{table.code}/wall/turn",
        json={"step": 1},
        headers={"Authorization": f"Bearer {RUNNERS[table.code]}"},
    )
    assert response.status_code == 409, response.text
