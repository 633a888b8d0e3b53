"""CSV: the proposals with their tallies, one row each, for Excel (UTF-8 with BOM, ';').

The columns are listed once, here (`columns` and `values`): the CSV and every proposals
sheet of the XLSX use them, so the two files always read in the same order.
"""

import csv
import io
from dataclasses import dataclass
from typing import Literal

from app.enums import Ranking
from app.reports import labels
from app.reports.data import EventReport, Line, TableReport
from app.reports.labels import raw_cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Text that a spreadsheet would run as a formula is prefixed with a quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def safe(value: object) -> object:
    return safe_text(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Column:
    """One column of the proposals, in the CSV and in the XLSX.

    kind: "figure" (a number, or a privacy mark in its place: right-aligned), "text" (wrapped
    in a spreadsheet), "flag" (a short yes). width: the widest a spreadsheet column grows, in
    characters; a narrower content makes it narrower.
    """

    header: str
    kind: Literal["figure", "text", "flag"]
    width: int


def unit(mode: str) -> str:
    """How a table voted: next to every count of votes, so approvals and dots never mix."""
    return labels.voting_name(mode)


def columns(categories: tuple[str, ...], *, questions: bool = False) -> list[Column]:
    """`questions`: a Q&A table among them, whose answers and askers close each row."""
    _ = labels._
    return [
        Column(_("Table"), "text", 30),
        Column(_("Rank"), "figure", 8),
        Column(_("Kind"), "text", 14),
        Column(_("Title"), "text", 45),
        Column(_("Description"), "text", 55),
        Column(_("Tags"), "text", 18),
        Column(_("Votes"), "figure", 10),
        Column(_("Voting"), "text", 14),
        Column(_("Voters"), "figure", 10),
        *(Column(labels.category(c), "figure", 12) for c in categories),
        Column(_("No."), "figure", 6),
        Column(_("Proxy input"), "figure", 10),
        Column(_("Proxy votes"), "figure", 10),
        Column(_("Merged from"), "text", 25),
        Column(_("Counting rule"), "text", 18),
        Column(_("Weighted votes"), "figure", 10),
        Column(_("Rank by weighted votes"), "figure", 10),
        Column(_("Rank by consensus"), "figure", 10),
        Column(_("Bridging score"), "figure", 10),
        Column(_("Support by group"), "text", 40),
        Column(_("Ranking adopted"), "text", 18),
        Column(_("Disagree"), "figure", 10),
        Column(_("Disagreement by category"), "text", 25),
        Column(_("Reasons for disagreeing"), "text", 45),
        Column(_("Needs → actions"), "text", 22),
        Column(_("Pledged resources"), "text", 40),
        Column(_("Version"), "text", 12),
        *(
            [
                Column(_("Answered"), "flag", 10),
                Column(_("Answer note"), "text", 40),
                Column(_("Asked by"), "text", 20),
            ]
            if questions
            else []
        ),
    ]


def values(
    report: TableReport, line: Line, categories: tuple[str, ...], *, questions: bool = False
) -> list[object]:
    """One proposal, in the order of `columns`; `categories` may be the event's, a superset."""
    by = dict(zip(report.categories, line.by_category, strict=True))
    return [
        report.title,
        line.rank,
        labels.kind(line.kind),
        line.title,
        line.body,
        ", ".join(line.tags),
        line.votes,
        unit(report.voting_mode),
        line.voters,
        *(raw_cell(by.get(c, 0), report.min_group) for c in categories),
        line.number,
        _proxy(line.proxy, report.min_group),
        raw_cell(line.proxy_votes, report.min_group),
        " | ".join(line.merged_from),
        labels.rule_name(report.weighting),
        round(line.weighted, 1),
        _position(report, Ranking.WEIGHTED, line),
        _position(report, Ranking.BRIDGING, line),
        round(line.bridging, 4) if line.bridging is not None else "",
        " · ".join(
            f"{labels.group_name(g)}: {labels.support_cell(g, s, report.min_group)}"
            for g, s in zip(report.consensus_groups, line.support, strict=True)
        ),
        labels.ranking_name(report.ranking),
        line.dissent,
        labels.dissent_breakdown(line, report.categories, report.min_group),
        " | ".join(line.dissent_reasons),
        labels.chain_cell(line, report),
        labels.pledges_cell(line, report),
        labels.draft() if report.draft else labels._("final"),
        *(
            [labels._("yes") if line.answered else "", line.answer_note, line.asker]
            if questions
            else []
        ),
    ]


def _position(report: TableReport, ranking: str, line: Line) -> int | str:
    """The line's place in a ranking ("" when the ranking is not given)."""
    ids = (report.rankings or {}).get(ranking)
    return ids.index(line.id) + 1 if ids and line.id in ids else ""


def _proxy(flag: bool | None, min_group: int) -> str:
    """ "yes", "", or the mark of a group too small to say which posts are theirs."""
    if flag is None:
        return labels.mark(None, min_group)
    return labels._("yes") if flag else ""


def _rows(
    report: TableReport, categories: tuple[str, ...], *, questions: bool = False
) -> list[list[object]]:
    return [values(report, line, categories, questions=questions) for line in report.lines]


def _write(header: list[Column], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe(c.header) for c in header])
    writer.writerows([safe(v) for v in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def table_csv(report: TableReport) -> bytes:
    q = report.questions
    return _write(
        columns(report.categories, questions=q), _rows(report, report.categories, questions=q)
    )


def event_csv(report: EventReport) -> bytes:
    q = any(t.questions for t in report.tables)
    rows = [row for t in report.tables for row in _rows(t, report.categories, questions=q)]
    return _write(columns(report.categories, questions=q), rows)
