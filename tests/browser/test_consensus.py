"""The "Welfare in Azione" table end to end: thirty people from a dozen organisations in three
categories, one cooperative bringing eight. The moderator chooses "one organisation, one
voice" before voting, closes, reveals the bridging ranking on the projector (1920×1080 and
1280×720) and on a phone (390 px), photographed and checked with axe; the minutes in every
format show both rankings, the rule and the support in each group."""

import html
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_TOKEN
from tests.browser.test_live_table import RUNNERS, assert_accessible, phone, run

pytestmark = pytest.mark.browser

COMUNE, ETS, CITTADINO = "Comune / ente pubblico", "Ente del Terzo Settore", "Cittadino/a"
FARO = "Cooperativa Sociale Il Faro"  # the one that brings eight

# (organisation as typed, category, people): 12 organisations, 30 people.
PEOPLE: list[tuple[str, str, int]] = [
    (FARO, ETS, 8),
    ("Comune di Baronissi", COMUNE, 2),
    ("Comune di Fisciano", COMUNE, 2),
    ("Comune di Mercato San Severino", COMUNE, 2),
    ("Comune di Pellezzano", COMUNE, 2),
    ("Comune di Calvanico", COMUNE, 2),
    ("APS «Il Ponte» Onlus", ETS, 2),
    ("Caritas diocesana di Salerno", ETS, 2),
    ("Associazione Genitori Insieme", ETS, 2),
    ("Comitato di quartiere Sant'Eustachio", CITTADINO, 2),
    ("Banca del tempo della Valle dell'Irno", CITTADINO, 2),
    ("Gruppo di cittadini per la mobilità dolce", CITTADINO, 2),
]
assert sum(n for _o, _c, n in PEOPLE) == 30

TITLES = [
    "Un nuovo centro diurno gestito dalla cooperativa per i ragazzi con disabilità grave",
    "Trasporto sociale a chiamata per anziani e persone con disabilità nelle frazioni",
    "Sportello unico d'Ambito per il progetto di vita, aperto anche il sabato mattina",
    "Caffè sociale per i caregiver familiari, una sera al mese in ogni Comune",
    "Mappa online e in lingua facile di tutti i servizi sociali dell'Ambito",
    "Educativa di strada nei quartieri dove mancano spazi per i giovani",
]


def _ballot(organisation: str, category: str, index: int) -> list[int]:
    """Which proposals one person approves. The Third Sector votes as a block for the
    cooperative's centre (Il Faro's eight among them): first by votes, with no Comune and
    no citizen behind it. The sportello finds support in every category: first across
    categories (docs/consensus.md's rule; the figures are worked out in the assertions)."""
    if category == ETS:
        if organisation == FARO:
            return [0, 3] if index % 2 else [0]
        return [0, 2] if index % 2 else [0]
    if category == COMUNE:
        return [1, 2] if index % 2 else [1, 4]
    return [2, 5] if index % 2 else [4, 5]


def _reports_text(base: str, code: str, token: str) -> dict[str, str]:
    """Every format of the minutes, as text."""
    out: dict[str, str] = {}
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=120) as api:
        for fmt in ("html", "md", "csv", "json", "pdf", "docx", "xlsx"):
            response = api.get(f"/api/tables/{code}/report.{fmt}", headers=auth)
            assert response.status_code == 200, (fmt, response.text[:200])
            body = response.content
            if fmt == "pdf":
                out[fmt] = subprocess.run(
                    ["pdftotext", "-layout", "-", "-"], input=body, capture_output=True, check=True
                ).stdout.decode()
            elif fmt == "docx":
                doc = Document(io.BytesIO(body))
                cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
                out[fmt] = "\n".join([p.text for p in doc.paragraphs] + cells)
            elif fmt == "xlsx":
                book = load_workbook(io.BytesIO(body))
                out[fmt] = "\n".join(
                    str(v)
                    for ws in book.worksheets
                    for row in ws.iter_rows(values_only=True)
                    for v in row
                    if v is not None
                )
            else:
                out[fmt] = body.decode("utf-8-sig")
    return out


