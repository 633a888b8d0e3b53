"""Reports: every figure in every format matches a table with known votes, merges, hidden
posts, proxy input and a removed participant; untrusted text stays inert."""

import csv
import io
import json
import pickle
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from html import unescape

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session

from app import i18n, reports
from app.models import Event, Participant, Proposal, Table
from app.reports import data, pdf
from app.reports.html import MARKDOWN
from app.reports.privacy import WITHHELD
from app.services import events, moderation, phases, proposals, synthesis, voting
from app.services.access import new_facilitator_link
from tests.conftest import in_phase, make_event, make_participant, make_table

ETS = "Ente del Terzo Settore"
COMUNE = "Comune / ente pubblico"
CITTADINO = "Cittadino/a"
IMPRESA = "Impresa"
INJECTION = '=HYPERLINK("http://evil.example","x")'
SCRIPT = "<script>alert(1)</script> Sportello"
DAY_BODY = "Aperto tutti i giorni, con educatori e trasporto dedicato"
SYNTHESIS = (
    "## Sintesi\n\nIl tavolo chiede **più trasporti**.\n\n<img src=x onerror=alert(1)>\n\n"
    "[clic](javascript:alert(1))"
)


@dataclass
class Known:
    event: Event
    table: Table
    moderator: str
    p_transport: Proposal  # survivor of the merge
    p_day_centre: Proposal  # voted by proxy and by the removed participant
    p_paper: Proposal  # posted by proxy
    p_injection: Proposal
    p_script: Proposal


def _post(
    session: Session, who: Participant, title: str, kind: str = "proposal", body: str = ""
) -> Proposal:
    return proposals.post_proposal(
        session, participant=who, kind=kind, title=title, body=body
    ).proposal


def _vote(session: Session, who: Participant, proposal: Proposal) -> None:
    voting.set_vote(session, participant=who, proposal_id=proposal.id or 0, dots=1)


def build_known(session: Session) -> Known:
    """Approval voting. Expected figures are spelled out in the tests below."""
    event, moderator = make_event(session)
    table = make_table(session, event, phase="preparation")
    phases.set_phase(session, table, "collect")
    ets = [make_participant(session, table, category=ETS)[0] for _ in range(3)]
    comune = [make_participant(session, table, category=COMUNE)[0] for _ in range(3)]
    citizen = make_participant(session, table, name="Zeno Riservato", category=CITTADINO)[0]
    abuser = make_participant(session, table, category=IMPRESA)[0]
    paper = moderation.add_paper_participant(
        session, table, name="Maria Carta", category=CITTADINO
    ).participant

    day_centre = _post(session, ets[0], "Centro diurno per l'autonomia", kind="need", body=DAY_BODY)
    transport = _post(session, comune[0], "Trasporto sociale a chiamata")
    duplicate = _post(session, ets[1], "Trasporti sociali su richiesta")
    paper_post = _post(session, paper, "Sportello unico per le famiglie")
    _post(session, abuser, "Pubblicità molesta")
    injection = _post(session, ets[2], INJECTION)
    off_topic = _post(session, comune[1], "Fuori tema: parcheggi")
    script = _post(session, comune[1], SCRIPT, kind="resource")
    tag = moderation.create_tag(session, table, "Mobilità")
    moderation.set_tag(session, table, tag_id=tag.tag_id, proposal_ids=[transport.id or 0])

    phases.set_phase(session, table, "voting")
    for who in (ets[0], ets[2], comune[0]):
        _vote(session, who, transport)
    for who in (ets[1], comune[1], citizen):
        _vote(session, who, duplicate)
    for who in (ets[0], comune[2], paper, abuser):
        _vote(session, who, day_centre)
    _vote(session, comune[0], paper_post)
    _vote(session, citizen, injection)
    _vote(session, ets[0], off_topic)  # hidden afterwards: not printed, not counted

    moderation.merge(session, table, survivor_id=transport.id or 0, merged_ids=[duplicate.id or 0])
    moderation.hide(session, table, off_topic.id or 0)
    moderation.remove_participant(session, table, abuser.id or 0)  # hides the spam too
    phases.set_phase(session, table, "closed")
    synthesis.save_synthesis(session, table, facilitator="Anna Rossi", synthesis=SYNTHESIS)
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return Known(event, fresh, moderator, transport, day_centre, paper_post, injection, script)


