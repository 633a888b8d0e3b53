"""The spreadsheets as a user meets them: sheet names, headers, alignment, printing, and the
CSV and XLSX columns in one order. Files are read back with openpyxl and csv."""

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.workbook import Workbook as Book
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from app import reports
from app.models import Table
from app.reports import csvfile, data, labels, sheets
from app.services import phases, synthesis, tables, voting
from tests.conftest import in_phase, make_participant
from tests.test_reports import ETS, TOTAL_VOTES, Known, _post, build_known

LONG_TITLE = "Disabilità, progetti di vita indipendente e servizi per il dopo di noi"
MARKS = ("< 3", "*")


@pytest.fixture
def known(session: Session) -> Known:
    return build_known(session)


def _table(session: Session, known: Known, title: str, mode: str = "approval") -> Table:
    event = session.get(type(known.event), known.event.id)
    assert event is not None
    return tables.create_table(
        session, event=event, title=title, voting=tables.VotingRules.checked(mode, 5, 3)
    )


def _book(raw: bytes) -> Book:
    return load_workbook(io.BytesIO(raw))


def _event_book(session: Session, known: Known) -> tuple[data.EventReport, Book]:
    report = data.build_event_report(session, known.event, min_group=3)
    return report, _book(reports.render_event(report, "xlsx"))


def _table_book(session: Session, known: Known) -> tuple[data.TableReport, Book]:
    report = data.build_table_report(session, known.table, min_group=3)
    return report, _book(reports.render_table(report, "xlsx"))


