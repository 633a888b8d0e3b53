"""Read models of a table: the full state (first render, reconnect) and the delta since a seq."""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BindParameter, bindparam
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app.enums import Kind, Phase, Ranking, ScreenMode, Status
from app.models import KINDS, Event, Merge, Participant, Proposal, ProposalTag, Table, Tag, Vote
from app.services.consensus import Consensus, Entry, compute, screen_min_group
from app.services.consensus import Line as ConsensusLine
from app.services.dissent import ProposalDissent, can_dissent, dissent_by_proposal
from app.services.duplicates import dismissed_of
from app.services.errors import NotFound
from app.services.formats import format_of
from app.services.links import LINKING_PHASES, Links, links_of
from app.services.moderation import merges_of, paper_participants, paper_votes, tags_of
from app.services.phases import can_post, can_vote, seconds_left
from app.services.tables import event_of
from app.services.visibility import tallies_shown
from app.services.voting import consensus_voters, tallies


def support_key(question: "ProposalView | OpenQuestion") -> tuple[int, int]:
    """The one order of a wall sorted by support: most supported first, ties by time (the
    earlier first). Where the audience may not see tallies, by time alone (the order would
    tell them): callers then keep posting order."""
    return (-question.tally, question.created_seq)


@dataclass(frozen=True)
class OpenQuestion:
    """An open question as a support push orders it: no text, no tags (`OPEN_QUESTIONS`)."""

    id: int
    created_seq: int
    tally: int


@dataclass(frozen=True)
class ProposalView:
    id: int
    kind: str
    title: str
    body: str
    status: str
    tally: int
    voters: int
    author_id: int
    created_seq: int
    created_at: dt.datetime
    tags: tuple[str, ...] = ()
    tag_ids: tuple[int, ...] = ()
    edited: bool = False
    original_title: str | None = None
    moderator_note: str = ""
    proxy_name: str = ""
    merged_from: tuple[tuple[int, str], ...] = ()  # (id, title) of the duplicates folded in
    merged_into_id: int | None = None
    coauthor_ids: tuple[int, ...] = ()  # authors of the duplicates folded in
    number: int = 0  # "n. 12": its place in the table's posting order, the same on wall and minutes
    # A Q&A question marked answered, with the moderator's note (services/questions.py).
    answered_at: dt.datetime | None = None
    answer_note: str = ""
    # Its author's name, only in a format that signs posts and when they gave one and
    # consented to be named (Participant.named_in_minutes): "" is anonymous.
    author_name: str = ""

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def visible(self) -> bool:
        return self.status == Status.VISIBLE

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "status": self.status,
            "tally": self.tally,
            "voters": self.voters,
            "tags": list(self.tags),
            "edited": self.edited,
            "proxy": bool(self.proxy_name),
            "merged_from": [pid for pid, _title in self.merged_from],
            "created_at": self.created_at.isoformat(),
            "answered": self.answered,
            "answer_note": self.answer_note,
            "asked_by": self.author_name or None,  # a consenting author, in a signed format
        }


