"""The flow versions conversations follow: the live ones in memory, older ones loaded on demand."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, func, select

from handlers.flows.schema import FlowDefinition
from handlers.ports import ConversationStatus
from storage.tables import ConversationRow, FlowChangeRow, FlowLiveRow, FlowVersionRow

logger = logging.getLogger(__name__)

# Older versions kept in memory, the most recently used: those conversations still follow.
OLDER_VERSIONS_KEPT = 64
_UNDER_WAY = (ConversationStatus.ACTIVE.value, ConversationStatus.WITH_STAFF.value)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What the database says at one moment: the change stamp and every live version."""

    stamp: int
    live: dict[str, FlowDefinition]


async def change_stamp(session: AsyncSession) -> int:
    """The newest audit entry's id: it moves with every import, push, draft, discard, publish
    and roll-back (a trial of a draft is no entry).
    """
    stamp = (await session.execute(select(func.max(FlowChangeRow.id)))).scalar_one()
    return int(stamp or 0)


async def _snapshot(session: AsyncSession) -> _Snapshot:
    """The stamp and the live version of every flow."""
    # The stamp first: whatever changes after it is read again at the next refresh.
    stamp = await change_stamp(session)
    rows = await session.execute(
        select(FlowVersionRow.definition).join(
            FlowLiveRow,
            (col(FlowLiveRow.flow_id) == col(FlowVersionRow.flow_id))
            & (col(FlowLiveRow.version) == col(FlowVersionRow.version)),
        )
    )
    live: dict[str, FlowDefinition] = {}
    for (stored,) in rows:
        definition = FlowDefinition.model_validate(stored)
        live[definition.id] = definition
    return _Snapshot(stamp=stamp, live=live)


async def _in_progress(session: AsyncSession, *, limit: int) -> list[FlowDefinition]:
    """Versions, not live, that conversations under way follow: the newest ``limit`` of them."""
    in_progress = (
        select(ConversationRow.flow_id, ConversationRow.flow_version)
        .where(col(ConversationRow.status).in_(_UNDER_WAY))
        .distinct()
        .subquery()
    )
    rows = await session.execute(
        select(FlowVersionRow.definition)
        .join(
            in_progress,
            (in_progress.c.flow_id == col(FlowVersionRow.flow_id))
            & (in_progress.c.flow_version == col(FlowVersionRow.version)),
        )
        .outerjoin(
            FlowLiveRow,
            (col(FlowLiveRow.flow_id) == col(FlowVersionRow.flow_id))
            & (col(FlowLiveRow.version) == col(FlowVersionRow.version)),
        )
        .where(col(FlowLiveRow.flow_id).is_(None))
        .order_by(col(FlowVersionRow.id).desc())
        .limit(limit)
    )
    return [FlowDefinition.model_validate(stored) for (stored,) in rows]


class SqlFlowCatalog:
    """The flows conversations follow: each flow's live version, and older ones as needed.

    ``load`` also reads the older versions conversations under way follow. Give it sessions
    that read beside the writing connection (``storage.database`` ``reading_sessions``): an
    older version is loaded in the middle of a turn, whose transaction holds SQLite's one
    writing connection. ``refresh`` brings in what another process published, when the
    change stamp moved.
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        default_flow_id: str,
        first: _Snapshot,
        older_kept: int = OLDER_VERSIONS_KEPT,
    ) -> None:
        self._sessions = sessions
        self._default_flow_id = default_flow_id
        self._live = dict(first.live)
        self._older: LRUCache[tuple[str, int], FlowDefinition] = LRUCache(maxsize=older_kept)
        self._stamp = first.stamp
        if default_flow_id not in self._live:
            known = ", ".join(sorted(self._live)) or "none"
            raise LookupError(f"no live flow '{default_flow_id}' (live flows: {known})")

    @classmethod
    async def load(
        cls,
        *,
        sessions: async_sessionmaker[AsyncSession],
        default_flow_id: str,
        older_kept: int = OLDER_VERSIONS_KEPT,
    ) -> SqlFlowCatalog:
        """A catalog of each flow's live version; older versions come when asked for."""
        async with sessions() as session:
            first = await _snapshot(session)
            # Warm: the conversations a restart interrupted need no read in their next turn.
            older = await _in_progress(session, limit=older_kept)
        catalog = cls(
            sessions=sessions, default_flow_id=default_flow_id, first=first, older_kept=older_kept
        )
        for definition in reversed(older):
            catalog._older[(definition.id, definition.version)] = definition
        return catalog

    @property
    def default_flow(self) -> FlowDefinition:
        """The live version of the flow new conversations start."""
        return self._live[self._default_flow_id]

    def live(self, flow_id: str) -> FlowDefinition | None:
        """The live version of ``flow_id``, or None if no such flow is published."""
        return self._live.get(flow_id)

    async def refresh(self) -> bool:
        """Read what changed since the last look, if the stamp moved; True if it did."""
        async with self._sessions() as session:
            if await change_stamp(session) == self._stamp:
                return False
            snapshot = await _snapshot(session)
        was_live = {flow_id: definition.version for flow_id, definition in self._live.items()}
        for flow_id, definition in self._live.items():
            if flow_id not in snapshot.live or snapshot.live[flow_id].version != definition.version:
                # Conversations under way keep following it.
                self._older[(flow_id, definition.version)] = definition
        for flow_id, definition in sorted(snapshot.live.items()):
            if was_live.get(flow_id) != definition.version:
                logger.info("flow '%s' is live at version %s now", flow_id, definition.version)
        self._live = snapshot.live
        self._stamp = snapshot.stamp
        return True

    async def get(self, *, flow_id: str, version: int) -> FlowDefinition:
        """A flow version: the live one, a recently used older one, or read from the database."""
        live = self._live.get(flow_id)
        if live is not None and live.version == version:
            return live
        key = (flow_id, version)
        kept = self._older.get(key)
        if kept is not None:
            return kept
        async with self._sessions() as session:
            stored = (
                await session.execute(
                    select(FlowVersionRow.definition)
                    .where(col(FlowVersionRow.flow_id) == flow_id)
                    .where(col(FlowVersionRow.version) == version)
                )
            ).scalar_one()
        definition = FlowDefinition.model_validate(stored)
        # Versions never change, so a copy in memory never goes stale.
        self._older[key] = definition
        return definition
