"""The funnel as it was first counted, one conversation at a time in Python: the figures to keep.

storage/flows/stats.py counts in SQL for speed; tests/test_flow_funnel_equivalence.py checks
that it gives exactly these figures. Slow on purpose: it reads every answer of every
conversation and sorts each conversation's answer times itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.engine import FOLLOW_UP_SUFFIX, AnswerValue
from handlers.flows.funnel import COUNTED_KINDS, FlowFunnel, StepFigures, answer_label, answer_order
from handlers.flows.schema import END, FlowDefinition, Step
from handlers.ports import ConversationStatus, Direction
from storage.epoch import EpochSeconds
from storage.flows.queries import read_stored
from storage.tables import ConversationRow, MessageRow, StaffThreadRow, table_of

_CONVERSATION = table_of(ConversationRow)
_MESSAGE = table_of(MessageRow)
_THREAD = table_of(StaffThreadRow)
_GAVE_UP = (ConversationStatus.CANCELLED.value, ConversationStatus.ABANDONED.value)


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """One stored conversation as the funnel reads it."""

    status: str
    step: str
    started_at: float
    last_activity: float
    handed_to_staff: bool = False
    answered_at: Mapping[str, float] = field(default_factory=dict)


def _chosen(flow_id: str, version: int, since: datetime | None) -> ColumnElement[bool]:
    where = and_(_CONVERSATION.c.flow_id == flow_id, _CONVERSATION.c.flow_version == version)
    return where if since is None else and_(where, _CONVERSATION.c.created_at >= since)


async def _answer_times(session: AsyncSession, where: Any) -> dict[int, dict[str, float]]:
    rows = await session.execute(
        select(_MESSAGE.c.conversation_id, _MESSAGE.c.answered, EpochSeconds(_MESSAGE.c.created_at))
        .join(_CONVERSATION, _CONVERSATION.c.id == _MESSAGE.c.conversation_id)
        .where(where)
        .where(_MESSAGE.c.direction == Direction.INBOUND.value)
        .where(_MESSAGE.c.answered.is_not(None))
        .order_by(_MESSAGE.c.id)
    )
    times: dict[int, dict[str, float]] = {}
    for conversation_id, step_id, at in rows.all():
        steps = times.setdefault(conversation_id, {})
        if at < steps.get(step_id, at + 1):
            steps[step_id] = at
    return times


async def _conversation_facts(session: AsyncSession, where: Any) -> list[ConversationFacts]:
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


async def _answer_counts(
    session: AsyncSession, where: Any, steps: list[str]
) -> dict[str, dict[AnswerValue, int]]:
    counts: dict[str, dict[AnswerValue, int]] = {}
    for step_id in steps:
        value = _CONVERSATION.c.state[("answers", step_id)]
        rows = await session.execute(select(value, func.count()).where(where).group_by(value))
        counts[step_id] = {given: count for given, count in rows.all()}
    return counts


def _gave_up(facts: ConversationFacts, *, silent_before: float) -> bool:
    if facts.step == END:
        return False
    if facts.status in _GAVE_UP:
        return True
    return facts.status == ConversationStatus.ACTIVE.value and facts.last_activity <= silent_before


def _step_times(facts: ConversationFacts) -> dict[str, float]:
    finished: dict[str, float] = {}
    for answered, at in facts.answered_at.items():
        if answered.endswith(FOLLOW_UP_SUFFIX):
            answered = answered.removesuffix(FOLLOW_UP_SUFFIX)
            at = max(at, finished.get(answered, at))
        elif answered in finished:
            at = max(at, finished[answered])
        finished[answered] = at
    times: dict[str, float] = {}
    previous = facts.started_at
    for step_id, at in sorted(finished.items(), key=lambda item: item[1]):
        times[step_id] = at - previous
        previous = at
    return times


@dataclass
class _Tally:
    values: dict[str, Counter[str]]
    reached: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, list[float]] = field(default_factory=dict)


def _funnel(
    flow: FlowDefinition,
    conversations: list[ConversationFacts],
    *,
    answers: Mapping[str, Mapping[AnswerValue, int]],
    now: datetime,
    since: datetime | None,
) -> FlowFunnel:
    silent_before = (now - timedelta(hours=flow.reminder.draft_after_hours)).timestamp()
    language = flow.default_language
    labelled: dict[str, Counter[str]] = {}
    for step in flow.steps:
        if step.kind in COUNTED_KINDS:
            given = labelled[step.id] = Counter()
            for value, count in answers.get(step.id, {}).items():
                if value is not None:
                    given[answer_label(step, value, language)] += count
    tally = _Tally(values=labelled)
    started = finished = handed = in_progress = 0
    for facts in conversations:
        started += 1
        handed += facts.handed_to_staff
        if facts.step == END:
            finished += 1
        elif _gave_up(facts, silent_before=silent_before):
            tally.left[facts.step] += 1
        elif facts.status == ConversationStatus.ACTIVE.value:
            in_progress += 1
        times = _step_times(facts)
        tally.answered.update(times.keys())
        tally.reached.update(times.keys())
        if facts.step not in times:
            tally.reached[facts.step] += 1
        for step_id, seconds in times.items():
            tally.seconds.setdefault(step_id, []).append(seconds)
    return FlowFunnel(
        flow_id=flow.id,
        version=flow.version,
        since=since,
        started=started,
        finished=finished,
        handed_to_staff=handed,
        in_progress=in_progress,
        steps=tuple(_figures(step, tally, language) for step in flow.steps),
    )


def _figures(step: Step, tally: _Tally, language: str) -> StepFigures:
    seconds = tally.seconds.get(step.id)
    answers: tuple[tuple[str, int], ...] = ()
    if step.kind in COUNTED_KINDS:
        given = tally.values[step.id]
        answers = tuple((label, given[label]) for label in answer_order(step, language))
    return StepFigures(
        step_id=step.id,
        question=step.question.get(language, step.id),
        kind=step.kind.value,
        reached=tally.reached[step.id],
        answered=tally.answered[step.id],
        left=tally.left[step.id],
        median_seconds=round(median(seconds), 3) if seconds else None,
        answers=answers,
    )


async def reference_funnel(
    sessions: async_sessionmaker[AsyncSession],
    flow_id: str,
    *,
    version: int,
    since: datetime | None,
    now: datetime,
) -> FlowFunnel:
    """The funnel of a stored flow version, counted the first, slow way."""
    async with sessions() as session:
        definition = (await read_stored(session, flow_id, version)).definition
        where = _chosen(flow_id, version, since)
        facts = await _conversation_facts(session, where)
        counted = [step.id for step in definition.steps if step.kind in COUNTED_KINDS]
        answers = await _answer_counts(session, where, counted)
    return _funnel(definition, facts, answers=answers, now=now, since=since)
