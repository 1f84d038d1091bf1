"""What each start link's conversations came to: started, finished, ideas recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, distinct, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.links import LinkFigures
from handlers.ideas.status import IdeaStatus
from handlers.ports import ConversationStatus
from storage.tables import ConversationRow, IdeaRow, table_of

_CONVERSATION = table_of(ConversationRow)
_IDEA = table_of(IdeaRow)
# A flow run to its end: finished, or closed after staff took it over (as campaigns count).
_FINISHED = (ConversationStatus.FINISHED.value, ConversationStatus.CLOSED.value)


async def link_figures(session: AsyncSession, where: ColumnElement[bool]) -> list[LinkFigures]:
    """Each start link's figures among the chosen conversations, in link order."""
    recorded = _IDEA.c.status != IdeaStatus.DRAFT.value
    query = (
        select(
            _CONVERSATION.c.start_link,
            func.count(distinct(_CONVERSATION.c.id)),
            func.count(distinct(_CONVERSATION.c.id)).filter(_CONVERSATION.c.status.in_(_FINISHED)),
            func.count(distinct(_IDEA.c.id)).filter(recorded),
        )
        .outerjoin(_IDEA, _IDEA.c.conversation_id == _CONVERSATION.c.id)
        .where(_CONVERSATION.c.start_link.is_not(None))
        .group_by(_CONVERSATION.c.start_link)
        .where(where)
        .order_by(_CONVERSATION.c.start_link)
    )
    return [
        LinkFigures(payload, started, finished, ideas)
        for payload, started, finished, ideas in await session.execute(query)
    ]


class SqlLinkFigures:
    """The start links' figures, read in one short session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def figures(
        self,
        *,
        flow_id: str | None = None,
        version: int | None = None,
        since: datetime | None = None,
    ) -> list[LinkFigures]:
        """Each start link's figures: of all conversations, or of a flow (version, since)."""
        where: list[ColumnElement[bool]] = []
        if flow_id is not None:
            where.append(_CONVERSATION.c.flow_id == flow_id)
        if version is not None:
            where.append(_CONVERSATION.c.flow_version == version)
        if since is not None:
            where.append(_CONVERSATION.c.created_at >= since)
        async with self._sessions() as session:
            return await link_figures(session, and_(true(), *where))
