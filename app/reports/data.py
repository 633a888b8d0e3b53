"""The report data: one builder reads the database, every renderer prints the same figures.

The builder applies the privacy rule once (app/reports/privacy.py: a category with fewer
than `min_group` people becomes None, a figure hidden to protect it WITHHELD; a draft, or a
table too small for a breakdown, has no categories at all), so no renderer can forget it.
"""

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from sqlmodel import Session, col, func, select

from app.enums import Kind, Phase, Ranking, Status
from app.models import (
    KINDS,
    Event,
    Participant,
    PhaseChange,
    Proposal,
    RankingChange,
    Table,
    Vote,
)
from app.reports.privacy import (
    WITHHELD,
    Cell,
    crossing_shown,
    event_marks,
    group_cell,
    organisation_groups,
)
from app.services import consensus
from app.services.dissent import dissent_by_category, dissent_by_proposal
from app.services.formats import format_of
from app.services.organisations import canonical, organisation_key
from app.services.plenary import Item as PlenaryItem
from app.services.plenary import plenary
from app.services.privacy import erase_after, notice_filled
from app.services.state import ProposalView, table_state
from app.services.voting import consensus_voters

TIE_ROOM = 5  # a priority list shows this many more lines at most, to keep a tie whole
OFF_WALL = (Status.HIDDEN, Status.REJECTED, Status.PENDING, Status.REPHRASE, Status.WITHDRAWN)


@dataclass(frozen=True)
class EventInfo:
    id: int
    title: str
    date: dt.date
    place: str
    organiser: str
    # The privacy notice the minutes cite (art. 13 GDPR): "" where the organiser wrote
    # nothing (no controller: the notice was not filled and Tavoli's default text applies).
    controller: str
    dpo: str
    dpo_contact: str
    erase_after: dt.date  # the first day the retention sweep erases personal data
    # The public page of what became of the priorities (absolute; "" when the minutes were
    # built without knowing the server's address): it outlives the retention sweep.
    followup: str = ""

    @property
    def notice_filled(self) -> bool:
        return bool(self.controller)


@dataclass(frozen=True)
class Step:
    phase: str
    at: dt.datetime


@dataclass(frozen=True)
class ConsensusGroup:
    """A qualifying group of the consensus across categories, as the minutes print it."""

    kind: str  # "category", "none" (no category) or "others" (small categories pooled)
    category: str  # the category ("" for "none" and "others")
    name: str  # as the JSON report names it ("Nessuna categoria", "Altre categorie")
    voters: Cell  # WITHHELD when one of its categories is withheld in the breakdown


@dataclass(frozen=True)
class GroupSupport:
    supporters: Cell
    share: float | None  # None: withheld with its group


@dataclass(frozen=True)
class RankingStep:
    ranking: str
    at: dt.datetime


@dataclass(frozen=True)
class PledgeLine:
    """A resource pledged to a proposal: the organisation's public offer (never a person's
    name: the organisation is what was typed with the pledge, public by that act)."""

    resource: int  # the resource's id
    proposal: int  # the proposal's id
    organisation: str
    offer: str


@dataclass(frozen=True)
class Line:
    """One proposal on the wall, with its votes."""

    id: int
    rank: int
    number: int  # "n. 12": its place in the table's posting order, as on the wall's card
    kind: str
    title: str
    body: str
    tags: tuple[str, ...]
    votes: int
    voters: int
    by_category: tuple[Cell, ...]  # aligned with the report's categories
    proxy: bool | None  # posted for a paper participant; None: withheld (fewer than N on paper)
    proxy_votes: Cell  # dots the moderator gave for paper participants
    merged_from: tuple[str, ...]  # titles of the duplicates folded into it
    edited: bool
    # The count under the table's rule (services/consensus.py): the tally itself under
    # "person"; always a total, so drafts carry it too.
    weighted: float = 0.0
    # Aligned with TableReport.consensus_groups; () in drafts and wherever figures by
    # category are not printed (the privacy rule of the breakdown).
    support: tuple[GroupSupport, ...] = ()
    bridging: float | None = None
    disagreement: float | None = None  # the fallback score, when there is no bridging one
    # "Non sono d'accordo" (services/dissent.py): how many disagree, the reasons a moderator
    # let through (no name), and the count by category under the same marks as the votes
    # (aligned with the report's categories; () in a draft or a table without breakdown).
    dissent: int = 0
    dissent_reasons: tuple[str, ...] = ()
    dissent_by_category: tuple[Cell, ...] = ()
    answers: tuple[int, ...] = ()  # a proposal: the ids of the needs it answers
    pledges: tuple[PledgeLine, ...] = ()  # a resource: the proposals it is pledged to
    # A Q&A question: answered (when), the moderator's note, and its author's name where
    # they consented to be named with their questions and the minutes name anyone ("").
    answered_at: dt.datetime | None = None
    answer_note: str = ""
    asker: str = ""

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


