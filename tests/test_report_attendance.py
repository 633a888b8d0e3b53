"""The attendance register (foglio presenze) and the closing block of the minutes, read back
from every file a coordinator downloads: HTML, PDF, Markdown, Word, Excel and JSON."""

import html
import io
import json
import random
import re
import shutil
import subprocess

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlmodel import Session

from app import i18n, reports
from app.models import Event, Table
from app.reports import data, labels
from app.reports.privacy import organisation_groups
from app.services import moderation, phases, synthesis
from tests.conftest import make_event, make_participant, make_table

N = 3
ETS = "Ente del Terzo Settore"
COMUNE = "Comune / ente pubblico"
RELIGIOSA = "Realtà diocesana o religiosa"
CITTADINO = "Cittadino/a"

NAMED = {
    # name: organisation, as the coordinator must read them
    "Maria Esposito": "Cooperativa Il Girasole",
    "Luca Romano": "Cooperativa Il Girasole",
    "Giovanna De Luca": "Cooperativa Il Girasole",
    "Paolo Ferrara": "Comune di Baronissi",
    "Sara Greco": "Associazione Porta Aperta",
    "Antonio Russo": "Pro Loco Fisciano",  # on paper, consented to the moderator
}
NOT_NAMED = ("Elena Conte", "Rosa Bianco", "Marco Neri", "Franco Gallo")


def _people(session: Session, table: Table) -> None:
    """15 people counted: 3 of the cooperative (all named), 4 of the Comune (one named),
    2 of the Caritas (not named), one of an association (named), 3 citizens, 2 on paper;
    and one removed, who counts nowhere."""
    for name in ("Maria Esposito", "Luca Romano", "Giovanna De Luca"):
        _join(session, table, name, NAMED[name], ETS, named=True)
    _join(session, table, "Paolo Ferrara", "Comune di Baronissi", COMUNE, named=True)
    _join(session, table, "Elena Conte", "comune di  Baronissi", COMUNE, named=False)
    for _ in range(2):
        _join(session, table, "", "Comune di Baronissi", COMUNE, named=False)
    for _ in range(2):
        _join(session, table, "", "Caritas diocesana di Salerno", RELIGIOSA, named=False)
    _join(session, table, "Sara Greco", "Associazione Porta Aperta", ETS, named=True)
    _join(session, table, "Franco Gallo", "", CITTADINO, named=False)
    for _ in range(2):
        _join(session, table, "", "", CITTADINO, named=False)
    moderation.add_paper_participant(
        session,
        table,
        name="Antonio Russo",
        organisation="Pro Loco Fisciano",
        category=CITTADINO,
        named_in_minutes=True,
    )
    moderation.add_paper_participant(session, table, name="Rosa Bianco", category=CITTADINO)
    removed = _join(session, table, "Marco Neri", "Comune di Baronissi", COMUNE, named=True)
    moderation.remove_participant(session, table, removed)


def _join(
    session: Session, table: Table, name: str, organisation: str, category: str, *, named: bool
) -> int:
    fields = {"name": name, "organisation": organisation, "category": category}
    person, _token = make_participant(session, table, **fields)
    person.named_in_minutes = named and bool(name)
    session.add(person)
    session.commit()
    return person.id or 0


def _table(session: Session, *, close: bool, event: Event | None = None) -> Table:
    table = make_table(session, event, phase="preparation")
    phases.set_phase(session, table, "collect")
    _people(session, table)
    phases.set_phase(session, table, "voting")
    if close:
        phases.set_phase(session, table, "closed")
    synthesis.save_synthesis(session, table, facilitator="Dott.ssa Anna Ferri", synthesis="")
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return fresh


def _pdf_text(raw: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=raw, capture_output=True)
    return done.stdout.decode()


def _docx_text(raw: bytes) -> str:
    doc = Document(io.BytesIO(raw))
    parts = [p.text for p in doc.paragraphs]
    parts += [" | ".join(c.text for c in row.cells) for t in doc.tables for row in t.rows]
    return "\n".join(parts)


def _texts(report: data.TableReport) -> dict[str, str]:
    """What the coordinator reads in each format, as plain text (one space between words)."""
    page = reports.render_table(report, "html").decode()
    texts = {
        "html": html.unescape(re.sub(r"<[^>]+>", " ", page)),
        "md": reports.render_table(report, "md").decode().replace("**", ""),
        "docx": _docx_text(reports.render_table(report, "docx")),
    }
    if shutil.which("pdftotext"):
        texts["pdf"] = _pdf_text(reports.render_table(report, "pdf"))
    # One space between words; none before a colon (a tag or a bold run ended there).
    return {fmt: " ".join(text.split()).replace(" :", ":") for fmt, text in texts.items()}


def _sheet(report: data.TableReport | data.EventReport) -> list[tuple[object, ...]]:
    render = reports.render_table if isinstance(report, data.TableReport) else reports.render_event
    book = load_workbook(io.BytesIO(render(report, "xlsx")))  # type: ignore[arg-type]
    assert labels._("Attendance") == "Presenze" and "Presenze" in book.sheetnames
    return [row for row in book["Presenze"].iter_rows(values_only=True) if any(row)]


