"""duplicates: pairs a moderator dismissed, and an event's own glossary

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 07:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Events created before have no words of their own: the shipped glossary alone."""
    op.add_column(
        "events",
        sa.Column("glossary", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False, server_default=""),
    )
    op.create_table(
        "dismissed_pairs",
        sa.Column("table_id", sa.Integer(), nullable=False),
        sa.Column("low_id", sa.Integer(), nullable=False),
        sa.Column("high_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("low_id < high_id", name="dismissed_pair_ordered"),
        sa.ForeignKeyConstraint(["table_id"], ["tables.id"]),
        sa.ForeignKeyConstraint(["low_id"], ["proposals.id"]),
        sa.ForeignKeyConstraint(["high_id"], ["proposals.id"]),
        sa.PrimaryKeyConstraint("table_id", "low_id", "high_id"),
    )


def downgrade() -> None:
    op.drop_table("dismissed_pairs")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("glossary")
