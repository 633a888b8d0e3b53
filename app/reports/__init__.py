"""Reports (verbale and sintesi): one data builder, one renderer per format."""

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import quote

from app.reports import csvfile, html, md, opendata, pdf, sheets, word
from app.reports.data import EventReport, TableReport

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
}
FORMATS = tuple(MEDIA_TYPES)


def render_table(report: TableReport, fmt: str, *, generated: dt.datetime | None = None) -> bytes:
    renderers: dict[str, Callable[[], bytes]] = {
        "html": lambda: html.table_html(report, generated=generated).encode(),
        "pdf": lambda: pdf.html_to_pdf(html.table_html(report, generated=generated, compact=True)),
        "docx": lambda: word.table_docx(report, generated=generated),
        "xlsx": lambda: sheets.table_xlsx(report),
        "csv": lambda: csvfile.table_csv(report),
        "json": lambda: opendata.table_json(report),
        "md": lambda: md.table_md(report),
    }
    return renderers[fmt]()


def render_event(report: EventReport, fmt: str, *, generated: dt.datetime | None = None) -> bytes:
    renderers: dict[str, Callable[[], bytes]] = {
        "html": lambda: html.event_html(report, generated=generated).encode(),
        "pdf": lambda: pdf.combined_pdf(
            html.event_pdf_parts(report, generated=generated), title=report.event.title
        ),
        "docx": lambda: word.event_docx(report, generated=generated),
        "xlsx": lambda: sheets.event_xlsx(report),
        "csv": lambda: csvfile.event_csv(report),
        "json": lambda: opendata.event_json(report),
        "md": lambda: md.event_md(report),
    }
    return renderers[fmt]()


def slug(text: str, limit: int = 40) -> str:
    """ASCII words joined by hyphens, cut after a whole word (one long word is cut)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split()
    kept: list[str] = []
    for term in words:
        if kept and len("-".join([*kept, term])) > limit:
            break
        kept.append(term)
    return "-".join(kept)[:limit] or "x"


def filename(event: str, date: dt.date, fmt: str, table: str = "", *, draft: str = "") -> str:
    """Event, table and date, e.g. stati-generali_disabilita_2024-11-09.pdf; a draft ends
    with its word (`draft`, "bozza" in Italian): stati-generali_disabilita_2024-11-09_bozza.pdf."""
    parts = [slug(event), *([slug(table)] if table else ["sintesi"]), date.isoformat()]
    if draft:
        parts.append(slug(draft))
    return "_".join(parts) + f".{fmt}"


def content_disposition(name: str, *, inline: bool = False) -> str:
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
