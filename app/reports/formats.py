"""The one list of the minutes' formats: each a record with its renderers (as Datasette
registers its output renderers), so the routes, the downloads page, the media types and the
dispatch all read it and a new format is one entry here."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from app.reports import csvfile, html, md, opendata, pdf, sheets, word
from app.reports.data import EventReport, TableReport
from app.templating import N_

TableRenderer = Callable[[TableReport, dt.datetime | None], bytes]
EventRenderer = Callable[[EventReport, dt.datetime | None], bytes]


@dataclass(frozen=True)
class ReportFormat:
    key: str  # the file extension and the last part of the download's path
    label: str  # msgid of the button on the downloads page (translated there)
    media_type: str
    slow: bool  # may take seconds: the downloads page fetches it showing progress
    inline: bool  # opened in the browser rather than saved
    table: TableRenderer
    event: EventRenderer


FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat(
        "html",
        N_("Web page"),
        "text/html; charset=utf-8",
        slow=False,
        inline=True,
        table=lambda r, when: html.table_html(r, generated=when).encode(),
        event=lambda r, when: html.event_html(r, generated=when).encode(),
    ),
    ReportFormat(
        "pdf",
        "PDF",
        "application/pdf",
        slow=True,
        inline=False,
        table=lambda r, when: pdf.html_to_pdf(html.table_html(r, generated=when, compact=True)),
        event=lambda r, when: pdf.combined_pdf(
            html.event_pdf_parts(r, generated=when), title=r.event.title
        ),
    ),
    ReportFormat(
        "docx",
        "Word",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        slow=True,
        inline=False,
        table=lambda r, when: word.table_docx(r, generated=when),
        event=lambda r, when: word.event_docx(r, generated=when),
    ),
    ReportFormat(
        "xlsx",
        "Excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        slow=True,
        inline=False,
        table=lambda r, _when: sheets.table_xlsx(r),
        event=lambda r, _when: sheets.event_xlsx(r),
    ),
    ReportFormat(
        "csv",
        "CSV",
        "text/csv; charset=utf-8",
        slow=False,
        inline=False,
        table=lambda r, _when: csvfile.table_csv(r),
        event=lambda r, _when: csvfile.event_csv(r),
    ),
    ReportFormat(
        "json",
        N_("Open data (JSON)"),
        "application/json",
        slow=False,
        inline=False,
        table=lambda r, _when: opendata.table_json(r),
        event=lambda r, _when: opendata.event_json(r),
    ),
    ReportFormat(
        "md",
        "Markdown",
        "text/markdown; charset=utf-8",
        slow=False,
        inline=False,
        table=lambda r, _when: md.table_md(r),
        event=lambda r, _when: md.event_md(r),
    ),
)

KEYS: tuple[str, ...] = tuple(f.key for f in FORMATS)
BY_KEY: dict[str, ReportFormat] = {f.key: f for f in FORMATS}

# The path parameter: FastAPI validates it (422) and documents the keys as an enum.
if TYPE_CHECKING:
    FormatKey = str
else:
    FormatKey = Literal[KEYS]


def get(key: str) -> ReportFormat:
    return BY_KEY[key]
