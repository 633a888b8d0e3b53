"""Dissent on a real phone (issue 18): "Non sono d'accordo" with a reason on a 390×844 screen,
the reason waiting for the moderator on the console (1366×768), accepted live, withdrawn from
the phone; the projector never shows any of it; axe finds nothing."""

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_console import console
from tests.browser.test_live_table import PROJECTOR, RUNNERS, assert_accessible
from tests.browser.test_phone import phone, table_with

pytestmark = pytest.mark.browser

REASON = (
    "Il sabato mattina molte famiglie delle frazioni non hanno chi le accompagni: "
    "senza un trasporto dedicato gli educatori resterebbero soli in sede."
)


@pytest.mark.timeout(300)  # axe over a forty-card wall, three times, on two shared cores
def test_a_phone_disagrees_the_console_checks_the_projector_never_shows(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code, ids = table_with(live_server, phase="collect", posts=40)
    with httpx.Client(base_url=live_server) as api:
        answer = api.patch(
            f"/api/tables/{code}/settings",
            json={"premoderation": True},
            headers={"Authorization": f"Bearer {RUNNERS[code]}"},
        )
        assert answer.status_code == 200, answer.text
        answer = api.put(
            f"/api/tables/{code}/phase",
            json={"phase": "voting"},
            headers={"Authorization": f"Bearer {RUNNERS[code]}"},
        )
        assert answer.status_code == 200, answer.text
    pid = ids[2]  # «La cooperativa Il Girasole mette a disposizione due educatori il sabato…»
    page = phone(browser, live_server, code)
    desk = console(browser, live_server, code)
    projector = browser.new_context(viewport=PROJECTOR, locale="it-IT").new_page()
    projector.goto(f"{live_server}/t/{code}/screen")

    card = page.locator(f"#p-{pid}")
    card.scroll_into_view_if_needed()
    card.get_by_text("Non sono d'accordo").click()
    reason = card.get_by_label("Perché? (facoltativo)")
    expect(reason).to_be_visible()
    reason.fill(REASON)
    expect(card.locator(".counter")).to_have_text(f"Caratteri rimasti: {280 - len(REASON)}")
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "phone-dissent-form.png"))
    assert_accessible(page, "phone, dissent form open")
    card.get_by_role("button", name="Registra il mio disaccordo").click()

    mine = page.locator("#my-dissent")
    expect(mine).to_be_visible()
    expect(mine).to_contain_text(REASON)
    expect(mine).to_contain_text("in attesa della moderazione")
    expect(card).to_have_class(re.compile(r"\bdissented\b"))
    expect(card.locator(".dissent-badge")).to_be_visible()
    expect(card.locator("details.dissent")).not_to_have_attribute("open", "")
    expect(reason).to_have_value("")  # sent: the form is fresh again
    # Supporting it too (a partial disagreement): the vote counts, the mark stays.
    card.get_by_role("button", name="Sostengo").click()
    expect(card.locator(".tally-count")).to_have_text("1")
    expect(card).to_have_class(re.compile(r"\bdissented\b"))
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "phone-dissent-marked.png"))
    mine.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "phone-dissent-own-list.png"))
    assert_accessible(page, "phone, dissent recorded")

    # The console: the count and the reason waiting, live, without a name.
    box = desk.locator(f"#dissent-console-{pid}")
    expect(box).to_contain_text("1 non è d'accordo")
    expect(box).to_contain_text("da verificare")
    expect(box).to_contain_text(REASON)
    box.scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "console-dissent-pending.png"))
    assert_accessible(desk, "console with a pending reason")
    box.get_by_role("button", name="accetta").click()
    expect(box.locator(".reason-accepted")).to_contain_text(REASON)
    expect(box).not_to_contain_text("da verificare")
    expect(mine).not_to_contain_text("in attesa della moderazione")  # the phone follows
    box.scroll_into_view_if_needed()
    desk.screenshot(path=str(screenshots / "console-dissent-accepted.png"))

    # The projector, on the wall and on the results: nothing of it, ever.
    for mode in ("wall", "results"):
        with httpx.Client(base_url=live_server) as api:
            api.put(
                f"/api/tables/{code}/screen",
                json={"mode": mode},
                headers={"Authorization": f"Bearer {RUNNERS[code]}"},
            )
        expect(projector.locator("#stage")).to_have_class(re.compile(rf"\bmode-{mode}\b"))
        text = projector.locator("body").inner_text()
        assert "accordo" not in text and "Il sabato mattina molte famiglie" not in text
        assert projector.locator(".dissent, .dissent-console, .dissent-badge").count() == 0
    projector.screenshot(path=str(screenshots / "projector-results-no-dissent.png"))

    # Withdrawn from the phone: the list, the mark and the console's count go.
    mine.get_by_role("button", name="Ritira il mio disaccordo").click()
    expect(mine).to_be_hidden()
    expect(card).not_to_have_class(re.compile(r"\bdissented\b"))
    expect(box).to_have_count(0)
    with httpx.Client(base_url=live_server) as api:
        table = api.get(f"/api/tables/{code}").json()
    tallies = {p["id"]: p["tally"] for p in table["proposals"]}
    assert tallies[pid] == 1 and sum(tallies.values()) == 1  # the vote, and only it
