"""A facilitator's synthesis with a Markdown table and links, read back from every format
a reader opens: a table is a table (not rows of pipes) and a link's address is not lost."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from sqlmodel import Session

from app import reports
from app.models import Table
from app.reports import data
from app.services import phases, synthesis
from tests.conftest import make_participant, make_table

SYNTHESIS = """Il tavolo ha concordato:

| Azione | Chi | Quando |
|:--|:--|--:|
| Trasporto sociale | [Comune di Fisciano](https://comune.fisciano.sa.it/trasporto) | 2027 |
| **Centro diurno** | Ambito S6 | 2028 |

Il regolamento è su [il sito dell'Ambito](https://ambito-s6.example.it/regolamento) e
<https://ambito-s6.example.it/faq>.
"""


def _table(session: Session) -> Table:
    table = make_table(session)
    for _ in range(3):
        make_participant(session, table)
    phases.set_phase(session, table, "closed")
    synthesis.save_synthesis(session, table, facilitator="Anna Rossi", synthesis=SYNTHESIS)
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return fresh


def test_the_html_minutes_print_the_synthesis_table_and_link_addresses(session: Session) -> None:
    report = data.build_table_report(session, _table(session))
    page = reports.render_table(report, "html").decode()
    assert "| Azione |" not in page and "|:--" not in page
    assert '<table class="md">' in page
    assert '<td class="num">2027</td>' in page  # right-aligned by a class: the CSP allows no style
    assert 'style="' not in page.split("<body")[1]
    # A link whose words hide its address is marked: print shows the address after it.
    assert '<a href="https://ambito-s6.example.it/regolamento" class="url">' in page
    assert '<a href="https://ambito-s6.example.it/faq">https://ambito-s6' in page  # its own words
    assert '.synthesis a.url::after { content: " (" attr(href) ")"' in page


def test_the_word_minutes_have_a_real_table_and_hyperlinks(session: Session) -> None:
    report = data.build_table_report(session, _table(session))
    doc = Document(io.BytesIO(reports.render_table(report, "docx")))
    grids = [
        t for t in doc.tables if t.rows and [c.text for c in t.rows[0].cells][:1] == ["Azione"]
    ]
    assert grids, "the synthesis's table is not a Word table"
    rows = [[c.text for c in row.cells] for row in grids[0].rows]
    assert rows[0] == ["Azione", "Chi", "Quando"]
    assert rows[1] == [
        "Trasporto sociale",
        "Comune di Fisciano (https://comune.fisciano.sa.it/trasporto)",
        "2027",
    ]
    assert rows[2][0] == "Centro diurno"
    assert not any("|" in p.text for p in doc.paragraphs)
    # The links of the text are hyperlinks Word follows: their address is in the package.
    links = doc.element.body.findall(".//" + qn("w:hyperlink"))
    targets = {doc.part.rels[link.get(qn("r:id"))].target_ref for link in links}
    assert targets >= {
        "https://ambito-s6.example.it/regolamento",
        "https://ambito-s6.example.it/faq",
    }
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "il sito dell'Ambito" in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_pdf_prints_the_table_and_the_link_addresses(session: Session, tmp_path: Path) -> None:
    report = data.build_table_report(session, _table(session))
    pdf = tmp_path / "verbale.pdf"
    pdf.write_bytes(reports.render_table(report, "pdf"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "| Azione" not in text and "|:--" not in text
    assert "Trasporto sociale" in text and "Quando" in text
    flat = " ".join(text.split())
    assert "il sito dell'Ambito (https://ambito-s6.example.it/regolamento)" in flat
    # An address shown as its own words is not printed twice.
    assert flat.count("s6.example.it/faq") == 1


def test_the_markdown_minutes_keep_a_gfm_table_and_the_links(session: Session) -> None:
    report = data.build_table_report(session, _table(session))
    md = reports.render_table(report, "md").decode()
    assert (
        "| Trasporto sociale | [Comune di Fisciano](https://comune.fisciano.sa.it/trasporto) |"
        in md
    )
    assert "| :---" in md
    assert "[il sito dell'Ambito](https://ambito-s6.example.it/regolamento)" in md
