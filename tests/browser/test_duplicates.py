"""The console's likely duplicates (1366×768), in a real browser: forty posts of a welfare
table, paraphrases posted while the console is open appear beside their twin by the push,
"Non sono doppioni" drops a pair for good, and a merge from a suggestion folds the post."""

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.content import WALL
from tests.browser.test_console import console
from tests.browser.test_console_more import Api
from tests.browser.test_live_table import assert_accessible, create_table

pytestmark = pytest.mark.browser

# Written the way another participant would say the same thing as a post of the wall.
TWINS: list[tuple[str, str, str]] = [
    (
        "proposal",
        "Navetta dalle frazioni montane ai centri diurni, per chi non ha l'auto",
        "",
    ),
    (
        "proposal",
        "Gruppi di auto mutuo aiuto e supporto psicologico per i familiari che assistono",
        "Anche una sera al mese, con uno psicologo del consultorio.",
    ),
    ("proposal", "Più tirocini di inclusione nelle aziende, con un tutor che li segua", ""),
    (
        "proposal",
        "Pulmino con accompagnatore per portare alle superiori i ragazzi con disabilità",
        "",
    ),
    ("proposal", "Ricoveri di sollievo nei weekend e d'estate per le famiglie", ""),
    ("need", "Tempi della UVM troppo lunghi, le famiglie aspettano mesi", ""),
]


@pytest.mark.timeout(150)  # forty posts, two accessibility checks, on a shared machine
def test_likely_duplicates_on_the_console(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"})
    api = Api(live_server, code)
    people = [api.join() for _ in range(5)]
    wall = WALL[:34]
    for i, (kind, title, body) in enumerate(wall):
        api.post(people[i % 5][1], kind, title, body)
    desk = console(browser, live_server, code)
    region = desk.locator("#duplicates")

    # Paraphrases arrive while the console is open: each pair shows up by the push.
    for i, (kind, title, body) in enumerate(TWINS):
        started = time.monotonic()
        api.post(people[i % 5][1], kind, title, body)
        expect(region.locator(".duplicate-title", has_text=title).first).to_be_visible(timeout=3000)
        assert time.monotonic() - started < 2.0  # posted, pushed and drawn
    pairs = region.locator(".duplicate-pair")
    assert pairs.count() >= 5
    # Best first: the scores shown never rise down the list.
    scores = [
        int(s.rstrip("%").split()[-1]) for s in region.locator(".duplicate-score").all_inner_texts()
    ]
    assert scores == sorted(scores, reverse=True), scores

    region.scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "console-duplicates-1366.png"))
    assert_accessible(desk, "console with likely duplicates")

    # "Non sono doppioni": the pair goes, for good.
    first = pairs.first
    titles = first.locator(".duplicate-title").all_inner_texts()
    first.get_by_role("button", name="Non sono doppioni").click()
    expect(
        region.locator(".duplicate-pair").filter(has_text=titles[0]).filter(has_text=titles[1])
    ).to_have_count(0)

    # Merge from a suggestion, keeping the first wording: the second leaves the wall.
    pair = region.locator(".duplicate-pair").filter(has_text="Ricoveri di sollievo")
    kept, folded = pair.locator(".duplicate-title").all_inner_texts()
    pair.get_by_role("button", name="Unisci, tieni il primo").click()
    expect(desk.locator(".merge-list")).to_contain_text(folded[:40])
    expect(region.locator(".duplicate-title", has_text=folded)).to_have_count(0)
    expect(desk.locator(".mod-wall .card-title", has_text=kept).first).to_be_visible()
    region.scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "console-duplicates-after-merge-1366.png"))

    # The event's own words: the moderator's form under the console, saved with a note.
    glossary = desk.locator("#glossary-edit")
    glossary.locator("summary").click()
    desk.locator("#glossary").fill("PIS = pronto intervento sociale\nCdC = casa della comunità")
    glossary.get_by_role("button", name="Salva il glossario").click()
    expect(desk.locator("#flash")).to_contain_text("Glossario salvato.")
    expect(desk.locator("#glossary")).to_have_value(  # what was saved stays in view
        "PIS = pronto intervento sociale\nCdC = casa della comunità"
    )
    glossary.scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "console-duplicates-glossary-1366.png"))
    assert_accessible(desk, "console with the glossary form open")
