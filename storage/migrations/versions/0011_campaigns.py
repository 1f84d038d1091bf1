"""Invitation campaigns: the campaigns, one row per invited customer, and the opt-out flag.

Conversations also remember the campaign that started them, for the campaign's figures.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _name(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _json(name: str) -> sa.Column[sa.JSON]:
    return sa.Column(
        name,
        sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
        nullable=False,
    )


def _when(name: str, *, nullable: bool = False) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _name(64), nullable=False),
        sa.Column("flow_id", _name(64), nullable=False),
        _json("texts"),
        _json("audience"),
        sa.Column("schedule", _name(64), nullable=False),
        sa.Column("state", _name(16), nullable=False),
        sa.Column("created_by", _name(128), nullable=False),
        _when("created_at"),
        sa.Column("changed_by", _name(128), nullable=False),
        _when("changed_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(op.f("ix_campaign_state"), "campaign", ["state"], unique=False)
    op.create_table(
        "campaign_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("run", _name(32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("language", _name(16), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        _when("delivered_at", nullable=True),
        _when("opted_out_at", nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "run", "customer_id", name="uq_campaign_invitation"),
    )
    op.create_index(
        op.f("ix_campaign_invitation_campaign_id"),
        "campaign_invitation",
        ["campaign_id"],
        unique=False,
    )
    op.create_index(
        "ix_campaign_invitation_customer_created_at",
        "campaign_invitation",
        ["customer_id", "created_at"],
        unique=False,
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "wants_invitations", sa.Boolean(), nullable=False, server_default=sa.text("true")
            )
        )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_conversation_campaign_id"), ["campaign_id"])
        batch_op.create_foreign_key(
            "fk_conversation_campaign_id", "campaign", ["campaign_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_conversation_campaign_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_conversation_campaign_id"))
        batch_op.drop_column("campaign_id")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("wants_invitations")
    op.drop_index("ix_campaign_invitation_customer_created_at", table_name="campaign_invitation")
    op.drop_index(op.f("ix_campaign_invitation_campaign_id"), table_name="campaign_invitation")
    op.drop_table("campaign_invitation")
    op.drop_index(op.f("ix_campaign_state"), table_name="campaign")
    op.drop_table("campaign")
