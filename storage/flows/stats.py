"""Reads what a flow version's funnel counts: its conversations and when each step was answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.engine import AnswerValue
from handlers.flows.funnel import COUNTED_KINDS, ConversationFacts, FlowFunnel, flow_funnel
from handlers.ports import Direction
from storage.epoch import EpochSeconds
from storage.flows.queries import read_stored
from storage.tables import ConversationRow, FlowLiveRow, MessageRow, StaffThreadRow, table_of
from storage.types import utc_now

_CONVERSATION = table_of(ConversationRow)
_MESSAGE = table_of(MessageRow)
_THREAD = table_of(StaffThreadRow)
_LIVE = table_of(FlowLiveRow)


async def _answer_times(session: AsyncSession, where: Any) -> dict[int, dict[str, float]]:
    """Each conversation's answered steps and when each was first answered (epoch seconds)."""
    rows = await session.execute(
        select(_MESSAGE.c.conversation_id, _MESSAGE.c.answered, EpochSeconds(_MESSAGE.c.created_at))
        .join(_CONVERSATION, _CONVERSATION.c.id == _MESSAGE.c.conversation_id)
        .where(where)
        .where(_MESSAGE.c.direction == Direction.INBOUND.value)
        .where(_MESSAGE.c.answered.is_not(None))
    )
    times: dict[int, dict[str, float]] = {}
    # No GROUP BY: the first answer per step is cheaper to keep here than to sort in SQL.
    for conversation_id, step_id, at in rows.all():
        steps = times.setdefault(conversation_id, {})
        if at < steps.get(step_id, at + 1):
            steps[step_id] = at
    return times


def chosen(flow_id: str, version: int, since: datetime | None) -> ColumnElement[bool]:
    """The conversations of one flow version, started since ``since`` if given."""
    where = and_(_CONVERSATION.c.flow_id == flow_id, _CONVERSATION.c.flow_version == version)
    return where if since is None else and_(where, _CONVERSATION.c.created_at >= since)


async def conversation_facts(session: AsyncSession, where: Any) -> list[ConversationFacts]:
    """Every chosen conversation as the funnel reads it."""
    times = await _answer_times(session, where)
    rows = await session.execute(
        select(
            _CONVERSATION.c.id,
            _CONVERSATION.c.status,
            _CONVERSATION.c.step,
            EpochSeconds(_CONVERSATION.c.created_at),
            EpochSeconds(_CONVERSATION.c.updated_at),
            _THREAD.c.conversation_id.is_not(None),
        )
        .outerjoin(_THREAD, _THREAD.c.conversation_id == _CONVERSATION.c.id)
        .where(where)
    )
    return [
        ConversationFacts(
            status=status,
            step=step,
            started_at=started_at,
            last_activity=last_activity,
            handed_to_staff=bool(handed),
            answered_at=times.get(conversation_id, {}),
        )
        for conversation_id, status, step, started_at, last_activity, handed in rows.all()
    ]


async def answer_counts(
    session: AsyncSession, where: Any, steps: list[str]
) -> dict[str, dict[AnswerValue, int]]:
    """How often each answer was given to each of ``steps``, read from the stored states."""
    counts: dict[str, dict[AnswerValue, int]] = {}
    for step_id in steps:
        value = _CONVERSATION.c.state[("answers", step_id)]
        rows = await session.execute(select(value, func.count()).where(where).group_by(value))
        counts[step_id] = {given: count for given, count in rows.all()}
    return counts


class SqlFlowStats:
    """The funnels of stored flow versions, read in one short session each."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def flow_funnel(
        self,
        flow_id: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        now: datetime | None = None,
    ) -> FlowFunnel:
        """The funnel of a flow version (the live one when ``version`` is None).

        Raises UnknownFlow or UnknownVersion (FlowLibraryError) for a name or number not stored.
        """
        async with self._sessions() as session:
            stored = await read_stored(session, flow_id, version)
            definition = stored.definition
            where = chosen(flow_id, definition.version, since)
            facts = await conversation_facts(session, where)
            counted = [step.id for step in definition.steps if step.kind in COUNTED_KINDS]
            answers = await answer_counts(session, where, counted)
        return flow_funnel(definition, facts, answers=answers, now=now or utc_now(), since=since)

    async def live_funnels(self, *, since: datetime | None, now: datetime) -> list[FlowFunnel]:
        """The funnel of every live flow, by name."""
        async with self._sessions() as session:
            flows = await _live_flows(session)
        return [
            await self.flow_funnel(flow_id, version=version, since=since, now=now)
            for flow_id, version in flows
        ]


async def _live_flows(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(select(_LIVE.c.flow_id, _LIVE.c.version).order_by(_LIVE.c.flow_id))
    return [(flow_id, version) for flow_id, version in rows]
