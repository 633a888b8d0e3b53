"""Database tables. Constraints make impossible states (double votes, bad modes) unstorable."""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.enums import (
    Kind,
    Outcome,
    Phase,
    Ranking,
    ReasonStatus,
    ScreenMode,
    Status,
    TableFormat,
    ThemeDecision,
    VotingMode,
    Weighting,
    one_of,
)

KINDS: tuple[Kind, ...] = tuple(Kind)
VOTING_MODES: tuple[VotingMode, ...] = tuple(VotingMode)
PHASES: tuple[Phase, ...] = tuple(Phase)
SCREEN_MODES: tuple[ScreenMode, ...] = tuple(ScreenMode)
STATUSES: tuple[Status, ...] = tuple(Status)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Event(SQLModel, table=True):
    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    date: dt.date
    place: str = Field(default="", max_length=200)
    organiser: str = Field(default="", max_length=200)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    moderator_token_hash: str = Field(max_length=64, unique=True)
    # Read-only link for the Ufficio di Piano: downloads the reports, changes nothing.
    coordinator_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    # The privacy notice (art. 13 GDPR) as the organiser filled it in, by field (see
    # services/privacy.NOTICE_FIELDS); {} until then, and the default notice is shown.
    privacy: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Days after the event's date when its participants' personal data is erased.
    retention_days: int = Field(default=90)
    # Organisation names typed in different ways, unified for the attendance register by
    # the moderator: the automatic match's key of a variant -> the name to print
    # (services/organisations.py).
    organisation_names: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    # The event's own words for duplicate suggestions, added to the shipped glossary
    # (services/glossary.py): one concept a line, "CdS = casa della salute".
    glossary: str = Field(default="", max_length=5000)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Table(SQLModel, table=True):
    """One tavolo di confronto: a live room with its own join code and sequence number."""

    __tablename__ = "tables"
    __table_args__ = (
        CheckConstraint(one_of("voting_mode", VotingMode), name="voting_mode_known"),
        CheckConstraint("dots >= 1 AND max_per_proposal >= 1", name="dots_positive"),
        CheckConstraint("max_per_proposal <= dots", name="cap_within_budget"),
        CheckConstraint(one_of("phase", Phase), name="phase_known"),
        CheckConstraint(one_of("screen_mode", ScreenMode), name="screen_mode_known"),
        CheckConstraint(one_of("weighting", Weighting), name="weighting_known"),
        CheckConstraint(one_of("ranking", Ranking), name="ranking_known"),
        CheckConstraint(one_of("format", TableFormat), name="format_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    code: str = Field(max_length=6, unique=True)
    title: str = Field(max_length=200)
    question: str = Field(default="", max_length=500)
    voting_mode: str = Field(default=VotingMode.APPROVAL, max_length=16)
    dots: int = Field(default=1)
    max_per_proposal: int = Field(default=1)
    # The fair counting rule (until voting opens) and the ranking the results view shows
    # and the minutes adopt (while voting and after the close): services/consensus.py.
    weighting: str = Field(default=Weighting.PERSON, max_length=16)
    ranking: str = Field(default=Ranking.TALLY, max_length=16)
    # Bumped by every committed change of the table; every push carries it.
    seq: int = Field(default=0)
    # The seq of the last change that alters more than cards and tallies (phase, screen,
    # moderation): such a push re-renders whole regions instead of patching them.
    layout_seq: int = Field(default=0)
    phase: str = Field(default=Phase.PREPARATION, max_length=16)
    post_in_discussion: bool = Field(default=False)
    premoderation: bool = Field(default=False)
    results_hidden: bool = Field(default=False)
    screen_mode: str = Field(default=ScreenMode.JOIN, max_length=16)
    group_by_tag: bool = Field(default=False)
    # The wall grouped by need: each need with the proposals that answer it (services/links).
    group_by_need: bool = Field(default=False)
    # The moderator closes joining once the room is in; posts per participant are capped.
    joining_open: bool = Field(default=True)
    max_posts: int = Field(default=30)
    spotlight_id: int | None = Field(default=None)
    # The projector's wall pages by itself when its posts do not fit: seconds a page stays
    # (0: paused), and the moderator's page turns by hand (a running sum: each screen moves
    # by the difference from the last it saw, since only the screen knows its page count).
    wall_page_seconds: int = Field(default=12)
    wall_turns: int = Field(default=0)
    timer_ends_at: dt.datetime | None = Field(default=None)
    timer_seconds: int = Field(default=0)
    timer_advances: bool = Field(default=False)
    facilitator_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    # For the minutes: who led the table, and the facilitator's written synthesis (Markdown).
    facilitator_name: str = Field(default="", max_length=100)
    synthesis: str = Field(default="", max_length=20000)
    created_at: dt.datetime = Field(default_factory=utcnow)
    # How the table runs (services/formats.py): set at creation, changeable until it opens.
    format: str = Field(default=TableFormat.TAVOLO, max_length=16)


class PhaseChange(SQLModel, table=True):
    """The timeline of a table's phases, for the minutes."""

    __tablename__ = "phase_changes"

    id: int | None = Field(default=None, primary_key=True)
    table_id: int = Field(foreign_key="tables.id", index=True)
    phase: str = Field(max_length=16)
    at: dt.datetime = Field(default_factory=utcnow)


class RankingChange(SQLModel, table=True):
    """The timeline of the ranking a table chose to show and adopt, for the minutes."""

    __tablename__ = "ranking_changes"

    id: int | None = Field(default=None, primary_key=True)
    table_id: int = Field(foreign_key="tables.id", index=True)
    ranking: str = Field(max_length=16)
    at: dt.datetime = Field(default_factory=utcnow)


class Participant(SQLModel, table=True):
    __tablename__ = "participants"

    id: int | None = Field(default=None, primary_key=True)
    table_id: int = Field(foreign_key="tables.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=100)
    organisation: str = Field(default="", max_length=150)
    category: str = Field(default="", max_length=100)
    # Said yes to having their name and organisation printed in the minutes.
    named_in_minutes: bool = Field(default=False)
    # A paper participant whose posts and votes the moderator types in.
    proxy: bool = Field(default=False)
    # Removed by a moderator for abuse: their posts are hidden, their token refused.
    removed: bool = Field(default=False)
    # Erased (art. 17, or the retention sweep): no name, organisation or token; the row keeps
    # only what the published figures count (category, proxy, removed) and a coarse time.
    erased: bool = Field(default=False)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Proposal(SQLModel, table=True):
    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(one_of("kind", Kind), name="kind_known"),
        CheckConstraint(one_of("status", Status), name="status_known"),
        Index("ix_proposals_table_updated_seq", "table_id", "updated_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    table_id: int = Field(foreign_key="tables.id", index=True)
    participant_id: int = Field(foreign_key="participants.id", index=True)
    kind: str = Field(max_length=16)
    title: str = Field(max_length=140)
    body: str = Field(default="", max_length=1000)
    status: str = Field(default=Status.VISIBLE, max_length=16)
    # Why a moderator sent it back or rejected it; shown to its author.
    moderator_note: str = Field(default="", max_length=300)
    # The author's wording, kept when a moderator edits the text.
    original_title: str | None = Field(default=None, max_length=140)
    original_body: str | None = Field(default=None, max_length=1000)
    merged_into_id: int | None = Field(default=None, foreign_key="proposals.id", index=True)
    # The table's seq when the proposal was posted, and when it (or its tally) last changed:
    # a push is exactly the proposals whose updated_seq is past the last push.
    created_seq: int
    updated_seq: int
    created_at: dt.datetime = Field(default_factory=utcnow)
    # A question of a Q&A table the moderator marked answered (services/questions.py), with
    # their short note for the minutes; its support is frozen from then on.
    answered_at: dt.datetime | None = Field(default=None)
    answer_note: str = Field(default="", max_length=300)


class Vote(SQLModel, table=True):
    """A participant's dots on one proposal: one row per pair, so double votes cannot exist."""

    __tablename__ = "votes"
    __table_args__ = (CheckConstraint("dots >= 1", name="dots_at_least_one"),)

    participant_id: int = Field(foreign_key="participants.id", primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", primary_key=True, index=True)
    dots: int
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Tag(SQLModel, table=True):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("table_id", "name", name="tag_name_unique"),)

    id: int | None = Field(default=None, primary_key=True)
    table_id: int = Field(foreign_key="tables.id", index=True)
    name: str = Field(max_length=40)


class ProposalTag(SQLModel, table=True):
    __tablename__ = "proposal_tags"

    proposal_id: int = Field(foreign_key="proposals.id", primary_key=True)
    tag_id: int = Field(foreign_key="tags.id", primary_key=True, index=True)


class Merge(SQLModel, table=True):
    """A merge of duplicates, with what it changed, so that it can be undone exactly."""

    __tablename__ = "merges"

    id: int | None = Field(default=None, primary_key=True)
    table_id: int = Field(foreign_key="tables.id", index=True)
    survivor_id: int = Field(foreign_key="proposals.id")
    merged_ids: list[int] = Field(sa_column=Column(JSON, nullable=False))
    # [[participant_id, proposal_id, dots], ...] on every proposal of the merge, before it.
    votes_before: list[list[int]] = Field(sa_column=Column(JSON, nullable=False))
    statuses_before: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    # [[participant_id, proposal_id, reason, reason_status], ...]: the dissent on every
    # proposal of the merge, before it (services/dissent.py folds and restores it).
    dissent_before: list[list[int | str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # The answers and pledges of every proposal of the merge, before it and as it left them
    # ({"before": {"answers": [[proposal, need]...], "pledges": [[resource, proposal,
    # organisation, offer]...]}, "after": {...}}): undo reverts exactly what it moved.
    links: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)
    undone_at: dt.datetime | None = Field(default=None)


class OutcomeChange(SQLModel, table=True):
    """What became of a priority after the event: one row per recording, never changed, so
    the history is the rows in order and the current outcome the last one. Public by design
    (the follow-up page): it names no person, and the retention sweep leaves it alone."""

    __tablename__ = "outcome_changes"
    __table_args__ = (CheckConstraint(one_of("status", Outcome), name="outcome_known"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", index=True)
    status: str = Field(max_length=16)
    note: str = Field(default="", max_length=500)
    date: dt.date  # when it happened, as the office says (not when it was typed in)
    recorded_at: dt.datetime = Field(default_factory=utcnow)


class PlenaryTheme(SQLModel, table=True):
    """A theme that came up at several tables, as the event's moderator decided it in the
    plenary: the posts it groups (ids, at two tables or more) and confirmed or dismissed.
    It reads the tables and never writes them: their tallies stay theirs."""

    __tablename__ = "plenary_themes"
    __table_args__ = (
        CheckConstraint(one_of("decision", ThemeDecision), name="theme_decision_known"),
        UniqueConstraint("event_id", "key", name="theme_key_unique"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    # The grouped posts' ids, sorted and joined by commas: the same suggestion again finds
    # its decision.
    key: str = Field(max_length=2000)
    title: str = Field(max_length=140)
    decision: str = Field(max_length=16)
    decided_at: dt.datetime = Field(default_factory=utcnow)


class Dissent(SQLModel, table=True):
    """ "Non sono d'accordo": one participant's recorded disagreement with one proposal, with
    an optional reason. It never counts as a vote: no tally or budget reads this table."""

    __tablename__ = "dissents"
    __table_args__ = (
        UniqueConstraint("participant_id", "proposal_id", name="one_dissent_each"),
        CheckConstraint(one_of("reason_status", ReasonStatus), name="reason_status_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participants.id", index=True)
    proposal_id: int = Field(foreign_key="proposals.id", index=True)
    reason: str = Field(default="", max_length=280)
    reason_status: str = Field(default=ReasonStatus.ACCEPTED, max_length=16)


class DismissedPair(SQLModel, table=True):
    """Two posts a moderator said are not duplicates: never suggested again (lower id first)."""

    __tablename__ = "dismissed_pairs"
    __table_args__ = (CheckConstraint("low_id < high_id", name="dismissed_pair_ordered"),)

    table_id: int = Field(foreign_key="tables.id", primary_key=True)
    low_id: int = Field(foreign_key="proposals.id", primary_key=True)
    high_id: int = Field(foreign_key="proposals.id", primary_key=True)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Answer(SQLModel, table=True):
    """A proposal (an action) that answers a need of its table: both are posts, of the kinds
    proposal and need (services/links.py checks it; a post whose kind changes later keeps its
    rows, which the reads leave out)."""

    __tablename__ = "answers"

    proposal_id: int = Field(foreign_key="proposals.id", primary_key=True)
    need_id: int = Field(foreign_key="proposals.id", primary_key=True, index=True)


class Pledge(SQLModel, table=True):
    """A resource pledged to a proposal: an organisation's public offer, in one line
    ("due educatori, 10 ore a settimana"), printed on the wall and in the minutes."""

    __tablename__ = "pledges"

    resource_id: int = Field(foreign_key="proposals.id", primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", primary_key=True, index=True)
    organisation: str = Field(default="", max_length=150)
    offer: str = Field(max_length=150)
    created_at: dt.datetime = Field(default_factory=utcnow)