@pytest.fixture
def known(session: Session) -> Known:
    return build_known(session)


# Expected, by hand: the merge folds 3 + 3 distinct approvals into 6; the removed
# participant's approval is withdrawn with them (it counts nowhere) and they are not counted
# among the participants, nor is their category; Cittadino (2 people, one on paper) is below
# the threshold, and Comune (3) is withheld with it.
TOTAL_VOTES = 6 + 3 + 1 + 1 + 0
PARTICIPANTS = 8  # 3 ETS, 3 Comune, 1 citizen, 1 on paper; the removed one not counted


def test_builder_figures(session: Session, known: Known) -> None:
    report = data.build_table_report(session, known.table, min_group=3)
    assert report.people_total == PARTICIPANTS
    # One on paper: "< 3", like a category (their proxy votes would be their ballot).
    assert (report.paper, report.removed) == (None, 1)
    people = dict(zip(report.categories, report.people, strict=True))
    assert people[ETS] == 3
    assert people[CITTADINO] is None  # 2 people: "< 3"
    # Changed by issue 9: the removed person is in no figure, so Impresa is not listed and
    # Cittadino alone would be the total minus the others: Comune is withheld with it.
    assert people[COMUNE] is WITHHELD
    assert IMPRESA not in report.categories
    by_id = {line.id: line for line in report.lines}
    transport = by_id[known.p_transport.id or 0]
    assert (transport.rank, transport.votes, transport.voters) == (1, 6, 6)
    assert transport.merged_from == ("Trasporti sociali su richiesta",)
    assert transport.tags == ("Mobilità",)
    split = dict(zip(report.categories, transport.by_category, strict=True))
    assert (split[ETS], split[COMUNE], split[CITTADINO]) == (3, WITHHELD, None)
    day = by_id[known.p_day_centre.id or 0]
    # The proxy votes are the one paper participant's ballot: "< 3", like its head count.
    assert (day.rank, day.votes, day.proxy_votes) == (2, 3, None)
    assert by_id[known.p_paper.id or 0].proxy is None
    assert report.total_votes == TOTAL_VOTES
    assert len(report.lines) == 5
    assert dict(report.off_wall) == {"hidden": 2}
    assert report.merged == 1
    assert [s.phase for s in report.timeline] == ["collect", "voting", "closed"]
    assert report.start is not None and report.end is not None
    assert report.facilitator == "Anna Rossi"
    # With a threshold of 1 nothing is hidden, and the figures add up.
    open_report = data.build_table_report(session, known.table, min_group=1)
    assert sum(v or 0 for v in open_report.people) == PARTICIPANTS
    for line in open_report.lines:
        assert sum(v or 0 for v in line.by_category) == line.votes


def test_event_report_totals(session: Session, known: Known) -> None:
    other = make_table(session, known.event, phase="collect")
    make_participant(session, other, category=ETS)
    report = data.build_event_report(session, known.event, min_group=3)
    assert [t.code for t in report.tables] == [known.table.code, other.code]
    assert report.people_total == PARTICIPANTS + 1
    assert report.votes_by_mode() == {"approval": TOTAL_VOTES}
    people = dict(zip(report.categories, report.people, strict=True))
    # The other table runs: a draft, no category of its own. Changed by issue 16: the
    # closed table waits for it too (its figures and the event's totals protect each
    # other's small groups), so the event prints no category total yet.
    assert people[ETS] is WITHHELD and people[CITTADINO] is WITHHELD
    assert report.tables[0].withheld == "event" and report.tables[0].categories == ()
    assert report.cell(report.tables[1], ETS) is WITHHELD
    assert report.draft and not report.tables[0].draft