@dataclass(frozen=True)
class TableState:
    """Everything shown of a table as of sequence number `seq`."""

    table: Table
    event: Event
    seq: int
    participants: int  # joined from a phone and not removed (paper participants apart)
    proposals: list[ProposalView]  # every status, oldest first
    tags: list[Tag] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    paper: list[Participant] = field(default_factory=list)  # names: moderators' eyes only
    # What was typed in for each paper participant: (proposal id, dots), latest first.
    paper_votes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # Once the table is closed: the consensus across categories and the rankings
    # (services/consensus.py), for the results view; None while it runs (totals only).
    consensus: Consensus | None = None

    @property
    def results_ranking(self) -> str:
        """The ranking the results view shows: the one chosen, once the table is closed and
        if it can be made; by votes otherwise."""
        if self.consensus is None or self.consensus.rankings.get(self.table.ranking) is None:
            return Ranking.TALLY
        return self.table.ranking

    @property
    def results(self) -> list[tuple[int, ProposalView, ConsensusLine | None]]:
        """The proposals of the results view in `results_ranking`'s order, with their place
        (ties by votes share one, as `standings`; the other rankings have no ties) and their
        consensus line."""
        key = self.results_ranking
        if key == Ranking.TALLY or self.consensus is None:
            lines = {line.entry.id: line for line in self.consensus.lines} if self.consensus else {}
            return [(rank, view, lines.get(view.id)) for rank, view in self.standings]
        views = {v.id: v for v in self.visible}
        ids = self.consensus.rankings.get(key) or ()
        return [
            (place, views[pid], self.consensus.line(pid))
            for place, pid in enumerate(ids, 1)
            if pid in views
        ]

    # Each proposal's dissent (count and reasons, no names): the consoles' eyes only; no
    # other audience's template reads it, and it never enters a tally or a ranking.
    dissent: dict[int, ProposalDissent] = field(default_factory=dict)
    # Pairs of posts the moderator said are not duplicates (lower id first).
    dismissed: frozenset[tuple[int, int]] = frozenset()
    # Needs answered by proposals, resources pledged to them (on the wall only).
    links: Links = field(default_factory=Links)

    @cached_property
    def by_id(self) -> dict[int, ProposalView]:
        return {p.id: p for p in self.proposals}

    @property
    def visible(self) -> list[ProposalView]:
        return [p for p in self.proposals if p.visible]

    @property
    def queue(self) -> list[ProposalView]:
        return [p for p in self.proposals if p.status == Status.PENDING]

    @property
    def off_wall(self) -> list[ProposalView]:
        return [
            p
            for p in self.proposals
            if p.status in (Status.HIDDEN, Status.REJECTED, Status.REPHRASE)
        ]

    @property
    def reasons_to_check(self) -> list[tuple[ProposalView, int]]:
        """Proposals on the wall with dissent reasons waiting for a moderator, and how many:
        the console lists them above the wall, where a long wall would hide them."""
        return [
            (p, len(self.dissent[p.id].pending))
            for p in self.visible
            if p.id in self.dissent and self.dissent[p.id].pending
        ]

    @property
    def ranked(self) -> list[ProposalView]:
        return sorted(self.visible, key=lambda p: (-p.tally, p.created_seq))

    @property
    def standings(self) -> list[tuple[int, ProposalView]]:
        """`ranked` with each proposal's rank: ties share one (1, 2, 2, 4), since the order
        within a tie is only the posting order. The screen and the minutes both show it."""
        result: list[tuple[int, ProposalView]] = []
        for position, view in enumerate(self.ranked, start=1):
            tied = result and result[-1][1].tally == view.tally
            result.append((result[-1][0] if tied else position, view))
        return result

    @property
    def total_votes(self) -> int:
        return sum(p.tally for p in self.visible)

    def stats(self, people: int) -> "TableStats":
        return TableStats(
            proposals=len(self.visible),
            votes=self.total_votes,
            people=people,
            joined=self.participants,
            queue=len(self.queue),
        )

    @property
    def max_tally(self) -> int:
        return max((p.tally for p in self.visible), default=0)

    @property
    def spotlight(self) -> ProposalView | None:
        return next((p for p in self.visible if p.id == self.table.spotlight_id), None)

    @property
    def can_post(self) -> bool:
        return can_post(self.table)

    @property
    def can_vote(self) -> bool:
        return can_vote(self.table)

    @property
    def can_dissent(self) -> bool:
        return can_dissent(self.table)

    @property
    def can_link(self) -> bool:
        """A participant may link their own posts (services/links.py)."""
        return self.table.phase in LINKING_PHASES

    @property
    def timer_left(self) -> int | None:
        return seconds_left(self.table)

    def ordered(self, audience: str) -> list[ProposalView]:
        """A format sorted by support: the open questions in `by_support` order."""
        open_ = [p for p in self.visible if not p.answered]
        if tallies_shown(self.table, audience):
            return sorted(open_, key=support_key)
        return open_

    @property
    def answered(self) -> list[ProposalView]:
        """The answered questions, the latest answer first."""
        done = [p for p in self.visible if p.answered_at is not None]
        return sorted(done, key=lambda p: (p.answered_at, p.created_seq), reverse=True)

    def order(self, audience: str) -> list[int]:
        """The ids of `ordered`: what the stream carries for a phone to re-sort."""
        return [p.id for p in self.ordered(audience)]

    def groups(
        self, *, flat: bool = False, audience: str = "participant"
    ) -> list[tuple[str, str, list[ProposalView]]]:
        """The wall in groups: (key, label, proposals) by kind, by tag with the untagged
        last, by need, or one flat group; in a format sorted by support, the open questions
        then the answered. Empty groups are kept: a push may add the first card."""
        if format_of(self.table).by_support:
            return [("open", "", self.ordered(audience)), ("answered", "", self.answered)]
        visible = self.visible
        if self.table.group_by_need:
            return self._by_need(visible)
        if flat and not self.table.group_by_tag:
            return [("all", "", visible)]
        if self.table.group_by_tag:
            groups = [
                (f"tag-{tag.id}", tag.name, [p for p in visible if tag.id in p.tag_ids])
                for tag in self.tags
            ]
            groups.append(("untagged", "", [p for p in visible if not p.tag_ids]))
            return groups
        return [(kind, kind, [p for p in visible if p.kind == kind]) for kind in KINDS]

    def _by_need(self, visible: list[ProposalView]) -> list[tuple[str, str, list[ProposalView]]]:
        """Each need, then the proposals that answer it and the resources pledged to them,
        oldest first; a card answering two needs sits under the first (its need cards name
        every action), and what answers no need comes last. Posting a need redraws the
        wall (services/proposals.py), so a new card here is never a need."""
        placed: set[int] = set()
        groups: list[tuple[str, str, list[ProposalView]]] = []
        for need in (p for p in visible if p.kind == Kind.NEED):
            items = [need]
            for pid in self.links.answered_by(need.id):
                if pid not in placed:
                    items.append(self.by_id[pid])
                    placed.add(pid)
                    for pledge in self.links.pledged_to(pid):
                        if pledge.resource_id not in placed:
                            items.append(self.by_id[pledge.resource_id])
                            placed.add(pledge.resource_id)
            placed.add(need.id)
            groups.append((f"need-{need.id}", need.title, items))
        groups.append(("unlinked", "", [p for p in visible if p.id not in placed]))
        return groups

    def group_key(self, proposal: ProposalView) -> str:
        """Where a new (so untagged, unlinked) card goes."""
        if format_of(self.table).by_support:
            return "open"
        if self.table.group_by_need:
            return "unlinked"
        return "untagged" if self.table.group_by_tag else proposal.kind

    @property
    def insert_at(self) -> str:
        """Where a new card enters its group: first (the newest on top), or last where the
        wall is sorted by support (a new question has none: the end is its place, and the
        cards above it do not move under a reader's thumb)."""
        return "beforeend" if format_of(self.table).by_support else "afterbegin"

    def by_author(self, participant_id: int) -> list[ProposalView]:
        return [
            p
            for p in self.proposals
            if p.author_id == participant_id
            and p.status in (Status.VISIBLE, Status.PENDING, Status.REPHRASE, Status.REJECTED)
        ]