@dataclass(frozen=True)
class ChainAction:
    """A proposal that answers a need, with the resources pledged to it."""

    line: Line
    pledges: tuple[tuple[PledgeLine, Line], ...]  # (pledge, the resource's line)


@dataclass(frozen=True)
class ChainNeed:
    """A need with the actions proposed for it; none: the need is unanswered (flagged)."""

    need: Line
    actions: tuple[ChainAction, ...]


@dataclass(frozen=True)
class Named:
    """A participant who agreed to appear by name in the minutes."""

    name: str
    organisation: str
    category: str | None  # None: not printed (the table does not print that category)
    table: str = ""  # in the event's register: the table they sat at


@dataclass(frozen=True)
class Organisation:
    """A group of the attendance register: N people or more of one organisation."""

    name: str  # as most of them typed it
    people: int


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
    # Why the table prints no figure by category: "" (it does), "draft" (still running),
    # "event" (another table of the event still runs), "changed" (the event's tables changed
    # after all had closed), "reopened" (closed again after a reopening), "few" (too few
    # people) or "others" (withheld to protect small groups at the event's other tables).
    withheld: str
    start: dt.datetime | None
    end: dt.datetime | None
    timeline: tuple[Step, ...]
    categories: tuple[str, ...]  # "" is "not stated"; () when there is no breakdown
    people: tuple[Cell, ...]  # participants by category, aligned with categories
    people_total: int
    paper: Cell  # paper participants (proxy), included in people_total
    removed: int  # removed by a moderator, in no figure (their votes are gone)
    named: tuple[Named, ...]  # only those who consented, by name; () without a register
    named_withheld: bool  # some consented, but the table is too small to name anyone
    # The attendance register (foglio presenze) is given only in the final minutes of a
    # table of N people or more: "" (it is), or why not ("draft", "reopened", "few").
    register_withheld: str
    organisations: tuple[Organisation, ...]  # N people or more each, largest first
    other_organisations: int  # everyone else: 0 or N or more (privacy.organisation_groups)
    lines: tuple[Line, ...]  # most votes first, then in posting order; ties share a rank
    off_wall: tuple[tuple[str, int], ...]  # (status, count): counted, never printed
    merged: int
    synthesis: str
    min_group: int
    weighting: str = "person"  # the fair counting rule (services/consensus.RULES)
    ranking: str = "tally"  # the ranking the table adopted (chosen, and available)
    # The consensus across categories, printed only where the breakdown by category is:
    # False in drafts and in the minutes that withhold the breakdown (groups then ()).
    consensus: bool = False
    consensus_groups: tuple[ConsensusGroup, ...] = ()
    left_out: int = 0  # voters in categories under N that do not pool to N
    bridging_reason: str = ""  # msgid: why there is no bridging score ("" when there is)
    # Proposal ids, first first: "tally" and "weighted" always, "bridging" None when there is
    # no score (or no breakdown to print it from).
    rankings: dict[str, tuple[int, ...] | None] | None = None
    ranking_steps: tuple[RankingStep, ...] = ()
    # How the table ran (services/formats.py): a Q&A table's minutes list its questions by
    # support, answered or not, with the moderator's note (`questions`).
    format: str = "tavolo"
    questions: bool = False

    @property
    def answered(self) -> int:
        return sum(1 for line in self.lines if line.answered)

    @property
    def draft(self) -> bool:
        """Downloaded while the table runs: a "bozza", with totals only."""
        return self.phase != Phase.CLOSED

    def ranked(self, ranking: str) -> tuple[Line, ...]:
        """The lines in one ranking's order (() when it cannot be made)."""
        ids = (self.rankings or {}).get(ranking)
        if ids is None:
            return ()
        by_id = {line.id: line for line in self.lines}
        return tuple(by_id[i] for i in ids if i in by_id)

    @property
    def fallback(self) -> bool:
        """The pairwise-disagreement score is printed (no bridging score, figures shown)."""
        return self.consensus and not self.consensus_groups[1:]

    @property
    def breakdown(self) -> bool:
        return not self.withheld

    @property
    def total_votes(self) -> int:
        return sum(line.votes for line in self.lines)

    @property
    def proposals(self) -> int:
        return len(self.lines)

    @property
    def dissented(self) -> tuple[Line, ...]:
        """The proposals someone disagrees with, in the order of the priorities."""
        return tuple(line for line in self.lines if line.dissent)

    def top(self, n: int = 10) -> tuple[Line, ...]:
        """The first `n` proposals with votes, never cut through a tie: those that share the
        last rank shown come too, up to TIE_ROOM more lines. A longer tie is cut at `n`, and
        `tied_after` counts the rest (the earliest posts must not pass for the chosen ones)."""
        voted = [line for line in self.lines if line.votes > 0]
        if len(voted) <= n:
            return tuple(voted)
        through = [line for line in voted if line.rank <= voted[n - 1].rank]
        return tuple(through if len(through) <= n + TIE_ROOM else voted[:n])

    def tied_after(self, shown: tuple[Line, ...]) -> int:
        """How many proposals not in `shown` share the rank of its last line."""
        if not shown:
            return 0
        last = shown[-1]
        ids = {line.id for line in shown}
        return sum(
            1 for line in self.lines if line.rank == last.rank and line.votes and line.id not in ids
        )

    @property
    def chained(self) -> bool:
        """Whether the minutes print the chain: the table has needs, or links."""
        return any(line.kind == Kind.NEED or line.answers or line.pledges for line in self.lines)

    def chain(self) -> list[ChainNeed]:
        """Needs → actions → resources: each need (most votes first, as the priorities),
        the proposals that answer it with their votes, and the resources pledged to each."""
        pledges: dict[int, list[tuple[PledgeLine, Line]]] = defaultdict(list)
        for line in self.lines:
            for pledge in line.pledges:
                pledges[pledge.proposal].append((pledge, line))
        return [
            ChainNeed(
                need,
                tuple(
                    ChainAction(action, tuple(pledges[action.id]))
                    for action in self.lines
                    if need.id in action.answers
                ),
            )
            for need in self.lines
            if need.kind == Kind.NEED
        ]

    def unanswered(self) -> list[Line]:
        """The needs that no proposal answers."""
        return [c.need for c in self.chain() if not c.actions]

    def unlinked_actions(self) -> list[Line]:
        """The proposals that answer no need (listed after the chain, so none is lost)."""
        return [line for line in self.lines if line.kind == Kind.PROPOSAL and not line.answers]

    def pledges_to(self, proposal_id: int) -> list[tuple[PledgeLine, Line]]:
        return [(p, line) for line in self.lines for p in line.pledges if p.proposal == proposal_id]

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
class PlenaryLine:
    """A post in the plenary's chapter: its table, its title and its rank there (0: none)."""

    table: str
    title: str
    rank: int = 0
    votes: int | None = None
    voting_mode: str = ""


