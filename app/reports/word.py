"""DOCX: an editable verbale with real Word headings, tables, a page-number field and the
chart as a picture, that the office can complete and protocol."""

import io
import re
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph
from markdown_it.token import Token

from app.reports import chart, labels
from app.reports.data import EventReport, TableReport
from app.reports.html import MARKDOWN

# XML 1.0 refuses these characters: a title with them would break the document.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    return _INVALID_XML.sub("", text)


def _page_number(paragraph: Paragraph) -> None:
    """A PAGE field: Word fills in the number on every page."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def _new() -> DocumentObject:
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2))
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number(footer)
    return doc


def _cell_xml(text: str, width: int, *, bold: bool = False) -> str:
    run_pr = "<w:rPr><w:b/></w:rPr>" if bold else ""
    paragraphs = "".join(
        f'<w:p><w:r>{run_pr}<w:t xml:space="preserve">{escape(clean(line))}</w:t></w:r></w:p>'
        for line in text.split("\n")
    )
    return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>{paragraphs}</w:tc>'


def _grid(doc: DocumentObject, header: list[str], rows: list[list[str]]) -> None:
    """A bordered table with a repeating header row.

    The rows are written as one XML fragment: python-docx's cell API takes seconds for
    the thousands of cells of an event report.
    """
    table = doc.add_table(rows=0, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = [int(col.get(qn("w:w")) or 0) for col in table._tbl.tblGrid.iterchildren()]
    head = "".join(_cell_xml(t, w, bold=True) for t, w in zip(header, widths, strict=True))
    body = "".join(
        "<w:tr>" + "".join(_cell_xml(t, w) for t, w in zip(row, widths, strict=True)) + "</w:tr>"
        for row in rows
    )
    fragment = parse_xml(
        f"<w:tbl {nsdecls('w')}><w:tr><w:trPr><w:tblHeader/></w:trPr>{head}</w:tr>{body}</w:tbl>"
    )
    for row in list(fragment):
        table._tbl.append(row)


def _meta(doc: DocumentObject, label: str, value: str) -> None:
    p = doc.add_paragraph()
    p.add_run(f"{label}: ").bold = True
    p.add_run(clean(value))


def _table(doc: DocumentObject, report: TableReport, level: int, *, new_page: bool = False) -> None:
    _ = labels._
    n = report.min_group
    heading = doc.add_heading(clean(report.title), level=level)
    heading.paragraph_format.page_break_before = new_page
    if report.question:
        _meta(doc, _("Guiding question"), report.question)
    _meta(doc, _("Facilitator"), report.facilitator or "—")
    _meta(doc, _("Voting"), labels.voting(report.voting_mode, report.dots, report.max_per_proposal))
    _meta(
        doc,
        _("Began"),
        f"{labels.clock(report.start)} · {_('End')}: {labels.clock(report.end)}",
    )
    doc.add_heading(_("Timeline"), level=level + 1)
    if report.timeline:
        _grid(
            doc,
            [_("Time"), _("Phase")],
            [[labels.clock(s.at), labels.phase(s.phase)] for s in report.timeline],
        )
    else:
        doc.add_paragraph(_("No phase change recorded yet."))
    doc.add_heading(_("Participants"), level=level + 1)
    cats = [labels.category(c) for c in report.categories]
    _grid(
        doc,
        [*cats, _("Total")],
        [[*(labels.cell(v, n) for v in report.people), labels.number(report.people_total)]],
    )
    doc.add_paragraph(
        _(
            "Of whom on paper (input typed by the moderator): %(n)s. Removed by the moderator, "
            "not counted: %(m)s."
        )
        % {"n": report.paper, "m": report.removed}
        + " "
        + labels.privacy_note(n)
    )
    if report.named:
        _meta(doc, _("Named with their consent"), labels.named(report.named))
    doc.add_heading(_("Priorities"), level=level + 1)
    top = report.top(10)
    picture = chart.png(top)
    if picture:
        doc.add_picture(io.BytesIO(picture), width=Cm(16))
    for line in top:
        doc.add_paragraph(f"{clean(line.title)} — {line.votes}", style="List Number")
    if not top:
        doc.add_paragraph(_("No votes yet."))
    doc.add_heading(_("Proposals by kind and tag"), level=level + 1)
    for group in report.groups():
        tag = group.tag or _("no tag")
        doc.add_heading(f"{labels.kind_group(group.kind)} · {clean(tag)}", level=level + 2)
        rows = []
        for line in group.lines:
            notes = [line.title]
            if line.proxy:
                notes.append(f"[{_('proxy input')}]")
            if line.proxy_votes:
                notes.append(f"[{_('proxy votes')}: {line.proxy_votes}]")
            if line.merged_from:
                notes.append(f"{_('Merged from')}: " + " · ".join(line.merged_from))
            rows.append(
                [
                    str(line.rank),
                    "\n".join(notes),
                    labels.number(line.votes),
                    labels.number(line.voters),
                    *(labels.cell(v, n) for v in line.by_category),
                ]
            )
        _grid(doc, ["#", _("Title"), _("Votes"), _("Voters"), *cats], rows)
    if report.merged or report.off_wall:
        doc.add_heading(_("Posts not on the wall"), level=level + 1)
        if report.merged:
            doc.add_paragraph(
                f"{_('merged into another proposal')}: {report.merged}", style="List Bullet"
            )
        for status, count in report.off_wall:
            doc.add_paragraph(f"{labels.status(status)}: {count}", style="List Bullet")
    doc.add_heading(_("Facilitator's synthesis"), level=level + 1)
    if report.synthesis:
        _markdown(doc, report.synthesis, level + 2)
    else:
        doc.add_paragraph(_("Not written yet."))


def _markdown(doc: DocumentObject, text: str, top: int) -> None:
    """The synthesis in Word terms: headings, paragraphs, lists, bold and italic runs.
    Raw HTML and links are kept as plain text."""
    heading, list_style = 0, ""
    styles: list[str] = []
    for token in MARKDOWN.parse(text):
        if token.type == "heading_open":
            heading = min(9, top + int(token.tag[1:]) - 1)
        elif token.type == "heading_close":
            heading = 0
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            styles.append("List Bullet" if token.type == "bullet_list_open" else "List Number")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            styles.pop()
        elif token.type in ("fence", "code_block"):
            doc.add_paragraph(clean(token.content.rstrip("\n")))
        elif token.type == "inline":
            list_style = styles[-1] if styles else ""
            if heading:
                paragraph = doc.add_heading(level=heading)
            else:
                paragraph = doc.add_paragraph(style=list_style or None)
            _runs(paragraph, token.children or [])


def _runs(paragraph: Paragraph, children: list[Token]) -> None:
    bold = italic = False
    for child in children:
        if child.type in ("strong_open", "strong_close"):
            bold = child.type == "strong_open"
        elif child.type in ("em_open", "em_close"):
            italic = child.type == "em_open"
        elif child.type in ("softbreak", "hardbreak"):
            paragraph.add_run().add_break()
        elif child.content:
            run = paragraph.add_run(clean(child.content))
            run.bold, run.italic = bold or None, italic or None


def _event_line(doc: DocumentObject, report: TableReport | EventReport) -> None:
    e = report.event
    doc.add_paragraph(
        clean(" · ".join(x for x in (labels.long_date(e.date), e.place, e.organiser) if x))
    )


def _save(doc: DocumentObject) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def table_docx(report: TableReport) -> bytes:
    doc = _new()
    doc.add_paragraph(f"{labels._('Minutes of the table')} · {clean(report.event.title)}")
    _event_line(doc, report)
    _table(doc, report, 1)
    return _save(doc)


def event_docx(report: EventReport) -> bytes:
    _ = labels._
    n = report.min_group
    doc = _new()
    doc.add_heading(clean(report.event.title), level=0)
    doc.add_paragraph(_("Synthesis of the event"))
    _event_line(doc, report)
    doc.add_paragraph(
        _("Tables: %(t)s · participants: %(p)s · proposals on the wall: %(n)s · votes: %(v)s")
        % {
            "t": len(report.tables),
            "p": labels.number(report.people_total),
            "n": labels.number(report.proposals),
            "v": labels.number(report.total_votes),
        }
    )
    doc.add_heading(_("Participation by category and table"), level=1)
    cats = [labels.category(c) for c in report.categories]
    rows = [
        [
            t.title,
            *(labels.cell(report.cell(t, c), n) for c in report.categories),
            labels.number(t.people_total),
        ]
        for t in report.tables
    ]
    rows.append(
        [
            _("Total"),
            *(labels.cell(v, n) for v in report.people),
            labels.number(report.people_total),
        ]
    )
    _grid(doc, [_("Table"), *cats, _("Total")], rows)
    doc.add_paragraph(labels.privacy_note(n))
    doc.add_heading(_("Top priorities of each table"), level=1)
    top_rows = []
    for t in report.tables:
        top = t.top(5)
        top_rows.append(
            [t.title, "\n".join(f"{i}. {x.title} — {x.votes}" for i, x in enumerate(top, 1))]
        )
    _grid(doc, [_("Table"), _("Priorities")], top_rows)
    for t in report.tables:
        _table(doc, t, 1, new_page=True)
    return _save(doc)
