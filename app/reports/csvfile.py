"""CSV: the proposals with their tallies, one row each, for Excel (UTF-8 with BOM, ';')."""

import csv
import io

from app.reports import labels
from app.reports.data import EventReport, TableReport
from app.reports.labels import raw_cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Text that a spreadsheet would run as a formula is prefixed with a quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def safe(value: object) -> object:
    return safe_text(value) if isinstance(value, str) else value


def _header(categories: tuple[str, ...]) -> list[str]:
    _ = labels._
    return [
        _("Table"),
        _("Rank"),
        _("Kind"),
        _("Title"),
        _("Description"),
        _("Tags"),
        _("Votes"),
        _("Voters"),
        *(labels.category(c) for c in categories),
        _("Proxy input"),
        _("Proxy votes"),
        _("Merged from"),
    ]


def _rows(report: TableReport, categories: tuple[str, ...]) -> list[list[object]]:
    _ = labels._
    rows: list[list[object]] = []
    for line in report.lines:
        by = dict(zip(report.categories, line.by_category, strict=True))
        rows.append(
            [
                report.title,
                line.rank,
                labels.kind(line.kind),
                line.title,
                line.body,
                ", ".join(line.tags),
                line.votes,
                line.voters,
                *(raw_cell(by.get(c, 0), report.min_group) for c in categories),
                _("yes") if line.proxy else "",
                line.proxy_votes,
                " | ".join(line.merged_from),
            ]
        )
    return rows


def _write(header: list[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe(h) for h in header])
    writer.writerows([safe(v) for v in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def table_csv(report: TableReport) -> bytes:
    return _write(_header(report.categories), _rows(report, report.categories))


def event_csv(report: EventReport) -> bytes:
    rows = [row for t in report.tables for row in _rows(t, report.categories)]
    return _write(_header(report.categories), rows)
