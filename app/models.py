"""Database tables. Constraints make impossible states (double votes, bad modes) unstorable."""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

KINDS = ("need", "proposal", "resource")
VOTING_MODES = ("approval", "dots")


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
    created_at: dt.datetime = Field(default_factory=utcnow)


class Table(SQLModel, table=True):
    """One tavolo di confronto: a live room with its own join code and sequence number."""

    __tablename__ = "tables"
    __table_args__ = (
        CheckConstraint("voting_mode IN ('approval', 'dots')", name="voting_mode_known"),
        CheckConstraint("dots >= 1 AND max_per_proposal >= 1", name="dots_positive"),
        CheckConstraint("max_per_proposal <= dots", name="cap_within_budget"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    code: str = Field(max_length=6, unique=True)
    title: str = Field(max_length=200)
    question: str = Field(default="", max_length=500)
    voting_mode: str = Field(default="approval", max_length=16)
    dots: int = Field(default=1)
    max_per_proposal: int = Field(default=1)
    # Bumped by every committed change of the table; every push carries it.
    seq: int = Field(default=0)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Participant(SQLModel, table=True):
    __tablename__ = "participants"

    id: int | None = Field(default=None, primary_key=True)
    table_id: int = Field(foreign_key="tables.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=100)
    organisation: str = Field(default="", max_length=150)
    category: str = Field(default="", max_length=100)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Proposal(SQLModel, table=True):
    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint("kind IN ('need', 'proposal', 'resource')", name="kind_known"),
        Index("ix_proposals_table_updated_seq", "table_id", "updated_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    table_id: int = Field(foreign_key="tables.id", index=True)
    participant_id: int = Field(foreign_key="participants.id", index=True)
    kind: str = Field(max_length=16)
    title: str = Field(max_length=140)
    body: str = Field(default="", max_length=1000)
    # The table's seq when the proposal was posted, and when it (or its tally) last changed:
    # a push is exactly the proposals whose updated_seq is past the last push.
    created_seq: int
    updated_seq: int
    created_at: dt.datetime = Field(default_factory=utcnow)


class Vote(SQLModel, table=True):
    """A participant's dots on one proposal: one row per pair, so double votes cannot exist."""

    __tablename__ = "votes"
    __table_args__ = (CheckConstraint("dots >= 1", name="dots_at_least_one"),)

    participant_id: int = Field(foreign_key="participants.id", primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", primary_key=True, index=True)
    dots: int
    updated_at: dt.datetime = Field(default_factory=utcnow)


def public_dict(model: SQLModel, *exclude: str) -> dict[str, Any]:
    return model.model_dump(exclude={"token_hash", "moderator_token_hash", *exclude})
