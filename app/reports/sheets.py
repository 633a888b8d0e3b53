"""XLSX: a summary sheet, a participation sheet and one sheet per table.

Numbers are real numbers, right-aligned with the privacy marks that stand in for some of
them; header rows are frozen and filtered; text that a spreadsheet would run as a formula
is neutralised, like in the CSV, whose columns the proposals sheets share (csvfile.columns).
Widths follow the content (capped; long text wraps, rows are made tall enough for it).
Printed, every sheet is landscape, one page wide and as many pages tall as it takes, with
its header row on every page; the page header names the event, date and table, the footer
the voting method and the page.
"""

import io
import math
import re
import textwrap
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from app.enums import VotingMode
from app.reports import labels
from app.reports.csvfile import Column, columns, safe_text, unit, values
from app.reports.data import EventInfo, EventReport, Line, Named, TableReport
from app.reports.labels import raw_cell

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="E8E8E8")
_EDGE = Side(style="thin", color="B0B0B0")
GRID = Border(left=_EDGE, right=_EDGE, top=_EDGE, bottom=_EDGE)
ALIGN = {
    "figure": Alignment(horizontal="right", vertical="top"),
    "text": Alignment(horizontal="left", vertical="top", wrap_text=True),
    "flag": Alignment(horizontal="center", vertical="top"),
}
TURNED = Alignment(horizontal="center", vertical="top", wrap_text=True, text_rotation=90)
HEAD_ALIGN = {
    kind: Alignment(horizontal=a.horizontal, vertical="top", wrap_text=True)
    for kind, a in ALIGN.items()
}

SHEET_NAME_MAX = 31  # Excel's limit
_BAD = re.compile(r"[\[\]:*?/\\]")
LINE_HEIGHT = 15  # points, a line of the default 11-point font
LETTERS_PER_DIGIT = 1.2  # text in a column n digits wide: about 1.2 n letters a line
BOLD_WIDER = 1.2
POINTS_PER_DIGIT = 5.25  # a width unit: the digit of Calibri 11, 7 pixels at 96 dpi
TURNED_HEIGHT = 96  # points: the least height of a header row with headers turned upwards
HEADER_MAX = 230  # our text in a page header or footer: Excel takes 255, codes included


def _fit(text: str, limit: int) -> str:
    """At most `limit` characters, cut after a whole word (with "…") rather than inside one."""
    if len(text) <= limit:
        return text
    words = text[: limit - 1].split(" ")
    if not text[limit - 1].isspace() and len(" ".join(words[:-1])) >= limit // 2:
        words.pop()  # the last word was cut in two (unless it is most of the text)
    return " ".join(words).rstrip(" ·-–—,;:.'") + "…"


def _sheet_name(title: str, used: set[str], prefix: str = "") -> str:
    """Excel: at most 31 characters, none of []:*?/\\, no quote at either end, unique in the
    workbook (whatever the case). Long titles are shortened on a word boundary."""
    clean = " ".join(ILLEGAL_CHARACTERS_RE.sub("", _BAD.sub(" ", title)).split()).strip("'")
    base = prefix + (clean or "-")
    name, i = _fit(base, SHEET_NAME_MAX), 2
    while name.casefold() in used:
        suffix = f" ({i})"
        name = _fit(base, SHEET_NAME_MAX - len(suffix)) + suffix
        i += 1
    used.add(name.casefold())
    return name


def _value(value: object) -> str | int | float | None:
    """Neutralised, and without the control characters that Excel files cannot hold."""
    if value is None or isinstance(value, int | float):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", safe_text(str(value)))


def _need(value: object) -> int:
    """The characters a value needs on one line."""
    if value is None:
        return 0
    return max((len(part) for part in str(value).splitlines()), default=0)


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _head_need(text: str) -> int:
    """A header wraps: its longest word (bold, so wider), and at most about three lines."""
    return max(math.ceil(_longest_word(text) * BOLD_WIDER), math.ceil(len(text) / 3))


def _lines(value: object, width: float) -> int:
    """How many lines a wrapped value takes in a column `width` characters wide (a width
    counts digits, and most letters are narrower)."""
    if value is None or value == "":
        return 1
    fit = max(int((width - 1) * LETTERS_PER_DIGIT), 1)
    return sum(max(len(textwrap.wrap(part, fit)), 1) for part in str(value).splitlines()) or 1


