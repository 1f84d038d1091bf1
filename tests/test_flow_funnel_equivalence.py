"""The funnel counted in SQL gives exactly the figures of the first, one-by-one count (issue 10)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.loader import LoadedFlow
from storage.flows.library import SqlFlowLibrary
from storage.flows.stats import SqlFlowStats
from storage.tables import ConversationRow, CustomerRow, MessageRow, StaffThreadRow, table_of
from tests.helpers.reference_funnel import reference_funnel

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
STEPS = ["idea", "problem", "frequency", "importance", "contact", "email"]
WITH_FOLLOW_UP = {"idea", "problem"}
VALUES: dict[str, list[Any]] = {
    "idea": ["A dark mode", "Export to CSV, please"],
    "problem": ["Too bright", "Copying by hand"],
    "frequency": ["daily", "weekly", "monthly", "rarely"],
    "importance": [1, 2, 3, 4, 5],
    "contact": [True, False],
    "email": ["kari@example.com"],
}


def _conversation(number: int, rng: random.Random) -> dict[str, Any]:
    """A random conversation: how far it got, follow-ups, edits, how it stands, a staff card."""
    started = NOW - timedelta(days=20) + timedelta(seconds=rng.randint(0, 19 * 86_400))
    moment = started
    messages: list[tuple[str, datetime]] = []
    answers: dict[str, Any] = {}
    reached = rng.randint(0, len(STEPS))
    waiting_on_follow_up = False
    for index, step_id in enumerate(STEPS[:reached]):
        moment += timedelta(microseconds=rng.randint(1_000_000, 900_000_000))
        messages.append((step_id, moment))
        answers[step_id] = rng.choice(VALUES[step_id])
        if step_id in WITH_FOLLOW_UP and rng.random() < 0.4:
            if index == reached - 1 and rng.random() < 0.5:
                waiting_on_follow_up = True  # the follow-up is asked, not answered yet
                break
            moment += timedelta(microseconds=rng.randint(1_000_000, 300_000_000))
            messages.append((f"{step_id}.more", moment))
            answers[f"{step_id}.more"] = "more words"
    if messages and rng.random() < 0.3:  # an edit answers an earlier step again, later
        edited, _ = rng.choice(messages)
        moment += timedelta(microseconds=rng.randint(1_000_000, 60_000_000))
        messages.append((edited, moment))
    if reached == len(STEPS) and not waiting_on_follow_up:
        step, status = "end", rng.choice(["finished", "with_staff"])
    else:
        step = STEPS[reached - 1] if waiting_on_follow_up else STEPS[reached]
        status = rng.choice(["active", "active", "active", "cancelled", "abandoned"])
    # Quiet for minutes or for days: past the flow's 72 hours, an active one counts as left.
    last_activity = min(NOW, moment + timedelta(hours=rng.choice([0.1, 2, 30, 80, 200])))
    return {
        "number": number,
        "started": started,
        "last_activity": last_activity,
        "step": step,
        "status": status,
        "answers": answers,
        "messages": messages,
        "handed": rng.random() < 0.3,
        "version": 1 if rng.random() < 0.9 else 2,
    }


async def _seed(sessions: Sessions, flows: list[LoadedFlow], count: int) -> None:
    await SqlFlowLibrary(sessions).import_files(flows, actor="file")
    rng = random.Random(10)
    conversations = [_conversation(number, rng) for number in range(1, count + 1)]
    customers, rows, messages, threads = [], [], [], []
    for one in conversations:
        number, started = one["number"], one["started"]
        customers.append(
            {"id": number, "platform": "telegram", "platform_user_id": str(number),
             "chat_id": str(number), "language": "en", "created_at": started,
             "updated_at": started}
        )  # fmt: skip
        rows.append(
            {"id": number, "customer_id": number, "platform": "telegram", "chat_id": str(number),
             "flow_id": "idea", "flow_version": one["version"], "step": one["step"],
             "status": one["status"], "state": {"step": one["step"], "answers": one["answers"]},
             "created_at": started, "updated_at": one["last_activity"]}
        )  # fmt: skip
        messages.append(_message(number, "in", "/start", None, started))
        for answered, at in one["messages"]:
            messages.append(_message(number, "out", "a question", None, at - timedelta(seconds=1)))
            messages.append(_message(number, "in", "an answer", answered, at))
        if one["handed"]:
            threads.append(
                {"conversation_id": number, "room_platform": "slack", "room_chat_id": "C0STAFF",
                 "card": {}, "created_at": started, "updated_at": started}
            )  # fmt: skip
    async with sessions() as session, session.begin():
        await session.execute(insert(table_of(CustomerRow)), customers)
        await session.execute(insert(table_of(ConversationRow)), rows)
        await session.execute(insert(table_of(MessageRow)), messages)
        await session.execute(insert(table_of(StaffThreadRow)), threads)


def _message(
    number: int, direction: str, text: str, answered: str | None, at: datetime
) -> dict[str, Any]:
    return {
        "conversation_id": number,
        "customer_id": number,
        "direction": direction,
        "text": text,
        "answered": answered,
        "attachments": [],
        "created_at": at,
    }


async def test_the_sql_count_gives_the_figures_of_the_one_by_one_count(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await _seed(sessions, shipped_flows, 600)
    stats = SqlFlowStats(sessions)
    for since in (None, NOW - timedelta(days=8)):
        counted = await stats.flow_funnel("idea", since=since, now=NOW)
        expected = await reference_funnel(sessions, "idea", version=1, since=since, now=NOW)
        assert counted == expected
    # The seed reaches every case the count distinguishes.
    assert 0 < counted.finished < counted.started
    assert counted.in_progress
    assert counted.handed_to_staff
    assert all(step.left and step.answered < step.reached for step in counted.steps)
    assert all(step.median_seconds for step in counted.steps)