def test_ties_share_a_rank_and_a_table_lists_only_categories_it_has(
    session: Session, known: Known
) -> None:
    report = data.build_table_report(session, known.table, min_group=3)
    assert [(line.votes, line.rank) for line in report.lines] == [
        (6, 1),
        (3, 2),
        (1, 3),
        (1, 3),
        (0, 5),
    ]
    # Nobody from a school took part: the table has no column for schools; the event does.
    assert report.categories == (COMUNE, ETS, CITTADINO)
    event = data.build_event_report(session, known.event, min_group=3)
    assert "Scuola o università" in event.categories


def test_reports_are_deterministic(session: Session, known: Known) -> None:
    report = data.build_table_report(session, known.table)
    for fmt in ("html", "csv", "json", "md"):
        assert reports.render_table(report, fmt) == reports.render_table(report, fmt)


# --- every format, read back ------------------------------------------------------------


def _table_report(session: Session, known: Known) -> data.TableReport:
    return data.build_table_report(session, known.table, min_group=3)


def test_json(session: Session, known: Known) -> None:
    body = json.loads(reports.render_table(_table_report(session, known), "json"))
    assert body["schema"] == "tavoli.report/2"
    assert body["participants"]["total"] == PARTICIPANTS
    assert body["participants"]["by_category"][CITTADINO] == "< 3"
    assert body["totals"] == {"proposals": 5, "votes": TOTAL_VOTES}
    first = body["proposals"][0]
    assert (first["title"], first["votes"], first["by_category"][ETS]) == (
        "Trasporto sociale a chiamata",
        6,
        3,
    )
    assert first["merged_from"] == ["Trasporti sociali su richiesta"]
    assert body["off_wall"] == {"hidden": 2}
    titles = json.dumps(body)
    assert "Pubblicità molesta" not in titles and "parcheggi" not in titles


def test_csv_has_bom_semicolons_and_no_formulas(session: Session, known: Known) -> None:
    raw = reports.render_table(_table_report(session, known), "csv")
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, lines = rows[0], rows[1:]
    assert len(lines) == 5
    votes = header.index("Voti")
    assert sum(int(r[votes]) for r in lines) == TOTAL_VOTES
    transport = next(r for r in lines if r[3] == "Trasporto sociale a chiamata")
    assert transport[header.index(CITTADINO)] == "< 3"
    assert transport[header.index(ETS)] == "3"
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert any(cell == "'" + INJECTION for row in lines for cell in row)


def test_xlsx_numbers_frozen_headers_filters(session: Session, known: Known) -> None:
    other = make_table(session, known.event, phase="collect")
    # Issue 16: categories once every table of the event is closed (set up without a
    # timeline, as if it had been there from the start).
    in_phase(session, other, "closed")
    report = data.build_event_report(session, known.event, min_group=3)
    book = load_workbook(io.BytesIO(reports.render_event(report, "xlsx")))
    assert book.sheetnames[:3] == ["Sintesi", "La plenaria", "Partecipazione"]
    assert book.sheetnames[-1] == "Presenze" and len(book.sheetnames) == 6
    sheet = book.worksheets[3]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    header = [c.value for c in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    votes = header.index("Voti")
    assert all(isinstance(r[votes], int) for r in rows)
    assert sum(int(r[votes] or 0) for r in rows) == TOTAL_VOTES
    assert rows[0][header.index(CITTADINO)] == "< 3"
    assert any(v == "'" + INJECTION for r in rows for v in r)
    summary = {r[0]: r for r in book["Sintesi"].iter_rows(min_row=5, values_only=True)}
    assert summary["Totale"][4:7] == (PARTICIPANTS, 5, TOTAL_VOTES)
    assert summary[other.title][4] == 0
    participation = list(book["Partecipazione"].iter_rows(values_only=True))
    assert participation[0][0] == "Tavolo"
    assert participation[1][-1] == PARTICIPANTS


def _docx_text(raw: bytes) -> str:
    doc = Document(io.BytesIO(raw))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(c.text for c in row.cells))
    return "\n".join(parts)