@dataclass(frozen=True)
class TableDelta:
    """What changed in a table after `prev_seq`, up to and including `seq`.

    `layout` is set when something beyond new cards and tallies changed (phase, screen,
    moderation): the push then carries whole regions instead of patches.
    """

    table_id: int
    prev_seq: int
    seq: int
    new: list[ProposalView] = field(default_factory=list)
    # The earlier cards that changed, read for what patches them (`_tally_views`): their
    # tallies, status and answer, not their numbers, tags, merges or authors' names. A push
    # that redraws them reads the whole state.
    changed: list[ProposalView] = field(default_factory=list)
    layout: bool = False

    @property
    def empty(self) -> bool:
        return not self.new and not self.changed and not self.layout


# The statements of a push are built once, here: building one with the ORM cost more CPU
# than running it (a push read ~13 of them; docs/performance.md). Each runs with its
# parameters: `ids` (a list), `table_id`, `seq`.
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_EARLIER = aliased(Proposal)
NUMBERS = select(
    Proposal.id,
    select(func.count())
    .select_from(_EARLIER)
    .where(_EARLIER.table_id == Proposal.table_id, _EARLIER.created_seq <= Proposal.created_seq)
    .scalar_subquery(),
).where(col(Proposal.id).in_(_IDS))
TAGS_OF = (
    select(ProposalTag.proposal_id, Tag.id, Tag.name)
    .join(Tag, col(Tag.id) == ProposalTag.tag_id)
    .where(col(ProposalTag.proposal_id).in_(_IDS))
    .order_by(col(Tag.name))
)
MERGED_INTO = select(
    Proposal.id, Proposal.title, Proposal.merged_into_id, Proposal.participant_id
).where(col(Proposal.merged_into_id).in_(_IDS), Proposal.status == Status.MERGED)
PROXY_NAMES = select(Participant.id, Participant.name).where(
    col(Participant.id).in_(_IDS), col(Participant.proxy).is_(True)
)
SIGNED_NAMES = select(Participant.id, Participant.name).where(
    col(Participant.id).in_(_IDS),
    col(Participant.named_in_minutes).is_(True),
    col(Participant.removed).is_(False),
    col(Participant.erased).is_(False),
    Participant.name != "",
)
CHANGED_SINCE = (
    select(Proposal)
    .where(
        Proposal.table_id == bindparam("table_id"),
        col(Proposal.updated_seq) > bindparam("seq"),
    )
    .order_by(col(Proposal.created_seq))
)

