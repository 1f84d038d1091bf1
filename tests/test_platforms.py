"""Each platform brings its own services and HTTP routes, as its settings ask."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import open_runtime, slack_client, telegram_bot
from bot.http.server import build_http_app
from bot.platform import Platform
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.platform import slack_platform
from bot.telegram.platform import telegram_platform
from handlers.ideas.status import StatusLabels
from tests.doubles.slack_api import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.helpers.telegram_webhook import SECRET

TELEGRAM_TOKEN = "123456:a-token-for-no-telegram"


@pytest.fixture
async def runtime(sqlite_url: str) -> AsyncIterator[Runtime]:
    async with open_runtime(
        Settings(_env_file=None, database_url=sqlite_url), channels={}
    ) as ready:
        yield ready


def service_names(platform: Platform) -> list[str]:
    return [service.name for service in platform.services]


async def answer(platform: Platform, runtime: Runtime, path: str) -> int:
    """The status the one HTTP app, built from ``platform``'s routes, gives an unsigned POST."""
    app = build_http_app(metrics=runtime.metrics, routes=platform.routes)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ideabot") as client:
        return (await client.post(path, content=b"{}")).status_code


async def test_telegram_polls_without_a_webhook_and_serves_no_route(runtime: Runtime) -> None:
    settings = Settings(_env_file=None, telegram_bot_token=TELEGRAM_TOKEN)
    platform = telegram_platform(settings=settings, runtime=runtime, bot=telegram_bot(settings))
    assert (platform.name, platform.mode) == ("Telegram", "long polling")
    assert service_names(platform) == ["telegram-retried-updates", "telegram-polling"]
    assert dict(platform.routes) == {}


async def test_telegram_in_webhook_mode_serves_its_webhook(runtime: Runtime) -> None:
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_url="https://ideabot.example.org/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    platform = telegram_platform(settings=settings, runtime=runtime, bot=telegram_bot(settings))
    assert (platform.name, platform.mode) == ("Telegram", "webhook")
    assert service_names(platform) == ["telegram-retried-updates", "telegram-webhook"]
    # Without the secret header: the webhook's own answer, not the app's 404.
    assert await answer(platform, runtime, "/telegram/webhook") == 403


async def test_slack_over_http_serves_signed_events(runtime: Runtime) -> None:
    settings = Settings(
        _env_file=None, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET
    )
    platform = slack_platform(
        settings=settings,
        runtime=runtime,
        client=slack_client(settings),
        labels=StatusLabels.default(),
    )
    assert (platform.name, platform.mode) == ("Slack", "events at /slack/events")
    assert service_names(platform) == ["slack-events"]
    # Unsigned: the signature check's answer, not the app's 404.
    assert await answer(platform, runtime, "/slack/events") == 401


async def test_slack_in_socket_mode_serves_no_route(runtime: Runtime) -> None:
    settings = Settings(_env_file=None, slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN)
    platform = slack_platform(
        settings=settings,
        runtime=runtime,
        client=slack_client(settings),
        labels=StatusLabels.default(),
    )
    assert (platform.name, platform.mode) == ("Slack", "Socket Mode")
    assert service_names(platform) == ["slack-events", "slack-socket-mode"]
    assert dict(platform.routes) == {}


async def test_a_platform_without_a_client_is_off(runtime: Runtime) -> None:
    settings = Settings(_env_file=None)
    telegram = telegram_platform(settings=settings, runtime=runtime, bot=None)
    slack = slack_platform(
        settings=settings, runtime=runtime, client=None, labels=StatusLabels.default()
    )
    assert [(telegram.name, telegram.mode), (slack.name, slack.mode)] == [
        ("Telegram", "off"),
        ("Slack", "off"),
    ]
    assert (telegram.services, slack.services) == ((), ())
