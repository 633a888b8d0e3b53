"""DOCX: an editable verbale with real Word headings, tables, page numbers and the chart as a
picture, that the office can complete and protocol.

Layout: A4 portrait; a table's proposals go on landscape pages when their figures would
leave too little room for the titles. Every table has fixed column widths (the title and
description column takes what the figures leave), numbers aligned right, a header row
repeated on each page and rows kept whole. Ranks are plain text ("1.", "3.", "3."): Word's
list numbering would run on from one list to the next. The text is in Arial, which Word
has and LibreOffice replaces with the metric-compatible Liberation Sans, so the widths
computed here hold in both.
"""

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section
from docx.shared import Cm, Pt, RGBColor, Twips
from docx.text.paragraph import Paragraph
from markdown_it.token import Token

from app import i18n
from app.reports import chart, labels, outline
from app.reports.data import EventReport, Line, Named, TableReport
from app.reports.html import MARKDOWN, link_text, shows_url
from app.reports.privacy import Cell

# XML 1.0 refuses these characters: a title with them would break the document.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

FONT = "Arial"
PAGE_SHORT, PAGE_LONG, MARGIN = 21.0, 29.7, 2.0  # A4, cm
RANK_CM, FIGURE_CM, PAD_CM = 0.9, 1.3, 0.1  # rank and figure columns; cell padding each side
TITLE_CM = 7.0  # the least room for titles and descriptions before the page turns landscape
LABEL_CM = 3.5  # the least room for a table's title in the participation table
BODY_PT, HEAD_PT = 9, 8  # table text; header row (bold)
LONG_ROW = 700  # characters: a row longer than this may break across pages
GREY = "555555"

# Arial Bold (Helvetica Bold) advance widths, in thousandths of an em: enough to size a
# column so that no word of its header is broken.
_LOWER: tuple[int, ...] = (556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889)
_LOWER += (611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500)
_UPPER: tuple[int, ...] = (722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833)
_UPPER += (722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611)


def clean(text: str) -> str:
    return _INVALID_XML.sub("", text)


def _twips(cm: float) -> int:
    return round(cm * 1440 / 2.54)


def _glyph(char: str) -> int:
    base = unicodedata.normalize("NFKD", char)[:1] or char
    if "a" <= base <= "z":
        return _LOWER[ord(base) - ord("a")]
    if "A" <= base <= "Z":
        return _UPPER[ord(base) - ord("A")]
    if base.isdigit():
        return 556
    return 333 if base in " /.,;:'’-()!|" else 611


def _text_cm(text: str, points: float) -> float:
    return sum(_glyph(c) for c in text) / 1000 * points / 72 * 2.54


def _word_cm(text: str, points: float = HEAD_PT) -> float:
    """The width a column needs so that its longest word (bold) is not broken."""
    longest = max((_text_cm(word, points) for word in text.split()), default=0)
    return longest * 1.03 + 2 * PAD_CM + 0.03


def _figure_cm(label: str) -> float:
    return max(FIGURE_CM, _word_cm(label))


def _text_width(landscape: bool) -> float:
    return (PAGE_LONG if landscape else PAGE_SHORT) - 2 * MARGIN


@lru_cache(maxsize=8192)
def _formatted(value: Cell, min_group: int, locale: str) -> str:
    return labels.cell(value, min_group)


def _cell(value: Cell, min_group: int) -> str:
    """labels.cell, remembered: an event has thousands of figures and few distinct ones."""
    return _formatted(value, min_group, i18n.current_locale())


def _number(value: int) -> str:
    return _cell(value, 0)


def _paragraph(doc: DocumentObject, text: str = "", style: str = "") -> Paragraph:
    """A paragraph in the style of id `style`: python-docx takes milliseconds to look a style
    up by name, which adds up over the hundreds of headings of an event."""
    paragraph = doc.add_paragraph(text)
    if style:
        paragraph._p.style = style
    return paragraph


def _heading(doc: DocumentObject, text: str, level: int) -> Paragraph:
    return _paragraph(doc, text, f"Heading{min(level, 9)}" if level else "Title")


# --- document, sections, footer -------------------------------------------------------


def _field(paragraph: Paragraph, code: str) -> None:
    """A field Word fills in on every page (PAGE, NUMPAGES)."""
    for kind, text in (("begin", ""), ("", f" {code} "), ("separate", ""), ("", "1"), ("end", "")):
        run = paragraph.add_run()
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text.strip() == code:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)


