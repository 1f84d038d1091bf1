"""Staff threads, stored platform events, and who wrote a transcript message.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "author",
                sqlmodel.sql.sqltypes.AutoString(length=256),
                nullable=False,
                server_default="",
            )
        )
    op.create_table(
        "staff_thread",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("room_platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("room_chat_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("thread_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("card", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.PrimaryKeyConstraint("conversation_id"),
        sa.UniqueConstraint("room_chat_id", "thread_ref", name="uq_staff_thread_ref"),
    )
    op.create_table(
        "platform_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("ordering_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "external_id", name="uq_platform_event"),
    )
    with op.batch_alter_table("platform_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_platform_event_state_ordering_id", ["state", "ordering_key", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("platform_event", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_event_state_ordering_id")
    op.drop_table("platform_event")
    op.drop_table("staff_thread")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("author")
