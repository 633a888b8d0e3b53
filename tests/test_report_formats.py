"""One registry of formats and one outline of the minutes: the downloads page offers every
format, each downloads with its own media type, and every renderer draws every section, in
the outline's order, under the outline's heading."""

import io
import re
from html import unescape
from pathlib import Path

from docx import Document
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import i18n, reports
from app.models import Event
from app.reports import data, formats, md, outline, word
from app.services import events, phases
from tests.conftest import make_event, make_participant, make_table

TEMPLATES = Path(__file__).parent.parent / "app" / "templates" / "reports"


def _event_with_a_closed_table(session: Session) -> tuple[Event, str]:
    event, _moderator = make_event(session)
    table = make_table(session, event, phase="preparation")
    phases.set_phase(session, table, "collect")
    for _ in range(3):
        make_participant(session, table, category="Ente del Terzo Settore")
    phases.set_phase(session, table, "closed")
    make_table(session, event, phase="collect")
    return event, events.new_coordinator_link(session, event)


def test_the_downloads_page_offers_every_format_with_its_media_type(
    client: TestClient, session: Session
) -> None:
    _event, token = _event_with_a_closed_table(session)
    page = client.get(f"/c/{token}")
    assert page.status_code == 200
    links = re.findall(r'<a class="button button-small" href="([^"]+)"([^>]*)>([^<]+)<', page.text)
    event_links = [(href, attrs, label) for href, attrs, label in links if "/tables/" not in href]
    assert [href.rsplit(".", 1)[1] for href, _a, _l in event_links] == list(formats.KEYS)
    with i18n.using_locale("it"):
        labels = [i18n.gettext(f.label) for f in formats.FORMATS]
    assert [unescape(label) for _h, _a, label in event_links] == labels
    assert "Pagina web" in labels and "Dati aperti (JSON)" in labels
    tables = {
        href.split("/tables/")[1].split("/")[0] for href, _a, _l in links if "/tables/" in href
    }
    assert len(tables) == 2  # every table, every format
    assert len(links) == 3 * len(formats.FORMATS)
    for href, attrs, _label in links:
        kind = formats.get(href.rsplit(".", 1)[1])
        assert ("data-slow" in attrs) == kind.slow, href
        # A slow file may first answer 202 and a page that reloads itself until it is ready:
        # a `download` link would save that page as the file, so only quick ones have it.
        assert ("download" in attrs) == (not kind.inline and not kind.slow), href
        answer = client.get(href)
        assert answer.status_code == 200, (href, answer.text[:200])
        assert answer.headers["content-type"] == kind.media_type, href
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith("inline" if kind.inline else "attachment"), href
        assert f'.{kind.key}"' in disposition, href
    assert client.get(f"/c/{token}/report.odt").status_code == 422  # not in the registry


def test_the_api_documents_the_registry_s_formats(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    path = spec["paths"]["/api/tables/{code}/report.{fmt}"]["get"]
    fmt = next(p for p in path["parameters"] if p["name"] == "fmt")
    assert fmt["schema"]["enum"] == list(formats.KEYS)
    assert reports.FORMATS == formats.KEYS
    assert {f.key: f.media_type for f in formats.FORMATS} == reports.MEDIA_TYPES


def test_every_renderer_draws_every_section_of_the_outline() -> None:
    table_ids = [s.id for s in outline.TABLE]
    event_ids = [s.id for s in outline.EVENT]
    assert list(md._TABLE_DRAW) == table_ids and list(word._TABLE_DRAW) == table_ids
    assert list(md._EVENT_DRAW) == event_ids and list(word._EVENT_DRAW) == event_ids
    for section in table_ids:
        assert (TEMPLATES / "table" / f"{section}.html").is_file(), section
    for section in event_ids:
        assert (TEMPLATES / "event" / f"{section}.html").is_file(), section


def test_html_markdown_and_word_follow_the_outline(session: Session) -> None:
    event, _token = _event_with_a_closed_table(session)
    report = data.build_event_report(session, event, min_group=3)
    closed = report.tables[0]
    with i18n.using_locale("it"):
        expected = [i18n.gettext(s.heading) for s in outline.table_sections(closed)]
        expected_event = [i18n.gettext(s.heading) for s in outline.event_sections(report)]
        page = reports.render_table(closed, "html").decode()
        markdown = reports.render_table(closed, "md").decode()
        doc = Document(io.BytesIO(reports.render_table(closed, "docx")))
        event_md = reports.render_event(report, "md").decode()
    assert "Foglio presenze" in expected and expected[-1] == "Chiusura dei lavori"
    assert "Contributi fuori bacheca" not in expected  # nothing off the wall: no section
    assert re.findall(r"<h2[^>]*>([^<]+)</h2>", page) == expected
    assert re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE) == expected
    headings = [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name == "Heading 2"
    ]
    assert headings == expected
    synthesis = event_md[: event_md.index("*Verbale del tavolo")]
    assert re.findall(r"^## (.+)$", synthesis, flags=re.MULTILINE) == expected_event