def test_the_register_names_only_who_consented_and_counts_the_others(session: Session) -> None:
    report = data.build_table_report(session, _table(session, close=True), min_group=N)
    assert report.people_total == 15 and report.removed == 1
    assert {(p.name, p.organisation) for p in report.named} == set(NAMED.items())
    # Groups of N or more whose unnamed people are none or N or more; 4, not 5, at the
    # Comune: the removed person counts nowhere. The rest together: 15 - 3 - 4 = 8.
    assert [(o.name, o.people) for o in report.organisations] == [
        ("Comune di Baronissi", 4),
        ("Cooperativa Il Girasole", 3),
    ]
    assert report.other_organisations == 8

    for fmt, text in _texts(report).items():
        assert "Foglio presenze" in text, fmt
        for name, organisation in NAMED.items():
            assert name in text and organisation in text, (fmt, name)
        for name in NOT_NAMED:
            assert name not in text, (fmt, name)
        # Two people of the Caritas, nobody named: the organisation never shows as a group.
        assert "Caritas" not in text, fmt
        assert "Presenti: 15; nominati con il loro consenso: 6" in text, fmt
        assert "Altre organizzazioni (meno di 3 persone ciascuna) o non indicata" in text, fmt

    rows = _sheet(report)
    assert rows[0][:3] == ("Nome", "Organizzazione", "Tipologia di soggetto")
    book = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
    assert book["Presenze"].auto_filter.ref == "A1:C7"  # on the six named, not the groups
    named = {r[0]: r[1] for r in rows[1:7]}
    assert named == NAMED
    groups = {r[0]: r[1] for r in rows if isinstance(r[1], int)}
    assert groups == {
        "Comune di Baronissi": 4,
        "Cooperativa Il Girasole": 3,
        "Altre organizzazioni (meno di 3 persone ciascuna) o non indicata": 8,
    }
    flat = " ".join(str(v) for row in rows for v in row)
    assert "Caritas" not in flat and not any(name in flat for name in NOT_NAMED)

    doc = json.loads(reports.render_table(report, "json"))["participants"]
    assert doc["register_withheld"] is None and doc["other_organisations"] == 8
    assert doc["organisations"] == [
        {"name": "Comune di Baronissi", "people": 4},
        {"name": "Cooperativa Il Girasole", "people": 3},
    ]


def test_spellings_of_one_organisation_make_one_group(session: Session) -> None:
    """Typed on phones, with and without accents, dots and capitals: one group each, shown
    as most people typed it."""
    table = make_table(session, phase="collect")
    for organisation in (
        "Città di Salerno",
        "CITTA' DI SALERNO",
        "città  di salerno",
        "Città di Salerno",
        "A.P.S. Il Ponte",
        "APS il ponte",
        "a.p.s. Il Ponte",
        "Il Ponte – Cooperativa",
        "Il Ponte-Cooperativa",
        "Il Ponte Cooperativa",
        "Il Ponte Cooperativa",
    ):
        _join(session, table, "", organisation, CITTADINO, named=False)
    phases.set_phase(session, table, "closed")
    synthesis.save_synthesis(session, table, facilitator="Anna Ferri", synthesis="")
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    report = data.build_table_report(session, fresh, min_group=N)
    assert [(o.name, o.people) for o in report.organisations] == [
        ("Città di Salerno", 4),
        ("Il Ponte Cooperativa", 4),
        ("A.P.S. Il Ponte", 3),
    ]
    assert report.other_organisations == 0


def test_a_draft_register_gives_the_total_only(session: Session) -> None:
    report = data.build_table_report(session, _table(session, close=False), min_group=N)
    assert report.draft and report.named == () and report.organisations == ()
    for fmt, text in _texts(report).items():
        assert "Bozza: nomi e organizzazioni sono riportati nel verbale definitivo" in text, fmt
        assert "Presenti: 15." in text, fmt
        for name in (*NAMED, *NOT_NAMED):
            assert name not in text, (fmt, name)
        assert "Cooperativa Il Girasole" not in text and "Comune di Baronissi" not in text, fmt
    rows = _sheet(report)
    assert rows[0][0].startswith("Bozza"), rows  # the note alone: no empty header above it
    flat = " ".join(str(v) for row in rows for v in row)
    assert "Presenti: 15." in flat and "Maria Esposito" not in flat and "Nome" not in flat
    doc = json.loads(reports.render_table(report, "json"))["participants"]
    assert doc["register_withheld"] == "draft" and doc["named"] == []
    assert doc["organisations"] == []