def test_docx_headings_tables_page_numbers_and_figures(session: Session, known: Known) -> None:
    raw = reports.render_table(_table_report(session, known), "docx")
    doc = Document(io.BytesIO(raw))
    headings = [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name.startswith("Heading")
    ]
    assert "Disabilità e progetti di vita" in headings
    assert "Sintesi del facilitatore" in headings
    assert "Sintesi" in headings  # the synthesis's own Markdown heading
    bold = [r.text for p in doc.paragraphs for r in p.runs if r.bold]
    assert "più trasporti" in bold
    assert "PAGE" in doc.sections[0].footer._element.xml
    assert doc.inline_shapes  # the chart
    text = _docx_text(raw)
    assert "1 | Trasporto sociale a chiamata" in text
    assert "| 6 | 6 | " in text
    assert "< 3" in text
    assert "Pubblicità molesta" not in text and "parcheggi" not in text
    assert "Zeno" not in text and "Maria Carta" not in text  # no names in the minutes


def _pdf_text(raw: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=raw, capture_output=True, check=True
    )
    return result.stdout.decode()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_pdf_text(session: Session, known: Known) -> None:
    raw = reports.render_table(_table_report(session, known), "pdf")
    assert raw.startswith(b"%PDF")
    text = _pdf_text(raw)
    assert "Trasporto sociale a chiamata" in text
    assert "Centro diurno per l'autonomia" in text or "Centro diurno per l’autonomia" in text
    assert "sabato 9 novembre 2024" in text
    assert "< 3" in text
    assert f"{TOTAL_VOTES} voti" in text
    assert "Pubblicità molesta" not in text
    assert re.search(r"\b1\s*/\s*[2-5]\b", text)  # page numbers


def test_html_and_markdown_are_inert(session: Session, known: Known) -> None:
    report = _table_report(session, known)
    page = reports.render_table(report, "html").decode()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "onerror" not in page.replace("onerror=alert(1)&gt;", "")
    assert 'href="javascript' not in page
    assert "<strong>più trasporti</strong>" in page
    assert "style=" not in page
    assert "<svg" in page and "sabato 9 novembre 2024" in page
    text = reports.render_table(report, "md").decode()
    assert "<script>" not in text and "<img" not in text
    assert "Trasporto sociale a chiamata — **6**" in text


def test_english_on_request(session: Session, known: Known) -> None:
    with i18n.using_locale("en"):
        page = reports.render_table(_table_report(session, known), "html").decode()
    assert "Saturday, November 9, 2024" in page
    assert "Facilitator&#39;s summary" in page or "Facilitator's summary" in page


def test_filename_says_event_table_and_date() -> None:
    import datetime as dt

    name = reports.filename("Stati Generali: Welfare!", dt.date(2024, 11, 9), "pdf", "Disabilità")
    assert name == "stati-generali-welfare_disabilita_2024-11-09.pdf"
    long = reports.filename(
        "Stati Generali del Welfare dell'Ambito Sociale S6 — Valle dell'Irno",
        dt.date(2025, 11, 15),
        "docx",
        "Inclusione sociale e contrasto alla povertà",
    )
    # Cut after whole words, never in the middle of one.
    assert long == (
        "stati-generali-del-welfare-dell-ambito_inclusione-sociale-e-contrasto-alla_2025-11-15.docx"
    )


# --- routes --------------------------------------------------------------------------------


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("fmt", reports.FORMATS)
def test_api_every_format(client: TestClient, session: Session, known: Known, fmt: str) -> None:
    url = f"/api/tables/{known.table.code}/report.{fmt}"
    answer = client.get(url, headers=_auth(known.moderator))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(reports.MEDIA_TYPES[fmt].split(";")[0])
    disposition = answer.headers["content-disposition"]
    assert "2024-11-09" in disposition and "disabilita-e-progetti-di-vita" in disposition
    event = client.get(f"/api/events/{known.event.id}/report.{fmt}", headers=_auth(known.moderator))
    assert event.status_code == 200
    assert "_sintesi_2024-11-09." in event.headers["content-disposition"]