def _footer(section: Section, title: str, landscape: bool) -> None:
    """The title on the left, "Pagina 3 di 12" on the right."""
    section.footer.is_linked_to_previous = False
    paragraph = section.footer.paragraphs[0]
    stops = paragraph.paragraph_format.tab_stops
    for inherited in (Twips(4680), Twips(9360)):  # the template's Footer style: centre, right
        stops.add_tab_stop(inherited, WD_TAB_ALIGNMENT.CLEAR)
    stops.add_tab_stop(Cm(_text_width(landscape)), WD_TAB_ALIGNMENT.RIGHT)
    limit = 120 if landscape else 80
    short = title if len(title) <= limit else title[: limit - 1] + "…"
    paragraph.add_run(clean(short) + "\t")
    message = labels._("Page %(page)s of %(pages)s")
    for piece in re.split(r"(%\((?:page|pages)\)s)", message):
        if piece == "%(page)s":
            _field(paragraph, "PAGE")
        elif piece == "%(pages)s":
            _field(paragraph, "NUMPAGES")
        elif piece:
            paragraph.add_run(piece)
    for run in paragraph.runs:
        run.font.size = Pt(8)
        run.font.color.rgb = RGBColor.from_string(GREY)


def _landscape(doc: DocumentObject) -> bool:
    return doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE


def _section(doc: DocumentObject, title: str, *, landscape: bool, first: bool = False) -> None:
    section = doc.sections[0] if first else doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    short, long = Cm(PAGE_SHORT), Cm(PAGE_LONG)
    section.page_width, section.page_height = (long, short) if landscape else (short, long)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(MARGIN))
    section.footer_distance = Cm(1)
    _footer(section, title, landscape)


def _language() -> str:
    return "it-IT" if i18n.current_locale() == "it" else "en-GB"


def _styles(doc: DocumentObject) -> None:
    """Arial everywhere, in the report's language, and the few styles the tables use."""
    root = doc.styles.element
    for fonts in root.iter(qn("w:rFonts")):
        for attribute in list(fonts.attrib):
            if attribute.endswith("Theme"):
                del fonts.attrib[attribute]
        for script in ("w:ascii", "w:hAnsi", "w:cs"):
            fonts.set(qn(script), FONT)
    language = _language()
    for lang in root.iter(qn("w:lang")):
        lang.set(qn("w:val"), language)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.1
    normal_lang = OxmlElement("w:lang")
    normal_lang.set(qn("w:val"), language)
    normal.element.get_or_add_rPr().append(normal_lang)
    settings = doc.settings.element
    for theme in settings.iter(qn("w:themeFontLang")):
        theme.set(qn("w:val"), language)
    for proofed in settings.findall(qn("w:proofState")):
        settings.remove(proofed)  # "already checked": Word would not spell-check it

    def paragraph_style(name: str, size: float, *, bold: bool = False, grey: bool = False) -> None:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.font.size = Pt(size)
        style.font.bold = bold or None
        if grey:
            style.font.color.rgb = RGBColor.from_string(GREY)
        style.paragraph_format.space_after = Pt(0)
        style.paragraph_format.line_spacing = 1.0

    paragraph_style("Table Text", BODY_PT)
    paragraph_style("Table Heading", HEAD_PT, bold=True)
    paragraph_style("Note", 8.5, grey=True)
    doc.styles["Note"].paragraph_format.space_after = Pt(6)
    paragraph_style("Ranked", 10)
    ranked = doc.styles["Ranked"].paragraph_format
    ranked.left_indent, ranked.first_line_indent = Cm(0.9), Cm(-0.9)
    ranked.tab_stops.add_tab_stop(Cm(0.9))
    ranked.space_after = Pt(2)


def _properties(doc: DocumentObject, title: str, subject: str, when: dt.datetime | None) -> None:
    stamp = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = stamp.replace(tzinfo=None, microsecond=0)
    props = doc.core_properties
    props.title, props.subject = clean(title), subject
    props.author = props.last_modified_by = "Tavoli"
    props.comments = props.keywords = props.category = ""
    props.created = props.modified = stamp
    props.revision = 1
    props.language = _language()
    package = doc.part.package
    for rel_id, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:  # the python-docx template's preview, not ours
            package.rels.pop(rel_id)
        elif rel.reltype == RT.EXTENDED_PROPERTIES:  # "Microsoft Macintosh Word", 1 page
            rel.target_part._blob = (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
                b'extended-properties"><Application>Tavoli</Application></Properties>'
            )


def _new(title: str, subject: str, footer: str, generated: dt.datetime | None) -> DocumentObject:
    doc = Document()
    _styles(doc)
    _properties(doc, title, subject, generated)
    _section(doc, footer, landscape=False, first=True)
    return doc


def _save(doc: DocumentObject) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# --- tables -------------------------------------------------------------------------------

Run = tuple[str, str]  # text, and "" (plain), "b" (bold) or "note" (small, grey, italic)
Content = str | list[list[Run]]  # plain text, or paragraphs of runs


@dataclass(frozen=True)
class Column:
    label: str
    cm: float
    numeric: bool = False


def _run_xml(text: str, kind: str) -> str:
    props = {"b": "<w:b/>", "note": f'<w:i/><w:color w:val="{GREY}"/><w:sz w:val="16"/>'}
    head = f"<w:rPr>{props[kind]}</w:rPr>" if kind in props else ""
    return f'<w:r>{head}<w:t xml:space="preserve">{escape(clean(text))}</w:t></w:r>'


