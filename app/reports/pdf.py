"""PDF from the same HTML as the page, through WeasyPrint (imported here only: it is heavy)."""

import contextlib
from typing import Any

from app.services.errors import DomainError
from app.templating import N_


class Unavailable(DomainError):
    status = 503


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report is self-contained: WeasyPrint must never reach the network or the disk."""
    raise ValueError(f"Reports do not load external resources: {url[:80]}")


def html_to_pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML  # type: ignore[import-untyped,unused-ignore]
    except (ImportError, OSError):  # OSError: the system's Pango is missing
        raise Unavailable(N_("PDF files cannot be made on this server: try Word or HTML")) from None

    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf


def warm_up() -> None:
    """Load WeasyPrint and its fonts once at start, so the first real PDF is as fast as the rest."""
    with contextlib.suppress(Unavailable):
        html_to_pdf("<!doctype html><title>Tavoli</title><p>Tavoli</p>")