def test_api_access_rules(client: TestClient, session: Session, known: Known) -> None:
    code, event_id = known.table.code, known.event.id
    assert client.get(f"/api/tables/{code}/report.json").status_code == 401
    assert client.get(f"/api/tables/{code}/report.json", headers=_auth("nope")).status_code == 403
    link = client.post(f"/api/events/{event_id}/coordinator-link", headers=_auth(known.moderator))
    assert link.status_code == 201
    coordinator = link.json()["token"]
    assert link.json()["url"].endswith(f"/c/{coordinator}")
    assert client.get(f"/api/events/{event_id}/report.csv", headers=_auth(coordinator)).is_success
    # Read-only: it cannot run the table nor make links.
    assert (
        client.put(
            f"/api/tables/{code}/phase", json={"phase": "collect"}, headers=_auth(coordinator)
        ).status_code
        == 403
    )
    again = client.post(f"/api/events/{event_id}/coordinator-link", headers=_auth(coordinator))
    assert again.status_code == 403
    # A facilitator reads their own table only.
    fac = new_facilitator_link(session, known.table)
    assert client.get(f"/api/tables/{code}/report.md", headers=_auth(fac)).is_success
    assert client.get(f"/api/events/{event_id}/report.md", headers=_auth(fac)).status_code == 403
    _other, other_moderator = make_event(session, title="Altro evento")
    assert (
        client.get(f"/api/tables/{code}/report.md", headers=_auth(other_moderator)).status_code
        == 403
    )
    assert (
        client.get(f"/api/events/{event_id}/report.md", headers=_auth(other_moderator)).status_code
        == 403
    )


def test_html_report_has_a_strict_csp(client: TestClient, known: Known) -> None:
    answer = client.get(
        f"/api/tables/{known.table.code}/report.html", headers=_auth(known.moderator)
    )
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "style-src 'sha256-" in policy
    assert "script-src" not in policy


def test_downloads_page(client: TestClient, session: Session, known: Known) -> None:
    event = session.get(Event, known.event.id)
    assert event is not None
    token = events.new_coordinator_link(session, event)
    page = client.get(f"/c/{token}")
    assert page.status_code == 200
    assert f"/c/{token}/report.pdf" in page.text
    assert f"/c/{token}/tables/{known.table.code}/report.docx" in page.text
    answer = client.get(f"/c/{token}/tables/{known.table.code}/report.json")
    assert json.loads(answer.content)["totals"]["votes"] == TOTAL_VOTES
    english = client.get(f"/c/{token}/report.md?lang=en")
    assert "Participation by category and table" in english.text
    assert client.get("/c/not-a-token").status_code == 403


def test_moderator_makes_a_coordinator_link(client: TestClient, known: Known) -> None:
    page = client.get(f"/m/{known.moderator}")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(f"/m/{known.moderator}/coordinator", data={"csrf_token": csrf})
    assert answer.status_code == 200
    url = re.search(r"<code>https?://[^<]*/c/([^<]+)</code>", answer.text)
    assert url is not None
    token = url.group(1)
    assert token != known.moderator
    assert client.get(f"/c/{token}").status_code == 200
    assert f'href="/c/{known.moderator}"' in page.text


def test_console_saves_the_synthesis(client: TestClient, session: Session, known: Known) -> None:
    base = f"/run/{known.moderator}/{known.table.code}/"
    page = client.get(base)
    assert 'name="synthesis"' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        base + "synthesis",
        data={"csrf_token": csrf, "facilitator_name": "Luca", "synthesis": "Testo *nuovo*"},
    )
    assert answer.status_code in (200, 303)
    fresh = session.get(Table, known.table.id, populate_existing=True)
    assert fresh is not None and fresh.synthesis == "Testo *nuovo*"
    assert fresh.facilitator_name == "Luca"