def _heights(ws: Worksheet, first: int, last: int) -> None:
    """Rows tall enough for their wrapped text: Excel works this out on opening, but
    LibreOffice keeps the default height and the lines run into the next row."""
    for r in range(first, last + 1):
        lines = 1
        for cell in ws[r]:
            if cell.value is not None and cell.alignment.wrap_text:
                if cell.alignment.textRotation:
                    continue  # its height is the header row's, set by _grid
                width = ws.column_dimensions[cell.column_letter].width or 13
                if cell.font.bold:
                    width /= BOLD_WIDER
                lines = max(lines, _lines(cell.value, width))
        if lines > 1:
            ws.row_dimensions[r].height = LINE_HEIGHT * lines + 2


def _widen(ws: Worksheet, column: int, width: float) -> None:
    letter = get_column_letter(column)
    current = ws.column_dimensions.get(letter)
    if current is None or current.width is None or current.width < width:
        ws.column_dimensions[letter].width = width


def _grid(
    ws: Worksheet,
    top: int,
    cols: Sequence[Column],
    rows: Sequence[Sequence[object]],
    totals: Sequence[Sequence[object]] = (),
    *,
    turn: bool = False,
) -> int:
    """A header row at `top`, the rows under it (the filter covers them), then `totals` in
    bold, outside the filter. Widths follow the content, within each column's cap; with
    `turn`, the figures' headers read upwards, so that a column is as narrow as its numbers
    (many columns, still legible when printed one page wide). Returns the last row."""
    turned = [turn and col.kind != "text" for col in cols]
    for c, (col, up) in enumerate(zip(cols, turned, strict=True), start=1):
        cell = ws.cell(row=top, column=c, value=_value(col.header))
        cell.font, cell.fill, cell.border = BOLD, HEAD_FILL, GRID
        cell.alignment = TURNED if up else HEAD_ALIGN[col.kind]
    r = top
    for bold, block in ((False, rows), (True, totals)):
        for values_ in block:
            r += 1
            for c, col in enumerate(cols, start=1):
                value = values_[c - 1] if c <= len(values_) else None
                cell = ws.cell(row=r, column=c, value=_value(value))
                cell.alignment, cell.border = ALIGN[col.kind], GRID
                if bold:
                    cell.font = BOLD
    ws.auto_filter.ref = f"A{top}:{get_column_letter(len(cols))}{top + len(rows)}"
    # A turned header's lines run up the header row and stand side by side across.
    run = max(
        [TURNED_HEIGHT]
        + [
            _longest_word(col.header) * BOLD_WIDER * POINTS_PER_DIGIT + 10
            for col, up in zip(cols, turned, strict=True)
            if up
        ]
    )
    per_line = int(run / POINTS_PER_DIGIT * LETTERS_PER_DIGIT / BOLD_WIDER)
    for c, (col, up) in enumerate(zip(cols, turned, strict=True), start=1):
        need = max([_need(v[c - 1]) for v in (*rows, *totals) if c <= len(v)], default=0)
        if up:  # room for its lines side by side, and for the filter's button
            lines = len(textwrap.wrap(col.header, per_line)) or 1
            _widen(ws, c, max(need + 1, lines * LINE_HEIGHT / POINTS_PER_DIGIT + 1, 5))
        else:  # a word of the header is never cut in two
            head = _head_need(col.header)
            _widen(ws, c, max(min(col.width, max(head, need)), head) + 2)
    _heights(ws, top, r)
    if any(turned):
        ws.row_dimensions[top].height = max(run, ws.row_dimensions[top].height or 0)
    return r


def _note(ws: Worksheet, row: int, text: str, width: int) -> None:
    """A paragraph across the first `width` columns, wrapped (a merged cell keeps its
    height: it is set here from the text's length)."""
    ws.cell(row=row, column=1, value=_value(text)).alignment = ALIGN["text"]
    if width > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    letters = sum(
        ws.column_dimensions[get_column_letter(c)].width or 13 for c in range(1, width + 1)
    )
    ws.row_dimensions[row].height = LINE_HEIGHT * _lines(text, letters) + 2


def _header_parts(*texts: str) -> list[str]:
    """Page header and footer parts: one line each, shortened together to fit Excel's limit,
    and "&" written "&&" (a lone one starts a code)."""
    limit = max(len(t) for t in texts)
    while True:
        parts = [_fit(" ".join(t.split()), limit).replace("&", "&&") for t in texts]
        if sum(map(len, parts)) <= HEADER_MAX or limit <= 20:
            return parts
        limit -= 5


