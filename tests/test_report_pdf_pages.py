"""The PDF minutes page by page, read back with poppler's pdftotext as a reader would see
them: no last page holding only the footer, the chart on page 1 when it fits, and the
event's PDF numbered 1 to N across the synthesis and every table's minutes."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session

from app import reports
from app.models import Event, Table
from app.reports import data
from app.services import phases, proposals, voting
from tests.conftest import make_event, make_participant, make_table
from tests.test_reports import CITTADINO, COMUNE, ETS

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
    reason="needs poppler-utils",
)

TITLES = (
    "Trasporto sociale a chiamata per anziani e persone con disabilità",
    "Centro diurno per l'autonomia",
    "Sportello unico per le famiglie",
    "Più educatori nelle scuole",
    "Casa famiglia per il dopo di noi",
    "Borse lavoro per giovani con disabilità",
    "Assistenza domiciliare integrata",
    "Rete dei servizi per la salute mentale",
    "Orti sociali comunali",
    "Mediazione culturale negli sportelli",
)
BODY = "Una descrizione di due righe che spiega la proposta con qualche dettaglio in più."
FOOTER = "Generato da Tavoli"


def _closed_table(session: Session, event: Event | None, posts: int) -> Table:
    """A closed table with `posts` proposals, the first ten voted (10, 9, ... votes)."""
    table = make_table(session, event, phase="collect")
    people = [
        make_participant(session, table, category=(ETS, COMUNE, CITTADINO)[i % 3])[0]
        for i in range(max(3, min(posts, 12)))
    ]
    posted = [
        proposals.post_proposal(
            session,
            participant=people[i % len(people)],
            kind="proposal",
            title=f"{TITLES[i % len(TITLES)]} ({i + 1})",
            body=BODY if i % 2 else "",
        ).proposal
        for i in range(posts)
    ]
    phases.set_phase(session, table, "voting")
    for rank, post in enumerate(posted[:10]):
        for who in people[: max(1, len(people) - rank)]:
            voting.set_vote(session, participant=who, proposal_id=post.id or 0, dots=1)
    phases.set_phase(session, table, "closed")
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return fresh


def _pages(raw: bytes, tmp_path: Path) -> list[str]:
    """Each page's text, as pdftotext gives it page by page (-f N -l N)."""
    path = tmp_path / "minutes.pdf"
    path.write_bytes(raw)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    count = re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)
    assert count is not None, info.stdout
    return [
        subprocess.run(
            ["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for n in range(1, int(count.group(1)) + 1)
    ]


def _body(page: str, title: str) -> list[str]:
    """A page's lines without the footer line and the page's foot (part title, number)."""
    lines = [line.strip() for line in page.splitlines() if line.strip()]
    return [
        line
        for line in lines
        if not line.startswith(FOOTER)
        and not re.fullmatch(rf"{re.escape(title)}\s+\d+\s*/\s*\d+", line)
    ]


def _table_pdf(session: Session, table: Table, tmp_path: Path) -> list[str]:
    report = data.build_table_report(session, table)
    return _pages(reports.render_table(report, "pdf"), tmp_path)


# 42 posts put the footer line alone on the last page before it was kept with the closing.
@pytest.mark.parametrize("posts", [0, 5, 12, 40, 42])
def test_the_last_page_holds_more_than_the_footer(
    session: Session, tmp_path: Path, posts: int
) -> None:
    table = _closed_table(session, None, posts)
    pages = _table_pdf(session, table, tmp_path)
    assert FOOTER in pages[-1]
    assert _body(pages[-1], table.title), f"{posts} posts: page {len(pages)} is only the footer"


@pytest.mark.parametrize("posts", [5, 33])
def test_the_chart_stays_on_page_one_when_it_fits(
    session: Session, tmp_path: Path, posts: int
) -> None:
    """The chart's first bar is labelled with the top proposal's short title. With 33
    posts the chart fits under the priorities' heading; it used to go to page 2 with the
    ranked list (WeasyPrint keeps a list with what precedes it)."""
    table = _closed_table(session, None, posts)
    pages = _table_pdf(session, table, tmp_path)
    assert "Priorità" in pages[0]
    assert "1. Trasporto sociale a chiamata per anzi…" in pages[0], pages[0]


def test_the_event_pdf_numbers_its_pages_across_its_parts(session: Session, tmp_path: Path) -> None:
    event, _token = make_event(session)
    tables = [_closed_table(session, event, posts) for posts in (5, 12, 40)]
    report = data.build_event_report(session, event)
    pages = _pages(reports.render_event(report, "pdf"), tmp_path)
    total = len(pages)
    assert total > len(tables) + 1  # the synthesis, then every table's minutes
    numbers = []
    for page in pages:
        foot = [line for line in page.splitlines() if line.strip()][-1]
        found = re.search(r"(\d+)\s*/\s*(\d+)\s*$", foot)
        assert found, foot
        numbers.append((int(found.group(1)), int(found.group(2))))
    assert numbers == [(n, total) for n in range(1, total + 1)]
    # Each table's minutes still start on a page of their own, under their own title.
    starts = [i for i, page in enumerate(pages) if "VERBALE DEL TAVOLO" in page]
    assert len(starts) == len(tables) and starts == sorted(starts) and starts[0] > 0
