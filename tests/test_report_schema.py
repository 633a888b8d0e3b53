"""The JSON report against docs/report-schema.json: what the code writes is what the schema
promises, and the schema is strict enough to catch a broken document."""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlmodel import Session

from app import reports
from app.reports import data, opendata
from tests.conftest import make_participant, make_table
from tests.test_reports import CITTADINO, ETS, build_known

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "report-schema.json"

Doc = dict[str, Any]


def _schema() -> Doc:
    schema: Doc = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def _validator() -> Draft202012Validator:
    """With the format checker, so "date" is checked too, not only annotated."""
    return Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _errors(doc: Doc) -> list[str]:
    """Readable failures: where in the document, and what is wrong."""
    return [f"{e.json_path}: {e.message}" for e in _validator().iter_errors(doc)]


def _table_doc(session: Session) -> Doc:
    known = build_known(session)
    report = data.build_table_report(session, known.table, min_group=3)
    doc: Doc = json.loads(reports.render_table(report, "json"))
    return doc


def _event_doc(session: Session) -> Doc:
    """Two tables: the known one, and one never started (null times, no proposals)."""
    known = build_known(session)
    other = make_table(session, known.event, phase="collect")
    make_participant(session, other, category=ETS)
    report = data.build_event_report(session, known.event, min_group=3)
    doc: Doc = json.loads(reports.render_event(report, "json"))
    return doc


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(_schema())


def test_schema_name_matches_the_code() -> None:
    assert _schema()["properties"]["schema"]["const"] == opendata.SCHEMA


def test_every_documented_key_is_required() -> None:
    """A key the code stops writing must fail validation, not slip by as optional."""

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                assert set(node.get("required", [])) == set(node["properties"]), where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(_schema(), "#")


def test_table_report_matches_schema(session: Session) -> None:
    doc = _table_doc(session)
    assert _errors(doc) == []
    # The fixture exercises the mark, a timeline and both ends of the table.
    assert doc["participants"]["by_category"][CITTADINO] == "< 3"
    assert doc["timeline"] and doc["start"] and doc["end"]


def test_event_report_matches_schema(session: Session) -> None:
    doc = _event_doc(session)
    assert _errors(doc) == []
    assert (
        doc["participants"]["by_category"][CITTADINO] == "*"
    )  # changed by issue 9: its column has a hidden cell
    assert len(doc["tables"]) == 2 and doc["tables"][1]["start"] is None


def _set_votes(doc: Doc) -> None:
    doc["proposals"][0]["votes"] = "12"


def _drop_synthesis(doc: Doc) -> None:
    del doc["synthesis"]


def _extra_key(doc: Doc) -> None:
    doc["participants"]["email"] = "someone@example.org"


def _negative_cell(doc: Doc) -> None:
    doc["proposals"][0]["by_category"][ETS] = -1


def _unknown_mark(doc: Doc) -> None:
    doc["participants"]["by_category"][CITTADINO] = "few"


def _local_time(doc: Doc) -> None:
    doc["timeline"][0]["at"] = "2024-11-09 10:00"


def _event_keys_in_table(doc: Doc) -> None:
    doc["tables"] = []


def _next_version(doc: Doc) -> None:
    doc["schema"] = "tavoli.report/3"


def _unknown_ranking(doc: Doc) -> None:
    doc["ranking_adopted"] = "popularity"


def _unknown_weighting(doc: Doc) -> None:
    doc["voting"]["weighting"] = "money"


def _support_over_one(doc: Doc) -> None:
    doc["proposals"][0]["consensus"]["groups"][0]["support"] = 1.5


def _drop_weighted_tally(doc: Doc) -> None:
    del doc["proposals"][0]["weighted_tally"]


def _unknown_phase(doc: Doc) -> None:
    doc["phase"] = "lunch"


def _bad_date(doc: Doc) -> None:
    doc["event"]["date"] = "2024-13-45"


def _header_in_event_table(doc: Doc) -> None:
    doc["tables"][0]["min_group"] = 3


def _event_called_table(doc: Doc) -> None:
    doc["kind"] = "table"


def _event_total_as_null(doc: Doc) -> None:
    doc["totals"]["votes_by_mode"] = {"approval": None}


def _event_table_missing_code(doc: Doc) -> None:
    del doc["tables"][1]["code"]


TABLE_CORRUPTIONS: list[Callable[[Doc], None]] = [
    _set_votes,
    _drop_synthesis,
    _extra_key,
    _negative_cell,
    _unknown_mark,
    _local_time,
    _event_keys_in_table,
    _next_version,
    _unknown_ranking,
    _unknown_weighting,
    _support_over_one,
    _drop_weighted_tally,
    _unknown_phase,
    _bad_date,
]
EVENT_CORRUPTIONS: list[Callable[[Doc], None]] = [
    _header_in_event_table,
    _event_called_table,
    _event_total_as_null,
    _event_table_missing_code,
]


def test_schema_rejects_corrupted_table_reports(session: Session) -> None:
    """One valid document, broken one way at a time: each break must be caught."""
    doc = _table_doc(session)
    for corrupt in TABLE_CORRUPTIONS:
        broken = copy.deepcopy(doc)
        corrupt(broken)
        assert _errors(broken), corrupt.__name__


def test_schema_rejects_corrupted_event_reports(session: Session) -> None:
    doc = _event_doc(session)
    for corrupt in EVENT_CORRUPTIONS:
        broken = copy.deepcopy(doc)
        corrupt(broken)
        assert _errors(broken), corrupt.__name__


@pytest.mark.parametrize("value", [0, 12, "< 3", "< 10", "*"])
def test_cell_accepts_counts_and_marks(value: object) -> None:
    assert Draft202012Validator(_schema()["$defs"]["cell"]).is_valid(value)


@pytest.mark.parametrize("value", [-1, 1.5, True, None, "12", "<3", "< ", "< N", "**", " *"])
def test_cell_rejects_anything_else(value: object) -> None:
    assert not Draft202012Validator(_schema()["$defs"]["cell"]).is_valid(value)
