"""Word minutes, read back as the office would find them: proposal tables with room for the
titles, ranks that start again at 1 for every table, descriptions, the synthesis right after
the priorities, and the document in Italian, by Tavoli."""

import datetime as dt
import io
import re
import zipfile

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.table import Table as WordTable
from docx.text.paragraph import Paragraph
from sqlmodel import Session

from app import i18n, reports
from app.models import Table
from app.reports import data, labels, word
from app.services import phases, proposals, synthesis, voting
from app.services.events import DEFAULT_CATEGORIES
from tests.conftest import make_participant, make_table
from tests.test_reports import (
    COMUNE,
    DAY_BODY,
    ETS,
    TOTAL_VOTES,
    Known,
    build_known,
)

SECOND = "Famiglia e rete antiviolenza"
SECOND_SYNTHESIS = "Il tavolo propone:\n\n1. sportelli in ogni Comune;\n2. più asili nido.\n"
FAMILY_BODY = "Uno sportello del Centro antiviolenza, almeno un giorno a settimana."


@pytest.fixture
def known(session: Session) -> Known:
    return build_known(session)


def _second_table(session: Session, known: Known) -> Table:
    """A dots table with its own votes: 4 dots, 2 dots, 1 dot; and a numbered synthesis."""
    table = make_table(session, known.event, mode="dots", dots=5, cap=3, phase="preparation")
    table.title = SECOND
    session.add(table)
    session.commit()
    phases.set_phase(session, table, "collect")
    people = [make_participant(session, table, category=c)[0] for c in (ETS,) * 3 + (COMUNE,) * 3]
    posts = [
        proposals.post_proposal(
            session, participant=people[i], kind="proposal", title=title, body=body
        ).proposal
        for i, (title, body) in enumerate(
            [
                ("Sportello antiviolenza in ogni Comune", FAMILY_BODY),
                ("Più posti negli asili nido", ""),
                ("Formazione dei medici di base", ""),
            ]
        )
    ]
    phases.set_phase(session, table, "voting")
    for who, post, dots in ((0, 0, 3), (1, 0, 1), (2, 1, 2), (3, 2, 1)):
        voting.set_vote(
            session, participant=people[who], proposal_id=posts[post].id or 0, dots=dots
        )
    synthesis.save_synthesis(
        session, table, facilitator="Laura Pastore", synthesis=SECOND_SYNTHESIS
    )
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return fresh


def _open(raw: bytes) -> DocumentObject:
    return Document(io.BytesIO(raw))


def _table_doc(session: Session, known: Known) -> DocumentObject:
    report = data.build_table_report(session, known.table, min_group=3)
    return _open(reports.render_table(report, "docx"))


def _event_doc(session: Session, known: Known) -> tuple[data.EventReport, DocumentObject]:
    _second_table(session, known)
    report = data.build_event_report(session, known.event, min_group=3)
    return report, _open(reports.render_event(report, "docx"))


def _proposal_tables(doc: DocumentObject) -> list[WordTable]:
    return [t for t in doc.tables if t.cell(0, 0).text == "Pos."]


def _widths(table: WordTable) -> list[int]:
    return [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.iterchildren(qn("w:gridCol"))]


def _twips(cm: float) -> int:
    return round(cm * 1440 / 2.54)


def _heading(block: Paragraph | WordTable) -> str:
    style = block.style.name if isinstance(block, Paragraph) and block.style else ""
    return block.text if style.startswith("Heading") or style == "Title" else ""


def test_the_title_column_has_the_room_and_figures_sit_right(
    session: Session, known: Known
) -> None:
    doc = _table_doc(session, known)
    tables = _proposal_tables(doc)
    assert tables
    for table in tables:
        rank, title, *figures = _widths(table)
        assert title >= 3 * max(figures)  # not twelve equal columns
        assert rank < min(figures)
        assert sum([rank, title, *figures]) <= _twips(17)  # inside the A4 portrait margins
        assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        header = table.rows[0]._tr.trPr
        assert header is not None and header.find(qn("w:tblHeader")) is not None
        votes = table.cell(1, 2).paragraphs[0]
        assert votes.alignment == WD_ALIGN_PARAGRAPH.RIGHT
        assert table.cell(1, 1).paragraphs[0].alignment is None  # titles read from the left


