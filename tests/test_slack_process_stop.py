"""The Slack event processor ends when a forced stop cancels it, even as it is woken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.app import open_runtime, slack_client
from bot.settings import Settings
from bot.slack_channel import SlackChannel
from tests.doubles.slack_api import BOT_TOKEN, SIGNING_SECRET, STAFF_CHANNEL, SlackWebApiDouble
from tests.waiting import eventually


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackWebApiDouble]:
    double = SlackWebApiDouble()
    async with double.running():
        yield double


async def test_a_cancel_that_comes_with_a_wake_ends_the_processor(
    slack_api: SlackWebApiDouble, sqlite_url: str
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=sqlite_url,
        slack_bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        slack_signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
        slack_api_base_url=slack_api.base_url,
        slack_staff_channel=STAFF_CHANNEL,
    )
    async with open_runtime(settings, channels={}) as runtime:
        channel = SlackChannel(
            client=slack_client(settings),
            signing_secret=SIGNING_SECRET,
            queue=runtime.events,
            dead_letters=runtime.dead_letters,
            dialogue=runtime.dialogue,
            staff_desk=runtime.staff_desk,
            metrics=runtime.metrics,
            staff_channel=STAFF_CHANNEL,
            admin_user_ids=frozenset(),
        )
        processing = asyncio.create_task(channel.process())

        async def idle() -> bool:
            # Parked on its wake-up event: nothing stored, waiting for the next event.
            return bool(channel._wake._waiters)  # type: ignore[attr-defined]

        await eventually(idle, what="the processor waiting for events")
        # An event is stored just as a forced stop cancels the processor (same loop turn).
        channel._wake.set()
        processing.cancel()
        done, _ = await asyncio.wait([processing], timeout=2.0)
        if not done:
            channel.stop()
            await processing
        assert processing.cancelled(), "the cancel was swallowed: the processor kept running"
