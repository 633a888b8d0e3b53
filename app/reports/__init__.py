"""Reports (verbale and sintesi): one data builder, one renderer per format."""

import datetime as dt
import re
import unicodedata
from urllib.parse import quote

from app.reports import formats
from app.reports.data import EventReport, TableReport

# Derived from the one registry (app/reports/formats.py).
FORMATS = formats.KEYS
MEDIA_TYPES = {f.key: f.media_type for f in formats.FORMATS}


def render_table(report: TableReport, fmt: str, *, generated: dt.datetime | None = None) -> bytes:
    return formats.get(fmt).table(report, generated)


def render_event(report: EventReport, fmt: str, *, generated: dt.datetime | None = None) -> bytes:
    return formats.get(fmt).event(report, generated)


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
