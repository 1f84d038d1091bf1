"""Issue 13: the monthly report in Slack: due on its day and hour, posted once across processes
and restarts, nothing for an empty month, and its charts drawn when their rows are sent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import open_database
from bot.delivery.report_charts import ReportCharts
from bot.settings import Settings
from handlers.flows.loader import LoadedFlow
from handlers.ideas.report import (
    REPORT_CHART_PLATFORM,
    Chart,
    ChartRequest,
    Frequency,
    Month,
    ReportDesk,
    ReportError,
    ReportSchedule,
)
from handlers.staff.room import StaffRoom
from storage.dialogue.store import SqlDialogueStore
from storage.outbox.deliveries import PostToRoom
from storage.report_queries import SqlReportSource
from storage.tables import OutboxRow, ScheduledRunRow, table_of
from tests.helpers.dialogue import CountingSignal
from tests.helpers.report_seed import seed_october

Sessions = async_sessionmaker[AsyncSession]
ROOM = StaffRoom(platform="slack", chat_id="C0REPORT")
# November the 2nd at 09:00 in Oslo: the report of October is due.
DUE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SCHEDULE = ReportSchedule(day=2, hour=9, timezone="Europe/Oslo")


def report_desk(sessions: Sessions, schedule: ReportSchedule = SCHEDULE) -> ReportDesk:
    return ReportDesk(
        store=SqlDialogueStore(sessions),
        source=SqlReportSource(sessions),
        room=ROOM,
        schedule=schedule,
        outbox_signal=CountingSignal(),
    )


async def room_rows(sessions: Sessions) -> list[PostToRoom]:
    outbox = table_of(OutboxRow)
    async with sessions() as session:
        rows = await session.execute(
            select(outbox.c.chat_id, outbox.c.payload).order_by(outbox.c.id)
        )
        return [
            PostToRoom.model_validate(payload)
            for chat_id, payload in rows
            if chat_id == ROOM.chat_id
        ]


async def runs(sessions: Sessions) -> list[tuple[str, str]]:
    run = table_of(ScheduledRunRow)
    async with sessions() as session:
        return [
            (job, period) for job, period in await session.execute(select(run.c.job, run.c.period))
        ]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 2, 7, 59, tzinfo=UTC), False),  # 08:59 in Oslo
        (DUE, True),
        (datetime(2026, 11, 29, tzinfo=UTC), True),  # late, but October is still the last month
    ],
)
def test_the_report_is_due_from_its_day_and_hour(now: datetime, expected: bool) -> None:
    month, due = SCHEDULE.due(now)
    assert month == Month(2026, 10)
    assert (now >= due) is expected


async def test_two_processes_post_once_and_a_restart_posts_nothing_again(
    sessions: Sessions, database_url: str, shipped_flows: list[LoadedFlow]
) -> None:
    # Each "process" has its own engine and connections on the one database.
    settings = Settings(_env_file=None, database_url=database_url)
    async with open_database(settings) as first, open_database(settings) as second:
        await seed_october(first, shipped_flows)
        early = await report_desk(first).tick(datetime(2026, 11, 2, 7, tzinfo=UTC))
        posted = await asyncio.gather(report_desk(first).tick(DUE), report_desk(second).tick(DUE))
        assert early is False
        assert sorted(posted) == [False, True]
        rows = await room_rows(first)
        assert [ChartRequest.of(row.attachment).chart for row in rows] == list(Chart)
    async with open_database(settings) as restarted:
        assert await report_desk(restarted).tick(DUE) is False
        assert await report_desk(restarted).tick(datetime(2026, 11, 20, tzinfo=UTC)) is False
        assert len(await room_rows(restarted)) == len(Chart)
        assert await runs(restarted) == [("report", "2026-10")]


async def test_an_empty_month_claims_its_run_and_posts_nothing(sqlite_sessions: Sessions) -> None:
    desk = report_desk(sqlite_sessions)
    assert await desk.tick(DUE) is False
    assert await room_rows(sqlite_sessions) == []
    assert await runs(sqlite_sessions) == [("report", "2026-10")]
    with pytest.raises(ReportError, match="No ideas, conversations or campaigns in October 2026"):
        await desk.post(Month(2026, 10))


async def test_off_posts_nothing(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seed_october(sqlite_sessions, shipped_flows)
    off = ReportSchedule(frequency=Frequency.OFF, day=2, hour=9, timezone="Europe/Oslo")
    assert await report_desk(sqlite_sessions, off).tick(DUE) is False
    assert await runs(sqlite_sessions) == []


async def test_a_posted_chart_is_drawn_with_the_summary_beside_the_first(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seed_october(sqlite_sessions, shipped_flows)
    desk = report_desk(sqlite_sessions)
    await desk.post(Month(2026, 10))
    rows = await room_rows(sqlite_sessions)
    charts = ReportCharts(desk, drawing=asyncio.Lock())
    first = await charts.fetch(rows[0].attachment)
    assert first.data.startswith(b"\x89PNG")
    assert first.figures.splitlines()[:2] == [
        "Report for October 2026",
        "Ideas in: 3 (+2 on September 2026)",
    ]
    later = await charts.fetch(rows[-1].attachment)
    assert later.data.startswith(b"\x89PNG")
    assert later.figures == ""
    assert {row.attachment.platform for row in rows} == {REPORT_CHART_PLATFORM}
