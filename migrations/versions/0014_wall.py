"""wall paging: the projector's wall turns its pages at a pace the moderator sets

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 06:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Existing tables page every 12 seconds, and no page was turned by hand."""
    op.add_column(
        "tables",
        sa.Column("wall_page_seconds", sa.Integer(), nullable=False, server_default="12"),
    )
    op.add_column(
        "tables", sa.Column("wall_turns", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    with op.batch_alter_table("tables") as batch_op:
        batch_op.drop_column("wall_turns")
        batch_op.drop_column("wall_page_seconds")