def _csv(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def _header_row(ws: Worksheet) -> int:
    """The row that the sheet repeats on every printed page."""
    assert ws.print_title_rows, ws.title
    first, _sep, last = ws.print_title_rows.replace("$", "").partition(":")
    assert first == last, ws.print_title_rows
    return int(first)


def _header(ws: Worksheet) -> list[str]:
    return [c.value for c in ws[_header_row(ws)] if c.value is not None]


def _stem(name: str) -> str:
    """A sheet name without its number and without the mark of a shortened title."""
    return name.split(" · ", 1)[-1].removesuffix("…")


# --- sheet names ----------------------------------------------------------------------------


def test_a_long_table_title_gives_a_sheet_name_cut_on_a_word(
    session: Session, known: Known
) -> None:
    for title in (LONG_TITLE, LONG_TITLE, "Scuola: [sostegno]/inclusione?"):
        # The same title twice: two sheets all the same. Closed: a draft's sheet says so.
        in_phase(session, _table(session, known, title), "closed")
    _report, book = _event_book(session, known)
    assert book.sheetnames[-1] == "Presenze"  # the event's attendance register, last
    names = book.sheetnames[3:-1]  # after the summary, the plenary and the participation
    assert len(names) == 4 and len({n.casefold() for n in names}) == 4
    assert names[0] == "1 · Disabilità e progetti di…"  # 33 characters with its number
    for name in names:
        assert len(name) <= 31, name
        assert not set(name) & set("[]:*?/\\"), name
    for name in names[1:3]:
        stem = _stem(name)
        assert LONG_TITLE.startswith(stem) and LONG_TITLE[len(stem)] == " ", name
    assert names[3] == "4 · Scuola sostegno inclusione"

    table = in_phase(session, _table(session, known, LONG_TITLE), "closed")
    own = _book(reports.render_table(data.build_table_report(session, table), "xlsx"))
    name = own.sheetnames[0]
    assert len(name) <= 31 and name.endswith("…")
    assert LONG_TITLE.startswith(_stem(name)) and LONG_TITLE[len(_stem(name))] == " "


def test_sheet_names_stay_valid_whatever_the_title() -> None:
    used: set[str] = {"partecipazione"}
    names = [
        sheets._sheet_name("Partecipazione", used),
        sheets._sheet_name("PARTECIPAZIONE", used),
        sheets._sheet_name("'Citato'", used),
        sheets._sheet_name("Supercalifragilistichespiralidoso" * 2, used),
        sheets._sheet_name("", used),
        sheets._sheet_name("Riga\x07 di\ncontrollo", used),
    ]
    assert names[:3] == ["Partecipazione (2)", "PARTECIPAZIONE (3)", "Citato"]
    assert len(names[3]) == 31 and names[3].endswith("…")
    assert names[4:] == ["-", "Riga di controllo"]
    book = Workbook()
    for name in names:  # openpyxl refuses what Excel refuses
        assert book.create_sheet(name).title == name


# --- header rows, frozen and printed ----------------------------------------------------------


def test_the_header_row_is_frozen_filtered_and_printed_on_every_page(
    session: Session, known: Known
) -> None:
    _table(session, known, "Famiglia e rete antiviolenza")
    report, book = _event_book(session, known)
    _report, own = _table_book(session, known)
    for ws in (*book.worksheets, *own.worksheets):
        row = _header_row(ws)
        headers = (labels._("Name"), labels._("Organisation"))
        if ws.title == labels._("Attendance") and ws.cell(row, 1).value not in headers:
            # A register with nobody to name (a draft): its note alone, no empty header.
            assert ws.freeze_panes is None and not ws.auto_filter.ref, ws.title
            assert "Presenti" in str(ws.cell(1, 1).value), ws.title
            continue
        assert ws.freeze_panes in (f"A{row + 1}", f"B{row + 1}"), ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{row}:"), ws.title
        cells = [c for c in ws[row] if c.value is not None]
        assert cells and all(c.font.bold for c in cells), ws.title
        assert all(c.alignment.wrap_text for c in cells), ws.title
    summary = book[labels._("Summary")]
    assert _header_row(summary) == 4  # not the event's title in row 1
    assert summary["A1"].value == labels.titled(known.event.title, report)  # a draft: "(bozza)"
    assert _header(summary)[0] == labels._("Table")
    # The filter covers the tables, not the totals under them.
    assert summary.auto_filter.ref == f"A4:K{4 + len(report.tables)}"


def test_printed_one_page_wide_as_many_tall_landscape(session: Session, known: Known) -> None:
    _report, book = _event_book(session, known)
    _report2, own = _table_book(session, known)
    for ws in (*book.worksheets, *own.worksheets):
        setup = ws.page_setup
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title
        assert ws.sheet_properties.pageSetUpPr is not None
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert setup.orientation == "landscape", ws.title
        assert ws.oddHeader is not None and known.event.title in str(ws.oddHeader.left.text)
        assert ws.oddFooter is not None and ws.oddFooter.center.text == "&P / &N"


def test_a_table_sheet_prints_its_table_and_voting_method(session: Session, known: Known) -> None:
    report, own = _table_book(session, known)
    ws = own.worksheets[0]
    assert ws.oddHeader is not None and ws.oddFooter is not None
    assert ws.oddHeader.right.text == report.title
    assert ws.oddFooter.left.text == labels.voting(
        report.voting_mode, report.dots, report.max_per_proposal
    )
    # The table's name column, the same on every row, is left off the printed page.
    assert ws.print_area is not None and "$B$1:" in ws.print_area


# --- what the cells look like -----------------------------------------------------------------


def test_figures_and_privacy_marks_are_right_aligned(session: Session, known: Known) -> None:
    _report, book = _event_book(session, known)
    _report2, own = _table_book(session, known)
    marks = 0
    for ws in (*book.worksheets, *own.worksheets):
        for row in ws.iter_rows(min_row=_header_row(ws) + 1):
            for cell in row:
                if isinstance(cell.value, int | float) or cell.value in MARKS:
                    assert cell.alignment.horizontal == "right", (ws.title, cell.coordinate)
                    marks += cell.value in MARKS
    assert marks >= 3
    ws = own.worksheets[0]
    header = _header(ws)
    for name in (labels._("Votes"), labels._("Voters"), labels._("Proxy votes"), ETS):
        column = header.index(name) + 1
        cells = [ws.cell(row=r, column=column) for r in range(2, ws.max_row + 1)]
        assert all(c.alignment.horizontal == "right" for c in cells), name


def test_widths_follow_the_content_and_long_text_wraps(session: Session, known: Known) -> None:

    table = session.get(Table, known.table.id)
    assert table is not None
    synthesis.save_synthesis(
        session, table, facilitator="Dott.ssa Maria Grazia Sessa", synthesis="Testo"
    )
    _report, book = _event_book(session, known)
    summary = book[labels._("Summary")]
    facilitator = _header(summary).index(labels._("Facilitator")) + 1
    letter = summary.cell(row=4, column=facilitator).column_letter
    assert summary.column_dimensions[letter].width >= len("Dott.ssa Maria Grazia Sessa")
    ws = book.worksheets[3]
    header = _header(ws)
    for name, cap in ((labels._("Title"), 45), (labels._("Description"), 55)):
        column = header.index(name) + 1
        letter = ws.cell(row=1, column=column).column_letter
        assert 10 < ws.column_dimensions[letter].width <= cap + 2, name
        cells = [ws.cell(row=r, column=column) for r in range(2, ws.max_row + 1)]
        assert all(c.alignment.wrap_text and c.alignment.vertical == "top" for c in cells)
    votes = ws.cell(row=1, column=header.index(labels._("Votes")) + 1).column_letter
    assert ws.column_dimensions[votes].width <= 12


# --- one order of columns, and the unit of the votes ------------------------------------------


def test_csv_and_xlsx_have_the_same_columns_in_the_same_order(
    session: Session, known: Known
) -> None:
    report, own = _table_book(session, known)
    rows = _csv(reports.render_table(report, "csv"))
    assert rows[0] == _header(own.worksheets[0])
    sheet_rows = list(own.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert [r[3] for r in rows[1:]] == [r[3] for r in sheet_rows]  # the titles, in order
    _ = labels._
    assert rows[0][:9] == [
        _("Table"),
        _("Rank"),
        _("Kind"),
        _("Title"),
        _("Description"),
        _("Tags"),
        _("Votes"),
        _("Voting"),
        _("Voters"),
    ]
    assert rows[0][-16:] == [
        _("Proxy input"),
        _("Proxy votes"),
        _("Merged from"),
        _("Counting rule"),
        _("Weighted votes"),
        _("Rank by weighted votes"),
        _("Rank by consensus"),
        _("Bridging score"),
        _("Support by group"),
        _("Ranking adopted"),
        _("Disagree"),
        _("Disagreement by category"),
        _("Reasons for disagreeing"),
        _("Needs → actions"),
        _("Pledged resources"),
        _("Version"),
    ]

    # The event's CSV lists every category of the event; a table's sheet, those it has.
    event, book = _event_book(session, known)
    header = _csv(reports.render_event(event, "csv"))[0]
    sheet = _header(book.worksheets[3])
    assert sheet == [h for h in header if h in sheet]
    assert header[0] == sheet[0] == _("Table")


def test_every_file_says_how_each_table_voted(session: Session, known: Known) -> None:
    dots = _table(session, known, "Famiglia e rete antiviolenza", mode="dots")
    phases.set_phase(session, dots, "collect")
    who, _token = make_participant(session, dots, category=ETS)
    post = _post(session, who, "Sportello antiviolenza in ogni Comune")
    phases.set_phase(session, dots, "voting")
    voting.set_vote(session, participant=who, proposal_id=post.id or 0, dots=3)
    report, book = _event_book(session, known)
    approval, dot = csvfile.unit("approval"), csvfile.unit("dots")
    assert approval != dot
    assert report.votes_by_mode() == {"approval": TOTAL_VOTES, "dots": 3}

    # The summary: each table's unit next to its votes, one total per unit, never a sum.
    summary = book[labels._("Summary")]
    header = _header(summary)
    votes, unit = header.index(labels._("Votes")), header.index(labels._("Voting"))
    assert unit == votes + 1
    rows = list(summary.iter_rows(min_row=5, values_only=True))
    by_table = {r[0]: (r[votes], r[unit]) for r in rows[: len(report.tables)]}
    assert by_table[known.table.title] == (TOTAL_VOTES, approval)
    assert by_table[dots.title] == (3, dot)
    totals = [(r[0], r[votes], r[unit]) for r in rows[len(report.tables) :]]
    assert totals == [(labels._("Total"), TOTAL_VOTES, approval), (labels._("Total"), 3, dot)]
    assert all(TOTAL_VOTES + 3 not in r for r in rows)  # approvals and dots: never added

    # Each table's sheet and the CSV: the unit next to every count of votes.
    for ws, expected in ((book.worksheets[3], approval), (book.worksheets[4], dot)):
        header = _header(ws)
        assert header.index(labels._("Voting")) == header.index(labels._("Votes")) + 1
        column = header.index(labels._("Voting"))
        assert {r[column] for r in ws.iter_rows(min_row=2, values_only=True)} == {expected}
    lines = _csv(reports.render_event(report, "csv"))
    column = lines[0].index(labels._("Voting"))
    assert {(r[0], r[column]) for r in lines[1:]} == {
        (known.table.title, approval),
        (dots.title, dot),
    }
