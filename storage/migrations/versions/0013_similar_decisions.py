"""Similar decisions: labelled pairs from merges, undos and customers' answers, and calibration.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _name(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "similar_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("same", sa.Boolean(), nullable=False),
        sa.Column("source", _name(32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("method", _name(128), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("vector_model", _name(400), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["idea_id"], ["idea.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("similar_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_similar_decision_idea_id"), ["idea_id"])
        batch_op.create_index(batch_op.f("ix_similar_decision_customer_id"), ["customer_id"])
        batch_op.create_index(
            batch_op.f("ix_similar_decision_conversation_id"), ["conversation_id"]
        )
        batch_op.create_index(batch_op.f("ix_similar_decision_method"), ["method"])
    op.create_table(
        "similar_calibration",
        sa.Column("method", _name(128), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("same", sa.Integer(), nullable=False),
        sa.Column("calibrated", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("method"),
    )


def downgrade() -> None:
    op.drop_table("similar_calibration")
    with op.batch_alter_table("similar_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_similar_decision_method"))
        batch_op.drop_index(batch_op.f("ix_similar_decision_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_similar_decision_customer_id"))
        batch_op.drop_index(batch_op.f("ix_similar_decision_idea_id"))
    op.drop_table("similar_decision")
