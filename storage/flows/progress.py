"""How many conversations are under way in each flow version, for the admins' overview."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.schema import END
from handlers.ports import ConversationStatus
from storage.tables import ConversationRow, table_of

_CONVERSATION = table_of(ConversationRow)


class SqlFlowProgress:
    """Counts the conversations under way, per flow and version, in one short session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def in_progress(self) -> dict[str, dict[int, int]]:
        """Flow id → version → conversations still answering its questions (versions with any)."""
        return await in_progress_by_version(self._sessions)


async def in_progress_by_version(
    sessions: async_sessionmaker[AsyncSession],
) -> dict[str, dict[int, int]]:
    """Flow id → version → conversations still answering its questions (versions with any)."""
    async with sessions() as session:
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