@dataclass(frozen=True)
class PlenaryChapter:
    """The plenary, as the first chapter of the event's minutes (services/plenary.py): each
    table's top priorities under the ranking it adopted, the themes the moderator confirmed
    across tables, the needs no action answers and the resources offered."""

    # (table, its top ones with votes, how many more share the last rank: a tie too long)
    priorities: tuple[tuple[str, tuple[PlenaryLine, ...], int], ...]
    themes: tuple[tuple[str, tuple[PlenaryLine, ...]], ...]  # (theme, its posts)
    needs: tuple[PlenaryLine, ...]
    resources: tuple[PlenaryLine, ...]


def plenary_chapter(session: Session, event: Event) -> PlenaryChapter:
    current = plenary(session, event, audience="moderator")

    def line(item: PlenaryItem, mode: str = "") -> PlenaryLine:
        return PlenaryLine(item.table, item.title, item.rank, item.tally, mode)

    return PlenaryChapter(
        priorities=tuple(
            (t.title, tuple(line(i, t.table.voting_mode) for i in t.priorities), t.tied_after)
            for t in current.tables
        ),
        themes=tuple((t.title, tuple(line(i) for i in t.items)) for t in current.confirmed),
        needs=tuple(line(i) for i in current.needs),
        resources=tuple(line(i) for i in current.resources),
    )