def _print(
    ws: Worksheet,
    header_row: int,
    event: EventInfo,
    what: str,
    how: str = "",
    first_column: int = 1,
) -> None:
    """Landscape A4, one page wide and any number tall, the header row on every page. The
    page header names the event and date on the left, `what` is printed on the right;
    `how` (a table's voting method) at the foot, with the page number."""
    setup = ws.page_setup
    setup.orientation = ws.ORIENTATION_LANDSCAPE
    setup.paperSize = ws.PAPERSIZE_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # 0: as many pages tall as the rows take
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True  # else the two above are ignored
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.7, bottom=0.6, header=0.3, footer=0.3)
    if first_column > 1:
        last = get_column_letter(max(ws.max_column, first_column))
        ws.print_area = f"{get_column_letter(first_column)}{header_row}:{last}{ws.max_row}"
    header, footer = ws.oddHeader, ws.oddFooter
    assert header is not None and footer is not None
    when = f"{event.title} · {labels.long_date(event.date)}"
    parts = zip(
        (header.left, header.right, footer.left), _header_parts(when, what, how), strict=True
    )
    for part, text in parts:
        if text:
            part.text, part.size = text, 9
    footer.center.text, footer.center.size = "&P / &N", 9  # page numbers


def _when(report: TableReport | EventReport) -> str:
    e = report.event
    return " · ".join(x for x in (labels.long_date(e.date), e.place, e.organiser) if x)


def _table_sheet(ws: Worksheet, report: TableReport) -> None:
    """The table's proposals, in the CSV's columns, the header in row 1 (the sheet's name
    and the printed page's header say which table and event it is)."""
    top = 1
    voting = labels.voting(report.voting_mode, report.dots, report.max_per_proposal)
    cols = columns(report.categories, questions=report.questions)
    rows = [
        values(report, line, report.categories, questions=report.questions) for line in report.lines
    ]
    _grid(ws, top, cols, rows, turn=True)
    ws.freeze_panes = f"A{top + 1}"
    # The table's name, the same on every row, is in the page header instead.
    _print(ws, top, report.event, labels.titled(report.title, report), voting, first_column=2)


def _summary(ws: Worksheet, report: EventReport) -> None:
    _ = labels._
    e = report.event
    ws.cell(row=1, column=1, value=_value(labels.titled(e.title, report))).font = TITLE
    ws.cell(row=2, column=1, value=_value(_when(report)))
    cols = [
        Column(_("Table"), "text", 32),
        Column(_("Code"), "text", 10),
        Column(_("Facilitator"), "text", 26),
        Column(_("Phase"), "text", 16),
        Column(_("Participants"), "figure", 13),
        Column(_("Proposals on the wall"), "figure", 13),
        Column(_("Votes"), "figure", 10),
        Column(_("Voting"), "text", 14),
        Column(_("Not on the wall"), "figure", 13),
        Column(_("First priority"), "text", 45),
        Column(_("Votes for the first priority"), "figure", 13),
    ]
    rows: list[list[object]] = []
    for t in report.tables:
        first = t.top(1)
        rows.append(
            [
                t.title,
                t.code,
                t.facilitator,
                labels.phase(t.phase, t.format),
                t.people_total,
                t.proposals,
                t.total_votes,
                unit(t.voting_mode),
                t.merged + sum(c for _s, c in t.off_wall),
                _first_priority(t, first),
                first[0].votes if first else 0,
            ]
        )
    # One total per unit: approvals and dots are never added up.
    by_mode = report.votes_by_mode() or {VotingMode.APPROVAL: 0}
    totals: list[list[object]] = [
        [_("Total"), "", "", "", None, None, votes, unit(mode)] for mode, votes in by_mode.items()
    ]
    totals[0][4:6] = [report.people_total, report.proposals]
    _grid(ws, 4, cols, rows, totals, turn=True)
    ws.freeze_panes = "A5"
    _print(ws, 4, e, _("Summary"))


