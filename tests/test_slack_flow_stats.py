"""Flow stats in an admin's Slack DM: typed or clicked, each request gets one chart or sentence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.delivery import charts as chart_drawing
from handlers.flows.funnel import FlowFunnel
from storage.flows.stats import SqlFlowStats
from tests.doubles.slack_api import SlackPerson
from tests.test_slack_flow_admin import ADMIN, Workspace, open_workspace

CUSTOMER = SlackPerson("U0CUS", "Cara Customer")
HUGE = "99999999999999999999"


@pytest.fixture
async def charting(sqlite_url: str) -> AsyncIterator[Workspace]:
    """An admin's workspace whose charts are drawn at delivery, as `ideabot run` draws them."""
    async with open_workspace(
        sqlite_url,
        customers=(CUSTOMER,),
        draws_charts=True,
        outbox_max_attempts=3,
        outbox_backoff_base_seconds=0.05,
    ) as opened:
        yield opened


async def one_customer(workspace: Workspace) -> None:
    """A customer starts the shipped flow, so the live version has a funnel to draw."""
    await workspace.events.direct_message(CUSTOMER, "hello")
    await workspace.reply(CUSTOMER, 1)


@pytest.mark.parametrize("words", [f"--version {HUGE}", f"--compare 1 {HUGE}"])
async def test_stats_with_a_huge_version_number_gets_one_sentence(
    charting: Workspace, words: str
) -> None:
    # Review R1, F1: SQLite overflowed on the number, the event failed three times, no answer.
    await charting.events.command(ADMIN, f"flows stats idea {words}")
    answer = await asyncio.wait_for(charting.reply(ADMIN, 1), 8)
    assert "version number" in answer.text


async def test_one_stats_click_computes_the_funnel_once(
    charting: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review R1, F2: a click read the whole funnel to choose chart or sentence, then to draw.
    await one_customer(charting)
    calls: list[str] = []
    original = SqlFlowStats.flow_funnel

    async def counted(
        self: SqlFlowStats,
        flow_id: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        now: datetime | None = None,
    ) -> FlowFunnel:
        calls.append(flow_id)
        return await original(self, flow_id, version=version, since=since, now=now)

    monkeypatch.setattr(SqlFlowStats, "flow_funnel", counted)
    await charting.events.command(ADMIN, "flows")
    overview = await charting.reply(ADMIN, 1)
    calls.clear()
    await charting.events.click(ADMIN, overview, "Stats")
    await charting.slack_api.wait_until(lambda: len(charting.slack_api.uploads) == 1)
    assert calls == ["idea"], f"one Stats click computed the funnel {len(calls)} times"


async def test_a_chart_that_cannot_be_drawn_is_said_to_the_admin_with_its_figures(
    charting: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review R1, F3: the admin heard nothing while the row was retried, recomputed each time.
    await one_customer(charting)

    def broken(funnels: object) -> bytes:
        raise RuntimeError("matplotlib backend exploded")

    monkeypatch.setattr(chart_drawing, "_drawn", broken)
    await charting.events.command(ADMIN, "flows stats idea")
    answer = await asyncio.wait_for(charting.reply(ADMIN, 1), 8)
    assert "chart" in answer.text.lower()
    assert "flow 'idea' version 1" in answer.text  # the figures, as text
    assert not charting.slack_api.uploads