def test_the_closing_block_of_a_closed_table(session: Session) -> None:
    table = _table(session, close=True)
    report = data.build_table_report(session, table, min_group=N)
    assert report.end is not None
    day = i18n.long_date(report.end.astimezone(labels.LOCAL_TIME).date())
    for fmt, text in _texts(report).items():
        closing = text[text.rindex("Chiusura dei lavori") :]
        assert "Facilitazione a cura di: Dott.ssa Anna Ferri" in closing, fmt
        # Changed by issue 16: closing is not approving. Nothing records an approval by the
        # table, so the date is left to fill (the end of the session is in the heading).
        assert f"Approvato dal tavolo in data: {labels.BLANK}" in closing, fmt
        assert f"in data: {day}" not in closing, fmt
        assert "Il Responsabile del procedimento" in closing, fmt
        assert f"Nome: {labels.BLANK}" in closing and f"Firma: {labels.BLANK}" in closing, fmt
        assert "Bozza" not in closing, fmt


def test_the_closing_block_of_a_draft_leaves_the_date_to_fill(session: Session) -> None:
    report = data.build_table_report(session, _table(session, close=False), min_group=N)
    for fmt, text in _texts(report).items():
        closing = text[text.rindex("Chiusura dei lavori") :]
        assert f"Approvato dal tavolo in data: {labels.BLANK}" in closing, fmt
        assert "Bozza: il tavolo è ancora in corso" in closing, fmt
    with i18n.using_locale("en"):
        english = reports.render_table(report, "md").decode()
    assert "## Closing of the session" in english and "Approved by the table on" in english
    assert "The person responsible for the procedure" in english


def test_the_event_register_adds_up_only_what_the_tables_print(session: Session) -> None:
    """A second table with two people of the Comune (a group too small to show there): the
    event gives the Comune the 4 the first table prints, not 6, so nothing can be
    subtracted between the event's register and the tables'."""
    event, _ = make_event(session)
    first = _table(session, close=True, event=event)
    second = make_table(session, event, phase="collect")
    _join(session, second, "Ugo Marino", "Comune di Baronissi", COMUNE, named=False)
    _join(session, second, "", "Comune di Baronissi", COMUNE, named=False)
    _join(session, second, "Ida Caruso", "Cooperativa Il Girasole", ETS, named=True)
    for _ in range(3):
        _join(session, second, "", "", CITTADINO, named=False)
    phases.set_phase(session, second, "closed")
    report = data.build_event_report(session, event, min_group=N)
    assert [t.code for t in report.tables] == [first.code, second.code]
    assert [(o.name, o.people) for o in report.organisations] == [
        ("Comune di Baronissi", 4),
        ("Cooperativa Il Girasole", 3),
    ]
    assert ("Ida Caruso", second.title) in {(p.name, p.table) for p in report.named}
    assert len(report.named) == len(NAMED) + 1

    md = reports.render_event(report, "md").decode()
    summary = md[: md.index("*Verbale del tavolo")]
    assert "## Foglio presenze" in summary and "Ida Caruso" in summary
    assert "| Comune di Baronissi | 4 |" in summary and "Ugo Marino" not in md
    assert "## Chiusura dell'evento" in summary
    assert "**Organizzazione a cura di:** Ufficio di Piano" in summary
    assert "seguono i verbali di 2 tavoli" in summary
    rows = _sheet(report)
    assert rows[0][:4] == ("Nome", "Organizzazione", "Tipologia di soggetto", "Tavolo")
    assert {r[0]: r[1] for r in rows if isinstance(r[1], int)} == {
        "Comune di Baronissi": 4,
        "Cooperativa Il Girasole": 3,
    }
    doc = json.loads(reports.render_event(report, "json"))["participants"]
    assert {"name": "Comune di Baronissi", "people": 4} in doc["organisations"]
    word = _docx_text(reports.render_event(report, "docx"))
    assert "Chiusura dell'evento" in word and "Ida Caruso" in word and "Ugo Marino" not in word


def test_no_organisation_figure_points_at_fewer_than_n_people() -> None:
    """A reader subtracts the names listed under a group from its figure, and the groups
    from the total: every difference is 0 or at least N people, over random tables."""
    rng = random.Random(7)
    for _ in range(2000):
        people = [
            (rng.choice(["", "a", "b", "c", "d", "e"]), rng.random() < 0.3)
            for _ in range(rng.randint(0, 25))
        ]
        shown, rest = organisation_groups(people, N)
        assert rest == len(people) - sum(shown.values())
        assert rest == 0 or rest >= N or not shown
        for key, count in shown.items():
            named = sum(1 for k, is_named in people if k == key and is_named)
            assert key and count >= N
            assert count - named == 0 or count - named >= N


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        # The rest would be one person: the smallest group joins it.
        ([("a", False)] * 3 + [("b", False)] * 4 + [("", False)], ({"b": 4}, 4)),
        # Three of an organisation, one of them not named: "3 minus 2 names" is one person.
        ([("a", True)] * 2 + [("a", False)] + [("", False)] * 3, ({}, 6)),
    ],
)
def test_small_remainders_are_folded_in(
    people: list[tuple[str, bool]], expected: tuple[dict[str, int], int]
) -> None:
    assert organisation_groups(people, N) == expected