def test_many_categories_put_the_proposals_on_landscape_pages(session: Session) -> None:
    table = make_table(session, phase="collect")
    categories = list(DEFAULT_CATEGORIES)
    people = [make_participant(session, table, category=c)[0] for c in categories for _ in "abc"]
    post = proposals.post_proposal(
        session,
        participant=people[0],
        kind="need",
        title="Trasporto sociale",
        body="Anche la sera.",
    ).proposal
    phases.set_phase(session, table, "voting")
    for person in people:
        voting.set_vote(session, participant=person, proposal_id=post.id or 0, dots=1)
    phases.set_phase(session, table, "closed")  # the categories are in the final minutes
    doc = _open(reports.render_table(data.build_table_report(session, table), "docx"))
    first, last = doc.sections[0], doc.sections[-1]
    assert first.orientation == WD_ORIENT.PORTRAIT and round(first.page_width.cm, 1) == 21
    assert last.orientation == WD_ORIENT.LANDSCAPE and round(last.page_width.cm, 1) == 29.7
    (proposals_table,) = _proposal_tables(doc)
    _rank, title, *figures = _widths(proposals_table)
    assert len(figures) == 2 + len(categories)
    assert title >= 5 * max(figures)
    # Only the proposals turn: the participants table stays on the portrait page.
    body = list(doc.iter_inner_content())
    turn = next(
        i
        for i, b in enumerate(body)
        if isinstance(b, Paragraph) and b._p.pPr is not None and b._p.pPr.sectPr is not None
    )
    assert _heading(body[turn + 1]) == labels._("Proposals by kind and tag")
    for section in doc.sections:
        footer = section.footer._element.xml
        assert "PAGE" in footer and "NUMPAGES" in footer
        assert "Disabilità e progetti di vita" in section.footer.paragraphs[0].text


def test_ranks_are_text_and_start_again_for_every_table(session: Session, known: Known) -> None:
    _report, doc = _event_doc(session, known)
    groups: list[list[str]] = []
    previous = False
    for p in doc.paragraphs:
        ranked = p.style is not None and p.style.name == "Ranked"
        if ranked:
            if not previous:
                groups.append([])
            groups[-1].append(p.text)
            assert p._p.pPr.numPr is None  # no Word list that could run on
        previous = ranked
    # Event summary (top 5 of each table), then each table's minutes (top 10).
    assert len(groups) == 4
    assert all(g[0].startswith("1.\t") for g in groups)
    known_ranks = [text.split(".")[0] for text in groups[0]]
    assert known_ranks == ["1", "2", "3", "3"]  # ties share a rank
    assert groups[1] == [
        "1.\tSportello antiviolenza in ogni Comune — " + labels.tally("dots", 4),
        "2.\tPiù posti negli asili nido — " + labels.tally("dots", 2),
        "3.\tFormazione dei medici di base — " + labels.tally("dots", 1),
    ]
    assert groups[3] == groups[1]
    assert "4 bollini" in groups[1][0] and "6 voti" in groups[0][0]


def test_each_numbered_list_of_a_synthesis_starts_at_1(session: Session, known: Known) -> None:
    _report, doc = _event_doc(session, known)
    numbering = doc.part.numbering_part.element
    numbered = [p for p in doc.paragraphs if p.style is not None and p.style.name == "List Number"]
    assert [p.text for p in numbered] == ["sportelli in ogni Comune;", "più asili nido."] * 2
    lists = []
    for p in numbered:
        num_pr = p._p.pPr.numPr
        assert num_pr is not None
        lists.append(num_pr.numId.val)
    # The synthesis appears twice (the syntheses section and the table's minutes): two lists.
    assert lists[0] == lists[1] and lists[2] == lists[3] and lists[0] != lists[2]
    for num_id in {lists[0], lists[2]}:
        num = numbering.num_having_numId(num_id)
        start = num.find(qn("w:lvlOverride")).find(qn("w:startOverride"))
        assert start.get(qn("w:val")) == "1"


def test_descriptions_tags_and_marks_are_in_the_proposals(session: Session, known: Known) -> None:
    doc = _table_doc(session, known)
    cells = {t.cell(r, 1).text for t in _proposal_tables(doc) for r in range(1, len(t.rows))}
    day = next(c for c in cells if c.startswith("Centro diurno per l'autonomia"))
    assert day.split("\n")[1] == DAY_BODY
    # Changed by issue 9: one paper participant, whose ballot the proxy votes would be.
    assert labels._("proxy votes") not in day
    transport = next(c for c in cells if c.startswith("Trasporto sociale a chiamata"))
    assert f"{labels._('Merged from')}: Trasporti sociali su richiesta" in transport
    paper = next(c for c in cells if c.startswith("Sportello unico per le famiglie"))
    assert labels._("proxy input") not in paper