def test_control_characters_do_not_break_documents(session: Session, known: Known) -> None:
    table = make_table(session, known.event, phase="collect")
    author, _token = make_participant(session, table, category=ETS)
    _post(session, author, "Bell\x07 \x01titolo & <b>grassetto</b> @SOMMA(A1)")
    report = data.build_table_report(session, table)
    book = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
    titles = [row[3] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert titles == ["Bell titolo & <b>grassetto</b> @SOMMA(A1)"]
    assert "Partecipazione" in book.sheetnames
    text = _docx_text(reports.render_table(report, "docx"))
    assert "Bell titolo & <b>grassetto</b>" in text
    assert "&lt;b&gt;" in reports.render_table(report, "html").decode()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_event_pdf_text(session: Session, known: Known) -> None:
    report = data.build_event_report(session, known.event, min_group=3)
    text = _pdf_text(reports.render_event(report, "pdf"))
    assert "Partecipazione per tipologia e tavolo" in text
    assert f"{TOTAL_VOTES} voti" in text
    assert "Trasporto sociale a chiamata — 6 voti · Votanti: 6" in text
    assert DAY_BODY in text  # every description, as in each table's own PDF
    assert "Pubblicità molesta" not in text


def test_event_pdf_is_the_synthesis_then_every_tables_own_minutes(
    session: Session, known: Known
) -> None:
    other = make_table(session, known.event, phase="collect")
    report = data.build_event_report(session, known.event, min_group=3)
    whole = PdfReader(io.BytesIO(reports.render_event(report, "pdf")))
    own = PdfReader(io.BytesIO(reports.render_table(report.tables[0], "pdf")))
    assert whole.metadata is not None and whole.metadata.title == known.event.title
    tops = [item for item in whole.outline if not isinstance(item, list)]
    # The other table runs: it and the event are drafts ("bozza"), in their headings too.
    assert [item.title for item in tops] == [
        f"{known.event.title} (bozza)",
        known.table.title,
        f"{other.title} (bozza)",
    ]
    # The known table's pages, from its bookmark on, are its own PDF's, numbered over the
    # whole PDF (tests/test_report_pdf_pages.py reads every page's number).
    first = whole.get_destination_page_number(tops[1])
    tail = whole.pages[first : first + len(own.pages)]

    def unnumbered(text: str) -> str:
        return re.sub(r"\d+ / \d+", "", text).strip()

    assert [unnumbered(p.extract_text()) for p in tail] == [
        unnumbered(p.extract_text()) for p in own.pages
    ]
    assert f"{first + 1} / {len(whole.pages)}" in tail[0].extract_text()


def test_pdf_without_pango_says_so(
    client: TestClient, known: Known, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_weasyprint(name: str, *args: object, **kwargs: object) -> object:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_weasyprint)
    # Lay out in this process, where the import is patched, instead of in a PDF worker.
    monkeypatch.setattr(pdf, "html_to_pdf", pdf.write_pdf)
    answer = client.get(
        f"/api/tables/{known.table.code}/report.pdf", headers=_auth(known.moderator)
    )
    assert answer.status_code == 503
    assert "PDF" in answer.json()["detail"]


def test_a_dead_pdf_worker_costs_one_download_not_every_pdf() -> None:
    page = "<!doctype html><title>Verbale</title><p>Tavolo</p>"
    assert pdf.html_to_pdf(page).startswith(b"%PDF")
    pool = pdf._workers()
    assert isinstance(pool, ProcessPoolExecutor)
    for worker in list((pool._processes or {}).values()):
        worker.kill()  # as the kernel's out-of-memory killer would
    with pytest.raises(pdf.Unavailable) as failed:
        for _ in range(50):  # until the pool notices its dead workers
            pdf.html_to_pdf(page)
    assert failed.value.status == 503
    assert pdf.html_to_pdf(page).startswith(b"%PDF")  # fresh workers


def test_a_pdf_worker_error_reaches_the_server_as_itself() -> None:
    error = pickle.loads(pickle.dumps(pdf.Unavailable(pdf.NO_ENGINE)))  # noqa: S301 (ours)
    assert isinstance(error, pdf.Unavailable)
    assert (error.status, error.detail) == (503, pdf.NO_ENGINE)


def test_only_those_who_consented_are_named_in_every_format(session: Session, known: Known) -> None:
    from app.services import participants

    event = session.get(Event, known.table.event_id)
    assert event is not None
    in_phase(session, known.table, "voting")  # a closed table takes nobody new: join before
    participants.join(
        session,
        table=known.table,
        event=event,
        name="Giulia Verdi",
        organisation="Cooperativa Il Girasole",
        category=ETS,
        named_in_minutes=True,
    )
    participants.join(session, table=known.table, event=event, name="Marco Neri", category=ETS)
    participants.join(session, table=known.table, event=event, named_in_minutes=True)  # no name
    in_phase(session, known.table, "closed")
    report = _table_report(session, known)
    assert [(p.name, p.organisation) for p in report.named] == [
        ("Giulia Verdi", "Cooperativa Il Girasole")
    ]
    sheet = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
    texts = {
        "html": reports.render_table(report, "html").decode(),
        "md": reports.render_table(report, "md").decode(),
        "json": reports.render_table(report, "json").decode(),
        "docx": _docx_text(reports.render_table(report, "docx")),
        "xlsx": " ".join(
            str(cell.value) for ws in sheet.worksheets for row in ws.iter_rows() for cell in row
        ),
    }
    if shutil.which("pdftotext"):
        texts["pdf"] = _pdf_text(reports.render_table(report, "pdf"))
    for fmt, text in texts.items():
        assert "Giulia Verdi" in text and "Cooperativa Il Girasole" in text, fmt
        assert "Marco Neri" not in text, fmt
    assert json.loads(texts["json"])["participants"]["named"] == [
        {"name": "Giulia Verdi", "organisation": "Cooperativa Il Girasole", "category": ETS}
    ]


def test_one_small_category_never_stands_alone(session: Session) -> None:
    """With one category hidden, the total minus the others would reveal it: the next
    smallest is hidden too, in the head count and in every proposal's votes."""
    table = make_table(session, phase="collect")
    crowd = [make_participant(session, table, category=ETS)[0] for _ in range(5)]
    # Four of the Comune (changed by issue 16): with three, "5, *, < 3" of 9 would tell a
    # reader that "*" (N or more) is 3 and "< 3" is 1 (see test_report_event_suppression).
    crowd += [make_participant(session, table, category=COMUNE)[0] for _ in range(4)]
    lonely, _ = make_participant(session, table, category=CITTADINO)
    post = _post(session, crowd[0], "Centro per le famiglie")
    phases.set_phase(session, table, "voting")
    for person in (*crowd, lonely):
        _vote(session, person, post)
    phases.set_phase(session, table, "closed")  # figures by category: final minutes only
    report = data.build_table_report(session, table, min_group=3)
    people = dict(zip(report.categories, report.people, strict=True))
    votes = dict(zip(report.categories, report.lines[0].by_category, strict=True))
    # Comune is withheld ("*"), not marked "< 3": it has four people.
    assert (people[ETS], people[COMUNE], people[CITTADINO]) == (5, WITHHELD, None)
    assert (votes[ETS], votes[COMUNE], votes[CITTADINO]) == (5, WITHHELD, None)
    assert report.lines[0].votes == 10  # totals stay exact


# --- the privacy notice the minutes cite (issue 9) -------------------------------------------

# Markdown would read the brackets and stars: the minutes must print them as typed.
CONTROLLER = "Comune di Fisciano [Ufficio *Politiche sociali*]"
DPO = "Dott.ssa Laura Bianchi"
DPO_CONTACT = "rpd@comune.fisciano.sa.it"
ERASED_FROM = "sabato 8 febbraio 2025"  # 9 November 2024, 90 days kept, erased the day after
DEFAULT_LINE = (
    "Informativa privacy: testo predefinito di Tavoli; i dati personali dei partecipanti "
    f"sono cancellati dal {ERASED_FROM}."
)
FILLED_LINE = (
    f"Informativa privacy (art. 13 GDPR): titolare del trattamento {CONTROLLER}; "
    f"responsabile della protezione dei dati {DPO} ({DPO_CONTACT}). I dati personali dei "
    f"partecipanti sono cancellati dal {ERASED_FROM}."
)


def _plain(text: str) -> str:
    return " ".join(text.split())


def _minutes_text(render: Callable[[str], bytes]) -> dict[str, str]:
    """Every minutes format read back as the text a reader sees, blanks folded."""
    book = load_workbook(io.BytesIO(render("xlsx")))
    texts = {
        "html": unescape(re.sub(r"<[^>]+>", " ", render("html").decode())),
        # As a Markdown tool shows it: an escape that went missing would show here.
        "md": unescape(re.sub(r"<[^>]+>", " ", MARKDOWN.render(render("md").decode()))),
        "docx": _docx_text(render("docx")),
        "xlsx": " ".join(
            str(c.value)
            for ws in book.worksheets
            for row in ws.iter_rows()
            for c in row
            if c.value is not None
        ),
    }
    if shutil.which("pdftotext"):
        texts["pdf"] = _pdf_text(render("pdf"))
    return {fmt: _plain(text) for fmt, text in texts.items()}


def _every_minutes(session: Session, known: Known) -> dict[str, tuple[dict[str, str], dict]]:  # type: ignore[type-arg]
    """The table's and the event's minutes: their text in every format, and their JSON."""
    table = _table_report(session, known)
    event = data.build_event_report(session, known.event, min_group=3)
    return {
        "table": (
            _minutes_text(lambda fmt: reports.render_table(table, fmt)),
            json.loads(reports.render_table(table, "json")),
        ),
        "event": (
            _minutes_text(lambda fmt: reports.render_event(event, fmt)),
            json.loads(reports.render_event(event, "json")),
        ),
    }


def test_the_minutes_cite_the_default_notice_when_none_was_filled(
    session: Session, known: Known
) -> None:
    for kind, (texts, body) in _every_minutes(session, known).items():
        for fmt, text in texts.items():
            assert DEFAULT_LINE in text, (kind, fmt)
            assert "art. 13" not in text, (kind, fmt)
        assert body["event"]["privacy"] == {
            "controller": None,
            "dpo": None,
            "dpo_contact": None,
            "erase_after": "2025-02-08",
        }, kind


def test_the_minutes_cite_the_organisers_notice_in_every_format(
    session: Session, known: Known
) -> None:
    event = session.get(Event, known.event.id)
    assert event is not None
    event.privacy = {
        "controller": CONTROLLER,
        "dpo": DPO,
        "dpo_contact": DPO_CONTACT,
        "purposes": "Verbale degli Stati Generali",
        "legal_basis": "Art. 6.1.e GDPR",
    }
    session.add(event)
    session.commit()
    for kind, (texts, body) in _every_minutes(session, known).items():
        for fmt, text in texts.items():
            assert CONTROLLER in text, (kind, fmt)
            assert FILLED_LINE in text, (kind, fmt)
            assert "testo predefinito" not in text, (kind, fmt)
        assert body["event"]["privacy"] == {
            "controller": CONTROLLER,
            "dpo": DPO,
            "dpo_contact": DPO_CONTACT,
            "erase_after": "2025-02-08",
        }, kind
    markdown = reports.render_table(_table_report(session, known), "md").decode()
    # mdformat escapes the "*" and leaves a "[…]" that is no link (nothing follows it) as typed.
    assert r"Comune di Fisciano [Ufficio \*Politiche sociali\*]" in markdown
    assert CONTROLLER in unescape(MARKDOWN.render(markdown))


def test_the_notice_without_a_dpo_names_the_controller_only(session: Session, known: Known) -> None:
    event = session.get(Event, known.event.id)
    assert event is not None
    event.privacy = {"controller": "Ambito S6", "purposes": "Verbale", "legal_basis": "Art. 6"}
    event.retention_days = 30
    session.add(event)
    session.commit()
    report = _table_report(session, known)
    line = (
        "Informativa privacy (art. 13 GDPR): titolare del trattamento Ambito S6. I dati "
        "personali dei partecipanti sono cancellati dal martedì 10 dicembre 2024."
    )
    assert line in _plain(reports.render_table(report, "md").decode())
    assert json.loads(reports.render_table(report, "json"))["event"]["privacy"] == {
        "controller": "Ambito S6",
        "dpo": None,
        "dpo_contact": None,
        "erase_after": "2024-12-10",
    }
