"""questions and answers: a table's format, and questions marked answered with a note

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:45:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Every existing table is a "tavolo"; no question is answered yet."""
    with op.batch_alter_table("tables") as batch_op:
        batch_op.add_column(
            sa.Column(
                "format", sa.String(length=16), nullable=False, server_default="tavolo"
            )
        )
        batch_op.create_check_constraint("format_known", "format IN ('tavolo', 'qa')")
    with op.batch_alter_table("proposals") as batch_op:
        batch_op.add_column(sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("answer_note", sa.String(length=300), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch_op:
        batch_op.drop_column("answer_note")
        batch_op.drop_column("answered_at")
    with op.batch_alter_table("tables") as batch_op:
        batch_op.drop_constraint("format_known", type_="check")
        batch_op.drop_column("format")
