"""Flow library: the live version of each flow, drafts, and the audit trail of changes.

Versions stored before stay as they are (conversations refer to them); the newest of each
flow becomes its live one, and checksums are taken anew without the version number.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 02:30:00
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _name(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("flow_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", _name(128), nullable=False, server_default=""))
    op.create_table(
        "flow_live",
        sa.Column("flow_id", _name(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by", _name(128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flow_id"),
    )
    op.create_table(
        "flow_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", _name(64), nullable=False),
        sa.Column("checksum", _name(64), nullable=False),
        sa.Column("source", _name(1024), nullable=False),
        sa.Column("definition", _JSON, nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("created_by", _name(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "flow_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", _name(64), nullable=False),
        sa.Column("action", _name(16), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("source", _name(1024), nullable=False),
        sa.Column("actor", _name(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flow_draft", schema=None) as batch_op:
        batch_op.create_index("ix_flow_draft_flow_id", ["flow_id"], unique=False)
    with op.batch_alter_table("flow_change", schema=None) as batch_op:
        batch_op.create_index("ix_flow_change_flow_id", ["flow_id"], unique=False)
    _keep_stored_versions()


def _content_checksum(definition: dict[str, object]) -> str:
    # The same as handlers.flows.loader.flow_checksum, frozen here as of this revision.
    content = {key: value for key, value in definition.items() if key != "version"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _keep_stored_versions() -> None:
    """Take checksums anew and make each flow's newest stored version its live one."""
    bind = op.get_bind()
    versions = sa.table(
        "flow_version",
        sa.column("id", sa.Integer()),
        sa.column("flow_id", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("checksum", sa.String()),
        sa.column("definition", _JSON),
    )
    live = sa.table(
        "flow_live",
        sa.column("flow_id", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("changed_by", sa.String()),
        sa.column("changed_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(sa.select(versions.c.id, versions.c.definition)).all()
    for row_id, definition in rows:
        bind.execute(
            versions.update()
            .where(versions.c.id == row_id)
            .values(checksum=_content_checksum(definition))
        )
    newest = bind.execute(
        sa.select(versions.c.flow_id, sa.func.max(versions.c.version)).group_by(versions.c.flow_id)
    ).all()
    now = datetime.now(UTC)
    for flow_id, version in newest:
        bind.execute(
            live.insert().values(flow_id=flow_id, version=version, changed_by="", changed_at=now)
        )


def downgrade() -> None:
    with op.batch_alter_table("flow_change", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_change_flow_id")
    with op.batch_alter_table("flow_draft", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_draft_flow_id")
    op.drop_table("flow_change")
    op.drop_table("flow_draft")
    op.drop_table("flow_live")
    with op.batch_alter_table("flow_version", schema=None) as batch_op:
        batch_op.drop_column("created_by")