def _participation(ws: Worksheet, report: EventReport) -> None:
    _ = labels._
    n = report.min_group
    cols = [
        Column(_("Table"), "text", 40),
        *(Column(labels.category(c), "figure", 12) for c in report.categories),
        Column(_("Total"), "figure", 10),
    ]
    rows = [
        [t.title, *(raw_cell(report.cell(t, c), n) for c in report.categories), t.people_total]
        for t in report.tables
    ]
    total = [_("Total"), *(raw_cell(v, n) for v in report.people), report.people_total]
    last = _grid(ws, 1, cols, rows, [total])
    ws.freeze_panes = "B2"
    note = labels.event_totals_note(report) + " " + labels.privacy_note(n)
    _note(ws, last + 2, note, len(cols))
    _note(ws, last + 3, labels.privacy_line(report.event), len(cols))
    _print(ws, 1, report.event, labels.titled(_("Participation"), report))


def _consensus(ws: Worksheet, report: TableReport) -> None:
    """The rankings and the consensus across categories: the same blocks as the minutes'
    section, the first grid (votes and weighted votes) at the top with its header frozen as
    on every sheet, then the other grids and the paragraphs under it."""
    blocks = labels.consensus_blocks(report)
    grids = [b for b in blocks if isinstance(b, labels.Grid)]
    first = blocks.index(grids[0])
    # The first grid's caption would read under it here: its header row says enough.
    rest = [b for i, b in enumerate(blocks) if i not in (first - 1, first)]
    row = _consensus_grid(ws, 1, grids[0]) + 2
    ws.freeze_panes = "A2"
    width = len(grids[0].header)
    for block in rest:
        if isinstance(block, labels.Para):
            _note(ws, row, block.text, width)
            row += 1
        else:
            row = _consensus_grid(ws, row + 1, block) + 2
    _print(ws, 1, report.event, f"{labels.titled(report.title, report)} · {_consensus_name()}")


def _consensus_grid(ws: Worksheet, top: int, block: labels.Grid) -> int:
    cols = [
        Column(h, "figure" if n else "text", 16 if n else 45)
        for h, n in zip(block.header, block.numeric, strict=True)
    ]
    # Ranks, numbers and votes as numbers (the labels give text, for every format).
    rows = [[int(c) if c.isdigit() else c for c in r] for r in block.rows]
    return _grid(ws, top, cols, rows)


def _consensus_name() -> str:
    return labels._("Consensus")


def _table_participation(ws: Worksheet, report: TableReport) -> None:
    """One category a row (a table has few people: a column each would only be wide)."""
    _ = labels._
    n = report.min_group
    cols = [
        Column(_("Stakeholder category"), "text", 40),
        Column(_("Participants"), "figure", 14),
    ]
    rows = [
        [labels.category(c), raw_cell(v, n)]
        for c, v in zip(report.categories, report.people, strict=True)
    ]
    last = _grid(ws, 1, cols, rows, [[_("Total"), report.people_total]])
    ws.freeze_panes = "A2"
    note = " ".join(x for x in (labels.withheld_note(report), labels.privacy_note(n)) if x)
    _note(ws, last + 2, labels.paper_note(report) + " " + note, 3)
    _note(ws, last + 3, labels.privacy_line(report.event), 3)
    _print(ws, 1, report.event, f"{labels.titled(report.title, report)} · {_('Participation')}")


def _register(
    ws: Worksheet, named: Sequence[Named], organisations: Sequence[tuple[str, int]], note: str
) -> int:
    """The foglio presenze: the named people (a filter on them), then the organisations
    counted on their own; a register with neither (a draft) is its note alone, with no
    empty header. Returns the last row written."""
    _ = labels._
    with_table = any(p.table for p in named)
    header = labels.named_header(with_table=with_table)
    widths = (40, 50, 40, 40)[: len(header)]
    people = [Column(name, "text", width) for name, width in zip(header, widths, strict=True)]
    rows = [labels.named_cells(p, with_table=with_table, blank="") for p in named]
    last = -1  # what comes first starts on row 1
    if rows:
        last = _grid(ws, 1, people, rows)
    if organisations:
        cols = [Column(_("Organisation"), "text", 50), Column(_("People"), "figure", 14)]
        last = _grid(ws, last + 2, cols, [list(row) for row in organisations])
    if rows:  # the filter is on the people (each grid sets its own: the last one would win)
        ws.auto_filter.ref = f"A1:{get_column_letter(len(people))}{1 + len(rows)}"
    if rows or organisations:
        ws.freeze_panes = "A2"
    _note(ws, last + 2, note, len(people))
    return last + 2