# A wall sorted by support, for a push of supports (`push_state`): each open question's id,
# time and tally in one read, instead of every card with its tags, merges and authors.
OPEN_QUESTIONS = (
    select(Proposal.id, Proposal.created_seq, func.coalesce(func.sum(Vote.dots), 0))
    .select_from(Proposal)
    .outerjoin(Vote, col(Vote.proposal_id) == Proposal.id)
    .where(
        Proposal.table_id == bindparam("table_id"),
        Proposal.status == Status.VISIBLE,
        col(Proposal.answered_at).is_(None),
        col(Proposal.created_seq) <= bindparam("seq"),
    )
    .group_by(col(Proposal.id), col(Proposal.created_seq))
    .order_by(col(Proposal.created_seq))
)
JOINED = (
    select(func.count())
    .select_from(Participant)
    .where(
        Participant.table_id == bindparam("table_id"),
        col(Participant.proxy).is_(False),
        col(Participant.removed).is_(False),
    )
)


def _posts_with(status: Status) -> Any:
    """The count of a table's posts in `status` as of a seq, as a column of `PATCH_COUNTS`."""
    return (
        select(func.count())
        .select_from(Proposal)
        .where(
            Proposal.table_id == bindparam("table_id"),
            Proposal.status == status,
            col(Proposal.created_seq) <= bindparam("seq"),
        )
        .scalar_subquery()
    )


# A push of tallies reads its counters in one statement (`push_state`): the wall's cards,
# the queue, the votes on the wall and the people who joined, as of the push's seq.
PATCH_COUNTS = sa.select(
    _posts_with(Status.VISIBLE),
    _posts_with(Status.PENDING),
    select(func.coalesce(func.sum(Vote.dots), 0))
    .join(Proposal, col(Proposal.id) == Vote.proposal_id)
    .where(
        Proposal.table_id == bindparam("table_id"),
        Proposal.status == Status.VISIBLE,
        col(Proposal.created_seq) <= bindparam("seq"),
    )
    .scalar_subquery(),
    JOINED.scalar_subquery(),
)


def _numbers(session: Session, ids: list[int]) -> dict[int, int]:
    """Each post's number at its table: how many posts the table had when it was posted."""
    rows = session.exec(NUMBERS, params={"ids": ids})
    return {pid or 0: int(n) for pid, n in rows}


def _view(p: Proposal, counts: dict[int, tuple[int, int]], **more: Any) -> ProposalView:
    """A card's view from its row and tallies; `more`: what only a whole state reads."""
    tally, voters = counts.get(p.id or 0, (0, 0))
    return ProposalView(
        id=p.id or 0,
        kind=p.kind,
        title=p.title,
        body=p.body,
        status=p.status,
        tally=tally,
        voters=voters,
        author_id=p.participant_id,
        created_seq=p.created_seq,
        created_at=p.created_at,
        edited=p.original_title is not None,
        original_title=p.original_title,
        moderator_note=p.moderator_note,
        merged_into_id=p.merged_into_id,
        answered_at=p.answered_at,
        answer_note=p.answer_note,
        **more,
    )


def _tally_views(session: Session, proposals: list[Proposal]) -> list[ProposalView]:
    """Re-tallied cards as a push patches them (`TableDelta.changed`): one read for their
    tallies, none for what only a redraw shows. A vote's push read five statements more."""
    counts = tallies(session, [p.id or 0 for p in proposals])
    return [_view(p, counts) for p in proposals]


