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
# Anyone can follow a link with a label of their own: the links most followed get a line each,
# the rest one line together.
LINKS_SHOWN = 20
_FIGURES = ("started", "finished", "ideas")


async def link_figures(
    session: AsyncSession, where: ColumnElement[bool], *, shown: int = LINKS_SHOWN
) -> list[LinkFigures]:
    """The ``shown`` links most followed, in link order, then the rest summed in one line."""
    recorded = _IDEA.c.status != IdeaStatus.DRAFT.value
    per_link = (
        select(
            _CONVERSATION.c.start_link.label("payload"),
            func.count(distinct(_CONVERSATION.c.id)).label("started"),
            func.count(distinct(_CONVERSATION.c.id))
            .filter(_CONVERSATION.c.status.in_(_FINISHED))
            .label("finished"),
            func.count(distinct(_IDEA.c.id)).filter(recorded).label("ideas"),
        )
        .outerjoin(_IDEA, _IDEA.c.conversation_id == _CONVERSATION.c.id)
        .where(_CONVERSATION.c.start_link.is_not(None))
        .group_by(_CONVERSATION.c.start_link)
        .where(where)
        .subquery()
    )
    most_followed = (
        select(per_link).order_by(per_link.c.started.desc(), per_link.c.payload).limit(shown)
    )
    links = sorted(
        (LinkFigures(*row) for row in await session.execute(most_followed)),
        key=lambda link: link.payload,
    )
    counted = [func.coalesce(func.sum(per_link.c[name]), 0) for name in _FIGURES]
    total = (await session.execute(select(func.count(), *counted).select_from(per_link))).one()
    if total[0] <= len(links):
        return links
    started, finished, ideas = (
        int(whole) - sum(getattr(link, name) for link in links)
        for whole, name in zip(total[1:], _FIGURES, strict=True)
    )
    others = LinkFigures.others(
        total[0] - len(links), started=started, finished=finished, ideas=ideas
    )
    return [*links, others]


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
