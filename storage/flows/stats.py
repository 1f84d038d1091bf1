"""What a flow version's funnel shows, counted in SQL: where conversations stand, answers, times.

Everything is read from the stored conversations and transcripts, grouped by the database:
a few rows per flow step reach Python, however many conversations there are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.engine import FOLLOW_UP_SUFFIX, AnswerValue
from handlers.flows.funnel import (
    COUNTED_KINDS,
    FlowFunnel,
    Standing,
    draft_time,
    flow_funnel,
    step_seconds,
)
from handlers.ports import Direction
from storage.epoch import EpochSeconds
from storage.flows.queries import read_stored
from storage.tables import ConversationRow, FlowLiveRow, MessageRow, StaffThreadRow, table_of
from storage.types import utc_now

_CONVERSATION = table_of(ConversationRow)
_MESSAGE = table_of(MessageRow)
_THREAD = table_of(StaffThreadRow)
_LIVE = table_of(FlowLiveRow)


def chosen(flow_id: str, version: int, since: datetime | None) -> ColumnElement[bool]:
    """The conversations of one flow version, started since ``since`` if given."""
    where = and_(_CONVERSATION.c.flow_id == flow_id, _CONVERSATION.c.flow_version == version)
    return where if since is None else and_(where, _CONVERSATION.c.created_at >= since)


async def standings(session: AsyncSession, where: Any, *, silent_since: datetime) -> list[Standing]:
    """The chosen conversations grouped by where they stand (a few rows per step)."""
    answered_here = exists().where(
        _MESSAGE.c.conversation_id == _CONVERSATION.c.id,
        _MESSAGE.c.direction == Direction.INBOUND.value,
        _MESSAGE.c.answered.in_([_CONVERSATION.c.step, _CONVERSATION.c.step + FOLLOW_UP_SUFFIX]),
    )
    each = (
        select(
            _CONVERSATION.c.step,
            _CONVERSATION.c.status,
            (_CONVERSATION.c.updated_at <= silent_since).label("silent"),
            answered_here.label("answered_here"),
            _THREAD.c.conversation_id.label("thread"),
        )
        .outerjoin(_THREAD, _THREAD.c.conversation_id == _CONVERSATION.c.id)
        .where(where)
        .subquery()
    )
    # Grouped outside: PostgreSQL does not group by a subquery that reads the row.
    rows = await session.execute(
        select(
            each.c.step,
            each.c.status,
            each.c.silent,
            each.c.answered_here,
            func.count(),
            func.count(each.c.thread),
        ).group_by(each.c.step, each.c.status, each.c.silent, each.c.answered_here)
    )
    return [
        Standing(
            step=step,
            status=status,
            silent=bool(silent),
            answered_here=bool(answered_here),
            conversations=conversations,
            handed_to_staff=handed,
        )
        for step, status, silent, answered_here, conversations, handed in rows.all()
    ]


async def steps_done(session: AsyncSession, where: Any) -> list[tuple[int, str, float]]:
    """When each chosen conversation was done with each step, each conversation's in order.

    As (conversation, step, seconds after the conversation started), ordered by conversation,
    then time, then step (so a tie of times always gives the same order), for
    ``handlers.flows.funnel.step_seconds``. A step is done at its first answer, or at its
    follow-up's first answer if that came later.
    """
    answered = _MESSAGE.c.answered
    firsts = (
        select(
            _MESSAGE.c.conversation_id,
            # A follow-up (``<step>.more``) belongs to its step; step ids hold no dot.
            case(
                (
                    answered.like(f"%{FOLLOW_UP_SUFFIX}"),
                    func.substr(answered, 1, func.length(answered) - len(FOLLOW_UP_SUFFIX)),
                ),
                else_=answered,
            ).label("step"),
            (
                func.min(EpochSeconds(_MESSAGE.c.created_at))
                - func.max(EpochSeconds(_CONVERSATION.c.created_at))
            ).label("after"),
        )
        .join(_CONVERSATION, _CONVERSATION.c.id == _MESSAGE.c.conversation_id)
        .where(where)
        .where(_MESSAGE.c.direction == Direction.INBOUND.value)
        .where(answered.is_not(None))
        .group_by(_MESSAGE.c.conversation_id, answered)
        .subquery()
    )
    done = (
        select(firsts.c.conversation_id, firsts.c.step, func.max(firsts.c.after).label("at"))
        .group_by(firsts.c.conversation_id, firsts.c.step)
        .subquery()
    )
    ordered = select(done).order_by(done.c.conversation_id, done.c.at, done.c.step).subquery()
    # Three long strings instead of a row per answer: building 400,000 result rows would
    # take longer than all the counting. Step ids hold no comma (flows/schema: a-z, 0-9, _).
    conversations, steps, times = (
        await session.execute(
            select(
                func.aggregate_strings(cast(ordered.c.conversation_id, String), ","),
                func.aggregate_strings(ordered.c.step, ","),
                func.aggregate_strings(cast(ordered.c.at, String), ","),
            )
        )
    ).one()
    if conversations is None:
        return []
    return list(
        zip(
            map(int, conversations.split(",")),
            steps.split(","),
            map(float, times.split(",")),
            strict=True,
        )
    )


# Steps whose answers are counted in one read of the states: each state's JSON is parsed
# once for all of them, and the combinations of their answers stay few.
_ANSWERS_AT_ONCE = 3


async def answer_counts(
    session: AsyncSession, where: Any, steps: list[str]
) -> dict[str, dict[AnswerValue, int]]:
    """How often each answer was given to each of ``steps``, read from the stored states."""
    counts: dict[str, dict[AnswerValue, int]] = {step_id: {} for step_id in steps}
    for first in range(0, len(steps), _ANSWERS_AT_ONCE):
        chosen_steps = steps[first : first + _ANSWERS_AT_ONCE]
        values = [_CONVERSATION.c.state[("answers", step_id)] for step_id in chosen_steps]
        rows = await session.execute(select(*values, func.count()).where(where).group_by(*values))
        for *given, count in rows.all():
            for step_id, value in zip(chosen_steps, given, strict=True):
                step_counts = counts[step_id]
                step_counts[value] = step_counts.get(value, 0) + count
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
            silent_since = draft_time(definition, now or utc_now())
            standing = await standings(session, where, silent_since=silent_since)
            done = await steps_done(session, where)
            counted = [step.id for step in definition.steps if step.kind in COUNTED_KINDS]
            answers = await answer_counts(session, where, counted)
        return flow_funnel(
            definition,
            standing,
            step_seconds=step_seconds(done),
            answers=answers,
            since=since,
        )

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
