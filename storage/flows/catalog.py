"""The flow versions conversations follow, kept in memory and refreshed when a change is stamped."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, func, select

from handlers.flows.schema import FlowDefinition
from storage.tables import FlowChangeRow, FlowLiveRow, FlowVersionRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What the database says at one moment: the change stamp, live versions, new versions."""

    stamp: int
    live: dict[str, int]
    versions: dict[tuple[str, int], FlowDefinition]
    last_row: int


async def change_stamp(session: AsyncSession) -> int:
    """The newest audit entry's id: it moves with every import, push, draft, discard, publish
    and roll-back (a trial of a draft is no entry).
    """
    stamp = (await session.execute(select(func.max(FlowChangeRow.id)))).scalar_one()
    return int(stamp or 0)


async def _snapshot(session: AsyncSession, *, after_row: int) -> _Snapshot:
    """The stamp, every live version, and the versions stored after row ``after_row``."""
    # The stamp first: whatever changes after it is read again at the next refresh.
    stamp = await change_stamp(session)
    live = {
        flow_id: version
        for flow_id, version in await session.execute(
            select(FlowLiveRow.flow_id, FlowLiveRow.version)
        )
    }
    rows = (
        await session.execute(
            select(FlowVersionRow.id, FlowVersionRow.definition).where(
                col(FlowVersionRow.id) > after_row
            )
        )
    ).all()
    versions: dict[tuple[str, int], FlowDefinition] = {}
    for _, stored in rows:
        definition = FlowDefinition.model_validate(stored)
        versions[(definition.id, definition.version)] = definition
    last_row = max((row_id for row_id, _ in rows), default=after_row)
    return _Snapshot(stamp=stamp, live=live, versions=versions, last_row=last_row)


class SqlFlowCatalog:
    """The flows conversations follow: the live versions, and every version ever stored.

    Build it with ``load``, which reads every stored version up front: a lookup in the middle
    of a turn must not need a second database connection (SQLite has only one). ``refresh``
    brings in what another process published, when the change stamp moved.
    """

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], default_flow_id: str, first: _Snapshot
    ) -> None:
        self._sessions = sessions
        self._default_flow_id = default_flow_id
        self._versions = dict(first.versions)
        self._live = dict(first.live)
        self._stamp = first.stamp
        self._last_row = first.last_row
        if default_flow_id not in self._live:
            known = ", ".join(sorted(self._live)) or "none"
            raise LookupError(f"no live flow '{default_flow_id}' (live flows: {known})")

    @classmethod
    async def load(
        cls, *, sessions: async_sessionmaker[AsyncSession], default_flow_id: str
    ) -> SqlFlowCatalog:
        """A catalog of every stored version, with each flow's live one."""
        async with sessions() as session:
            first = await _snapshot(session, after_row=0)
        return cls(sessions=sessions, default_flow_id=default_flow_id, first=first)

    @property
    def default_flow(self) -> FlowDefinition:
        """The live version of the flow new conversations start."""
        return self._versions[(self._default_flow_id, self._live[self._default_flow_id])]

    def live(self, flow_id: str) -> FlowDefinition | None:
        """The live version of ``flow_id``, or None if no such flow is published."""
        version = self._live.get(flow_id)
        return None if version is None else self._versions.get((flow_id, version))

    async def refresh(self) -> bool:
        """Read what changed since the last look, if the stamp moved; True if it did."""
        async with self._sessions() as session:
            if await change_stamp(session) == self._stamp:
                return False
            snapshot = await _snapshot(session, after_row=self._last_row)
        self._versions.update(snapshot.versions)
        moved = {
            flow_id: version
            for flow_id, version in snapshot.live.items()
            if self._live.get(flow_id) != version
        }
        self._live = snapshot.live
        self._stamp = snapshot.stamp
        self._last_row = snapshot.last_row
        for flow_id, version in sorted(moved.items()):
            logger.info("flow '%s' is live at version %s now", flow_id, version)
        return True

    async def get(self, *, flow_id: str, version: int) -> FlowDefinition:
        """A flow version; versions never change, so each is read from the database once.

        Only a version another process stored after the last refresh is not loaded yet
        (PostgreSQL, where a second connection is always at hand).
        """
        key = (flow_id, version)
        cached = self._versions.get(key)
        if cached is not None:
            return cached
        async with self._sessions() as session:
            stored = (
                await session.execute(
                    select(FlowVersionRow.definition)
                    .where(col(FlowVersionRow.flow_id) == flow_id)
                    .where(col(FlowVersionRow.version) == version)
                )
            ).scalar_one()
        definition = FlowDefinition.model_validate(stored)
        self._versions[key] = definition
        return definition