def _views(
    session: Session,
    proposals: list[Proposal],
    numbers: dict[int, int] | None = None,
    *,
    signed: bool = False,
) -> list[ProposalView]:
    """`signed`: the table's format names the authors who consented (`author_name`)."""
    ids = [p.id for p in proposals if p.id is not None]
    if numbers is None:
        numbers = _numbers(session, ids) if ids else {}
    counts = tallies(session, ids)
    tags: dict[int, list[tuple[int, str]]] = defaultdict(list)
    merged: dict[int, list[tuple[int, str]]] = defaultdict(list)
    coauthors: dict[int, list[int]] = defaultdict(list)
    proxies: dict[int, str] = {}
    names: dict[int, str] = {}
    if ids:
        for proposal_id, tag_id, name in session.exec(TAGS_OF, params={"ids": ids}):
            tags[proposal_id].append((tag_id or 0, name))
        for child_id, title, parent, author in session.exec(MERGED_INTO, params={"ids": ids}):
            merged[parent or 0].append((child_id or 0, title))
            coauthors[parent or 0].append(author)
        authors = sorted({p.participant_id for p in proposals})
        for pid, name in session.exec(PROXY_NAMES, params={"ids": authors}):
            proxies[pid or 0] = name
        if signed:
            for pid, name in session.exec(SIGNED_NAMES, params={"ids": authors}):
                names[pid or 0] = name
    return [
        _view(
            p,
            counts,
            tags=tuple(name for _id, name in tags[p.id or 0]),
            tag_ids=tuple(tag_id for tag_id, _name in tags[p.id or 0]),
            proxy_name=proxies.get(p.participant_id, ""),
            merged_from=tuple(merged[p.id or 0]),
            coauthor_ids=tuple(coauthors[p.id or 0]),
            number=numbers.get(p.id or 0, 0),
            author_name=names.get(p.participant_id, ""),
        )
        for p in proposals
    ]


def proposal_view(session: Session, proposal_id: int) -> ProposalView:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("No proposal with this id on your table")
    table = session.get(Table, proposal.table_id)
    return _views(session, [proposal], signed=table is not None and format_of(table).signed)[0]


def table_state(session: Session, table: Table) -> TableState:
    # Read the seq first: a proposal posted after it belongs to a later push, not to this state.
    table = session.get(Table, table.id, populate_existing=True) or table
    seq = table.seq
    proposals = session.exec(
        select(Proposal)
        .where(Proposal.table_id == table.id, col(Proposal.created_seq) <= seq)
        .order_by(col(Proposal.created_seq))
    ).all()
    return TableState(
        table=table,
        event=event_of(session, table),
        seq=seq,
        participants=_joined(session, table.id or 0),
        # Every earlier post is here, in posting order: the numbers need no query.
        proposals=_views(
            session,
            list(proposals),
            {p.id or 0: n for n, p in enumerate(proposals, 1)},
            signed=format_of(table).signed,
        ),
        tags=tags_of(session, table),
        merges=merges_of(session, table),
        paper=paper_participants(session, table),
        paper_votes=paper_votes(session, table),
        consensus=_consensus(session, table, proposals),
        dissent=dissent_by_proposal(session, [p.id or 0 for p in proposals]),
        dismissed=dismissed_of(session, table),
        links=links_of(session, ((p.id or 0, p.kind, p.status) for p in proposals)),
    )


def _consensus(session: Session, table: Table, proposals: Sequence[Proposal]) -> Consensus | None:
    """Computed once the table is closed only: while it runs, the screens show totals."""
    if table.phase != Phase.CLOSED:
        return None
    numbers = {p.id or 0: n for n, p in enumerate(proposals, 1)}
    on_wall = [p.id or 0 for p in proposals if p.status == Status.VISIBLE]
    counted = tallies(session, on_wall)
    event = event_of(session, table)  # one read for the voters and the categories' order
    return compute(
        consensus_voters(session, table, event),
        [Entry(pid, numbers[pid], counted.get(pid, (0, 0))[0]) for pid in on_wall],
        min_group=screen_min_group(),
        weighting=table.weighting,
        order=event.categories,
    )


def table_delta(
    session: Session, table_id: int, prev_seq: int, *, loaded: Table | None = None
) -> TableDelta:
    """Proposals posted or re-tallied after prev_seq.

    Writes to a table commit in seq order (bump_seq holds its lock), so a proposal seen with
    updated_seq M proves every change up to M is visible: the delta's seq is the largest
    seq seen, and the next delta starts exactly there.
    """
    # The table is read before its proposals (`loaded`: just read by the caller, in a
    # fresh session; reading it again cost a push a fifth of its build).
    table = loaded or session.get(Table, table_id, populate_existing=True)
    if table is None:
        raise NotFound("No table has this code")
    changed = session.exec(CHANGED_SINCE, params={"table_id": table_id, "seq": prev_seq}).all()
    seq = max([table.seq, prev_seq, *(p.updated_seq for p in changed)])
    if seq > table.seq:  # changes committed after the table was read: its layout too
        session.refresh(table)
    return TableDelta(
        table_id=table_id,
        prev_seq=prev_seq,
        seq=seq,
        new=_views(
            session,
            [p for p in changed if p.created_seq > prev_seq],
            signed=format_of(table).signed,
        ),
        changed=_tally_views(session, [p for p in changed if p.created_seq <= prev_seq]),
        layout=table.layout_seq > prev_seq,
    )


