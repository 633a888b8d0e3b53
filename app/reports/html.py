"""HTML minutes, print-ready: one self-contained file (inline stylesheet and SVG, no script).

The stylesheet is inline so the file works offline and in WeasyPrint; the page is served
with a CSP that allows exactly that stylesheet by its hash, and nothing else.
"""

import base64
import datetime as dt
import hashlib
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from app.reports import chart, labels, outline
from app.reports.data import EventReport, TableReport
from app.templating import TEMPLATE_DIR, templates

CSS_FILE = TEMPLATE_DIR / "reports" / "report.css"


@lru_cache
def css() -> str:
    return CSS_FILE.read_text()


def csp() -> str:
    digest = base64.b64encode(hashlib.sha256(css().encode()).digest()).decode()
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src 'sha256-{digest}'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


# CommonMark without raw HTML and without images (a PDF must not fetch anything), with
# GFM tables: a facilitator's table is read as one, not printed as rows of pipes.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")

_ALIGN = {"text-align:left": "left", "text-align:center": "center", "text-align:right": "num"}


def link_text(children: list[Token], start: int) -> str:
    """The words of the link that opens at `start`, as the reader sees them."""
    words = []
    for child in children[start + 1 :]:
        if child.type == "link_close":
            break
        words.append(child.content)
    return "".join(words)


def shows_url(href: str, text: str) -> bool:
    """Whether a link's words hide its address: then a printed copy adds the address."""
    address = href.removeprefix("mailto:")
    return text.strip() not in (href, address)


def markdown(text: str, top: int = 1) -> Markup:
    """The facilitator's synthesis: Markdown in, safe HTML out (raw HTML is shown as text).
    Its shallowest heading is at level `top`, below the section that holds it. A table's
    alignment becomes a class (the CSP allows no style attribute); a link whose words are
    not its address gets the class "url", so that print shows the address after it."""
    tokens = MARKDOWN.parse(text)
    headings = [t for t in tokens if t.type in ("heading_open", "heading_close")]
    # The shallowest heading goes to `top`, the others keep their distance (as in Markdown).
    shift = top - min((int(t.tag[1:]) for t in headings), default=top)
    for token in headings:
        token.tag = f"h{min(6, int(token.tag[1:]) + shift)}"
    for token in tokens:
        if token.type in ("th_open", "td_open") and token.attrGet("style"):
            align = _ALIGN.get(str(token.attrGet("style")), "")
            token.attrs = {"class": align} if align else {}
        elif token.type == "table_open":
            token.attrSet("class", "md")
        elif token.type == "inline":
            children = token.children or []
            for index, child in enumerate(children):
                href = str(child.attrGet("href") or "")
                if child.type == "link_open" and shows_url(href, link_text(children, index)):
                    child.attrSet("class", "url")
    html = MARKDOWN.renderer.render(tokens, MARKDOWN.options, {})
    return Markup(html)  # noqa: S704 (html disabled: every tag is escaped)


def _context(generated: dt.datetime | None, compact: bool) -> dict[str, Any]:
    return {
        "compact": compact,
        "L": labels,
        "outline": outline,
        "css": Markup(css()),  # noqa: S704 (our own file)
        "chart": chart.svg,
        "markdown": markdown,
        "generated": _stamp(generated),
    }


def _stamp(generated: dt.datetime | None) -> str:
    if generated is None:
        return ""
    day = labels.long_date(generated.astimezone(labels.LOCAL_TIME).date())
    return f"{day} {labels.clock(generated)}"


def table_html(
    report: TableReport, *, generated: dt.datetime | None = None, compact: bool = False
) -> str:
    """`compact` lists proposals as text blocks instead of a wide table (for the PDF)."""
    template = templates.env.get_template("reports/table.html")
    return template.render(r=report, **_context(generated, compact))


def event_html(
    report: EventReport,
    *,
    generated: dt.datetime | None = None,
    with_tables: bool = True,
) -> str:
    """Without the tables, it is the first part of the event's PDF (see `event_pdf_parts`)."""
    template = templates.env.get_template("reports/event.html")
    return template.render(e=report, with_tables=with_tables, **_context(generated, False))


def event_pdf_parts(report: EventReport, *, generated: dt.datetime | None = None) -> list[str]:
    """The event's PDF is the synthesis, then every table's own minutes, page for page: laid
    out in parallel, then joined and numbered across the whole file (pdf.combined_pdf)."""
    return [
        event_html(report, generated=generated, with_tables=False),
        *(table_html(table, generated=generated, compact=True) for table in report.tables),
    ]
