"""The worked chain in the final minutes, in every format: each need with the actions
proposed for it and their votes, the resources organisations pledged to each, and the
needs no action answers, flagged. A pledge names the organisation, never the person."""

import csv
import io
import json

from openpyxl import load_workbook
from sqlmodel import Session

from app import i18n, reports
from app.models import Table
from app.reports import data
from app.services import links, moderation, phases, proposals, voting
from tests.conftest import make_event, make_participant, make_table
from tests.test_report_attendance import _texts

ETS = "Ente del Terzo Settore"


def _worked_table(session: Session) -> Table:
    """Disabilità e progetti di vita: three needs, two answered; a pledge by a cooperative
    whose member consented to nothing (her name must not appear anywhere)."""
    event, _ = make_event(session)
    table = make_table(session, event, phase="collect")
    people = [
        make_participant(
            session,
            table,
            name=name,
            organisation="Cooperativa sociale Il Faro",
            category=ETS,
        )[0]
        for name in ("Giulia Esposito", "Marco De Luca", "Sara Landi", "Pietro Amato")
    ]
    giulia = people[0]

    def post(kind: str, title: str) -> int:
        posted = proposals.post_proposal(session, participant=giulia, kind=kind, title=title)
        return posted.proposal.id or 0

    need_casa = post("need", "Mancano soluzioni abitative per il «dopo di noi»")
    need_lavoro = post("need", "Pochi tirocini per giovani con disabilità")
    need_trasporti = post("need", "Trasporti accessibili verso i centri diurni")
    gruppi = post("proposal", "Gruppi appartamento per l'autonomia abitativa")
    tirocini = post("proposal", "Rete di aziende per tirocini inclusivi")
    educatori = post("resource", "Educatori professionali della cooperativa")
    sala = post("resource", "Appartamento confiscato in via Roma")
    links.set_answers(session, table, proposal_id=gruppi, need_ids=[need_casa], by=None)
    links.set_answers(session, table, proposal_id=tirocini, need_ids=[need_lavoro], by=giulia.id)
    links.pledge(
        session,
        table,
        proposal_id=gruppi,
        resource_id=educatori,
        offer="due educatori, 10 ore a settimana",
        organisation="Cooperativa sociale Il Faro",
        by=giulia.id,
    )
    links.pledge(
        session,
        table,
        proposal_id=gruppi,
        resource_id=sala,
        offer="l'appartamento in comodato d'uso per tre anni",
        organisation="Comune di Baronissi",
        by=None,
    )
    phases.set_phase(session, table, "voting")
    for person in people:
        voting.set_vote(session, participant=person, proposal_id=gruppi, dots=1)
    voting.set_vote(session, participant=people[1], proposal_id=tirocini, dots=1)
    phases.set_phase(session, table, "closed")
    assert need_trasporti
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return fresh