@pytest.fixture(scope="module")
def welfare(live_server: str) -> dict[str, Any]:
    with httpx.Client(base_url=live_server) as api:
        event = api.post(
            "/api/events",
            json={
                "title": "Welfare in Azione — Assemblea della rete",
                "date": "2026-12-05",
                "place": "Salerno, Sala del Gonfalone",
                "organiser": "Ufficio di Piano dell'Ambito S6",
            },
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert event.status_code == 201, event.text
        event = event.json()
        auth = {"Authorization": f"Bearer {event['moderator_token']}"}
        code = api.post(
            f"/api/events/{event['id']}/tables",
            json={
                "title": "Priorità della rete per il Piano di Zona 2025-2027",
                "question": (
                    "Quali azioni la rete sostiene insieme, Comuni, Terzo Settore e cittadini?"
                ),
                "voting": {"mode": "approval"},
            },
            headers=auth,
        ).json()["code"]
        RUNNERS[code] = event["moderator_token"]
        run(live_server, code, "phase", {"phase": "collect"})
        # The rule, chosen before voting opens (409 after).
        chosen = api.patch(
            f"/api/tables/{code}",
            json={"voting": {"mode": "approval", "weighting": "organisation"}},
            headers=auth,
        )
        assert chosen.status_code == 200 and chosen.json()["voting"]["weighting"] == "organisation"
        people: list[tuple[str, str, str]] = []
        for organisation, category, count in PEOPLE:
            for n in range(count):
                typed = organisation.upper() if n == 1 else organisation  # typed two ways
                token = api.post(
                    f"/api/tables/{code}/participants",
                    json={"organisation": typed, "category": category},
                ).json()["token"]
                people.append((token, organisation, category))
        ids = [
            api.post(
                f"/api/tables/{code}/proposals",
                json={"kind": "proposal", "title": title},
                headers={"Authorization": f"Bearer {people[i * 4][0]}"},
            ).json()["id"]
            for i, title in enumerate(TITLES)
        ]
        run(live_server, code, "phase", {"phase": "voting"})
        late = api.patch(
            f"/api/tables/{code}",
            json={"voting": {"mode": "approval", "weighting": "person"}},
            headers=auth,
        )
        assert late.status_code == 409
        for index, (token, organisation, category) in enumerate(people):
            for pick in _ballot(organisation, category, index):
                voted = api.put(
                    f"/api/proposals/{ids[pick]}/vote",
                    json={"dots": 1},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert voted.status_code == 200, voted.text
    return {"code": code, "ids": ids, "token": event["moderator_token"]}


def _projector(browser: Browser, base: str, code: str) -> Page:
    page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    page.goto(f"{base}/t/{code}/screen")
    return page


def test_welfare_in_azione_end_to_end(
    browser: Browser, live_server: str, screenshots: Path, welfare: dict[str, Any]
) -> None:
    code = welfare["code"]
    mobile = phone(browser, live_server, code)  # joined before the close, as in the hall
    run(live_server, code, "screen", {"mode": "results"})
    run(live_server, code, "ranking", {"ranking": "bridging"})
    screen = _projector(browser, live_server, code)
    # While voting: totals only, no group anywhere.
    expect(screen.locator(".result-top .result")).to_have_count(5)
    assert screen.locator(".group-support").count() == 0
    run(live_server, code, "phase", {"phase": "closed"})
    expect(screen.locator(".results-ranking")).to_contain_text("per consenso trasversale")
    first = screen.locator(".result-top .result").first
    # Il Faro's block vote makes its centre first by votes; across categories it is not.
    expect(first).to_contain_text("Sportello unico d'Ambito")
    expect(screen.locator(".result-top .result").first.locator(".group-support")).to_have_count(3)
    for width, height in ((1920, 1080), (1280, 720)):
        screen.set_viewport_size({"width": width, "height": height})
        screen.wait_for_timeout(300)
        screen.screenshot(path=str(screenshots / f"consensus-projector-{width}.png"))
        assert screen.evaluate("document.documentElement.scrollWidth") <= width
        overflow = screen.evaluate(
            """() => [...document.querySelectorAll('.result-top .result, .result-groups-head')]
                .filter(e => e.getBoundingClientRect().bottom > innerHeight + 1).length"""
        )
        assert overflow == 0, width
        # Legible from the back of the hall: the percentages at least 18 px high.
        size = screen.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.group-pct')).fontSize)"
        )
        assert size >= 18, (width, size)
    assert_accessible(screen, "projector with the bridging ranking")
    mobile.reload()
    expect(mobile.locator(".phone-results .result").first).to_contain_text("Sportello unico")
    mobile.locator(".phone-results").screenshot(path=str(screenshots / "consensus-phone.png"))
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(mobile, "phone with the bridging ranking")

    texts = _reports_text(live_server, code, welfare["token"])
    doc = json.loads(texts["json"])
    assert doc["schema"] == "tavoli.report/2" and doc["voting"]["weighting"] == "organisation"
    assert doc["ranking_adopted"] == "bridging"
    tally, bridging = doc["rankings"]["tally"], doc["rankings"]["bridging"]
    assert tally[0] == welfare["ids"][0] and bridging[0] == welfare["ids"][2]
    groups = doc["proposals"][0]["consensus"]["groups"]
    assert [g["name"] for g in groups] == [COMUNE, ETS, CITTADINO]
    assert [g["voters"] for g in groups] == [10, 14, 6]
    faro = next(p for p in doc["proposals"] if p["id"] == welfare["ids"][0])
    # Tally 14: Il Faro's eight and the six of three other ETS organisations. One
    # organisation, one voice: each of the four weighs one (8 · 1/8, then 2 · 1/2 each).
    assert faro["votes"] == 14 and faro["weighted_tally"] == pytest.approx(4.0)
    assert doc["rankings"]["weighted"][0] != welfare["ids"][0]
    for fmt in ("html", "md", "pdf", "docx", "xlsx"):
        text = html.unescape(texts[fmt]).replace("\n", " ")
        assert "Un'organizzazione, una voce" in text or "Un’organizzazione" in text, fmt
        assert "per consenso trasversale" in text, fmt
        assert "Voti ponderati" in text or "Ponderati" in text, fmt
        assert "su 10" in text and "su 14" in text and "su 6" in text, fmt  # per-group support
        assert "media geometrica" in text, fmt
    assert "Posizione per consenso" in texts["csv"] and "Sostegno per gruppo" in texts["csv"]