@dataclass(frozen=True)
class EventReport:
    event: EventInfo
    tables: tuple[TableReport, ...]
    categories: tuple[str, ...]
    people: tuple[Cell, ...]  # by category, over the tables that print categories
    min_group: int
    named: tuple[Named, ...] = ()  # the tables' registers, one after the other
    # Each organisation's groups in the tables' registers, added up: nothing a reader could
    # not add up from the tables' own minutes (rule 7 of docs/privacy.md).
    organisations: tuple[Organisation, ...] = ()
    plenary: PlenaryChapter | None = None  # the first chapter

    @property
    def registered(self) -> int:
        """People at the tables whose minutes give a register."""
        return sum(t.people_total for t in self.tables if not t.register_withheld)

    @property
    def draft(self) -> bool:
        """Some table still runs: the event's minutes are a "bozza" too."""
        return any(t.draft for t in self.tables)

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
    if not table.breakdown:
        return WITHHELD if table.people_total else 0
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


def _event_info(event: Event, base: str = "") -> EventInfo:
    notice = event.privacy if notice_filled(event) else {}
    return EventInfo(
        id=event.id or 0,
        title=event.title,
        date=event.date,
        place=event.place,
        organiser=event.organiser,
        controller=notice.get("controller", ""),
        dpo=notice.get("dpo", ""),
        dpo_contact=notice.get("dpo_contact", ""),
        erase_after=erase_after(event),
        followup=f"{base}/esiti/{event.id}" if base else "",
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class EventFigures:
    """The event's participation table as privacy.event_marks decides it, over the tables
    that count in it (closed, never reopened, N people or more) once every table of the
    event is closed: each table's own minutes print exactly its row (rule 4 of privacy.py),
    so that no download, nor two, tells more than the rule allows."""

    reasons: dict[int, str]  # table id -> why it prints no category ("" when it does)
    marks: dict[int, dict[str, Cell]]  # table id -> its hidden categories, when it prints
    categories: tuple[str, ...]  # the event's categories
    totals: tuple[Cell, ...]  # aligned with categories


def event_figures(session: Session, event: Event, *, min_group: int) -> EventFigures:
    tables = list(session.exec(select(Table).where(Table.event_id == event.id)))
    ids = [t.id or 0 for t in tables]
    counts: dict[int, Counter[str]] = {i: Counter() for i in ids}
    steps: dict[int, list[tuple[dt.datetime, str]]] = {i: [] for i in ids}
    if ids:
        for table_id, category, n in session.exec(
            select(Participant.table_id, Participant.category, func.count())
            .where(col(Participant.table_id).in_(ids), col(Participant.removed).is_(False))
            .group_by(col(Participant.table_id), col(Participant.category))
        ):
            counts[table_id][category] = int(n)
        for table_id, phase, at in session.exec(
            select(PhaseChange.table_id, PhaseChange.phase, PhaseChange.at)
            .where(col(PhaseChange.table_id).in_(ids))
            .order_by(col(PhaseChange.at), col(PhaseChange.id))
        ):
            steps[table_id].append((_aware(at), phase))
    final = all(t.phase == Phase.CLOSED for t in tables)
    changed = final and _final_episodes(tables, steps) > 1
    reasons: dict[int, str] = {}
    for t in tables:
        i = t.id or 0
        if t.phase != Phase.CLOSED:
            reasons[i] = "draft"
        elif sum(1 for _at, phase in steps[i] if phase == Phase.CLOSED) > 1:
            reasons[i] = "reopened"  # two final versions could be told apart
        elif changed:
            reasons[i] = "changed"
        elif not final:
            reasons[i] = "event"
        elif sum(counts[i].values()) < min_group:
            reasons[i] = "few"
        else:
            reasons[i] = ""
    counted = [i for i in ids if not reasons[i]]
    seen = {c for i in counted for c, n in counts[i].items() if n}
    categories = _categories(event, seen, every_listed=True)
    result = event_marks([counts[i] for i in counted], categories, min_group)
    marks: dict[int, dict[str, Cell]] = {}
    for i, row in zip(counted, result.rows, strict=True):
        present = [c for c, n in counts[i].items() if n]
        if row is None or all(c in row for c in present):
            # No category printed exactly: "few" when the table alone would print none.
            alone = event_marks([counts[i]], categories, min_group).rows[0]
            few = alone is None or all(c in alone for c in present)
            reasons[i] = "few" if few else "others"
        else:
            marks[i] = row
    # No table counts (the event runs, or every table is too small): no total at all, not 0.
    totals = tuple(
        sum(counts[i][c] for i in counted) if shown and counted else WITHHELD
        for c, shown in zip(categories, result.totals, strict=True)
    )
    return EventFigures(reasons, marks, categories, totals)


def _final_episodes(tables: list[Table], steps: dict[int, list[tuple[dt.datetime, str]]]) -> int:
    """How many times every table of the event was closed at once, from the tables' times
    of creation and phase changes: more than one means the event's tables changed (one
    reopened, or one added) after an earlier set of final minutes."""
    points: dict[dt.datetime, list[tuple[int, str]]] = defaultdict(list)
    for t in tables:
        points[_aware(t.created_at)].append((t.id or 0, Phase.PREPARATION))
        for at, phase in steps[t.id or 0]:
            points[at].append((t.id or 0, phase))
    state: dict[int, str] = {}
    episodes, was_final = 0, False
    for at in sorted(points):
        for table_id, phase in points[at]:
            state[table_id] = phase
        now = all(phase == Phase.CLOSED for phase in state.values())
        episodes += now and not was_final
        was_final = now
    return episodes


def build_table_report(
    session: Session,
    table: Table,
    *,
    min_group: int = 3,
    figures: EventFigures | None = None,
    base: str = "",
) -> TableReport:
    current = table_state(session, table)
    table, event = current.table, current.event
    people = list(session.exec(select(Participant).where(Participant.table_id == table.id)))
    # Removed people are in no figure: not counted, and their votes are gone.
    active = [p for p in people if not p.removed]
    present: dict[str, int] = defaultdict(int)
    for person in active:
        present[person.category] += 1
    steps = tuple(
        Step(phase=c.phase, at=_aware(c.at))
        for c in session.exec(
            select(PhaseChange)
            .where(PhaseChange.table_id == table.id)
            .order_by(col(PhaseChange.at), col(PhaseChange.id))
        )
    )
    every = _categories(event, set(present), every_listed=False)
    if figures is None:
        figures = event_figures(session, event, min_group=min_group)
    withheld = figures.reasons.get(table.id or 0, "draft")
    hidden: dict[str, Cell] = figures.marks.get(table.id or 0, {})
    categories = every if not withheld else ()
    paper_people = [p for p in active if p.proxy]
    paper = group_cell(len(paper_people), min_group)
    proxy_exact = not withheld and _proxy_shown(active, hidden, min_group)
    standings = current.standings
    votes_by = _votes_by_category(session, [p.id for _rank, p in standings])
    computed = consensus.compute(
        consensus_voters(session, table, event),
        [consensus.Entry(view.id, view.number, view.tally) for _rank, view in standings],
        min_group=min_group,
        weighting=table.weighting,
        order=event.categories,
    )
    # The consensus's figures are by category: printed where the breakdown is, never in a
    # draft; a group with a category the breakdown withholds ("*") is withheld too (the
    # pool of the categories under N ("< N") is printed: it mixes N voters or more).
    shown_consensus = not withheld
    counted_groups = tuple(
        ConsensusGroup(
            g.kind,
            g.category,
            g.name,
            WITHHELD if any(hidden.get(c, 0) is WITHHELD for c in g.members) else g.voters,
        )
        for g in computed.groups
    )
    ids = [p.id for _rank, p in standings]
    dissent = dissent_by_proposal(session, ids)
    dissent_by = dissent_by_category(session, ids) if categories else {}
    few = len(active) < min_group
    register_withheld = withheld if withheld in ("draft", "reopened") else "few" if few else ""
    links = current.links
    lines = tuple(
        replace(
            _with_consensus(
                _line(
                    view,
                    rank,
                    categories,
                    votes_by.get(view.id, {}),
                    hidden,
                    paper=paper,
                    proxy_exact=proxy_exact,
                    # Named with a question only where the minutes name anyone (as the register).
                    named=not register_withheld,
                    answers=links.needs_of(view.id),
                    pledges=tuple(
                        PledgeLine(p.resource_id, p.proposal_id, p.organisation, p.offer)
                        for p in links.pledges_of(view.id)
                    ),
                ),
                computed.line(view.id),
                counted_groups if shown_consensus else None,
            ),
            dissent=dissent[view.id].count if view.id in dissent else 0,
            dissent_reasons=dissent[view.id].accepted if view.id in dissent else (),
            # A small category's dissenters are hidden like its votes and its head count.
            dissent_by_category=tuple(
                hidden.get(c, dissent_by.get(view.id, {}).get(c, 0)) for c in categories
            ),
        )
        for rank, view in standings
    )
    rankings = dict(computed.rankings)
    if not shown_consensus:
        rankings[Ranking.BRIDGING] = None
    adopted = table.ranking if rankings.get(table.ranking) is not None else Ranking.TALLY
    ranking_steps = tuple(
        RankingStep(c.ranking, _aware(c.at))
        for c in session.exec(
            select(RankingChange)
            .where(RankingChange.table_id == table.id)
            .order_by(col(RankingChange.at), col(RankingChange.id))
        )
    )
    statuses: dict[str, int] = defaultdict(int)
    for view in current.proposals:
        statuses[view.status] += 1
    starts = [s.at for s in steps if s.phase != Phase.PREPARATION]
    ends = [s.at for s in steps if s.phase == Phase.CLOSED]
    # Paper participants consent like anyone else (the moderator asks them).
    consenting = [
        p for p in sorted(active, key=lambda p: p.name.casefold()) if p.named_in_minutes and p.name
    ]
    # A table of fewer than N people: its totals are those few people's votes, so nobody
    # is named next to them. A draft, or a table reopened after closing, names nobody
    # either: two downloads could tell who joined next to a change in the totals.
    shown = {c for c in categories if isinstance(hidden.get(c, present[c]), int)}
    groups: dict[str, int] = {}
    other_organisations = len(active)
    if not register_withheld:
        named_ids = {p.id for p in consenting}
        groups, other_organisations = organisation_groups(
            [(canonical(event, p.organisation)[0], p.id in named_ids) for p in active],
            min_group,
        )
    return TableReport(
        event=_event_info(event, base),
        code=table.code,
        title=table.title,
        question=table.question,
        facilitator=table.facilitator_name,
        voting_mode=table.voting_mode,
        dots=table.dots,
        max_per_proposal=table.max_per_proposal,
        phase=table.phase,
        withheld=withheld,
        start=starts[0] if starts else None,
        end=ends[-1] if ends and table.phase == Phase.CLOSED else None,
        timeline=steps,
        categories=categories,
        people=tuple(hidden.get(c, present[c]) for c in categories),
        people_total=len(active),
        paper=paper,
        removed=len(people) - len(active),
        named=()
        if register_withheld
        else tuple(
            Named(
                p.name,
                canonical(event, p.organisation)[1] or p.organisation,
                p.category if p.category in shown else None,
            )
            for p in consenting
        ),
        named_withheld=few and bool(consenting),
        register_withheld=register_withheld,
        organisations=_organisations(groups, active, event),
        other_organisations=other_organisations,
        lines=lines,
        off_wall=tuple((s, statuses[s]) for s in OFF_WALL if statuses[s]),
        merged=statuses["merged"],
        synthesis=table.synthesis,
        min_group=min_group,
        weighting=table.weighting,
        ranking=adopted,
        consensus=shown_consensus,
        consensus_groups=counted_groups if shown_consensus else (),
        left_out=computed.left_out if shown_consensus else 0,
        bridging_reason=computed.reason if shown_consensus else "",
        rankings=rankings,
        ranking_steps=ranking_steps,
        format=table.format,
        questions=format_of(table).answers,
    )


def _with_consensus(
    line: Line, computed: consensus.Line | None, groups: tuple[ConsensusGroup, ...] | None
) -> Line:
    """The line with its weighted tally and, where printed, its support by group."""
    if computed is None:
        return replace(line, weighted=float(line.votes))
    weighted = float(computed.weighted)
    if groups is None:
        return replace(line, weighted=weighted)
    support = tuple(
        GroupSupport(WITHHELD, None)
        if not isinstance(group.voters, int)
        else GroupSupport(s.supporters, s.share)
        for group, s in zip(groups, computed.support, strict=True)
    )
    return replace(
        line,
        weighted=weighted,
        support=support,
        bridging=computed.bridging,
        disagreement=computed.disagreement,
    )


def _organisations(
    groups: dict[str, int], people: list[Participant], event: Event
) -> tuple[Organisation, ...]:
    """The groups by the name the moderator unified them onto, else their most typed
    spelling; largest first, then by name."""
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    given: dict[str, str] = {}
    for person in people:
        key, name = canonical(event, person.organisation)
        if key in groups:
            spellings[key][" ".join(person.organisation.split())] += 1
            if name:
                given[key] = name
    named = [
        Organisation(given.get(key) or spellings[key].most_common(1)[0][0], count)
        for key, count in groups.items()
    ]
    return tuple(sorted(named, key=lambda o: (-o.people, o.name.casefold())))


def _proxy_shown(active: list[Participant], hidden: dict[str, Cell], min_group: int) -> bool:
    """Rule 3 of privacy.py for the proxy votes: the paper participants against every
    printed category and against the hidden ones together."""
    parts: dict[str, list[int]] = {}
    for person in active:
        group = "\x00hidden" if person.category in hidden else person.category
        part = parts.setdefault(group, [0, 0])
        part[0 if person.proxy else 1] += 1
    return crossing_shown([(a, b) for a, b in parts.values()], min_group)


def _line(
    view: ProposalView,
    rank: int,
    categories: tuple[str, ...],
    votes: dict[tuple[str, bool], int],
    hidden: dict[str, Cell],
    *,
    paper: Cell,
    proxy_exact: bool,
    answers: tuple[int, ...] = (),
    pledges: tuple[PledgeLine, ...] = (),
    named: bool = False,
) -> Line:
    by_category: list[Cell] = []
    for category in categories:
        dots = sum(v for (c, _proxy), v in votes.items() if c == category)
        # A small category's votes could single someone out: hide them like its head count.
        by_category.append(hidden.get(category, dots))
    proxy_votes: Cell = sum(v for (_c, proxy), v in votes.items() if proxy)
    if paper != 0 and not proxy_exact:
        proxy_votes = paper if paper is None else WITHHELD
    return Line(
        id=view.id,
        rank=rank,
        number=view.number,
        kind=view.kind,
        title=view.title,
        body=view.body,
        tags=view.tags,
        votes=view.tally,
        voters=view.voters,
        by_category=tuple(by_category),
        # Which posts one or two paper participants made is theirs, like their votes.
        proxy=bool(view.proxy_name) if isinstance(paper, int) else None,
        proxy_votes=proxy_votes,
        merged_from=tuple(title for _id, title in view.merged_from),
        edited=view.edited,
        answers=answers,
        pledges=pledges,
        answered_at=view.answered_at,
        answer_note=view.answer_note,
        asker=view.author_name if named else "",
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
            .where(col(Vote.proposal_id).in_(chunk), col(Participant.removed).is_(False))
            .group_by(col(Vote.proposal_id), col(Participant.category), col(Participant.proxy))
        )
        for proposal_id, category, proxy, dots in rows:
            result[proposal_id][(category, bool(proxy))] = int(dots)
    return result


def build_event_report(
    session: Session, event: Event, *, min_group: int = 3, base: str = ""
) -> EventReport:
    tables = session.exec(
        select(Table).where(Table.event_id == event.id).order_by(col(Table.id))
    ).all()
    figures = event_figures(session, event, min_group=min_group)
    reports = tuple(
        build_table_report(session, t, min_group=min_group, figures=figures, base=base)
        for t in tables
    )
    # The category totals add up the tables that count in the event, withheld where a
    # small group could be worked out from them (rule 4 of privacy.py).
    categories, people = figures.categories, figures.totals
    # The register adds up the tables' printed groups only (rule 7 of docs/privacy.md).
    sums: dict[str, int] = {}
    spelling: dict[str, str] = {}
    for r in reports:
        for group in r.organisations:
            key = organisation_key(group.name)
            sums[key] = sums.get(key, 0) + group.people
            spelling.setdefault(key, group.name)
    organisations = sorted(
        (Organisation(spelling[key], count) for key, count in sums.items()),
        key=lambda o: (-o.people, o.name.casefold()),
    )
    named = sorted(
        (replace(p, table=r.title) for r in reports for p in r.named),
        key=lambda p: (p.name.casefold(), p.table.casefold()),
    )
    return EventReport(
        event=_event_info(event, base),
        tables=reports,
        categories=categories,
        people=tuple(people),
        min_group=min_group,
        named=tuple(named),
        organisations=tuple(organisations),
        plenary=plenary_chapter(session, event),
    )


def proposal_count(session: Session, table_id: int) -> int:
    """How many posts a table's wall shows (the figure the wall and the minutes give)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Proposal)
            .where(Proposal.table_id == table_id, Proposal.status == Status.VISIBLE)
        ).one()
    )
