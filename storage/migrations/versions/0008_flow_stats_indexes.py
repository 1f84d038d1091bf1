"""An index of the transcript's answers, for the flows' funnels.

Only messages that answered a step are in it, by conversation, step and time: the funnel
reads each step's first answer from it alone (measured in docs/benchmarks.md).

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_message_answers",
        "message",
        ["conversation_id", "answered", "created_at", "direction"],
        unique=False,
        sqlite_where=sa.text("answered IS NOT NULL"),
        postgresql_where=sa.text("answered IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_message_answers", table_name="message")
