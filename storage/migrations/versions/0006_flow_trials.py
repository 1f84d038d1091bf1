"""Flow trials: admins walking a draft in their direct message, apart from customers' rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _name(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "flow_trial",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", _name(32), nullable=False),
        sa.Column("chat_id", _name(128), nullable=False),
        sa.Column("user_id", _name(128), nullable=False),
        sa.Column("flow_id", _name(64), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("definition", _JSON, nullable=False),
        sa.Column("seen_live", sa.Integer(), nullable=False),
        sa.Column("language", _name(16), nullable=False),
        sa.Column("status", _name(16), nullable=False),
        sa.Column("state", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flow_trial", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flow_trial_chat_status", ["platform", "chat_id", "status"], unique=False
        )
        # One trial under way per chat, even when two processes start one at once.
        batch_op.create_index(
            "ux_flow_trial_active_chat",
            ["platform", "chat_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        # The daily sweep deletes trials by when they were last touched.
        batch_op.create_index("ix_flow_trial_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flow_trial", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_trial_updated_at")
        batch_op.drop_index("ux_flow_trial_active_chat")
        batch_op.drop_index("ix_flow_trial_chat_status")
    op.drop_table("flow_trial")