def test_the_synthesis_follows_the_priorities_before_the_proposals(
    session: Session, known: Known
) -> None:
    doc = _table_doc(session, known)
    body = list(doc.iter_inner_content())
    heads = [_heading(b) for b in body]

    def at(text: str) -> int:
        return heads.index(text)

    first_grid = next(
        i for i, b in enumerate(body) if isinstance(b, WordTable) and b.cell(0, 0).text == "Pos."
    )
    bold = next(
        i
        for i, b in enumerate(body)
        if isinstance(b, Paragraph) and any(r.bold and r.text == "più trasporti" for r in b.runs)
    )
    assert at("Priorità") < at("Sintesi del facilitatore") < bold
    assert bold < at("Contributi per tipo ed etichetta") < first_grid
    # Headings nest: the table, its sections, the synthesis's own heading below them.
    level = {b.text: b.style.name for b in body if _heading(b)}
    assert level["Disabilità e progetti di vita"] == "Heading 1"
    assert level["Sintesi del facilitatore"] == "Heading 2"
    assert level["Sintesi"] == "Heading 3"
    assert level["Proposte · Mobilità"] == "Heading 3"


def test_the_event_lists_units_apart_and_every_synthesis(session: Session, known: Known) -> None:
    report, doc = _event_doc(session, known)
    text = "\n".join(p.text for p in doc.paragraphs)
    totals = labels.totals(report.votes_by_mode())
    assert totals == f"{TOTAL_VOTES} voti · 7 bollini"
    assert totals in text
    # No grand total of votes and dots (a bare number would also match a clock time).
    assert not re.search(rf"\b{TOTAL_VOTES + 7}\**\s*(voti|bollini)", text)
    body = list(doc.iter_inner_content())
    heads = [_heading(b) for b in body]
    syntheses = heads.index(labels._("The tables' summaries"))
    assert heads.index("Partecipazione per tipologia e tavolo") < syntheses
    # Each table's synthesis under its title, before every table's own minutes.
    # A running table is marked "(provvisorio)" in the event's synthesis.
    second = next(labels.provisional(t) for t in report.tables if t.title == SECOND)
    assert heads[syntheses + 1 :].index(second) < heads[syntheses + 1 :].index(
        "Sintesi del facilitatore"
    )
    after = [b.text for b in body[syntheses:] if isinstance(b, Paragraph)]
    assert "Il tavolo propone:" in after
    styles = {b.text: b.style.name for b in body if _heading(b)}
    assert styles[labels.titled(known.event.title, report)] == "Title"  # a draft: "(bozza)"
    assert styles[labels._("The tables' summaries")] == "Heading 1"
    # The participation table keeps room for a table's title.
    participation = next(t for t in doc.tables if t.cell(0, 0).text == "Tavolo")
    first, *figures = _widths(participation)
    assert first > max(figures) and first >= _twips(3.5)
    assert participation.cell(2, 0).text == SECOND


def test_a_table_without_synthesis_says_so_in_the_event(session: Session, known: Known) -> None:
    make_table(session, known.event, phase="collect")
    report = data.build_event_report(session, known.event)
    doc = _open(reports.render_event(report, "docx"))
    body = list(doc.iter_inner_content())
    heads = [_heading(b) for b in body]
    start = heads.index(labels._("The tables' summaries"))
    texts = [b.text for b in body[start:] if isinstance(b, Paragraph)]
    assert labels._("Not written yet.") in texts


def _package_text(raw: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(raw)) as package:
        return " ".join(
            package.read(name).decode() for name in package.namelist() if name.endswith(".xml")
        )


def _languages(doc: DocumentObject) -> set[str]:
    styles = doc.styles.element
    default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    normal = doc.styles["Normal"].element.rPr
    assert normal is not None
    return {
        lang.get(qn("w:val")) for lang in (default.find(qn("w:lang")), normal.find(qn("w:lang")))
    }


def test_properties_say_tavoli_and_italian(session: Session, known: Known) -> None:
    report = data.build_table_report(session, known.table, min_group=3)
    raw = reports.render_table(report, "docx")
    doc = _open(raw)
    props = doc.core_properties
    assert props.author == "Tavoli"
    assert props.title.startswith(known.table.title)
    assert props.subject == "Verbale del tavolo"
    assert props.language == "it-IT"
    assert props.created is not None and props.created.year >= 2024
    assert props.modified == props.created
    assert _languages(doc) == {"it-IT"}
    assert "python-docx" not in _package_text(raw)
    assert "generated by" not in (props.comments or "")
    generated = dt.datetime(2025, 11, 15, 12, 45, tzinfo=dt.UTC)
    stamped = _open(word.table_docx(report, generated=generated)).core_properties
    assert stamped.created == generated and stamped.modified == generated


def test_properties_in_english(session: Session, known: Known) -> None:
    with i18n.using_locale("en"):
        report = data.build_event_report(session, known.event)
        doc = _open(reports.render_event(report, "docx"))
    assert doc.core_properties.language == "en-GB"
    assert doc.core_properties.subject == "Event summary"
    assert _languages(doc) == {"en-GB"}
