"""Issue 16: a priority list never cuts through a tie as if the earliest posts were chosen.
Seven proposals tied at rank 3 in the event's top five are all listed; a tie too long to list
is cut and the rest counted ("e altre 10 proposte a pari merito"), in every format."""

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlmodel import Session

from app import reports
from app.models import Event, Table
from app.reports import data
from app.services import phases
from tests.conftest import make_event, make_participant, make_table
from tests.test_reports import _post, _vote


def _tied_table(session: Session, event: Event, votes: list[int]) -> Table:
    """An approval table whose proposals n. 1, 2, ... get `votes` approvals each."""
    table = make_table(session, event, phase="preparation")
    phases.set_phase(session, table, "collect")
    people = [make_participant(session, table)[0] for _ in range(max(votes) + 2)]
    posts = [_post(session, people[0], f"Proposta {n:02d}") for n in range(1, len(votes) + 1)]
    phases.set_phase(session, table, "voting")
    for post, count in zip(posts, votes, strict=True):
        for who in people[:count]:
            _vote(session, who, post)
    phases.set_phase(session, table, "closed")
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return fresh


def test_a_tie_at_the_cut_is_listed_whole_in_the_event(session: Session) -> None:
    event, _ = make_event(session)
    _tied_table(session, event, [3, 2, 1, 1, 1, 1, 1, 1, 1])  # 7 tied at rank 3
    report = data.build_event_report(session, event, min_group=3)
    top = report.tables[0].top(5)
    assert [line.rank for line in top] == [1, 2, 3, 3, 3, 3, 3, 3, 3]
    assert report.tables[0].tied_after(top) == 0
    html = reports.render_event(report, "html").decode()
    md = reports.render_event(report, "md").decode()
    doc = Document(io.BytesIO(reports.render_event(report, "docx")))
    words = "\n".join(p.text for p in doc.paragraphs)
    # The event's top five and the table's own top ten each list all seven.
    assert html.count('<span class="rank">3.</span>') == 14
    assert md.count("- **3.** Proposta") == 14
    assert sum(p.text.startswith("3.\tProposta") for p in doc.paragraphs) == 14
    for text in (html, md, words):
        assert "pari merito" not in text


def _long_tie(session: Session) -> data.TableReport:
    event, _ = make_event(session)
    table = _tied_table(session, event, [1] * 20)  # 20 tied at rank 1
    return data.build_table_report(session, table, min_group=3)


def test_a_long_tie_is_cut_and_counted_in_every_format(session: Session) -> None:
    report = _long_tie(session)
    top = report.top(10)
    assert len(top) == 10 and report.tied_after(top) == 10
    note = "e altre 10 proposte a pari merito"
    html = reports.render_table(report, "html").decode()
    assert f'<li class="tied">… {note}</li>' in html
    assert f"- … {note}" in reports.render_table(report, "md").decode()
    doc = Document(io.BytesIO(reports.render_table(report, "docx")))
    assert any(p.text == f"…\t{note}" for p in doc.paragraphs)
    # The open data list every proposal with its shared rank: nothing to add there.
    ranks = [p["rank"] for p in json.loads(reports.render_table(report, "json"))["proposals"]]
    assert ranks == [1] * 20


def test_the_event_sheet_says_when_the_first_priority_is_shared(session: Session) -> None:
    event, _ = make_event(session)
    _tied_table(session, event, [2, 2, 2, 1])
    report = data.build_event_report(session, event, min_group=3)
    book = load_workbook(io.BytesIO(reports.render_event(report, "xlsx")))
    values = [c.value for row in book.worksheets[0].iter_rows() for c in row]
    assert "Proposta 01 (e altre 2 proposte a pari merito)" in values, values


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_pdf_counts_the_tie_it_cuts(session: Session, tmp_path: Path) -> None:
    pdf = tmp_path / "verbale.pdf"
    pdf.write_bytes(reports.render_table(_long_tie(session), "pdf"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "e altre 10 proposte a pari merito" in " ".join(text.split())
