"""Reads of the flows' tables: live versions, checksums, drafts, the audit trail, summaries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from handlers.flows.schema import FlowDefinition
from handlers.flows.versions import (
    FlowAction,
    FlowChange,
    FlowDraft,
    FlowSummary,
    StoredFlow,
    UnknownFlow,
    UnknownVersion,
)
from storage.tables import FlowChangeRow, FlowDraftRow, FlowLiveRow, FlowVersionRow


async def live_version(session: AsyncSession, flow_id: str) -> int | None:
    """The flow's live version, or None if it was never published."""
    found = await session.execute(
        select(FlowLiveRow.version).where(col(FlowLiveRow.flow_id) == flow_id)
    )
    return found.scalar_one_or_none()


async def version_checksums(session: AsyncSession, flow_id: str) -> dict[int, str]:
    """Each stored version of the flow and its content's checksum."""
    rows = await session.execute(
        select(FlowVersionRow.version, FlowVersionRow.checksum).where(
            col(FlowVersionRow.flow_id) == flow_id
        )
    )
    return {version: checksum for version, checksum in rows}


async def last_imported(session: AsyncSession, flow_id: str) -> str | None:
    """The checksum of the version the flows folder last gave, if it ever gave one."""
    found = await session.execute(
        select(FlowVersionRow.checksum)
        .join(
            FlowChangeRow,
            (col(FlowChangeRow.flow_id) == col(FlowVersionRow.flow_id))
            & (col(FlowChangeRow.to_version) == col(FlowVersionRow.version)),
        )
        .where(col(FlowChangeRow.flow_id) == flow_id)
        .where(col(FlowChangeRow.action) == FlowAction.IMPORT.value)
        .order_by(col(FlowChangeRow.id).desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


def as_change(row: FlowChangeRow) -> FlowChange:
    """An audit row as the core's value."""
    return FlowChange(
        flow_id=row.flow_id,
        action=FlowAction(row.action),
        actor=row.actor,
        at=row.created_at,
        from_version=row.from_version,
        to_version=row.to_version,
        draft_id=row.draft_id,
        source=row.source,
    )


def as_draft(row: FlowDraftRow) -> FlowDraft:
    """A draft row as the core's value."""
    assert row.id is not None
    return FlowDraft(
        draft_id=row.id,
        definition=FlowDefinition.model_validate(row.definition),
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
        based_on=row.based_on,
    )


async def read_drafts(session: AsyncSession, flow_id: str) -> list[FlowDraft]:
    """The flow's drafts, oldest first."""
    rows = await session.execute(
        select(FlowDraftRow)
        .where(col(FlowDraftRow.flow_id) == flow_id)
        .order_by(col(FlowDraftRow.id))
    )
    return [as_draft(row) for row in rows.scalars()]


async def read_history(session: AsyncSession, flow_id: str) -> list[FlowChange]:
    """Every change of the flow, oldest first; a flow with neither is unknown."""
    rows = await session.execute(
        select(FlowChangeRow)
        .where(col(FlowChangeRow.flow_id) == flow_id)
        .order_by(col(FlowChangeRow.id))
    )
    changes = [as_change(row) for row in rows.scalars()]
    # Versions from before the audit trail have no entries, yet the flow is known.
    if not changes and not await version_checksums(session, flow_id):
        raise UnknownFlow(flow_id)
    return changes


async def read_stored(session: AsyncSession, flow_id: str, version: int | None) -> StoredFlow:
    """A stored version of a flow (the live one when ``version`` is None)."""
    live = await live_version(session, flow_id)
    if live is None:
        raise UnknownFlow(flow_id)
    wanted = live if version is None else version
    row = (
        await session.execute(
            select(FlowVersionRow)
            .where(col(FlowVersionRow.flow_id) == flow_id)
            .where(col(FlowVersionRow.version) == wanted)
        )
    ).scalar_one_or_none()
    if row is None:
        raise UnknownVersion(flow_id, wanted)
    return StoredFlow(
        definition=FlowDefinition.model_validate(row.definition),
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
        live=wanted == live,
    )


async def read_summaries(session: AsyncSession) -> list[FlowSummary]:
    """Every flow with a live version, by name."""
    live = (
        await session.execute(
            select(FlowLiveRow, FlowVersionRow.definition)
            .join(
                FlowVersionRow,
                (col(FlowVersionRow.flow_id) == col(FlowLiveRow.flow_id))
                & (col(FlowVersionRow.version) == col(FlowLiveRow.version)),
            )
            .order_by(col(FlowLiveRow.flow_id))
        )
    ).all()
    versions = await _counts(session, FlowVersionRow.flow_id)
    drafts = await _counts(session, FlowDraftRow.flow_id)
    return [
        FlowSummary(
            flow_id=row.flow_id,
            name=str(definition.get("name", "")),
            live_version=row.version,
            published_by=row.changed_by,
            published_at=row.changed_at,
            versions=versions.get(row.flow_id, 0),
            drafts=drafts.get(row.flow_id, 0),
        )
        for row, definition in live
    ]


async def _counts(session: AsyncSession, flow_id: Any) -> dict[str, int]:
    """How many rows each flow has in the table of the ``flow_id`` column."""
    rows = await session.execute(select(flow_id, func.count()).group_by(flow_id))
    return {found: count for found, count in rows}
