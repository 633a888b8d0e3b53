""" "Lo schermo sul mio telefono" (issue 20): a participant who cannot see the projector opens
its text mirror from the phone page. Its live regions say, in order and at their politeness,
a new post (polite), a phase change (assertive), the timer at a whole minute and at its end
(polite, nothing in between), the spotlight and the results once revealed (polite), without
moving the focus; tallies follow the projector's rule; axe finds nothing; at 320 px and with
the text at 200 % nothing is cut and nothing scrolls sideways.

No screen reader runs here (headless Chromium, no NVDA, JAWS, VoiceOver or Orca): what a
reader would say is read from the accessibility tree and the live regions' changes."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.content import WALL
from tests.browser.test_live_table import RUNNERS, assert_accessible, create_table, run

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# Installed by the test before the page loads: every change of a live region's words, in
# order, with the region's id and politeness (a region said again with the same words is a
# new entry only when its words changed in between).
RECORDER = """
window.__said = [];
const last = new Map();
let loaded = false;  // the page as first parsed is read, not announced
const record = (node) => {
  if (!loaded) return;
  const el = node && (node.nodeType === 1 ? node : node.parentElement);
  const region = el && el.closest('[aria-live]');
  if (!region || region.getAttribute('aria-live') === 'off') return;
  const text = region.textContent.replace(/\\s+/g, ' ').trim();
  if (last.get(region) === text) return;
  last.set(region, text);
  if (text) window.__said.push([region.id, region.getAttribute('aria-live'), text]);
};
new MutationObserver((mutations) => {
  for (const m of mutations) record(m.target);
}).observe(document, { subtree: true, childList: true, characterData: true });
document.addEventListener('DOMContentLoaded', () => {
  loaded = true;
  for (const region of document.querySelectorAll('[aria-live]')) {
    last.set(region, region.textContent.replace(/\\s+/g, ' ').trim());
  }
});
"""

NO_SIDEWAYS = """() => {
  const root = document.documentElement;
  const cut = [...document.querySelectorAll('#main *')].filter(e => {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    if (e.closest('.visually-hidden')) return false;
    return r.right > root.clientWidth + 1 || r.left < -1
      || (getComputedStyle(e).overflow !== 'visible' && e.scrollWidth > e.clientWidth + 1);
  }).map(e => e.tagName + '.' + e.className + ' ' + e.textContent.trim().slice(0, 40));
  return { wide: root.scrollWidth > root.clientWidth, cut };
}"""


def said(page: Page) -> list[tuple[str, str, str]]:
    result: list[list[str]] = page.evaluate("window.__said")
    return [(region, live, text) for region, live, text in result if region != "connection"]


def join(browser: Browser, base: str, code: str, width: int = 320) -> Page:
    context = browser.new_context(
        viewport={"width": width, "height": 640},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="it-IT",
    )
    context.add_init_script(RECORDER)
    page = context.new_page()
    page.goto(f"{base}/t/{code}")
    page.get_by_role("button", name="Entra al tavolo").click()
    expect(page.locator("#status .status-phase")).to_be_visible()
    return page


def post(api: httpx.Client, code: str, token: str, index: int) -> int:
    kind, title, body = WALL[index]
    response = api.post(
        f"/api/tables/{code}/proposals",
        json={"kind": kind, "title": title, "body": body},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def moderate(api: httpx.Client, code: str, method: str, path: str, body: Any = None) -> None:
    response = api.request(
        method,
        f"/api/tables/{code}{path}",
        json=body,
        headers={"Authorization": f"Bearer {RUNNERS[code]}"},
    )
    assert response.status_code in (200, 201), response.text


def check_narrow(page: Page, shots: Path, name: str) -> None:
    """At 320 px, then with the text at 200 % (the root's size doubled, as a browser's text
    size setting does): photographed, nothing sideways, nothing cut."""
    for zoom in ("100%", "200%"):
        page.evaluate("(z) => { document.documentElement.style.fontSize = z; }", zoom)
        page.wait_for_timeout(100)
        page.screenshot(path=str(shots / f"mirror-{name}-320-text{zoom[:-1]}.png"), full_page=True)
        found = page.evaluate(NO_SIDEWAYS)
        assert not found["wide"] and found["cut"] == [], (name, zoom, found)
    page.evaluate("() => { document.documentElement.style.fontSize = ''; }")


def test_the_mirror_says_what_the_screen_shows_in_order(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    api = httpx.Client(base_url=live_server)
    people = [
        api.post(f"/api/tables/{code}/participants", json={}).json()["token"] for _ in range(4)
    ]
    ids = [post(api, code, people[i % 4], i) for i in range(6)]
    phone = join(browser, live_server, code)
    phone.get_by_role("link", name="Lo schermo sul mio telefono").click()
    expect(phone.locator("h1")).to_have_text("Disabilità e progetti di vita")
    mirror = phone
    expect(mirror.locator("#mirror-phase")).to_have_text("Fase: Raccolta")
    expect(mirror.locator(".mirror-list li")).to_have_count(6)
    mirror.wait_for_timeout(500)  # the socket's snapshot: the same words, nothing said
    assert said(mirror) == []

    # What a screen reader finds, in reading order: the way back, the table, the phase,
    # what the screen shows now, the wall by kind with each post's kind and number.
    tree = mirror.locator("body").aria_snapshot()
    order = [
        'link "← Torna al tavolo"',
        'heading "Disabilità e progetti di vita" [level=1]',
        'text: "Fase:"',
        "strong: Raccolta",
        'heading "Ora sullo schermo" [level=2]',
        "La bacheca dei contributi.",
        'heading "Bacheca (6)" [level=2]',
        'heading "Bisogni" [level=3]',
        "Bisogno n. 4 Più posti nei gruppi appartamento",
    ]
    positions = [tree.find(item) for item in order]
    assert all(p >= 0 for p in positions), (tree, positions)
    assert positions == sorted(positions), tree
    check_narrow(mirror, screenshots, "wall")

    # The person is reading the wall: the focus stays where it is through every push.
    back = mirror.get_by_role("link", name="← Torna al tavolo")
    back.focus()

    # A new post: polite.
    ids.append(post(api, code, people[0], 6))
    expect(mirror.locator("#mirror-news")).to_contain_text("Nuovo sulla bacheca")
    # A phase change: assertive.
    run(live_server, code, "phase", {"phase": "voting"})
    expect(mirror.locator("#mirror-phase")).to_have_text("Fase: Votazione")
    for index, token in enumerate(people):
        for pid in ids[: 2 + index]:
            api.put(
                f"/api/proposals/{pid}/vote",
                json={"dots": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
    # The timer: said at the whole minute, silent in between, then stopped (not said).
    moderate(api, code, "PUT", "/timer", {"seconds": 62})
    expect(mirror.locator("#mirror-timer-said")).to_have_text("Resta 1 minuto", timeout=6_000)
    mirror.wait_for_timeout(1_500)
    moderate(api, code, "DELETE", "/timer")
    expect(mirror.locator(".mirror-timer")).to_have_count(0)
    # A short one runs out: "time is up", once.
    moderate(api, code, "PUT", "/timer", {"seconds": 3})
    expect(mirror.locator(".mirror-timer")).to_have_count(1)
    expect(mirror.locator("#mirror-timer-said")).to_have_text("Tempo scaduto", timeout=8_000)
    expect(mirror.locator(".mirror-timer")).to_have_count(0, timeout=5_000)
    # The spotlight: polite, with the post whole below it.
    run(live_server, code, "screen", {"mode": "spotlight", "spotlight_id": ids[1]})
    expect(mirror.locator("#mirror-now")).to_contain_text("In evidenza")
    expect(mirror.locator(".mirror-spotlight h3")).to_have_text(WALL[1][1])

    # The results, hidden by the moderator: neither the projector nor the mirror counts.
    screen = browser.new_context(viewport={"width": 1280, "height": 720}, locale="it-IT")
    projector = screen.new_page()
    moderate(api, code, "PATCH", "/settings", {"results_hidden": True})
    run(live_server, code, "screen", {"mode": "results"})
    projector.goto(f"{live_server}/t/{code}/screen")
    expect(projector.locator(".results-hidden")).to_be_visible()
    expect(mirror.locator("#mirror-now")).to_have_text(
        "I risultati, nascosti fino alla fine del voto."
    )
    assert mirror.locator(".mirror-tally").count() == 0
    check_narrow(mirror, screenshots, "results-hidden")
    # Revealed: both count, the leader is said.
    moderate(api, code, "PATCH", "/settings", {"results_hidden": False})
    expect(projector.locator(".result")).to_have_count(7)
    expect(mirror.locator(".mirror-results li")).to_have_count(7)
    # Two posts share the first place (four supports each): both are said, as tied.
    leaders = projector.locator(".result-top .result[data-rank='1'] .result-title")
    expect(leaders).to_have_text([WALL[0][1], WALL[1][1]])
    first = f"n. 1, «{WALL[0][1]}»; n. 2, «{WALL[1][1]}»"
    expect(mirror.locator("#mirror-now")).to_have_text(
        f"I risultati. Al primo posto, a pari merito: {first}."
    )
    assert mirror.locator(".mirror-results .mirror-tally").count() == 7
    screen.close()

    # Every announcement, in order, each once and at its politeness; no other timer words.
    new_title = WALL[6][1]
    assert said(mirror) == [
        ("mirror-news", "polite", f"Nuovo sulla bacheca: Risorsa n. 7, «{new_title}»."),
        ("mirror-phase", "assertive", "Fase: Votazione"),
        ("mirror-timer-said", "polite", "Resta 1 minuto"),
        ("mirror-timer-said", "polite", "Tempo scaduto"),
        ("mirror-now", "polite", f"In evidenza: Proposta n. 2, «{WALL[1][1]}»."),
        ("mirror-now", "polite", "I risultati, nascosti fino alla fine del voto."),
        ("mirror-now", "polite", f"I risultati. Al primo posto, a pari merito: {first}."),
    ], said(mirror)
    # Nothing took the focus away.
    assert mirror.evaluate("document.activeElement.textContent.trim()") == "← Torna al tavolo"
    check_narrow(mirror, screenshots, "results")
    assert_accessible(mirror, "the screen on my phone, results")
    last_said = len(said(mirror))
    run(live_server, code, "screen", {"mode": "spotlight", "spotlight_id": ids[1]})
    expect(mirror.locator(".mirror-spotlight")).to_be_visible()
    check_narrow(mirror, screenshots, "spotlight")
    assert_accessible(mirror, "the screen on my phone, spotlight")
    # With the queue on, a post is said when the moderator puts it on the wall, not before.
    moderate(api, code, "PATCH", "/settings", {"premoderation": True})
    run(live_server, code, "phase", {"phase": "collect"})
    waiting = post(api, code, people[2], 7)
    mirror.wait_for_timeout(800)
    assert said(mirror)[-1][0] == "mirror-phase"
    moderate(api, code, "POST", f"/proposals/{waiting}/accept")
    expect(mirror.locator("#mirror-news")).to_have_text(
        f"Nuovo sulla bacheca: Bisogno n. 8, «{WALL[7][1]}»."
    )
    assert said(mirror)[last_said:] == [
        ("mirror-now", "polite", f"In evidenza: Proposta n. 2, «{WALL[1][1]}»."),
        ("mirror-phase", "assertive", "Fase: Raccolta"),
        ("mirror-news", "polite", f"Nuovo sulla bacheca: Bisogno n. 8, «{WALL[7][1]}»."),
    ]
    api.close()


def test_the_mirror_is_a_joined_phones_page(browser: Browser, live_server: str) -> None:
    code = create_table(live_server, {"mode": "approval"})
    stranger = browser.new_context(locale="it-IT").new_page()
    stranger.goto(f"{live_server}/t/{code}/mirror")
    # Not joined: sent to join the table first.
    expect(stranger.get_by_role("button", name="Entra al tavolo")).to_be_visible()
    assert stranger.url.endswith(f"/t/{code}")
