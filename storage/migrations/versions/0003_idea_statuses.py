"""Idea statuses and history, tags, linked customers, outbox priorities, reminders, schedules.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idea", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_idea_duplicate_of", "idea", ["duplicate_of"], ["id"])
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_conversation_status_updated_at", ["status", "updated_at"], unique=False
        )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wants_updates", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index(
            "ix_outbox_state_priority_id", ["state", "priority", "id"], unique=False
        )
    op.create_table(
        "idea_follower",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["idea_id"], ["idea.id"]),
        sa.PrimaryKeyConstraint("idea_id", "customer_id"),
    )
    with op.batch_alter_table("idea_follower", schema=None) as batch_op:
        batch_op.create_index("ix_idea_follower_customer_id", ["customer_id"], unique=False)
    # Every idea recorded so far has its author as its first follower.
    op.execute(
        "INSERT INTO idea_follower (idea_id, customer_id, kind, created_at) "
        "SELECT id, customer_id, 'author', created_at FROM idea"
    )
    op.create_table(
        "idea_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("notified", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["idea_id"], ["idea.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("idea_status_change", schema=None) as batch_op:
        batch_op.create_index("ix_idea_status_change_idea_id", ["idea_id"], unique=False)
        batch_op.create_index("ix_idea_status_change_created_at", ["created_at"], unique=False)

    op.create_table(
        "idea_tag",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["idea_id"], ["idea.id"]),
        sa.PrimaryKeyConstraint("idea_id", "tag"),
    )
    with op.batch_alter_table("idea_tag", schema=None) as batch_op:
        batch_op.create_index("ix_idea_tag_tag", ["tag"], unique=False)
    op.create_table(
        "scheduled_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job", "period", name="uq_scheduled_run"),
    )
    op.create_table(
        "idea_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duplicate_id", sa.Integer(), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("moved", _JSON, nullable=False),
        sa.Column("merged_by", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["duplicate_id"], ["idea.id"]),
        sa.ForeignKeyConstraint(["original_id"], ["idea.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("idea_merge", schema=None) as batch_op:
        batch_op.create_index("ix_idea_merge_duplicate_id", ["duplicate_id"], unique=False)


def downgrade() -> None:
    op.drop_table("idea_merge")
    op.drop_table("scheduled_run")
    op.drop_table("idea_tag")
    op.drop_table("idea_status_change")
    op.drop_table("idea_follower")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_state_priority_id")
        batch_op.drop_column("priority")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("wants_updates")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_status_updated_at")
        batch_op.drop_column("reminded_at")
    with op.batch_alter_table("idea", schema=None) as batch_op:
        batch_op.drop_constraint("fk_idea_duplicate_of", type_="foreignkey")
        batch_op.drop_column("duplicate_of")
