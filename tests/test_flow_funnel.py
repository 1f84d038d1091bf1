"""Where customers stop: the funnel of a seeded flow version, every figure, its table and chart."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flow_chart import funnel_chart_png
from bot.funnel_text import funnel_text
from handlers.flows.funnel import FlowFunnel, StepFigures, step_seconds
from handlers.flows.loader import LoadedFlow
from handlers.flows.versions import UnknownVersion
from storage.flows.library import SqlFlowLibrary
from storage.flows.stats import SqlFlowStats
from storage.tables import ConversationRow, CustomerRow, MessageRow, StaffThreadRow, table_of
from tests.conftest import SHIPPED_FLOWS
from tests.helpers.cli import ideabot
from tests.helpers.dialogue import make_customer

Sessions = async_sessionmaker[AsyncSession]
START = datetime(2026, 11, 1, 9, tzinfo=UTC)
NOW = START + timedelta(days=10)
ANSWERS = {
    "idea": "A dark mode for the mobile app, please, for the evening",
    "idea.more": "Black background, grey text",
    "problem": "Too bright at night",
    "frequency": "daily",
    "importance": 5,
    "contact": True,
    "email": "kari@example.com",
}
# Each conversation: status, the step it stands at, last activity, staff thread, answers
# (step, seconds after the start, value if not the usual one).
SEEDED: list[tuple[str, str, timedelta, bool, list[tuple[str, int, Any]]]] = [
    ("finished", "end", timedelta(days=9), False, [
        ("idea", 60, None), ("idea.more", 120, None), ("problem", 180, None),
        ("frequency", 240, "daily"), ("importance", 300, 5), ("contact", 360, True),
        ("email", 420, None),
    ]),
    ("with_staff", "end", timedelta(days=9), True, [
        ("idea", 30, None), ("problem", 130, None), ("frequency", 190, "weekly"),
        ("importance", 250, 4), ("contact", 310, False),
    ]),
    ("cancelled", "problem", timedelta(days=9), False, [("idea", 90, None)]),
    ("abandoned", "frequency", timedelta(days=5), False, [
        ("idea", 40, None), ("problem", 100, None),
    ]),
    # silent for four days, past the flow's 72 hours: left, although not put away yet
    ("active", "importance", timedelta(days=4), False, [
        ("idea", 50, None), ("problem", 200, None), ("frequency", 260, "daily"),
    ]),
    ("active", "idea", timedelta(hours=1), False, []),  # under way
]  # fmt: skip


async def seed(sessions: Sessions, flows: list[LoadedFlow]) -> None:
    """The conversations above, one customer each, plus one of a version that is not counted."""
    await SqlFlowLibrary(sessions).import_files(flows, actor="file")
    async with sessions() as session, session.begin():
        for number, (status, step, quiet, handed, answered) in enumerate(SEEDED, start=1):
            await _conversation(session, number, status, step, NOW - quiet, handed, answered)
        await _conversation(session, 99, "finished", "end", NOW, False, [("idea", 5, None)], 2)


async def _conversation(
    session: AsyncSession,
    number: int,
    status: str,
    step: str,
    last_activity: datetime,
    handed: bool,
    answered: list[tuple[str, int, Any]],
    version: int = 1,
) -> None:
    started = START + timedelta(minutes=number)
    await session.execute(
        insert(table_of(CustomerRow)).values(
            id=number, platform="telegram", platform_user_id=str(number), chat_id=str(number),
            language="en", created_at=started, updated_at=started,
        )
    )  # fmt: skip
    answers = {key: ANSWERS[key] if value is None else value for key, _, value in answered}
    await session.execute(
        insert(table_of(ConversationRow)).values(
            id=number, customer_id=number, platform="telegram", chat_id=str(number),
            flow_id="idea", flow_version=version, step=step, status=status,
            state={"step": step, "answers": answers}, created_at=started,
            updated_at=last_activity,
        )
    )  # fmt: skip
    rows: list[dict[str, Any]] = [{"direction": "in", "text": "/start", "at": 0}]
    for key, seconds, _ in answered:
        rows.append({"direction": "out", "text": "a question", "at": seconds - 10})
        rows.append({"direction": "in", "text": str(answers[key]), "answered": key, "at": seconds})
    if answered:  # an edit later answers the first step again: its first answer counts
        rows.append({"direction": "in", "text": "typo fixed", "answered": "idea", "at": 9_000})
    for row in rows:
        await session.execute(
            insert(table_of(MessageRow)).values(
                conversation_id=number, customer_id=number, direction=row["direction"],
                text=row["text"], answered=row.get("answered"), attachments=[],
                created_at=started + timedelta(seconds=row["at"]),
            )
        )  # fmt: skip
    if handed:
        await session.execute(
            insert(table_of(StaffThreadRow)).values(
                conversation_id=number, room_platform="slack", room_chat_id="C0STAFF", card={},
                created_at=last_activity, updated_at=last_activity,
            )
        )  # fmt: skip


def _step(funnel: FlowFunnel, step_id: str) -> StepFigures:
    (step,) = [step for step in funnel.steps if step.step_id == step_id]
    return step


async def test_the_funnel_of_a_seeded_version_gives_every_known_figure(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seed(sessions, shipped_flows)
    funnel = await SqlFlowStats(sessions).flow_funnel("idea", now=NOW)
    assert (funnel.flow_id, funnel.version, funnel.since) == ("idea", 1, None)
    assert (funnel.started, funnel.finished, funnel.handed_to_staff) == (6, 2, 1)
    assert (funnel.in_progress, funnel.left) == (1, 3)
    assert [
        (step.step_id, step.kind, step.reached, step.answered, step.left, step.median_seconds)
        for step in funnel.steps
    ] == [
        # the idea's follow-up belongs to it: 120 s for the first customer, not 60
        ("idea", "text", 6, 5, 0, 50.0),
        ("problem", "text", 5, 4, 1, 80.0),
        ("frequency", "choice", 4, 3, 1, 60.0),
        ("importance", "rating", 3, 2, 1, 60.0),
        ("contact", "yes_no", 2, 2, 0, 60.0),
        ("email", "email", 1, 1, 0, 60.0),
    ]
    assert _step(funnel, "frequency").answers == (
        ("Every day", 2),
        ("Every week", 1),
        ("Every month", 0),
        ("Now and then", 0),
    )
    assert _step(funnel, "importance").answers == (("1", 0), ("2", 0), ("3", 0), ("4", 1), ("5", 1))
    assert _step(funnel, "contact").answers == (("yes", 1), ("no", 1))
    assert _step(funnel, "idea").answers == ()
    assert _step(funnel, "problem").question == "What problem would it solve for you?"
    assert funnel.most_left == _step(funnel, "problem")
    assert funnel.finish_share == pytest.approx(2 / 6)


async def test_since_and_versions_choose_the_conversations(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seed(sqlite_sessions, shipped_flows)
    stats = SqlFlowStats(sqlite_sessions)
    later = await stats.flow_funnel("idea", since=START + timedelta(minutes=5), now=NOW)
    assert (later.started, later.in_progress, later.finished, later.left) == (2, 1, 0, 1)
    with pytest.raises(UnknownVersion):
        await stats.flow_funnel("idea", version=2, now=NOW)


async def test_a_conversation_through_the_dialogue_counts_where_it_stopped(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    kari = await make_customer(sqlite_sessions, shipped_flows)
    await kari.say("/start")
    await kari.say("A dark mode for the mobile app, please, for the evening")
    await kari.say("/cancel")
    funnel = await SqlFlowStats(sqlite_sessions).flow_funnel("idea")
    assert (funnel.started, funnel.finished, funnel.in_progress) == (1, 0, 0)
    idea, problem = funnel.steps[:2]
    assert (idea.reached, idea.answered, idea.left) == (1, 1, 0)
    assert (idea.median_seconds or -1) >= 0
    assert (problem.reached, problem.answered, problem.left) == (1, 0, 1)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, chunk = struct.unpack(">I4s", png[8:16])
    assert (length, chunk) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def test_the_table_and_the_chart(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seed(sqlite_sessions, shipped_flows)
    funnel = await SqlFlowStats(sqlite_sessions).flow_funnel("idea", now=NOW)
    lines = funnel_text(funnel).splitlines()
    assert lines[0] == (
        "flow 'idea' version 1: 6 started, 2 finished (33%), 3 left, 1 in progress, "
        "1 handed to staff"
    )
    assert lines[3].split() == ["2.", "problem", "What", "problem", "would", "it", "solve",
                                "for…", "5", "4", "1", "1m", "20s"]  # fmt: skip
    assert "answers to frequency: Every day 2, Every week 1, Every month 0, Now and then 0" in lines
    one = funnel_chart_png([funnel])
    width, height = _png_size(one)
    assert 400 <= width <= 1000
    assert 300 <= height <= 800
    assert 10_000 < len(one) < 500_000
    two_width, two_height = _png_size(funnel_chart_png([funnel, funnel]))
    assert (two_width, two_height) == (2 * width, height)


def test_flows_stats_on_the_command_line(tmp_path: Path) -> None:
    assert ideabot("migrate", cwd=tmp_path).returncode == 0
    unknown = ideabot("flows", "stats", "idea", cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "ideabot: there is no flow 'idea' (`ideabot flows list` shows them)"
    )
    pushed = ideabot("flows", "push", str(SHIPPED_FLOWS / "idea.yaml"), cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    chart = tmp_path / "funnel.png"
    shown = ideabot(
        "flows", "stats", "idea", "--compare", "1", "1", "--since", "2026-11-01",
        "--chart", str(chart), cwd=tmp_path,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    tables = shown.stdout.split("\n\n")
    assert len(tables) == 2
    assert tables[0].splitlines()[0] == (
        "flow 'idea' version 1 since 2026-11-01: 0 started, 0 finished (-), 0 left, "
        "0 in progress, 0 handed to staff"
    )
    assert _png_size(chart.read_bytes())[0] > 800
    both = ideabot("flows", "stats", "idea", "--version", "1", "--compare", "1", "1", cwd=tmp_path)
    assert both.returncode == 2
    assert both.stderr.strip() == "ideabot: give either --version or --compare"


def test_a_step_takes_from_the_step_done_before_or_the_start() -> None:
    done = [
        (1, "idea", 120.0), (1, "problem", 180.0),
        (2, "idea", 30.0), (2, "problem", 130.0),
        (3, "idea", 10.0), (3, "problem", 20.0),
    ]  # fmt: skip
    assert step_seconds(done) == {"idea": [120.0, 30.0, 10.0], "problem": [60.0, 100.0, 10.0]}
