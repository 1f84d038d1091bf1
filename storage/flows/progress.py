"""How far conversations of each flow version got: under way now, started and finished lately."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.schema import END
from handlers.flows.versions import UnknownFlow, UnknownVersion
from handlers.ports import ConversationStatus, VersionCompletion
from storage.flows.queries import live_version
from storage.tables import ConversationRow, FlowVersionRow, table_of

_CONVERSATION = table_of(ConversationRow)
_VERSION = table_of(FlowVersionRow)


async def completion(
    session: AsyncSession, *, flow_id: str, version: int | None, since: datetime | None
) -> VersionCompletion:
    """Two counts of a stored version (the live one for None); UnknownFlow or UnknownVersion."""
    live = await live_version(session, flow_id)
    if live is None:
        raise UnknownFlow(flow_id)
    wanted = live if version is None else version
    stored = await session.execute(
        select(_VERSION.c.version)
        .where(_VERSION.c.flow_id == flow_id)
        .where(_VERSION.c.version == wanted)
    )
    if stored.first() is None:
        raise UnknownVersion(flow_id, wanted)
    # Counted as the funnel counts them: started since ``since``, finished once at the end.
    query = (
        select(func.count(), func.coalesce(func.sum(case((_CONVERSATION.c.step == END, 1))), 0))
        .where(_CONVERSATION.c.flow_id == flow_id)
        .where(_CONVERSATION.c.flow_version == wanted)
    )
    if since is not None:
        query = query.where(_CONVERSATION.c.created_at >= since)
    started, finished = (await session.execute(query)).one()
    return VersionCompletion(
        flow_id=flow_id, version=wanted, started=int(started), finished=int(finished)
    )


class FlowCompletionPart:
    """The completion count of the turn's transaction (mixed into SqlDialogueTransaction)."""

    _session: AsyncSession

    async def completion(
        self, *, flow_id: str, version: int | None, since: datetime | None
    ) -> VersionCompletion:
        """How many conversations of the version started since ``since``, and how many finished."""
        return await completion(self._session, flow_id=flow_id, version=version, since=since)


class SqlFlowProgress:
    """Counts conversations per flow version for the admins' overview, in one short session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def in_progress(self) -> dict[str, dict[int, int]]:
        """Flow id → version → conversations still answering its questions (versions with any)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(_CONVERSATION.c.flow_id, _CONVERSATION.c.flow_version, func.count())
                .where(_CONVERSATION.c.status == ConversationStatus.ACTIVE.value)
                .where(_CONVERSATION.c.step != END)
                .group_by(_CONVERSATION.c.flow_id, _CONVERSATION.c.flow_version)
            )
            counts: dict[str, dict[int, int]] = {}
            for flow_id, version, count in rows.all():
                counts.setdefault(flow_id, {})[version] = count
            return counts

    async def completion(
        self, *, flow_id: str, version: int | None, since: datetime | None
    ) -> VersionCompletion:
        """How many conversations of the version started since ``since``, and how many finished."""
        async with self._sessions() as session:
            return await completion(session, flow_id=flow_id, version=version, since=since)
