"""The Slack event processor ends when a forced stop cancels it, even as it is woken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.app import open_runtime, slack_client
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.channel import SlackChannel
from tests.doubles.slack_api import BOT_TOKEN, SIGNING_SECRET, STAFF_CHANNEL, SlackWebApiDouble
from tests.waiting import eventually


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackWebApiDouble]:
    double = SlackWebApiDouble()
    async with double.running():
        yield double


def slack_settings(slack_api: SlackWebApiDouble, sqlite_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=sqlite_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_base_url=slack_api.base_url,
        slack_staff_channel=STAFF_CHANNEL,
    )


def slack_channel(settings: Settings, runtime: Runtime) -> SlackChannel:
    return SlackChannel(
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


async def test_a_cancel_that_comes_with_a_wake_ends_the_processor(
    slack_api: SlackWebApiDouble, sqlite_url: str
) -> None:
    settings = slack_settings(slack_api, sqlite_url)
    async with open_runtime(settings, channels={}) as runtime:
        channel = slack_channel(settings, runtime)
        processing = asyncio.create_task(channel.process())

        async def idle() -> bool:
            # Parked on its wake-up event: nothing stored, waiting for the next event.
            return bool(channel._wake._waiters)

        await eventually(idle, what="the processor waiting for events")
        # An event is stored just as a forced stop cancels the processor (same loop turn).
        channel._wake.set()
        processing.cancel()
        done, _ = await asyncio.wait([processing], timeout=2.0)
        if not done:
            channel.stop()
            await processing
        assert processing.cancelled(), "the cancel was swallowed: the processor kept running"


async def test_a_stop_ends_the_wait_for_slack_at_once(
    slack_api: SlackWebApiDouble, sqlite_url: str
) -> None:
    settings = slack_settings(slack_api, sqlite_url)
    slack_api.down = True  # auth.test fails, so the processor waits to retry (1 s, 2 s, ...)
    async with open_runtime(settings, channels={}) as runtime:
        channel = slack_channel(settings, runtime)
        processing = asyncio.create_task(channel.process())

        async def tried_twice() -> bool:
            return sum(call.method == "auth.test" for call in slack_api.calls) >= 2

        await eventually(tried_twice, what="auth.test tried again after its backoff")
        channel.stop()
        # Well within the next backoff (2 s, then 4 s): the stop does not wait it out.
        done, _ = await asyncio.wait([processing], timeout=0.5)
        assert done, "the processor went on waiting for Slack after the stop"