def _cell_xml(content: Content, column: Column, *, head: bool = False, bold: bool = False) -> str:
    if isinstance(content, str):
        content = [[(line, "b" if bold else "")] for line in content.split("\n")]
    style = "TableHeading" if head else "TableText"
    align = '<w:jc w:val="right"/>' if column.numeric else ""
    paragraphs = "".join(
        f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{align}</w:pPr>'
        + "".join(_run_xml(text, kind) for text, kind in runs)
        + "</w:p>"
        for runs in content or [[]]
    )
    props = f'<w:tcW w:w="{_twips(column.cm)}" w:type="dxa"/>'
    if head:
        props += '<w:shd w:val="clear" w:color="auto" w:fill="E7EDF3"/><w:vAlign w:val="bottom"/>'
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{paragraphs}</w:tc>"


def _length(content: Content) -> int:
    if isinstance(content, str):
        return len(content)
    return sum(len(text) for runs in content for text, _kind in runs)


def _grid(
    doc: DocumentObject, columns: list[Column], rows: list[list[Content]], *, total: bool = False
) -> None:
    """A bordered table of fixed column widths, its header row repeated on every page.

    The rows are written as one XML fragment: python-docx's cell API takes seconds for
    the thousands of cells of an event report.
    """
    head = "".join(_cell_xml(c.label, c, head=True) for c in columns)
    body = []
    for index, row in enumerate(rows):
        bold = total and index == len(rows) - 1
        keep = "<w:cantSplit/>" if sum(_length(c) for c in row) < LONG_ROW else ""
        cells = "".join(_cell_xml(c, col, bold=bold) for c, col in zip(row, columns, strict=True))
        body.append(f"<w:tr><w:trPr>{keep}</w:trPr>{cells}</w:tr>")
    grid = "".join(f'<w:gridCol w:w="{_twips(c.cm)}"/>' for c in columns)
    width = sum(_twips(c.cm) for c in columns)
    pad = _twips(PAD_CM)
    margins = "".join(
        f'<w:{side} w:w="{size}" w:type="dxa"/>'
        for side, size in (("top", 20), ("left", pad), ("bottom", 20), ("right", pad))
    )
    xml = (
        f"<w:tbl {nsdecls('w')}><w:tblPr>"
        f'<w:tblStyle w:val="TableGrid"/><w:tblW w:w="{width}" w:type="dxa"/>'
        f'<w:jc w:val="left"/><w:tblLayout w:type="fixed"/><w:tblCellMar>{margins}</w:tblCellMar>'
        '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
        'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
        f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"
        f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{head}</w:tr>{''.join(body)}</w:tbl>"
    )
    placeholder = doc.add_table(rows=0, cols=len(columns))
    placeholder._tbl.getparent().replace(placeholder._tbl, parse_xml(xml))


def _fit(figures: list[float], least: float, *, landscape: bool) -> tuple[float, list[float]]:
    """The room left for the text column, and the figure columns (narrowed only when even
    then they would leave less than `least`)."""
    room = _text_width(landscape) - sum(figures)
    if room >= least:
        return room, figures
    scale = (_text_width(landscape) - least) / sum(figures)
    return least, [max(0.8, w * scale) for w in figures]


# --- paragraphs ---------------------------------------------------------------------------


def _meta(doc: DocumentObject, *pairs: tuple[str, str]) -> None:
    """Bold labels and their values on one line: "Facilitator: … · Voting: …"."""
    p = doc.add_paragraph()
    for index, (label, value) in enumerate(pairs):
        if index:
            p.add_run(" · ")
        p.add_run(f"{label}: ").bold = True
        p.add_run(clean(value))


def _note(doc: DocumentObject, text: str) -> None:
    _paragraph(doc, clean(text), "Note")


def _ranked(doc: DocumentObject, report: TableReport, lines: tuple[Line, ...]) -> None:
    """Ranks as text ("1. Title — 12 voti"): ties share a rank, and no list runs on."""
    for line in lines:
        p = _paragraph(doc, style="Ranked")
        p.add_run(f"{line.rank}.\t{clean(line.title)} — ")
        p.add_run(labels.counted(report, line.votes)).bold = True
    more = report.tied_after(lines)
    if more:
        _paragraph(doc, f"…\t{labels.tied_after(more)}", style="Ranked")


def _event_line(doc: DocumentObject, report: TableReport | EventReport) -> None:
    e = report.event
    doc.add_paragraph(
        clean(" · ".join(x for x in (labels.long_date(e.date), e.place, e.organiser) if x))
    )


# --- the facilitator's synthesis (Markdown) ------------------------------------------------


def _list_style(base: str, depth: int) -> str:
    """The style id of a list nested `depth` deep: ListBullet, ListBullet2, ListBullet3."""
    return base if depth <= 1 else f"{base}{min(depth, 3)}"


