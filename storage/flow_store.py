"""Keeps every flow version in the database, so a conversation can finish the one it started."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from handlers.flows.loader import LoadedFlow
from handlers.flows.schema import FlowDefinition
from storage.tables import FlowVersionRow
from storage.upsert import insert_if_absent


class FlowVersionConflict(Exception):
    """A flow file changed without a new version number, which would change running talks."""


async def register_flows(
    sessions: async_sessionmaker[AsyncSession], flows: list[LoadedFlow]
) -> None:
    """Store each loaded flow version once; refuse an edited flow that kept its version."""
    async with sessions() as session, session.begin():
        for flow in flows:
            definition = flow.definition
            await insert_if_absent(
                session,
                FlowVersionRow,
                conflict=["flow_id", "version"],
                values={
                    "flow_id": definition.id,
                    "version": definition.version,
                    "checksum": flow.checksum,
                    "source": flow.source,
                    "definition": definition.model_dump(mode="json"),
                },
            )
            stored = (
                await session.execute(
                    select(FlowVersionRow.checksum)
                    .where(col(FlowVersionRow.flow_id) == definition.id)
                    .where(col(FlowVersionRow.version) == definition.version)
                )
            ).scalar_one()
            if stored != flow.checksum:
                raise FlowVersionConflict(conflict_message(flow))


def conflict_message(flow: LoadedFlow) -> str:
    """What to do about a flow whose version is stored with other content."""
    definition = flow.definition
    return (
        f"{flow.source}: flow '{definition.id}' version {definition.version} was changed but "
        f"its version was not raised (conversations already use the stored version "
        f"{definition.version}): set 'version: {definition.version + 1}'"
    )


async def version_conflicts(
    sessions: async_sessionmaker[AsyncSession], flows: list[LoadedFlow]
) -> list[str]:
    """Without writing: what ``register_flows`` would refuse, one message per flow."""
    async with sessions() as session:
        stored = {
            (flow_id, version): checksum
            for flow_id, version, checksum in await session.execute(
                select(FlowVersionRow.flow_id, FlowVersionRow.version, FlowVersionRow.checksum)
            )
        }
    return [
        conflict_message(flow)
        for flow in flows
        if stored.get((flow.definition.id, flow.definition.version), flow.checksum) != flow.checksum
    ]


class SqlFlowCatalog:
    """The flows conversations follow: the current ones from files, older ones from the database.

    Build it with ``load``, which reads every stored version up front: a lookup in the middle
    of a turn must not need a second database connection (SQLite has only one).
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        current: list[LoadedFlow],
        default_flow_id: str,
        stored: Sequence[FlowDefinition] = (),
    ) -> None:
        self._sessions = sessions
        self._versions: dict[tuple[str, int], FlowDefinition] = {
            (definition.id, definition.version): definition for definition in stored
        }
        self._versions.update(
            {(flow.definition.id, flow.definition.version): flow.definition for flow in current}
        )
        matches = [flow.definition for flow in current if flow.definition.id == default_flow_id]
        if not matches:
            known = ", ".join(sorted(flow.definition.id for flow in current))
            raise LookupError(f"no flow with id '{default_flow_id}' (flows found: {known})")
        self._default = matches[0]

    @classmethod
    async def load(
        cls,
        *,
        sessions: async_sessionmaker[AsyncSession],
        current: list[LoadedFlow],
        default_flow_id: str,
    ) -> SqlFlowCatalog:
        """A catalog with the current flows and every version stored before."""
        async with sessions() as session:
            stored = (await session.execute(select(FlowVersionRow.definition))).scalars().all()
        return cls(
            sessions=sessions,
            current=current,
            default_flow_id=default_flow_id,
            stored=[FlowDefinition.model_validate(definition) for definition in stored],
        )

    @property
    def default_flow(self) -> FlowDefinition:
        """The current version of the flow new conversations start."""
        return self._default

    async def get(self, *, flow_id: str, version: int) -> FlowDefinition:
        """A flow version; versions never change, so each is read from the database once.

        Only a version another process stored after this one started is not loaded yet
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
