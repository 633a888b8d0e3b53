"""links: proposals answer needs, resources are pledged to proposals; the wall by need

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Tables before keep their wall as it was; merges before moved no link."""
    op.create_table(
        "answers",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["need_id"], ["proposals.id"]),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.PrimaryKeyConstraint("proposal_id", "need_id"),
    )
    op.create_index(op.f("ix_answers_need_id"), "answers", ["need_id"], unique=False)
    op.create_table(
        "pledges",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("offer", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.ForeignKeyConstraint(["resource_id"], ["proposals.id"]),
        sa.PrimaryKeyConstraint("resource_id", "proposal_id"),
    )
    op.create_index(op.f("ix_pledges_proposal_id"), "pledges", ["proposal_id"], unique=False)
    op.add_column(
        "tables",
        sa.Column("group_by_need", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "merges",
        sa.Column("links", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    with op.batch_alter_table("merges") as batch_op:
        batch_op.drop_column("links")
    with op.batch_alter_table("tables") as batch_op:
        batch_op.drop_column("group_by_need")
    op.drop_index(op.f("ix_pledges_proposal_id"), table_name="pledges")
    op.drop_table("pledges")
    op.drop_index(op.f("ix_answers_need_id"), table_name="answers")
    op.drop_table("answers")