def _numbering(doc: DocumentObject, style: str, start: int) -> str:
    """A list numbered from `start`: a new w:num over the style's own definition, so that
    one list of the synthesis does not carry on from the one before."""
    numbering = doc.part.numbering_part.element
    num_pr = doc.styles.element.get_by_id(style).pPr.numPr
    style_num = num_pr.numId.val
    abstract = numbering.num_having_numId(style_num).abstractNumId.val
    num = numbering.add_num(abstract)
    num.add_lvlOverride(ilvl=0).add_startOverride(start)
    return str(num.numId)


def _numbered(paragraph: Paragraph, num_id: str) -> None:
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = 0
    num_pr.get_or_add_numId().val = int(num_id)


def _markdown(doc: DocumentObject, text: str, top: int) -> None:
    """The synthesis in Word terms: headings (its highest at level `top`, below the section
    that holds it), paragraphs, lists, quotes, tables, bold and italic runs and links that
    can be followed. Raw HTML is kept as plain text."""
    tokens = MARKDOWN.parse(text)
    depths = [int(t.tag[1:]) for t in tokens if t.type == "heading_open"]
    shift = top - min(depths, default=1)
    heading, quote, item_start = 0, 0, False
    lists: list[tuple[str, str]] = []  # (style, numId or "")
    rows: list[list[list[Run]]] | None = None  # the rows of a table being read
    right: list[bool] = []  # per column of that table: aligned right
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading = max(1, min(9, int(token.tag[1:]) + shift))
        elif kind == "heading_close":
            heading = 0
        elif kind == "table_open":
            rows, right = [], []
        elif kind == "tr_open" and rows is not None:
            rows.append([])
        elif kind == "th_open":
            right.append(token.attrGet("style") == "text-align:right")
        elif kind == "table_close" and rows:
            _markdown_table(doc, rows, right)
            rows = None
        elif kind == "inline" and rows is not None:
            rows[-1].append(_cell_runs(token.children or []))
        elif kind == "bullet_list_open":
            lists.append((_list_style("ListBullet", len(lists) + 1), ""))
        elif kind == "ordered_list_open":
            style = _list_style("ListNumber", len(lists) + 1)
            start = token.attrGet("start")
            lists.append((style, _numbering(doc, style, int(start or 1))))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            item_start = True
        elif kind in ("blockquote_open", "blockquote_close"):
            quote += 1 if kind == "blockquote_open" else -1
        elif kind in ("fence", "code_block"):
            doc.add_paragraph(clean(token.content.rstrip("\n")))
        elif kind == "inline":
            if heading:
                paragraph = _heading(doc, "", heading)
            elif lists and item_start:
                style, num_id = lists[-1]
                paragraph = _paragraph(doc, style=style)
                if num_id:
                    _numbered(paragraph, num_id)
            elif lists:  # a second paragraph of the same item
                paragraph = _paragraph(doc, style=_list_style("ListContinue", len(lists)))
            else:
                paragraph = _paragraph(doc, style="Quote" if quote else "")
            item_start = False
            _runs(paragraph, token.children or [])


def _cell_runs(children: list[Token]) -> list[Run]:
    """A table cell of the synthesis as runs: bold stays bold, a link is its words and, in
    brackets, its address (a table cell is written as XML, without hyperlinks)."""
    runs: list[Run] = []
    bold = False
    addresses: list[str] = []  # of the links open here
    for index, child in enumerate(children):
        if child.type in ("strong_open", "strong_close"):
            bold = child.type == "strong_open"
        elif child.type == "link_open":
            href = str(child.attrGet("href") or "")
            addresses.append(f" ({href})" if shows_url(href, link_text(children, index)) else "")
        elif child.type == "link_close" and addresses:
            runs.append((addresses.pop(), ""))
        elif child.type in ("softbreak", "hardbreak"):
            runs.append((" ", ""))
        elif child.content:
            runs.append((child.content, "b" if bold else ""))
    return runs


def _markdown_table(doc: DocumentObject, rows: list[list[list[Run]]], right: list[bool]) -> None:
    """A Markdown table as a real Word table, its header row bold and repeated."""
    width = len(rows[0])
    columns = [
        Column("".join(text for text, _kind in rows[0][c]), _text_width(False) / width, right[c])
        for c in range(width)
    ]
    body: list[list[Content]] = [
        [[[(text, kind) for text, kind in cell if text]] for cell in row[:width]]
        + [""] * (width - len(row))
        for row in rows[1:]
    ]
    _grid(doc, columns, body)


