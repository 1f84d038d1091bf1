"""``ideabot run`` at start: a rejected token stops it in one line; what is down is waited for."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.doubles.slack_api import SlackWebApiDouble
from tests.doubles.telegram_bot_api import TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess, free_port
from tests.waiting import eventually

WRONG_TOKEN = "123456:WRONG-token-nobody-issued"


def started(environment: dict[str, str], tmp_path: Path) -> BotProcess:
    """A bot process (not started yet) writing its output to bot-0.log."""
    return BotProcess(environment=environment, log_path=tmp_path / "bot-0.log")


async def spawn(bot: BotProcess) -> None:
    """Start the process without waiting for /healthz: it may not be meant to answer."""
    log = bot.log_path.open("ab")
    bot.process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=bot.environment,
        stdout=log,
        stderr=log,
        stdin=asyncio.subprocess.DEVNULL,
    )
    log.close()


async def test_a_rejected_token_stops_the_start_in_one_line(
    telegram_api: TelegramBotApiDouble, tmp_path: Path, sqlite_url: str
) -> None:
    bot = started(
        {
            "DATABASE_URL": sqlite_url,
            "TELEGRAM_BOT_TOKEN": WRONG_TOKEN,
            "TELEGRAM_API_BASE_URL": telegram_api.base_url,
        },
        tmp_path,
    )
    await spawn(bot)
    assert await asyncio.wait_for(bot.wait_exit(), 60) == 2
    assert bot.log().splitlines() == [
        "ideabot: TELEGRAM_BOT_TOKEN was rejected by Telegram: copy it again from @BotFather"
    ]


async def test_telegram_unreachable_at_start_is_waited_for(tmp_path: Path, sqlite_url: str) -> None:
    double = TelegramBotApiDouble(port=free_port())  # not listening yet
    bot = started(
        {
            "DATABASE_URL": sqlite_url,
            "TELEGRAM_BOT_TOKEN": double.token,
            "TELEGRAM_API_BASE_URL": double.base_url,
            "TELEGRAM_POLL_TIMEOUT_SECONDS": "1",
        },
        tmp_path,
    )
    await spawn(bot)
    try:

        async def retried_twice() -> bool:
            return bot.log().count("trying again in") >= 2

        await eventually(retried_twice, timeout=30, what="two retries in the log")
        assert f"Telegram cannot be reached at {double.base_url} (All connection attempts " in (
            bot.log()
        )
        assert "trying again in 1 s" in bot.log()
        assert "trying again in 2 s" in bot.log()
        assert "ideabot is running" not in bot.log()
        async with double.running(), httpx.AsyncClient(timeout=1) as client:

            async def serving() -> bool:
                try:
                    answer = await client.get(f"{bot.url}/healthz")
                except httpx.HTTPError:
                    return False
                return answer.status_code == 200 and "ideabot is running" in bot.log()

            await eventually(serving, timeout=30, what="ideabot serving once Telegram answers")
            await double.wait_until(
                lambda: any(call.method == "getUpdates" for call in double.calls), timeout=30
            )
    finally:
        await bot.stop()
    assert double.token not in bot.log()
    assert "Traceback" not in bot.log()


async def test_a_database_refusing_connections_at_start_is_waited_for(
    telegram_api: TelegramBotApiDouble, tmp_path: Path
) -> None:
    port = free_port()
    bot = started(
        {
            "DATABASE_URL": f"postgresql://ideabot:pw@127.0.0.1:{port}/ideabot",
            "TELEGRAM_BOT_TOKEN": telegram_api.token,
            "TELEGRAM_API_BASE_URL": telegram_api.base_url,
        },
        tmp_path,
    )
    await spawn(bot)
    try:

        async def retried_twice() -> bool:
            return bot.log().count("trying again in") >= 2

        await eventually(retried_twice, timeout=30, what="two retries in the log")
    finally:
        exit_code = await bot.stop()
    assert (
        f"database: cannot connect to 127.0.0.1:{port} (connection refused): is PostgreSQL "
        "running?; trying again in 1 s"
    ) in bot.log()
    # A stop while the start waits is a clean stop, as systemd or Ctrl-C expect.
    assert exit_code == 0
    assert "ideabot is stopping (SIGTERM) before it started" in bot.log()
    assert bot.log().rstrip().endswith("ideabot stopped")
    assert "Traceback" not in bot.log()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_while_telegram_is_waited_for_at_start_is_clean(
    stop_signal: signal.Signals, tmp_path: Path, sqlite_url: str
) -> None:
    double = TelegramBotApiDouble(port=free_port())  # never listening
    bot = started(
        {
            "DATABASE_URL": sqlite_url,
            "TELEGRAM_BOT_TOKEN": double.token,
            "TELEGRAM_API_BASE_URL": double.base_url,
        },
        tmp_path,
    )
    await spawn(bot)
    try:

        async def retried() -> bool:
            return "trying again in" in bot.log()

        await eventually(retried, timeout=30, what="a retry in the log")
        assert bot.process is not None
        # What systemctl stop or docker stop sends, or Ctrl-C, before ideabot is running.
        bot.process.send_signal(stop_signal)
        exit_code = await asyncio.wait_for(bot.wait_exit(), 15)
    finally:
        await bot.stop()
    assert exit_code == 0
    assert f"ideabot is stopping ({stop_signal.name}) before it started" in bot.log()
    assert bot.log().rstrip().endswith("ideabot stopped")
    assert "Traceback" not in bot.log()


async def test_a_rejected_slack_token_stops_the_start_in_one_line(
    slack_api: SlackWebApiDouble, tmp_path: Path, sqlite_url: str
) -> None:
    token = "xoxb-a-token-slack-never-issued"
    bot = started(
        {
            "DATABASE_URL": sqlite_url,
            "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": "a-signing-secret-for-the-test",
            "SLACK_API_BASE_URL": slack_api.base_url,
        },
        tmp_path,
    )
    await spawn(bot)
    assert await asyncio.wait_for(bot.wait_exit(), 60) == 2
    assert bot.log().splitlines() == [
        "ideabot: SLACK_BOT_TOKEN was rejected by Slack (invalid_auth): copy the Bot User OAuth "
        "Token again from the app's OAuth & Permissions page"
    ]