@dataclass(frozen=True)
class TablePatch:
    """What a push that only patches tallies is rendered from: the table, its counts and the
    proposals that changed, not every card. It has no wall, no queue and no ranking to
    answer with: a render that needs them is given `table_state` (`push_state` decides)."""

    table: Table
    event: Event
    seq: int
    participants: int  # joined from a phone and not removed, as in TableState
    changed: list[ProposalView]  # the proposals whose tallies moved, oldest first
    counts: "TableStats"  # the wall's cards, the votes on it and the queue, as of `seq`
    # A wall sorted by support: its open questions in posting order (else empty).
    open_questions: tuple[OpenQuestion, ...] = ()

    def order(self, audience: str) -> list[int]:
        """As `TableState.order`: the open questions' ids in the order the audience sees."""
        questions = list(self.open_questions)
        if tallies_shown(self.table, audience):
            questions.sort(key=support_key)
        return [q.id for q in questions]

    @property
    def total_votes(self) -> int:
        return self.counts.votes

    def stats(self, people: int) -> "TableStats":
        return TableStats(
            proposals=self.counts.proposals,
            votes=self.counts.votes,
            people=people,
            joined=self.participants,
            queue=self.counts.queue,
        )


# What a push is rendered from: the whole table, or the patch of its tallies.
PushState = TableState | TablePatch


RANKING_SCREENS = frozenset({ScreenMode.SPOTLIGHT, ScreenMode.RESULTS})


def screen_ranks_every_card(table: Table) -> bool:
    """The projector shows a ranking (the spotlight beside the rest, the results): a change
    to any card may move every card, so a push redraws it whole (`push_state` reads the
    whole state for it, `Fragments.push` renders it whole)."""
    return table.screen_mode in RANKING_SCREENS


def push_state(session: Session, table: Table, delta: TableDelta) -> PushState:
    """The state a push is rendered from. A push of new tallies (the bulk of a vote: many a
    second) patches cards and counters, so it reads three counts instead of every proposal
    with its tags, merges and tallies: its cost no longer grows with the table. A wall
    sorted by support (Q&A) adds its order, read in one query: the screens re-sort the
    cards they have. A push that redraws (a layout change, a new card, the projector's
    spotlight or results, which rank every card) gets the whole `table_state`. `table` is
    the one the delta was read with (`table_delta` reads it again when the proposals show
    later changes)."""
    if delta.layout or delta.new or screen_ranks_every_card(table):
        return table_state(session, table)
    seq = table.seq
    params = {"table_id": table.id, "seq": seq}
    # Core statements on the connection: the ORM's execution cost more than these reads.
    connection = session.connection()
    visible, pending, votes, joined = connection.execute(PATCH_COUNTS, params).one()
    # A support may re-sort a wall sorted by support: its order, read in one query.
    questions = (
        tuple(
            OpenQuestion(int(pid or 0), int(created), int(tally))
            for pid, created, tally in connection.execute(OPEN_QUESTIONS, params)
        )
        if format_of(table).by_support
        else ()
    )
    return TablePatch(
        table=table,
        event=event_of(session, table),
        seq=seq,
        participants=int(joined),
        changed=list(delta.changed),
        counts=TableStats(
            proposals=int(visible), votes=int(votes), people=0, joined=0, queue=int(pending)
        ),
        open_questions=questions,
    )


def _joined(session: Session, table_id: int) -> int:
    """Participants who joined from a phone and were not removed (paper ones apart)."""
    return int(session.exec(JOINED, params={"table_id": table_id}).one())


def current_seq(session: Session, table_id: int) -> int:
    return int(session.exec(select(Table.seq).where(Table.id == table_id)).one())


@dataclass(frozen=True)
class TableStats:
    proposals: int
    votes: int
    people: int  # participants connected now
    joined: int  # participants who have joined and were not removed: stuffing shows
    queue: int = 0  # posts waiting for the moderator
