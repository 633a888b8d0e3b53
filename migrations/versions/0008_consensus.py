"""consensus: a table's fair counting rule and adopted ranking, and the ranking's timeline

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Tables created before count one person, one ballot, and rank by votes: as until now."""
    with op.batch_alter_table("tables") as batch_op:
        batch_op.add_column(
            sa.Column(
                "weighting",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="person",
            )
        )
        batch_op.add_column(
            sa.Column(
                "ranking",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="tally",
            )
        )
        batch_op.create_check_constraint(
            "weighting_known", "weighting IN ('person', 'organisation', 'category')"
        )
        batch_op.create_check_constraint(
            "ranking_known", "ranking IN ('tally', 'bridging', 'weighted')"
        )
    op.create_table(
        "ranking_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_id", sa.Integer(), nullable=False),
        sa.Column("ranking", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["table_id"], ["tables.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_ranking_changes_table_id"), "ranking_changes", ["table_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ranking_changes_table_id"), table_name="ranking_changes")
    op.drop_table("ranking_changes")
    with op.batch_alter_table("tables") as batch_op:
        batch_op.drop_constraint("ranking_known", type_="check")
        batch_op.drop_constraint("weighting_known", type_="check")
        batch_op.drop_column("ranking")
        batch_op.drop_column("weighting")
