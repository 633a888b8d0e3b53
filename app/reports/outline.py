"""The minutes' outline: which sections, in which order, under which heading. The HTML
template, the Markdown and the Word renderers walk it, each drawing a section its own way,
so adding a section or renaming a heading is one edit here (the drawers are looked up by
`id`: a test checks each renderer has one for every section)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.reports.data import EventReport, TableReport
from app.templating import N_

R = TypeVar("R", TableReport, EventReport)


@dataclass(frozen=True)
class Section(Generic[R]):
    id: str
    heading: str  # msgid, translated by the renderer
    shown: Callable[[R], bool] = lambda _report: True


def _off_wall(report: TableReport) -> bool:
    return bool(report.merged or report.off_wall)


def _dissent(report: TableReport) -> bool:
    return bool(report.dissented)


def _questions(report: TableReport) -> bool:
    """A Q&A table: its questions by support, with their answers, stand for both the
    priorities and the proposals by kind (one list, the same order)."""
    return report.questions


def _not_questions(report: TableReport) -> bool:
    return not report.questions


# A table's minutes, after its head (title, question, facilitator, times).
TABLE: tuple[Section[TableReport], ...] = (
    Section("timeline", N_("Timeline")),
    Section("participants", N_("Participants")),
    Section("attendance", N_("Attendance register")),
    Section("priorities", N_("Priorities"), _not_questions),
    Section("rankings", N_("Rankings and consensus across categories"), _not_questions),
    Section("questions", N_("Questions by support"), _questions),
    Section("summary", N_("Facilitator's summary")),
    Section("chain", N_("Needs, actions and resources"), lambda report: report.chained),
    Section("proposals", N_("Proposals by kind and tag"), _not_questions),
    Section("dissent", N_("Recorded disagreement"), _dissent),
    Section("off_wall", N_("Posts not on the wall"), _off_wall),
    Section("closing", N_("Closing of the session")),
)

# The event's synthesis, after its head; every table's minutes follow it as annexes.
EVENT: tuple[Section[EventReport], ...] = (
    Section("plenary", N_("The plenary"), lambda report: report.plenary is not None),
    Section("participation", N_("Participation by category and table")),
    Section("attendance", N_("Attendance register")),
    Section("priorities", N_("Top priorities of each table")),
    Section("summaries", N_("The tables' summaries")),
    Section("closing", N_("Closing of the event")),
)


def table_sections(report: TableReport) -> list[Section[TableReport]]:
    return [s for s in TABLE if s.shown(report)]


def event_sections(report: EventReport) -> list[Section[EventReport]]:
    return [s for s in EVENT if s.shown(report)]
