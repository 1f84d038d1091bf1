"""Fixtures for end-to-end tests: the Bot API double and the bot process pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.doubles.slack_api import BOT_USER_ID, STAFF_CHANNEL, SlackPerson, SlackWebApiDouble
from tests.doubles.telegram_bot_api import TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramBotApiDouble]:
    double = TelegramBotApiDouble()
    async with double.running():
        yield double


ANNE = SlackPerson("U0ANNE", "Anne Staff")


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackWebApiDouble]:
    """The Slack Web API double, with Anne of the staff (and the app) in the staff channel."""
    double = SlackWebApiDouble()
    double.join(ANNE)
    double.channel_members[STAFF_CHANNEL].insert(0, BOT_USER_ID)
    async with double.running():
        yield double


BotFactory = Callable[..., BotProcess]


@pytest.fixture
def databases_before_bots(request: pytest.FixtureRequest) -> None:
    """Set up the test's databases before its bots, so the bots stop before one is dropped."""
    # Torn down in the reverse order: a bot whose PostgreSQL database was dropped under it
    # spends its whole stop timeout on the lost database.
    for name in ("database_url", "postgres_url"):
        if name in request.fixturenames:
            request.getfixturevalue(name)


@pytest.fixture
async def bot_factory(
    databases_before_bots: None,
    tmp_path: Path,
    telegram_api: TelegramBotApiDouble,
    sqlite_url: str,
) -> AsyncIterator[BotFactory]:
    """Makes bot processes sharing one database, all stopped at the end of the test."""
    started: list[BotProcess] = []

    def make(database_url: str = sqlite_url, **settings: str) -> BotProcess:
        environment = {
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": telegram_api.token,
            "TELEGRAM_API_BASE_URL": telegram_api.base_url,
            "TELEGRAM_POLL_TIMEOUT_SECONDS": "1",
            "TELEGRAM_CHAT_RATE_PER_SECOND": "50",
            "TELEGRAM_CHAT_BURST": "10",
            "OUTBOX_LEASE_SECONDS": "2",
            "OUTBOX_BACKOFF_BASE_SECONDS": "0.05",
            **settings,
        }
        process = BotProcess(environment=environment, log_path=tmp_path / f"bot-{len(started)}.log")
        started.append(process)
        return process

    yield make
    for process in started:
        await process.stop()


@pytest.fixture(autouse=True)
def show_bot_logs_on_failure(tmp_path: Path) -> Iterator[None]:
    """Print the bots' logs after each test; pytest shows them for the tests that failed."""
    yield
    for log in sorted(tmp_path.glob("bot-*.log")):
        print(f"--- {log.name}\n{log.read_text(errors='replace')[-6000:]}")
