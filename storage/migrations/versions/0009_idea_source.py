"""Ideas imported from another tool: their id there (unique) and the votes they had there.

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-30 05:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idea", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column("source_votes", sa.Integer(), nullable=False, server_default="0")
        )
        # A second import of the same file finds its ideas by this; NULLs (the bot's own
        # ideas) never collide.
        batch_op.create_index("ix_idea_source_id", ["source_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("idea", schema=None) as batch_op:
        batch_op.drop_index("ix_idea_source_id")
        batch_op.drop_column("source_votes")
        batch_op.drop_column("source_id")