def _table_register(ws: Worksheet, report: TableReport) -> None:
    """A table's attendance: nothing but the totals' sentence while it is a draft."""
    n = report.min_group
    withheld = bool(report.register_withheld)
    groups = labels.organisation_rows(report.organisations, report.other_organisations, n)
    note = labels.register_note(report)
    if not withheld:
        note += " " + (labels.organisations_note(n) if groups else labels.no_organisation_groups(n))
    last = _register(ws, report.named, groups, note)
    _note(ws, last + 1, labels.privacy_line(report.event), 3)
    _print(ws, 1, report.event, f"{labels.titled(report.title, report)} · {_attendance()}")


def _event_register(ws: Worksheet, report: EventReport) -> None:
    n = report.min_group
    groups = labels.organisation_rows(report.organisations, 0, n)
    note = labels.event_register_note(report) + " "
    note += labels.event_organisations_note(n) if groups else labels.no_organisation_groups(n)
    last = _register(ws, report.named, groups, note)
    _note(ws, last + 1, labels.privacy_line(report.event), 4)
    _print(ws, 1, report.event, labels.titled(_attendance(), report))


def _attendance() -> str:
    """The sheet's name: "Presenze"."""
    return labels._("Attendance")


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _draft_prefix(report: TableReport) -> str:
    return f"{labels.draft().upper()} · " if report.draft else ""


def table_xlsx(report: TableReport) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    _ = labels._
    used = {"history", _("Participation").casefold(), _attendance().casefold()}
    used.add(_consensus_name().casefold())
    # A draft says so first: a long title is cut at the end of a sheet's name.
    ws.title = _sheet_name(report.title, used, prefix=_draft_prefix(report))
    _table_sheet(ws, report)
    _table_participation(wb.create_sheet(_("Participation")), report)
    _consensus(wb.create_sheet(_consensus_name()), report)
    _table_register(wb.create_sheet(_attendance()), report)
    wb.properties.title = labels.titled(report.title, report)
    return _save(wb)


def _plenary(ws: Worksheet, report: EventReport) -> None:
    """The plenary, the first chapter: one row per post it showed, by part."""
    _ = labels._
    chapter = report.plenary
    if chapter is None:
        return
    cols = [
        Column(_("Part"), "text", 30),
        Column(_("Table"), "text", 30),
        Column(_("Rank"), "figure", 8),
        Column(_("Title"), "text", 60),
        Column(_("Votes"), "figure", 10),
        Column(_("Voting"), "text", 14),
    ]
    rows: list[list[object]] = []
    for table, lines, _tied in chapter.priorities:
        rows += [
            [
                _("The tables' priorities"),
                table,
                line.rank,
                line.title,
                line.votes,
                unit(line.voting_mode) if line.votes is not None else None,
            ]
            for line in lines
        ]
    for theme, lines in chapter.themes:
        rows += [[f"{_('Theme')}: {theme}", line.table, None, line.title] for line in lines]
    rows += [[_("Needs no action answers yet"), x.table, None, x.title] for x in chapter.needs]
    rows += [[_("Resources pledged"), x.table, None, x.title] for x in chapter.resources]
    _grid(ws, 1, cols, rows)
    ws.freeze_panes = "A2"
    _print(ws, 1, report.event, labels.titled(_("The plenary"), report))


def event_xlsx(report: EventReport) -> bytes:
    _ = labels._
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    # "History" is Excel's own sheet name.
    used = {"history", _("Summary").casefold(), _("Participation").casefold()}
    used.add(_attendance().casefold())
    used.add(_("The plenary").casefold())
    summary.title = _("Summary")
    _summary(summary, report)
    wb.properties.title = labels.titled(report.event.title, report)
    if report.plenary is not None:
        _plenary(wb.create_sheet(_("The plenary")), report)
    _participation(wb.create_sheet(_("Participation")), report)
    for number, t in enumerate(report.tables, start=1):
        prefix = f"{number} · {_draft_prefix(t)}"
        sheet = wb.create_sheet(_sheet_name(t.title, used, prefix=prefix))
        _table_sheet(sheet, t)
    # Last, after the tables: the foglio presenze that closes the file.
    _event_register(wb.create_sheet(_attendance()), report)
    return _save(wb)


def _first_priority(table: TableReport, first: tuple[Line, ...]) -> str:
    """The first proposal's title; when others share its rank, how many (never one of a
    tie passed off as the only first)."""
    if not first:
        return ""
    more = len(first) - 1 + table.tied_after(first)
    return f"{first[0].title} ({labels.tied_after(more)})" if more else first[0].title
