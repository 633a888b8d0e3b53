"""XLSX: a summary sheet, a participation sheet and one sheet per table.

Numbers are real numbers; header rows are frozen and filtered; text that a spreadsheet
would run as a formula is neutralised, like in the CSV.
"""

import io
import re

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from app.reports import labels
from app.reports.csvfile import safe_text
from app.reports.data import EventReport, TableReport
from app.reports.labels import raw_cell

BOLD = Font(bold=True)
_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, used: set[str]) -> str:
    """Excel: at most 31 characters, none of []:*?/\\ and unique in the workbook."""
    base = _BAD.sub(" ", title).strip("' ")[:28] or "-"
    name, i = base, 2
    while name.casefold() in used:
        name = f"{base[:25]} ({i})"
        i += 1
    used.add(name.casefold())
    return name


def _header(ws: Worksheet, row: int, headers: list[str], widths: dict[int, int]) -> None:
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=col, value=ILLEGAL_CHARACTERS_RE.sub("", safe_text(text)))
        cell.font = BOLD
        ws.column_dimensions[get_column_letter(col)].width = widths.get(col, 12)


def _cell(value: object) -> object:
    """Neutralised, and without the control characters that Excel files cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", safe_text(value)) if isinstance(value, str) else value


def _put(ws: Worksheet, values: list[object]) -> None:
    ws.append([_cell(v) for v in values])


def _table_sheet(ws: Worksheet, report: TableReport) -> None:
    _ = labels._
    n = report.min_group
    cats = [labels.category(c) for c in report.categories]
    headers = [
        _("Rank"),
        _("Kind"),
        _("Tags"),
        _("Title"),
        _("Description"),
        _("Votes"),
        _("Voters"),
        *cats,
        _("Proxy input"),
        _("Proxy votes"),
        _("Merged from"),
    ]
    _header(ws, 1, headers, {3: 18, 4: 48, 5: 48})
    for line in report.lines:
        _put(
            ws,
            [
                line.rank,
                labels.kind(line.kind),
                ", ".join(line.tags),
                line.title,
                line.body,
                line.votes,
                line.voters,
                *(raw_cell(v, n) for v in line.by_category),
                _("yes") if line.proxy else "",
                line.proxy_votes,
                " | ".join(line.merged_from),
            ],
        )
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, ws.max_row)}"


def _summary(ws: Worksheet, report: EventReport) -> None:
    _ = labels._
    e = report.event
    _put(ws, [e.title])
    ws["A1"].font = Font(bold=True, size=14)
    _put(ws, [" · ".join(x for x in (labels.long_date(e.date), e.place, e.organiser) if x)])
    ws.append([])
    headers = [
        _("Table"),
        _("Code"),
        _("Facilitator"),
        _("Phase"),
        _("Participants"),
        _("Proposals on the wall"),
        _("Votes"),
        _("Not on the wall"),
        _("First priority"),
        _("Its votes"),
    ]
    _header(ws, 4, headers, {1: 36, 3: 20, 9: 48})
    for t in report.tables:
        first = t.top(1)
        _put(
            ws,
            [
                t.title,
                t.code,
                t.facilitator,
                labels.phase(t.phase),
                t.people_total,
                t.proposals,
                t.total_votes,
                t.merged + sum(c for _s, c in t.off_wall),
                first[0].title if first else "",
                first[0].votes if first else 0,
            ],
        )
    _put(ws, [_("Total"), "", "", "", report.people_total, report.proposals, report.total_votes])
    ws.freeze_panes = "A5"
    ws.auto_filter.ref = f"A4:{get_column_letter(len(headers))}{4 + len(report.tables)}"


def _participation(ws: Worksheet, report: EventReport) -> None:
    _ = labels._
    n = report.min_group
    cats = [labels.category(c) for c in report.categories]
    _header(ws, 1, [_("Table"), *cats, _("Total")], {1: 36})
    for t in report.tables:
        cells = [raw_cell(report.cell(t, c), n) for c in report.categories]
        _put(ws, [t.title, *cells, t.people_total])
    _put(ws, [_("Total"), *(raw_cell(v, n) for v in report.people), report.people_total])
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(cats) + 2)}{1 + len(report.tables)}"
    ws.append([])
    ws.append([labels.privacy_note(n)])


def _save(wb: Workbook) -> bytes:
    for ws in wb.worksheets:  # printed, every sheet is landscape and one page wide
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.print_title_rows = "1:1"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def table_xlsx(report: TableReport) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    _ = labels._
    used = {_("Participation").casefold()}
    ws.title = _sheet_name(report.title, used)
    _table_sheet(ws, report)
    people = wb.create_sheet(_("Participation"))
    n = report.min_group
    _header(people, 1, [*(labels.category(c) for c in report.categories), _("Total")], {})
    _put(people, [*(raw_cell(v, n) for v in report.people), report.people_total])
    people.freeze_panes = "A2"
    people.append([])
    people.append([labels.privacy_note(n)])
    if report.named:
        people.append([])
        people.append([labels._("Named with their consent")])
        for person in report.named:
            _put(people, [person.name, person.organisation, labels.category(person.category)])
    return _save(wb)


def event_xlsx(report: EventReport) -> bytes:
    _ = labels._
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    used = {_("Summary").casefold(), _("Participation").casefold()}
    summary.title = _("Summary")
    _summary(summary, report)
    _participation(wb.create_sheet(_("Participation")), report)
    for t in report.tables:
        _table_sheet(wb.create_sheet(_sheet_name(t.title, used)), t)
    return _save(wb)
