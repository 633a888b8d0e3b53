"""Dissent in the minutes (issue 18): every format prints each proposal's count and the
reasons a moderator accepted, without names; by category only in final minutes and under the
votes' own marks; a draft has no category figure; removed and erased people count nowhere."""

import csv
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from html import unescape

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlmodel import Session

from app import reports
from app.models import Event, Participant, Proposal, Table
from app.reports import data
from app.services import dissent, moderation, phases, privacy, proposals, screen, state
from tests.conftest import make_event, make_participant, make_table

ETS = "Ente del Terzo Settore"
COMUNE = "Comune / ente pubblico"
CITTADINO = "Cittadino/a"
FUNDS = "Mancano i fondi per il personale educativo nei weekend"
SCRIPT = "<script>alert(1)</script> Troppo costoso per un Comune piccolo"
NAMED = "Lo dico io, Zeno Bianchi di via Roma 3: è una pessima idea"  # rejected by the moderator
ABUSE = "Insulti dal partecipante rimosso"
ERASED = "Motivo di chi ha chiesto la cancellazione"
MERGED = "Doppione inutile, va accorpato al trasporto"  # left pending: never printed
INJECTION = '=HYPERLINK("http://evil.example","clic")'  # accepted: a text, never a formula


@dataclass
class Built:
    table: Table
    day_centre: Proposal
    transport: Proposal


def build(session: Session, *, close: bool = True) -> Built:
    event, _moderator = make_event(session)
    table = make_table(session, event, phase="preparation")
    phases.set_phase(session, table, "collect")
    ets = [make_participant(session, table, category=ETS)[0] for _ in range(4)]
    comune = [make_participant(session, table, category=COMUNE)[0] for _ in range(4)]
    zeno = make_participant(session, table, name="Zeno Bianchi", category=CITTADINO)[0]
    abuser = make_participant(session, table, category=COMUNE)[0]
    leaver = make_participant(session, table, category=ETS)[0]

    def post(who: Participant, title: str) -> Proposal:
        return proposals.post_proposal(
            session, participant=who, kind="proposal", title=title
        ).proposal

    day_centre = post(ets[0], "Centro diurno per l'autonomia aperto anche il sabato")
    transport = post(comune[0], "Trasporto sociale a chiamata per le frazioni")
    duplicate = post(ets[1], "Navetta per le frazioni montane")
    screen.update_settings(session, table, premoderation=True)
    phases.set_phase(session, table, "voting")

    def mark(who: Participant, proposal: Proposal, reason: str = "") -> None:
        dissent.set_dissent(session, participant=who, proposal_id=proposal.id or 0, reason=reason)

    mark(comune[1], day_centre, FUNDS)
    mark(comune[2], day_centre, SCRIPT)
    mark(zeno, day_centre, NAMED)
    mark(ets[2], day_centre)
    mark(abuser, day_centre, ABUSE)
    mark(leaver, day_centre, ERASED)
    mark(ets[3], duplicate, INJECTION)
    mark(comune[3], duplicate, MERGED)
    current = state.table_state(session, table)
    for found in current.dissent.values():
        for reason in found.reasons:
            if reason.text == NAMED:
                dissent.reject_reason(session, table, reason.id)
            elif reason.text != MERGED:
                dissent.accept_reason(session, table, reason.id)
    moderation.merge(session, table, survivor_id=transport.id or 0, merged_ids=[duplicate.id or 0])
    moderation.remove_participant(session, table, abuser.id or 0)
    privacy.erase_participant(session, participant=leaver)
    if close:
        phases.set_phase(session, table, "closed")
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return Built(fresh, day_centre, transport)


def _line(report: data.TableReport, proposal: Proposal) -> data.Line:
    return next(line for line in report.lines if line.id == proposal.id)


def test_the_builder_counts_and_filters_reasons(session: Session) -> None:
    built = build(session)
    report = data.build_table_report(session, built.table, min_group=3)
    day = _line(report, built.day_centre)
    # Comune 1 and 2, Zeno, ETS 2; the removed and the erased participant count nowhere.
    assert day.dissent == 4
    assert day.dissent_reasons == (FUNDS, SCRIPT)  # accepted only, oldest first
    transport = _line(report, built.transport)
    assert transport.dissent == 2  # carried over by the merge
    assert transport.dissent_reasons == (INJECTION,)  # MERGED is still pending: not printed
    assert day.votes == 0 and transport.votes == 0  # dissent is never a vote
    # By category under the votes' own marks: Cittadino (one person) is never a figure.
    cats = report.categories
    assert cats and CITTADINO in cats
    shown = [isinstance(v, int) for v in day.dissent_by_category]
    assert shown == [isinstance(v, int) for v in day.by_category]
    assert not shown[cats.index(CITTADINO)]
    assert dict(zip(cats, day.dissent_by_category, strict=True))[ETS] == 1


def test_a_draft_carries_the_count_and_no_category(session: Session) -> None:
    built = build(session, close=False)
    report = data.build_table_report(session, built.table, min_group=3)
    assert report.draft and report.categories == ()
    day = _line(report, built.day_centre)
    assert day.dissent == 4 and day.dissent_by_category == ()
    payload = json.loads(reports.render_table(report, "json"))
    entry = next(p for p in payload["proposals"] if p["id"] == built.day_centre.id)
    assert entry["dissent"] == {"count": 4, "reasons": [FUNDS, SCRIPT], "by_category": {}}
    md = reports.render_table(report, "md").decode()
    assert "4 non sono d'accordo" in md
    assert ETS + " 1" not in md  # no figure by category in a draft