def test_the_final_minutes_print_the_chain_in_every_format(session: Session) -> None:
    report = data.build_table_report(session, _worked_table(session), min_group=3)
    assert not report.draft
    with i18n.using_locale("it"):
        texts = _texts(report)
        book = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
        raw_csv = reports.render_table(report, "csv").decode("utf-8-sig")
    sheet = " ".join(
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    )
    texts["xlsx"] = " ".join(sheet.split())
    texts["csv"] = " ".join(raw_csv.split())
    assert set(texts) >= {"html", "md", "docx", "pdf", "xlsx", "csv"}
    for fmt, text in texts.items():
        assert "Giulia Esposito" not in text, fmt  # the person never, only the organisation
    for fmt in ("html", "md", "docx", "pdf"):
        text = texts[fmt]
        assert "Bisogni, azioni e risorse" in text, fmt
        need = text.index("Bisogno n. 1: Mancano soluzioni abitative per il «dopo di noi» (0 voti)")
        action = text.index("n. 4 · Gruppi appartamento per l'autonomia abitativa — 4 voti, 1ª")
        pledge = text.index(
            "Cooperativa sociale Il Faro: due educatori, 10 ore a settimana (risorsa n. 6)"
        )
        second = text.index(
            "Comune di Baronissi: l'appartamento in comodato d'uso per tre anni (risorsa n. 7)"
        )
        lavoro = text.index("Bisogno n. 2: Pochi tirocini per giovani con disabilità")
        tirocini = text.index("n. 5 · Rete di aziende per tirocini inclusivi — 1 voto")
        assert need < action < pledge < second < lavoro < tirocini, fmt
        # The need no action answers: flagged under its own heading and again in the list.
        trasporti = text.index("Bisogno n. 3: Trasporti accessibili verso i centri diurni")
        assert text.index("Nessuna azione risponde a questo bisogno", trasporti) > trasporti, fmt
        assert "Bisogni a cui nessuna azione risponde" in text, fmt
        assert "⚠ n. 3 · Trasporti accessibili verso i centri diurni" in text, fmt
    # The spreadsheet and the CSV: one column links, one the organisations' offers.
    for fmt in ("xlsx", "csv"):
        text = texts[fmt]
        assert "Bisogni → azioni" in text and "Risorse impegnate" in text, fmt
        assert "NESSUNA AZIONE RISPONDE A QUESTO BISOGNO" in text, fmt
        assert "Cooperativa sociale Il Faro: due educatori, 10 ore a settimana" in text, fmt
    rows = list(csv.reader(io.StringIO(raw_csv), delimiter=";"))
    head = rows[0]
    by_title = {row[head.index("Titolo")]: row for row in rows[1:]}
    gruppi = by_title["Gruppi appartamento per l'autonomia abitativa"]
    assert gruppi[head.index("Bisogni → azioni")] == "n. 1"
    assert gruppi[head.index("Risorse impegnate")] == (
        "Cooperativa sociale Il Faro: due educatori, 10 ore a settimana | "
        "Comune di Baronissi: l'appartamento in comodato d'uso per tre anni"
    )
    assert (
        by_title["Mancano soluzioni abitative per il «dopo di noi»"][head.index("Bisogni → azioni")]
        == "n. 4"
    )


def test_the_report_json_gives_answers_and_pledges(session: Session) -> None:
    report = data.build_table_report(session, _worked_table(session), min_group=3)
    doc = json.loads(reports.render_table(report, "json"))
    by_title = {p["title"]: p for p in doc["proposals"]}
    gruppi = by_title["Gruppi appartamento per l'autonomia abitativa"]
    assert gruppi["answers"] == [by_title["Mancano soluzioni abitative per il «dopo di noi»"]["id"]]
    assert by_title["Educatori professionali della cooperativa"]["pledges"] == [
        {
            "proposal": gruppi["id"],
            "organisation": "Cooperativa sociale Il Faro",
            "offer": "due educatori, 10 ore a settimana",
        }
    ]
    assert by_title["Mancano soluzioni abitative per il «dopo di noi»"]["answers"] == []
    assert doc["unanswered_needs"] == [
        by_title["Trasporti accessibili verso i centri diurni"]["id"]
    ]


def test_a_hidden_action_leaves_its_need_unanswered_in_the_minutes(session: Session) -> None:
    table = _worked_table(session)
    phases.set_phase(session, table, "voting")
    report = data.build_table_report(session, table, min_group=3)
    gruppi = next(line for line in report.lines if line.title.startswith("Gruppi"))
    moderation.hide(session, table, gruppi.id)
    after = data.build_table_report(session, table, min_group=3)
    assert [n.title for n in after.unanswered()] == [
        "Mancano soluzioni abitative per il «dopo di noi»",
        "Trasporti accessibili verso i centri diurni",
    ]
    # Restored, its links are back as they were.
    moderation.restore(session, table, gruppi.id)
    again = data.build_table_report(session, table, min_group=3)
    assert [n.title for n in again.unanswered()] == ["Trasporti accessibili verso i centri diurni"]
