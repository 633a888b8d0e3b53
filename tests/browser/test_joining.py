"""Closing the door from the console: the projector stops inviting people, and counts them."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.test_console import console, screen_mode
from tests.browser.test_console_typing import join
from tests.browser.test_live_table import PHONE, PROJECTOR, assert_accessible, create_table, phone

pytestmark = pytest.mark.browser

SWITCH = "Accetta nuovi partecipanti"


def figure_at(page: Page, label: str) -> Locator:
    """The number above a label of the projector's stats block."""
    return page.locator("#stats div", has=page.locator("dt", has_text=label)).locator("dd")


def figure(page: Page, label: str) -> str:
    return figure_at(page, label).inner_text()


def test_the_moderator_closes_joining_and_the_room_sees_it(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    code = create_table(live_server, {"mode": "approval"}, phase="preparation", screen="join")
    for _ in range(41):
        join(live_server, code)
    projector = browser.new_context(viewport=PROJECTOR).new_page()
    projector.goto(f"{live_server}/t/{code}/screen")
    expect(projector.locator("#stats")).to_contain_text("41")
    phone(browser, live_server, code)  # joins through the page and stays connected
    expect(projector.locator("#stats")).to_contain_text("42")  # live, no reload
    # Joined (the join's push) and connected (its socket's presence push) arrive apart.
    expect(figure_at(projector, "iscritti")).to_have_text("42")
    expect(figure_at(projector, "collegati")).to_have_text("1")
    expect(projector.locator(".qr-big")).to_be_visible()
    projector.screenshot(path=str(screenshots / "joining-projector-open.png"))

    desk = console(browser, live_server, code)
    switch = desk.get_by_role("switch", name=SWITCH)
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(desk.get_by_role("switch", name=SWITCH)).to_have_attribute("aria-checked", "false")
    desk.screenshot(path=str(screenshots / "joining-console-closed.png"))
    assert_accessible(desk, "console, joining closed")

    expect(projector.locator(".join-shut")).to_have_text("Accesso chiuso")
    expect(projector.locator(".qr-big")).to_have_count(0)
    expect(projector.locator(".join-code")).to_have_count(0)
    assert figure(projector, "iscritti") == "42"
    projector.screenshot(path=str(screenshots / "joining-projector-closed.png"))
    assert_accessible(projector, "projector, joining closed")

    latecomer = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    late = latecomer.new_page()
    late.goto(f"{live_server}/t/{code}")
    expect(late.get_by_role("heading", name="Accesso chiuso")).to_be_visible()
    expect(late.get_by_role("button", name="Entra al tavolo")).to_have_count(0)
    late.screenshot(path=str(screenshots / "joining-phone-closed.png"))

    screen_mode(desk, "Bacheca")  # nor does the corner of the other slides invite anyone
    expect(projector.locator(".stage")).to_have_class("stage mode-wall")
    expect(projector.locator(".stage-join")).to_have_count(0)
    projector.screenshot(path=str(screenshots / "joining-projector-wall-closed.png"))
    screen_mode(desk, "Entra")

    desk.get_by_role("switch", name=SWITCH).click()
    expect(desk.get_by_role("switch", name=SWITCH)).to_have_attribute("aria-checked", "true")
    expect(projector.locator(".qr-big")).to_be_visible()
