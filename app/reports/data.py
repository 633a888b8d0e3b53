"""The report data: one builder reads the database, every renderer prints the same figures.

The builder applies the privacy rule once (app/reports/privacy.py: a category with fewer
than `min_group` people becomes None, a figure hidden to protect it WITHHELD), so no
renderer can forget it.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from app.models import KINDS, Event, Participant, PhaseChange, Proposal, Table, Vote
from app.reports.privacy import Cell, protect_totals, row_marks
from app.services.state import ProposalView, table_state

OFF_WALL = ("hidden", "rejected", "pending", "rephrase", "withdrawn")


@dataclass(frozen=True)
class EventInfo:
    id: int
    title: str
    date: dt.date
    place: str
    organiser: str


@dataclass(frozen=True)
class Step:
    phase: str
    at: dt.datetime


@dataclass(frozen=True)
class Line:
    """One proposal on the wall, with its votes."""

    id: int
    rank: int
    kind: str
    title: str
    body: str
    tags: tuple[str, ...]
    votes: int
    voters: int
    by_category: tuple[Cell, ...]  # aligned with the report's categories
    proxy: bool  # posted by the moderator for a paper participant
    proxy_votes: int  # dots the moderator gave for paper participants
    merged_from: tuple[str, ...]  # titles of the duplicates folded into it
    edited: bool


@dataclass(frozen=True)
class Named:
    """A participant who agreed to appear by name in the minutes."""

    name: str
    organisation: str
    category: str


@dataclass(frozen=True)
class Group:
    kind: str
    tag: str  # "" for the untagged
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class TableReport:
    event: EventInfo
    code: str
    title: str
    question: str
    facilitator: str
    voting_mode: str
    dots: int
    max_per_proposal: int
    phase: str
    start: dt.datetime | None
    end: dt.datetime | None
    timeline: tuple[Step, ...]
    categories: tuple[str, ...]  # "" is "not stated"
    people: tuple[Cell, ...]  # participants by category, aligned with categories
    people_total: int
    paper: int  # paper participants (proxy), included in people_total
    removed: int  # removed by a moderator, not counted in people
    named: tuple[Named, ...]  # only those who consented, by name
    lines: tuple[Line, ...]  # most votes first, then in posting order; ties share a rank
    off_wall: tuple[tuple[str, int], ...]  # (status, count): counted, never printed
    merged: int
    synthesis: str
    min_group: int

    @property
    def total_votes(self) -> int:
        return sum(line.votes for line in self.lines)

    @property
    def proposals(self) -> int:
        return len(self.lines)

    def top(self, n: int = 10) -> tuple[Line, ...]:
        return tuple(line for line in self.lines[:n] if line.votes > 0)

    def groups(self) -> list[Group]:
        """By kind, then by tag (a proposal sits under its first tag; untagged last)."""
        result: list[Group] = []
        for kind in KINDS:
            of_kind = sorted(
                (line for line in self.lines if line.kind == kind),
                key=lambda line: (line.tags[0] if line.tags else "\uffff", line.rank),
            )
            by_tag: dict[str, list[Line]] = {}
            for line in of_kind:
                by_tag.setdefault(line.tags[0] if line.tags else "", []).append(line)
            result += [Group(kind, tag, tuple(lines)) for tag, lines in by_tag.items()]
        return result


@dataclass(frozen=True)
class EventReport:
    event: EventInfo
    tables: tuple[TableReport, ...]
    categories: tuple[str, ...]
    people: tuple[Cell, ...]  # whole event by category
    min_group: int

    @property
    def people_total(self) -> int:
        return sum(t.people_total for t in self.tables)

    @property
    def proposals(self) -> int:
        return sum(t.proposals for t in self.tables)

    def votes_by_mode(self) -> dict[str, int]:
        """Approvals and dots apart: a grand total of both would add different units."""
        result: dict[str, int] = {}
        for table in self.tables:
            result[table.voting_mode] = result.get(table.voting_mode, 0) + table.total_votes
        return dict(sorted(result.items()))

    def cell(self, table: TableReport, category: str) -> Cell:
        """A table's participants in one of the event's categories."""
        return _cell(table, category)


def _cell(table: TableReport, category: str) -> Cell:
    if category not in table.categories:
        return 0
    return table.people[table.categories.index(category)]


def _categories(event: Event, seen: set[str], *, every_listed: bool) -> tuple[str, ...]:
    """The event's categories in its order, then others, then "not stated". A table lists
    those it has people of (zeros in every row would only be noise); the event lists every
    one, so that a kind of organisation that nobody represented shows as such."""
    listed = [c for c in event.categories if every_listed or c in seen]
    extra = sorted(c for c in seen if c and c not in listed)
    tail = [""] if "" in seen else []
    return (*listed, *extra, *tail)


def _event_info(event: Event) -> EventInfo:
    return EventInfo(
        id=event.id or 0,
        title=event.title,
        date=event.date,
        place=event.place,
        organiser=event.organiser,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def build_table_report(session: Session, table: Table, *, min_group: int = 3) -> TableReport:
    current = table_state(session, table)
    table, event = current.table, current.event
    people = list(session.exec(select(Participant).where(Participant.table_id == table.id)))
    active = [p for p in people if not p.removed]
    categories = _categories(event, {p.category for p in people}, every_listed=False)
    present: dict[str, int] = defaultdict(int)
    everyone: dict[str, int] = defaultdict(int)
    for person in people:
        everyone[person.category] += 1
        if not person.removed:
            present[person.category] += 1
    # Decided on everyone who took part (removed people too), the same for every row.
    hidden = row_marks(everyone, categories, min_group)
    standings = current.standings
    votes_by = _votes_by_category(session, [p.id for _rank, p in standings])
    lines = tuple(
        _line(view, rank, categories, votes_by.get(view.id, {}), hidden) for rank, view in standings
    )
    statuses: dict[str, int] = defaultdict(int)
    for view in current.proposals:
        statuses[view.status] += 1
    steps = tuple(
        Step(phase=c.phase, at=_aware(c.at))
        for c in session.exec(
            select(PhaseChange)
            .where(PhaseChange.table_id == table.id)
            .order_by(col(PhaseChange.at), col(PhaseChange.id))
        )
    )
    starts = [s.at for s in steps if s.phase != "preparation"]
    ends = [s.at for s in steps if s.phase == "closed"]
    return TableReport(
        event=_event_info(event),
        code=table.code,
        title=table.title,
        question=table.question,
        facilitator=table.facilitator_name,
        voting_mode=table.voting_mode,
        dots=table.dots,
        max_per_proposal=table.max_per_proposal,
        phase=table.phase,
        start=starts[0] if starts else None,
        end=ends[-1] if ends and table.phase == "closed" else None,
        timeline=steps,
        categories=categories,
        people=tuple(hidden.get(c, present[c]) for c in categories),
        people_total=len(active),
        paper=sum(1 for p in active if p.proxy),
        removed=len(people) - len(active),
        named=tuple(
            Named(p.name, p.organisation, p.category)
            for p in sorted(active, key=lambda p: p.name.casefold())
            if p.named_in_minutes and p.name and not p.proxy
        ),
        lines=lines,
        off_wall=tuple((s, statuses[s]) for s in OFF_WALL if statuses[s]),
        merged=statuses["merged"],
        synthesis=table.synthesis,
        min_group=min_group,
    )


def _line(
    view: ProposalView,
    rank: int,
    categories: tuple[str, ...],
    votes: dict[tuple[str, bool], int],
    hidden: dict[str, Cell],
) -> Line:
    by_category: list[Cell] = []
    for category in categories:
        dots = sum(v for (c, _proxy), v in votes.items() if c == category)
        # A small category's votes could single someone out: hide them like its head count.
        by_category.append(hidden.get(category, dots))
    return Line(
        id=view.id,
        rank=rank,
        kind=view.kind,
        title=view.title,
        body=view.body,
        tags=view.tags,
        votes=view.tally,
        voters=view.voters,
        by_category=tuple(by_category),
        proxy=bool(view.proxy_name),
        proxy_votes=sum(v for (_c, proxy), v in votes.items() if proxy),
        merged_from=tuple(title for _id, title in view.merged_from),
        edited=view.edited,
    )


def _votes_by_category(
    session: Session, proposal_ids: list[int]
) -> dict[int, dict[tuple[str, bool], int]]:
    """Dots per proposal, per (category, given by proxy)."""
    result: dict[int, dict[tuple[str, bool], int]] = defaultdict(dict)
    if not proposal_ids:
        return result
    for chunk_start in range(0, len(proposal_ids), 500):
        chunk = proposal_ids[chunk_start : chunk_start + 500]
        rows = session.exec(
            select(Vote.proposal_id, Participant.category, Participant.proxy, func.sum(Vote.dots))
            .join(Participant, col(Participant.id) == Vote.participant_id)
            .where(col(Vote.proposal_id).in_(chunk))
            .group_by(col(Vote.proposal_id), col(Participant.category), col(Participant.proxy))
        )
        for proposal_id, category, proxy, dots in rows:
            result[proposal_id][(category, bool(proxy))] = int(dots)
    return result


def build_event_report(session: Session, event: Event, *, min_group: int = 3) -> EventReport:
    tables = session.exec(
        select(Table).where(Table.event_id == event.id).order_by(col(Table.id))
    ).all()
    reports = tuple(build_table_report(session, t, min_group=min_group) for t in tables)
    seen = {c for r in reports for c in r.categories}
    categories = _categories(event, seen, every_listed=True)
    totals: dict[str, int] = defaultdict(int)
    for person in session.exec(
        select(Participant)
        .join(Table, col(Table.id) == Participant.table_id)
        .where(Table.event_id == event.id, col(Participant.removed).is_(False))
    ):
        totals[person.category] += 1
    # The participation table has totals both ways: its category totals are protected
    # together with the tables' rows.
    cells = [[_cell(r, c) for c in categories] for r in reports]
    people = protect_totals(cells, [totals[c] for c in categories], min_group)
    return EventReport(
        event=_event_info(event),
        tables=reports,
        categories=categories,
        people=tuple(people),
        min_group=min_group,
    )


def proposal_count(session: Session, table_id: int) -> int:
    """How many posts a table has: the downloads page warns before a long PDF."""
    return int(
        session.exec(
            select(func.count()).select_from(Proposal).where(Proposal.table_id == table_id)
        ).one()
    )