def _never(text: str) -> None:
    for secret in (NAMED, "Zeno", ABUSE, ERASED, MERGED, "<script>"):
        assert secret not in text, secret


def _docx_text(raw: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(raw)).paragraphs)


def test_every_format_prints_count_reasons_and_categories(session: Session) -> None:
    built = build(session)
    report = data.build_table_report(session, built.table, min_group=3)
    title = "Centro diurno per l'autonomia aperto anche il sabato"

    raw_html = reports.render_table(report, "html").decode()
    page = unescape(raw_html)
    assert "Disaccordo registrato" in page
    assert "4 non sono d'accordo" in page and f"«{FUNDS}»" in page
    assert "Troppo costoso per un Comune piccolo" in page
    assert "&lt;script&gt;" in raw_html
    assert f"{ETS} 1" in page
    _never(unescape(raw_html.replace("&lt;script&gt;", "")))

    md = reports.render_table(report, "md").decode()
    assert "## Disaccordo registrato" in md or "# Disaccordo registrato" in md
    assert "4 non sono d'accordo" in md and FUNDS in md and f"{ETS} 1" in md
    assert "«&lt;script>alert(1)&lt;/script> Troppo costoso" in md  # inert in any viewer
    _never(md)

    docx = _docx_text(reports.render_table(report, "docx"))
    assert "Disaccordo registrato" in docx and "4 non sono d'accordo" in docx
    assert f"«{FUNDS}»" in docx and f"{ETS} 1" in docx
    _never(docx.replace("<script>alert(1)</script> Troppo", "Troppo"))

    rows = list(
        csv.reader(
            io.StringIO(reports.render_table(report, "csv").decode("utf-8-sig")), delimiter=";"
        )
    )
    header, body = rows[0], rows[1:]
    day = next(r for r in body if r[header.index("Titolo")] == title)
    assert day[header.index("Non d'accordo")] == "4"
    assert f"{ETS} 1" in day[header.index("Disaccordo per categoria")]
    assert day[header.index("Motivi del disaccordo")] == f"{FUNDS} | {SCRIPT}"
    _never("\n".join(";".join(r) for r in rows).replace(SCRIPT, ""))
    transport_row = next(r for r in body if r[header.index("Titolo")].startswith("Trasporto"))
    assert transport_row[header.index("Motivi del disaccordo")] == "'" + INJECTION

    book = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
    sheet = next(ws for ws in book.worksheets if "Non d'accordo" in [c.value for c in ws[1]])
    head = [c.value for c in sheet[1]]
    cells = next(
        r for r in sheet.iter_rows(min_row=2, values_only=True) if r[head.index("Titolo")] == title
    )
    assert cells[head.index("Non d'accordo")] == 4
    assert FUNDS in str(cells[head.index("Motivi del disaccordo")])
    assert not any(
        isinstance(v, str) and v.startswith("=")
        for r in sheet.iter_rows(values_only=True)
        for v in r
    )

    payload = json.loads(reports.render_table(report, "json"))
    entry = next(p for p in payload["proposals"] if p["id"] == built.day_centre.id)
    assert entry["dissent"]["count"] == 4
    assert entry["dissent"]["reasons"] == [FUNDS, SCRIPT]
    assert entry["dissent"]["by_category"][ETS] == 1
    assert entry["dissent"]["by_category"][CITTADINO] in ("< 3", "*")
    _never(json.dumps(payload, ensure_ascii=False).replace(SCRIPT, ""))


def test_the_event_minutes_carry_each_table_s_dissent(session: Session) -> None:
    built = build(session)
    found = session.get(Event, built.table.event_id)
    assert found is not None
    report = data.build_event_report(session, found, min_group=3)
    for fmt in ("html", "md"):
        text = unescape(reports.render_event(report, fmt).decode())
        assert "4 non sono d'accordo" in text and FUNDS in text, fmt
    assert FUNDS in _docx_text(reports.render_event(report, "docx"))


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_the_pdf_prints_it_too(session: Session) -> None:
    built = build(session)
    report = data.build_table_report(session, built.table, min_group=3)
    raw = reports.render_table(report, "pdf")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=raw, capture_output=True, check=True
    ).stdout.decode()
    flat = " ".join(text.split())
    assert "Disaccordo registrato" in flat
    assert "4 non sono d’accordo" in flat or "4 non sono d'accordo" in flat
    assert re.search(r"Mancano i fondi per il personale\s*educativo", flat)
    assert "Zeno" not in flat


def test_no_reason_or_count_without_dissent(session: Session) -> None:
    event, _ = make_event(session)
    table = make_table(session, event, phase="collect")
    author = make_participant(session, table)[0]
    proposals.post_proposal(session, participant=author, kind="need", title="Casa per tutti")
    in_report = data.build_table_report(session, table, min_group=3)
    assert not in_report.dissented
    assert "Disaccordo registrato" not in reports.render_table(in_report, "md").decode()
