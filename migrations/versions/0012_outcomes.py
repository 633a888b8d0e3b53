"""outcomes and the plenary: what became of each priority, and the themes across tables

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:45:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "outcome_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('accolta', 'in valutazione', 'non accolta', 'realizzata')",
            name="outcome_known",
        ),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_outcome_changes_proposal_id"), "outcome_changes", ["proposal_id"], unique=False
    )
    op.create_table(
        "plenary_themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=2000), nullable=False),
        sa.Column("title", sa.String(length=140), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("decision IN ('confirmed', 'dismissed')", name="theme_decision_known"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "key", name="theme_key_unique"),
    )
    op.create_index(
        op.f("ix_plenary_themes_event_id"), "plenary_themes", ["event_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_plenary_themes_event_id"), table_name="plenary_themes")
    op.drop_table("plenary_themes")
    op.drop_index(op.f("ix_outcome_changes_proposal_id"), table_name="outcome_changes")
    op.drop_table("outcome_changes")
