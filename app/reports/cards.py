"""Printable table cards: one A4 page per table, to stand on the table itself.

Theme, guiding question, a QR code to join and the code and address to type, large enough
to read from across a table. One small HTML document (stylesheet from `cards/card.css`,
QR as inline SVG from segno) laid out by the PDF workers of `app/reports/pdf.py`.
"""

import io
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import segno
from markupsafe import Markup

from app.models import Event, Table
from app.reports import labels, pdf
from app.templating import TEMPLATE_DIR, templates

CSS_FILE = TEMPLATE_DIR / "cards" / "card.css"


@lru_cache
def css() -> str:
    return CSS_FILE.read_text()


@dataclass(frozen=True)
class Card:
    title: str
    question: str
    code: str
    url: str  # what the QR holds: base/t/CODE
    host: str  # the address to type, without the scheme
    qr: Markup


def qr_svg(url: str) -> Markup:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=10, border=0, xmldecl=False, svgns=True, dark="#000"
    )
    return Markup(buffer.getvalue().decode())  # noqa: S704 (segno's own SVG, no input in it)


def card(table: Table, base: str) -> Card:
    url = f"{base}/t/{table.code}"
    parts = urlsplit(base)
    host = (parts.netloc + parts.path).rstrip("/")
    return Card(table.title, table.question, table.code, url, host, qr_svg(url))


def cards_html(event: Event, tables: list[Table], base: str) -> str:
    template = templates.env.get_template("cards/cards.html")
    return template.render(
        event=event,
        cards=[card(table, base) for table in tables],
        css=Markup(css()),  # noqa: S704 (our own file)
        L=labels,
    )


def cards_pdf(event: Event, tables: list[Table], base: str) -> bytes:
    """One page per table, in the order given."""
    return pdf.html_to_pdf(cards_html(event, tables, base))


def filename(event: Event, table: Table | None = None) -> str:
    name = f"tavolo-{table.code}" if table is not None else f"tavoli-{event.date.isoformat()}"
    return f"{name}.pdf"