def _runs(paragraph: Paragraph, children: list[Token]) -> None:
    bold = italic = False
    link: Any = None  # the w:hyperlink the runs go into, inside a link
    for child in children:
        if child.type in ("strong_open", "strong_close"):
            bold = child.type == "strong_open"
        elif child.type in ("em_open", "em_close"):
            italic = child.type == "em_open"
        elif child.type == "link_open":
            link = _hyperlink(paragraph, str(child.attrGet("href") or ""))
        elif child.type == "link_close":
            link = None
        elif child.type == "hardbreak":
            paragraph.add_run().add_break()
        elif child.type == "softbreak":  # a new line in the source, a space on the page
            paragraph.add_run(" ")
        elif child.content:
            run = paragraph.add_run(clean(child.content))
            run.bold, run.italic = bold or None, italic or None
            if link is not None:
                run.font.color.rgb = RGBColor(0x1F, 0x5F, 0x8B)
                run.font.underline = True
                link.append(run._r)  # moved from the paragraph into the link


def _hyperlink(paragraph: Paragraph, href: str) -> Any:
    """A w:hyperlink to `href` (an external relationship of the document), at the end of
    the paragraph: Word opens it on a click, and shows the address on hover."""
    rel_id = paragraph.part.relate_to(href, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    paragraph._p.append(link)
    return link


def _synthesis(doc: DocumentObject, report: TableReport, top: int) -> None:
    if report.synthesis:
        _markdown(doc, report.synthesis, top)
    else:
        _note(doc, labels._("Not written yet."))


# --- one table's minutes ------------------------------------------------------------------


def _proposal_cell(line: Line) -> list[list[Run]]:
    """The title, its description, then its tags and marks, each on its own line."""
    _ = labels._
    paragraphs: list[list[Run]] = [[(line.title, "b"), (f" ({labels.numbered(line)})", "note")]]
    paragraphs += [[(text, "")] for text in line.body.splitlines() if text.strip()]
    if len(line.tags) > 1:
        paragraphs.append([(f"{_('Tags')}: {', '.join(line.tags)}", "note")])
    marks = []
    if line.proxy:
        marks.append(f"[{_('proxy input')}]")
    if labels.shown_proxy_votes(line):
        marks.append(f"[{_('proxy votes')}: {line.proxy_votes}]")
    if marks:
        paragraphs.append([(" ".join(marks), "note")])
    if line.merged_from:
        paragraphs.append([(f"{_('Merged from')}: " + " · ".join(line.merged_from), "note")])
    return paragraphs


def _proposal_heads(report: TableReport) -> list[str]:
    return [
        labels.votes_heading(report.voting_mode),
        labels._("Voters"),
        *(labels.category(c) for c in report.categories),
    ]


def _turn_for_proposals(doc: DocumentObject, report: TableReport, footer: str) -> None:
    """Landscape pages, before the section's heading, when the figures need the room."""
    widths = [_figure_cm(label) for label in _proposal_heads(report)]
    landscape = _text_width(False) - RANK_CM - sum(widths) < TITLE_CM
    if landscape and report.groups() and not _landscape(doc):
        _section(doc, footer, landscape=True)


def _proposals(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    """Proposals by kind and tag (the page was turned by `_turn_for_proposals`)."""
    _ = labels._
    n = report.min_group
    heads = _proposal_heads(report)
    widths = [_figure_cm(label) for label in heads]
    groups = report.groups()
    room, widths = _fit([RANK_CM, *widths], TITLE_CM, landscape=_landscape(doc))
    columns = [
        Column(_("Pos."), widths[0], numeric=True),
        Column(_("Title"), room),
        *(Column(label, w, numeric=True) for label, w in zip(heads, widths[1:], strict=True)),
    ]
    for group in groups:
        tag = group.tag or _("no tag")
        _heading(doc, f"{labels.kind_group(group.kind)} · {clean(tag)}", level + 2)
        rows: list[list[Content]] = [
            [
                str(line.rank),
                _proposal_cell(line),
                _number(line.votes),
                _number(line.voters),
                *(_cell(v, n) for v in line.by_category),
            ]
            for line in group.lines
        ]
        _grid(doc, columns, rows)
    if not groups:
        _note(doc, _("No proposal on the wall."))


def _dissent(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    """Per proposal: the count, by category where printed, the accepted reasons unnamed."""
    _note(doc, labels.dissent_note())
    for line in report.dissented:
        p = _paragraph(doc, style="ListBullet")
        p.add_run(f"{line.rank}. {clean(line.title)}").bold = True
        p.add_run(f" ({labels.numbered(line)}) — {labels.dissent_count(line.dissent)}")
        by = labels.dissent_breakdown(line, report.categories, report.min_group)
        if by:
            _note(doc, by)
        for reason in line.dissent_reasons:
            _paragraph(doc, f"«{clean(reason)}»", "ListBullet2")


def _off_wall(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    for text in labels.off_wall_lines(report):
        _paragraph(doc, text, "ListBullet")
    _note(doc, labels._("Counted, not printed: their text stays with the moderator."))


def _table(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    _ = labels._
    _heading(doc, clean(labels.titled(report.title, report)), level)
    withheld = labels.withheld_note(report)
    if withheld:
        _paragraph(doc, withheld, "IntenseQuote")
    if report.question:
        _meta(doc, (_("Guiding question"), report.question))
    _meta(
        doc,
        (_("Facilitator"), report.facilitator or "—"),
        (_("Format"), labels.format_name(report.format))
        if report.questions
        else (_("Voting"), labels.voting(report.voting_mode, report.dots, report.max_per_proposal)),
        (_("Counting rule"), labels.rule_name(report.weighting)),
    )
    _meta(
        doc,
        (_("Start time"), labels.clock(report.start)),
        (_("End"), labels.clock(report.end)),
        (_("Phase"), labels.phase(report.phase, report.format)),
    )

    for section in outline.table_sections(report):
        before = _TABLE_BEFORE.get(section.id)
        if before:
            before(doc, report, footer)
        _heading(doc, _(section.heading), level + 1)
        _TABLE_DRAW[section.id](doc, report, level, footer)


def _timeline(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    _ = labels._
    if report.timeline:
        _grid(
            doc,
            [Column(_("Date and time"), 5.0), Column(_("Phase"), 7.0)],
            [[at, text] for at, text in labels.timeline_rows(report)],
        )
    else:
        _note(doc, _("No phase change recorded yet."))


def _participants(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    _ = labels._
    n = report.min_group
    rows: list[list[Content]] = [
        [labels.category(c), _cell(v, n)]
        for c, v in zip(report.categories, report.people, strict=True)
    ]
    rows.append([_("Total"), _number(report.people_total)])
    _grid(
        doc,
        [
            Column(_("Stakeholder categories"), 8.0),
            Column(_("Participants"), _figure_cm(_("Participants")) + 0.6, numeric=True),
        ],
        rows,
        total=True,
    )
    _note(doc, labels.paper_note(report) + " " + labels.privacy_note(n))
    _note(doc, labels.privacy_line(report.event))


def _named(doc: DocumentObject, people: tuple[Named, ...], *, with_table: bool) -> None:
    widths = (4.5, 5.5, 3.5, 3.5) if with_table else (4.5, 5.5, 7.0)
    header = labels.named_header(with_table=with_table)
    columns = [Column(name, width) for name, width in zip(header, widths, strict=True)]
    rows: list[list[Content]] = [list(labels.named_cells(p, with_table=with_table)) for p in people]
    _grid(doc, columns, rows)


def _organisations(doc: DocumentObject, rows: list[tuple[str, int]]) -> None:
    _ = labels._
    columns = [Column(_("Organisation"), 12.0), Column(_("People"), 2.5, numeric=True)]
    _grid(doc, columns, [[name, _number(count)] for name, count in rows])


def _attendance(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    """The foglio presenze: named only with consent, organisations only in groups of N."""
    n = report.min_group
    doc.add_paragraph(labels.register_note(report))
    if report.register_withheld:
        return
    if report.named:
        _named(doc, report.named, with_table=False)
    rows = labels.organisation_rows(report.organisations, report.other_organisations, n)
    if rows:
        _organisations(doc, rows)
    else:
        _note(doc, labels.no_organisation_groups(n))
    _note(doc, labels.organisations_note(n))


def _priorities(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    _ = labels._
    mode = report.voting_mode
    doc.add_paragraph(
        _("Proposals on the wall: %(n)s · %(votes)s")
        % {"n": _number(report.proposals), "votes": labels.tally(mode, report.total_votes)}
    )
    top = report.top(10)
    picture = chart.png(top)
    if picture:
        shape = doc.add_picture(io.BytesIO(picture), width=Cm(14))
        shape._inline.docPr.set("descr", _("The ten proposals with most votes"))
    _ranked(doc, report, top)
    if not top:
        _note(doc, _("No votes yet."))


def _rankings(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    for block in labels.consensus_blocks(report):
        if isinstance(block, labels.Para):
            if block.note:
                _note(doc, block.text)
            else:
                _paragraph(doc, clean(block.text))
            continue
        widths, _room = block.widths, _text_width(False)
        scale = min(1.0, _room / sum(widths))
        columns = [
            Column(h, w * scale, numeric=n)
            for h, w, n in zip(block.header, widths, block.numeric, strict=True)
        ]
        _grid(doc, columns, [[clean(c) for c in row] for row in block.rows])


def _questions(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    """A Q&A table's questions by support, answered or not, with the moderator's note (the
    answer under the question, so the figures keep the page upright)."""
    _ = labels._
    n = report.min_group
    doc.add_paragraph(labels.questions_note(report))
    if not report.lines:
        _note(doc, _("No question on the wall."))
        return
    heads = [labels.supports_heading(), *(labels.category(c) for c in report.categories)]
    widths = [_figure_cm(label) for label in heads]
    room, widths = _fit([RANK_CM, *widths], TITLE_CM, landscape=_landscape(doc))
    columns = [
        Column(_("Pos."), widths[0], numeric=True),
        Column(_("Question"), room),
        *(Column(label, w, numeric=True) for label, w in zip(heads, widths[1:], strict=True)),
    ]
    rows: list[list[Content]] = []
    for line in report.lines:
        cell = _proposal_cell(line)
        cell.insert(1, [(labels.asked_by(line), "note")])
        cell.append([(labels.answer(line), "b" if line.answered else "note")])
        rows.append(
            [str(line.rank), cell, _number(line.votes), *(_cell(v, n) for v in line.by_category)]
        )
    _grid(doc, columns, rows)


def _summary(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    _synthesis(doc, report, level + 2)


def _closing(doc: DocumentObject, closing: labels.Closing) -> None:
    """Lines to fill by hand, then the responsible officer's name and signature."""
    for label, value in closing.lines:
        _meta(doc, (label, value))
    if closing.note:
        _note(doc, closing.note)
    signatory = doc.add_paragraph()
    signatory.paragraph_format.space_before = Pt(18)
    signatory.paragraph_format.left_indent = Cm(8.5)
    signatory.add_run(closing.signatory).bold = True
    for label, value in closing.signature:
        line = doc.add_paragraph(f"{label}: {value}")
        line.paragraph_format.left_indent = Cm(8.5)
        line.paragraph_format.space_before = Pt(12)


def _table_closing(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    _closing(doc, labels.table_closing(report))


_TableDrawer = Callable[[DocumentObject, TableReport, int, str], None]


def _chain(doc: DocumentObject, report: TableReport, level: int, footer: str) -> None:
    """Each need, its actions with their votes, the pledges to each; the unanswered flagged."""
    mode = report.voting_mode
    _note(doc, labels.chain_note())
    for item in report.chain():
        _heading(doc, clean(labels.need_head(item.need, mode)), level + 2)
        if not item.actions:
            _paragraph(doc).add_run(f"⚠ {labels.unanswered()}").bold = True
        for action in item.actions:
            _paragraph(doc, clean(labels.action_text(action.line, mode)), "ListBullet")
            for pledge, resource in action.pledges:
                _paragraph(doc, clean(labels.pledge_text(pledge, resource)), "ListBullet2")
    unanswered = report.unanswered()
    if unanswered:
        _heading(doc, labels.unanswered_heading(), level + 2)
        for need in unanswered:
            text = f"⚠ {labels.numbered(need)} · {clean(need.title)}"
            _paragraph(doc, style="ListBullet").add_run(text).bold = True
    unlinked = report.unlinked_actions()
    if unlinked:
        _heading(doc, labels.unlinked_heading(), level + 2)
        for line in unlinked:
            _paragraph(doc, clean(labels.action_text(line, mode)), "ListBullet")
            for pledge, resource in report.pledges_to(line.id):
                _paragraph(doc, clean(labels.pledge_text(pledge, resource)), "ListBullet2")


_TABLE_DRAW: dict[str, _TableDrawer] = {
    "timeline": _timeline,
    "participants": _participants,
    "attendance": _attendance,
    "priorities": _priorities,
    "rankings": _rankings,
    "questions": _questions,
    "summary": _summary,
    "chain": _chain,
    "proposals": _proposals,
    "dissent": _dissent,
    "off_wall": _off_wall,
    "closing": _table_closing,
}
# What must come before a section's heading (a page turned landscape).
_TABLE_BEFORE: dict[str, Callable[[DocumentObject, TableReport, str], None]] = {
    "proposals": _turn_for_proposals,
}


def table_docx(report: TableReport, *, generated: dt.datetime | None = None) -> bytes:
    _ = labels._
    footer = f"{labels.titled(report.title, report)} · {report.event.title}"
    doc = _new(footer, _("Minutes of the table"), footer, generated)
    eyebrow = f"{_('Minutes of the table')} · {clean(report.event.title)}"
    if report.draft:
        eyebrow += f" · {labels.draft().upper()}"
    _paragraph(doc, eyebrow, "Note")
    _event_line(doc, report)
    _table(doc, report, 1, footer)
    return _save(doc)


# --- the event ----------------------------------------------------------------------------


def _participation_widths(report: EventReport) -> tuple[list[float], float, bool]:
    """The figure columns, the least room for a table's title, and whether to turn."""
    names = [labels.category(c) for c in report.categories] + [labels._("Total")]
    figures = [_figure_cm(name) for name in names]
    longest = max((_word_cm(t.title, BODY_PT) for t in report.tables), default=0)
    least = max(LABEL_CM, longest)
    return figures, least, _text_width(False) - sum(figures) < least


def _turn_for_participation(doc: DocumentObject, report: EventReport) -> None:
    if _participation_widths(report)[2]:
        _section(doc, report.event.title, landscape=True)


def _participation(doc: DocumentObject, report: EventReport) -> None:
    """Tables down, categories across; the first column keeps room for a table's title."""
    _ = labels._
    n = report.min_group
    names = [labels.category(c) for c in report.categories] + [_("Total")]
    figures, least, turn = _participation_widths(report)
    title = report.event.title
    room, figures = _fit(figures, least, landscape=turn)
    columns = [
        Column(_("Table"), room),
        *(Column(name, w, numeric=True) for name, w in zip(names, figures, strict=True)),
    ]
    rows: list[list[Content]] = [
        [
            t.title,
            *(_cell(report.cell(t, c), n) for c in report.categories),
            _number(t.people_total),
        ]
        for t in report.tables
    ]
    rows.append(
        [
            _("Total"),
            *(_cell(v, n) for v in report.people),
            _number(report.people_total),
        ]
    )
    _grid(doc, columns, rows, total=True)
    _note(doc, labels.event_totals_note(report) + " " + labels.privacy_note(n))
    _note(doc, labels.privacy_line(report.event))
    if turn:
        _section(doc, title, landscape=False)


def event_docx(report: EventReport, *, generated: dt.datetime | None = None) -> bytes:
    _ = labels._
    e = report.event
    title = labels.titled(e.title, report)
    doc = _new(title, _("Event summary"), title, generated)
    _heading(doc, clean(title), 0)
    _paragraph(doc, _("Event summary"), "Subtitle")
    _event_line(doc, report)
    doc.add_paragraph(
        _("Tables: %(t)s · participants: %(p)s · proposals on the wall: %(n)s · %(votes)s")
        % {
            "t": _number(len(report.tables)),
            "p": _number(report.people_total),
            "n": _number(report.proposals),
            "votes": labels.totals(report.votes_by_mode()),
        }
    )

    for section in outline.event_sections(report):
        before = _EVENT_BEFORE.get(section.id)
        if before:
            before(doc, report)
        _heading(doc, _(section.heading), 1)
        _EVENT_DRAW[section.id](doc, report)

    for t in report.tables:
        _section(doc, t.title, landscape=False)
        _table(doc, t, 1, t.title)
    return _save(doc)


def _event_attendance(doc: DocumentObject, report: EventReport) -> None:
    doc.add_paragraph(labels.event_register_note(report))
    if report.named:
        _named(doc, report.named, with_table=True)
    if report.organisations:
        _organisations(doc, labels.organisation_rows(report.organisations, 0, report.min_group))
        _note(doc, labels.event_organisations_note(report.min_group))
    else:
        _note(doc, labels.no_organisation_groups(report.min_group))


def _event_priorities(doc: DocumentObject, report: EventReport) -> None:
    _ = labels._
    for t in report.tables:
        _heading(doc, clean(labels.provisional(t)), 2)
        _meta(doc, labels.how_voted(t))
        top = t.top(5)
        _ranked(doc, t, top)
        if not top:
            _note(doc, _("No votes yet."))


def _event_summaries(doc: DocumentObject, report: EventReport) -> None:
    _ = labels._
    for t in report.tables:
        _heading(doc, clean(labels.provisional(t)), 2)
        if t.facilitator:
            _meta(doc, (_("Facilitator"), t.facilitator))
        _synthesis(doc, t, 3)


def _event_closing(doc: DocumentObject, report: EventReport) -> None:
    _closing(doc, labels.event_closing(report))


def _event_plenary(doc: DocumentObject, report: EventReport) -> None:
    _ = labels._
    chapter = report.plenary
    if chapter is None:
        return
    for table, lines, tied in chapter.priorities:
        _heading(doc, clean(table), 2)
        for line in lines:  # plain paragraphs: "Ranked" is the minutes' own rankings
            p = _paragraph(doc)
            p.add_run(f"{line.rank}. {clean(line.title)}")
            if line.votes is not None:
                p.add_run(" — ")
                p.add_run(labels.tally(line.voting_mode, line.votes)).bold = True
        if tied:
            _paragraph(doc, f"… {labels.tied_after(tied)}")
        if not lines:
            _note(doc, _("No votes yet."))
    _heading(doc, _("Themes that came up at several tables"), 2)
    if not chapter.themes:
        _note(doc, _("No theme was confirmed."))
    for theme, items in chapter.themes:
        _paragraph(doc, clean(theme)).runs[0].bold = True
        for item in items:
            _paragraph(doc, f"{clean(item.title)} · {clean(item.table)}", "ListBullet")
    for heading, items in (
        (_("Needs no action answers yet"), chapter.needs),
        (_("Resources pledged"), chapter.resources),
    ):
        _heading(doc, heading, 2)
        for item in items:
            _paragraph(doc, f"{clean(item.title)} · {clean(item.table)}", "ListBullet")
        if not items:
            _note(doc, _("None."))


_EVENT_DRAW: dict[str, Callable[[DocumentObject, EventReport], None]] = {
    "plenary": _event_plenary,
    "participation": _participation,
    "attendance": _event_attendance,
    "priorities": _event_priorities,
    "summaries": _event_summaries,
    "closing": _event_closing,
}
_EVENT_BEFORE: dict[str, Callable[[DocumentObject, EventReport], None]] = {
    "participation": _turn_for_participation,
}
