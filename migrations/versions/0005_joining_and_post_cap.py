"""tables: joining can be closed; posts per participant are capped

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Tables created before keep joining open and get the default cap of 30 posts."""
    op.add_column(
        "tables",
        sa.Column("joining_open", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "tables",
        sa.Column("max_posts", sa.Integer(), nullable=False, server_default="30"),
    )


def downgrade() -> None:
    with op.batch_alter_table("tables") as batch_op:
        batch_op.drop_column("max_posts")
        batch_op.drop_column("joining_open")
