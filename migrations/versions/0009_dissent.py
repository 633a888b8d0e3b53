"""dissent: "Non sono d'accordo" on a proposal, with an optional reason (issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:40:00.000000

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A new table; merges made before carry no dissent to restore."""
    op.create_table(
        "dissents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=280), nullable=False),
        sa.Column("reason_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.CheckConstraint(
            "reason_status IN ('accepted', 'pending', 'rejected')", name="reason_status_known"
        ),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id", "proposal_id", name="one_dissent_each"),
    )
    op.create_index("ix_dissents_participant_id", "dissents", ["participant_id"])
    op.create_index("ix_dissents_proposal_id", "dissents", ["proposal_id"])
    op.add_column(
        "merges",
        sa.Column("dissent_before", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    with op.batch_alter_table("merges") as batch_op:
        batch_op.drop_column("dissent_before")
    op.drop_index("ix_dissents_proposal_id", table_name="dissents")
    op.drop_index("ix_dissents_participant_id", table_name="dissents")
    op.drop_table("dissents")
