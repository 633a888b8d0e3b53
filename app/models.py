"""Database tables. Constraints make impossible states (double votes, bad modes) unstorable."""

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.enums import Kind, Phase, ScreenMode, Status, TableFormat, VotingMode, one_of

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
    # The moderator closes joining once the room is in; posts per participant are capped.
    joining_open: bool = Field(default=True)
    max_posts: int = Field(default=30)
    spotlight_id: int | None = Field(default=None)
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
    created_at: dt.datetime = Field(default_factory=utcnow)
    undone_at: dt.datetime | None = Field(default=None)
