"""PDF from the same HTML as the page, through WeasyPrint, laid out in worker processes.

A big event's PDF keeps a CPU busy for seconds. In the server's own process that work
would hold the GIL and slow every live push of the tables still running; in a worker
process it runs beside them, and two coordinators' downloads run at once.
WeasyPrint is imported in the workers only: it is heavy.

A worker dies with the server: a server killed without a word (SIGKILL, the out-of-memory
killer) would otherwise leave its workers, re-parented to PID 1, waiting for work for ever,
and the multiprocessing resource tracker with them (it ends when the last of them has).
"""

import contextlib
import io
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import CancelledError, Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from app.services.errors import DomainError
from app.templating import N_

WORKERS = 2  # the machines Tavoli runs on have two cores or more
NO_ENGINE = N_("PDF files cannot be made on this server: try Word or HTML")
WORKER_LOST = N_("The PDF could not be made: try again")


class Unavailable(DomainError):
    status = 503


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report is self-contained: WeasyPrint must never reach the network or the disk."""
    raise ValueError(f"Reports do not load external resources: {url[:80]}")


# A part of a longer PDF leaves its page numbers out: they are counted over the whole.
UNNUMBERED = "@page { @bottom-right { content: none !important } }"  # a user sheet


def write_pdf(html: str, stylesheet: str = "") -> bytes:
    """Lay out and write one PDF in this process (what a worker runs); `stylesheet` is
    laid over the document's own."""
    try:
        from weasyprint import CSS, HTML  # type: ignore[import-untyped,unused-ignore]
    except (ImportError, OSError):  # OSError: the system's Pango is missing
        raise Unavailable(NO_ENGINE) from None
    sheets = [CSS(string=stylesheet)] if stylesheet else []
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf(stylesheets=sheets)
    return pdf


def _die_with_parent() -> None:
    """End this worker as soon as the server that started it is gone, however it ended.

    The server holds the write end of a pipe whose read end is the worker's parent sentinel
    (multiprocessing's spawn): it becomes readable when the server's process ends. A thread
    waits on it; PR_SET_PDEATHSIG would fire when the *thread* that spawned the worker
    ends (a request thread the pool retires), not the server."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not a worker (a test calling the initializer)
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)  # no cleanup to wait for: the PDF being made has nobody to go to

    threading.Thread(target=watch, name="tavoli-pdf-parent-watch", daemon=True).start()


def _warm() -> None:
    """Watch the server, then load WeasyPrint and its fonts when a worker starts, so the
    first PDF is as fast as the rest."""
    _die_with_parent()
    with contextlib.suppress(Unavailable):
        write_pdf("<!doctype html><title>Tavoli</title><p>Tavoli</p>")


_pool: Executor | None = None
_pool_lock = threading.Lock()


def _workers() -> Executor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=WORKERS,
                # A fresh interpreter: forking a server with running threads is unsafe.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm,
            )
        return _pool


def html_to_pdf(html: str) -> bytes:
    """Blocks the calling thread (a request's worker thread), never the event loop."""
    return _lay_out([html])[0]


def combined_pdf(parts: list[str], *, title: str) -> bytes:
    """One PDF of several HTML documents, laid out side by side in the workers (a big
    event's 10 tables take half the time), joined in order with their bookmarks.

    The parts are laid out without page numbers; the numbers, 1 to N over the whole, come
    from a document of N empty pages with the minutes' stylesheet (so the same page box,
    font and place), laid over the joined pages."""
    from pypdf import PdfReader, PdfWriter

    from app.reports.html import css

    writer = PdfWriter()
    for part in _lay_out(parts, UNNUMBERED):
        writer.append(io.BytesIO(part))
    total = len(writer.pages)
    (numbers,) = _lay_out([_numbers_only(total, css())])
    for page, overlay in zip(writer.pages, PdfReader(io.BytesIO(numbers)).pages, strict=True):
        page.merge_page(overlay)
    writer.add_metadata({"/Title": title, "/Producer": "Tavoli (WeasyPrint, pypdf)"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _numbers_only(pages: int, stylesheet: str) -> str:
    """`pages` empty pages that show only their number (the footer's part title is empty:
    no heading sets it)."""
    sheet = f"{stylesheet}\n.page-number + .page-number {{ break-before: page; }}"
    body = '<div class="page-number"></div>' * pages
    return f"<!doctype html><html><head><style>{sheet}</style></head><body>{body}</body></html>"


def _lay_out(parts: list[str], stylesheet: str = "") -> list[bytes]:
    global _pool
    pool = _workers()
    try:
        futures = [pool.submit(write_pdf, part, stylesheet) for part in parts]
        return [future.result() for future in futures]
    except BrokenProcessPool:  # a worker died (killed, out of memory): fresh ones next time
        with _pool_lock:
            if _pool is pool:
                _pool = None
        raise Unavailable(WORKER_LOST) from None
    except (CancelledError, RuntimeError):  # the server is stopping: its pool is shut down
        raise Unavailable(WORKER_LOST) from None


def warm_up() -> None:
    """Start a worker at server start, in the background (it warms up as it starts)."""
    _workers().submit(int)


def shutdown() -> None:
    """Stop the workers now, even mid-PDF: a server that is stopping answers no more."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if isinstance(pool, ProcessPoolExecutor):
        processes = list((pool._processes or {}).values())  # terminate_workers() in 3.14
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        pool.shutdown(wait=True, cancel_futures=True)  # quick now; frees its queues
