"""SIGTERM and SIGINT stop ``ideabot run`` cleanly: sends under way finish and are recorded once."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import BotFactory
from tests.helpers.restart import EXPECTED, IDEA, PROBLEM
from tests.helpers.telegram_webhook import SECRET, text_update
from tests.waiting import eventually

# The stop under test is bounded by SHUTDOWN_TIMEOUT_SECONDS; this is the slack on top of it
# for a Python process to tear down, on a busy machine.
EXIT_MARGIN_SECONDS = 4.0
SHUTDOWN_TIMEOUT = 3.0


async def answered_the_idea(
    telegram_api: TelegramBotApiDouble, bot: BotProcess, who: Customer
) -> None:
    """``who`` starts and gives an idea; the bot has asked for the problem."""
    await bot.start()
    await telegram_api.send_text(who, "/start")
    await telegram_api.send_text(who, IDEA)
    await telegram_api.wait_for_messages(who, 2)


async def reply_in_flight(telegram_api: TelegramBotApiDouble, who: Customer) -> None:
    """``who`` answers; the bot's next question is sent, and the double holds its answer."""
    telegram_api.hold_sends()
    await telegram_api.send_text(who, PROBLEM)
    await telegram_api.wait_until(lambda: telegram_api.held_sends == 1)


async def stopping(bot: BotProcess) -> None:
    """Wait until the bot says it has begun to stop (it got the signal)."""

    async def said_so() -> bool:
        assert bot.process is not None
        if bot.process.returncode is not None:
            raise AssertionError(f"ideabot exited at once ({bot.process.returncode})")
        return "ideabot is stopping" in bot.log()

    await eventually(said_so, what="ideabot logging that it is stopping")


def times_sent(telegram_api: TelegramBotApiDouble, who: Customer, text: str) -> int:
    return sum(message.text == text for message in telegram_api.messages_to(who))


async def exit_code_within(bot: BotProcess, seconds: float) -> int:
    try:
        return await asyncio.wait_for(bot.wait_exit(), seconds)
    except TimeoutError:
        raise AssertionError(f"ideabot did not exit within {seconds} s:\n{bot.log()}") from None


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
async def test_a_send_in_flight_at_the_signal_is_sent_once(
    telegram_api: TelegramBotApiDouble,
    database_url: str,  # before bot_factory: the bots stop before the database is dropped
    bot_factory: BotFactory,
    stop_signal: signal.Signals,
) -> None:
    ola = Customer(user_id=611)
    bot = bot_factory(database_url, SHUTDOWN_TIMEOUT_SECONDS=str(SHUTDOWN_TIMEOUT))
    await answered_the_idea(telegram_api, bot, ola)
    await reply_in_flight(telegram_api, ola)
    assert bot.process is not None
    bot.process.send_signal(stop_signal)
    await stopping(bot)
    # Telegram accepts the reply only now, while the bot is stopping.
    telegram_api.release_sends()
    assert await exit_code_within(bot, SHUTDOWN_TIMEOUT + EXIT_MARGIN_SECONDS) == 0
    assert "ideabot stopped" in bot.log()
    assert times_sent(telegram_api, ola, EXPECTED[2]) == 1

    restarted = bot_factory(database_url)
    await restarted.start()
    # The conversation goes on at the next step; the question is not asked again.
    await telegram_api.press(ola, telegram_api.messages_to(ola)[-1], "Every week")
    importance = (await telegram_api.wait_for_messages(ola, 4))[-1]
    assert importance.text == EXPECTED[3]
    assert times_sent(telegram_api, ola, EXPECTED[2]) == 1
    assert len(telegram_api.messages_to(ola)) == 4


async def sessions_waiting_for_a_lock(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        waiting = await connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(waiting.scalar_one())


@pytest.mark.postgres
async def test_a_stop_during_a_batch_confirms_it_and_nothing_after_it(
    telegram_api: TelegramBotApiDouble,
    postgres_url: str,  # before bot_factory: the bots stop before the database is dropped
    bot_factory: BotFactory,
) -> None:
    ada, bo = Customer(user_id=615), Customer(user_id=616)
    bot = bot_factory(postgres_url, SHUTDOWN_TIMEOUT_SECONDS="20")
    await answered_the_idea(telegram_api, bot, ada)
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as holder:
            # Holding Ada's customer row keeps her next turn, and so the batch, under way.
            await holder.execute(
                text("SELECT id FROM customer WHERE platform_user_id = '615' FOR UPDATE")
            )
            await telegram_api.send_text(ada, PROBLEM)

            async def turn_waits() -> bool:
                return await sessions_waiting_for_a_lock(engine) > 0

            await eventually(turn_waits, what="Ada's turn waiting for her customer row")
            assert bot.process is not None
            bot.process.send_signal(signal.SIGTERM)
            await stopping(bot)
            # Bo writes while ideabot stops: it fetches no more, so his update stays pending.
            late = await telegram_api.send_text(bo, "/start")
            await holder.rollback()
        assert await exit_code_within(bot, 20 + EXIT_MARGIN_SECONDS) == 0
    finally:
        await engine.dispose()
    # The batch handled during the stop is confirmed; Bo's update is not.
    assert [update["update_id"] for update in telegram_api.pending_updates] == [late["update_id"]]

    restarted = bot_factory(postgres_url)
    await restarted.start()
    (welcome,) = await telegram_api.wait_for_messages(bo, 1)
    assert welcome.text.endswith(EXPECTED[0])
    await telegram_api.wait_for_messages(ada, 3)
    assert times_sent(telegram_api, ada, EXPECTED[2]) == 1
    assert "skipped a redelivered" not in restarted.log()


async def test_a_stop_with_nothing_under_way_does_not_wait_for_the_long_poll(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    # A long poll of 30 s is under way when the signal comes; it is dropped, not waited for.
    bot = bot_factory(TELEGRAM_POLL_TIMEOUT_SECONDS="30", SHUTDOWN_TIMEOUT_SECONDS="20")
    await answered_the_idea(telegram_api, bot, Customer(user_id=612))
    await telegram_api.wait_until(lambda: telegram_api.polls_waiting == 1)
    assert bot.process is not None
    bot.process.send_signal(signal.SIGTERM)
    assert await exit_code_within(bot, EXIT_MARGIN_SECONDS) == 0
    assert "ideabot stopped" in bot.log()


async def test_a_send_that_hangs_is_abandoned_at_the_bound_and_sent_after_the_restart(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    per = Customer(user_id=613)
    bot = bot_factory(SHUTDOWN_TIMEOUT_SECONDS=str(SHUTDOWN_TIMEOUT))
    await answered_the_idea(telegram_api, bot, per)
    await reply_in_flight(telegram_api, per)
    assert bot.process is not None
    bot.process.send_signal(signal.SIGTERM)
    # The double never answers: the bound ends the stop.
    assert await exit_code_within(bot, SHUTDOWN_TIMEOUT + EXIT_MARGIN_SECONDS) == 1
    assert "abandoned: delivery (1 send(s) under way)" in bot.log()
    assert "ideabot stopped" in bot.log()
    # The held request never reached the customer (the connection is gone).
    telegram_api.release_sends(drop_held=True)

    restarted = bot_factory()
    await restarted.start()
    await telegram_api.wait_for_messages(per, 3)
    assert times_sent(telegram_api, per, EXPECTED[2]) == 1


async def test_a_second_signal_stops_at_once(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    siri = Customer(user_id=614)
    bot = bot_factory(SHUTDOWN_TIMEOUT_SECONDS="60")
    await answered_the_idea(telegram_api, bot, siri)
    await reply_in_flight(telegram_api, siri)
    assert bot.process is not None
    bot.process.send_signal(signal.SIGINT)
    await stopping(bot)
    bot.process.send_signal(signal.SIGINT)
    assert await exit_code_within(bot, EXIT_MARGIN_SECONDS) == 1
    assert "abandoned: delivery (1 send(s) under way)" in bot.log()
    telegram_api.release_sends(drop_held=True)


async def test_webhook_mode_stops_cleanly_and_leaves_the_webhook_registered(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    bot = bot_factory(TELEGRAM_WEBHOOK_SECRET=SECRET)
    bot.environment["TELEGRAM_WEBHOOK_URL"] = f"{bot.url}/telegram/webhook"
    await bot.start()
    await telegram_api.wait_until(lambda: bool(telegram_api.webhook))
    una = Customer(user_id=615)
    telegram_api.hold_sends()
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{bot.url}/telegram/webhook",
            json=text_update(1, una, "/start"),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    assert answer.status_code == 200
    await telegram_api.wait_until(lambda: telegram_api.held_sends == 1)
    assert bot.process is not None
    bot.process.send_signal(signal.SIGTERM)
    await stopping(bot)
    telegram_api.release_sends()
    assert await exit_code_within(bot, EXIT_MARGIN_SECONDS) == 0
    assert "ideabot stopped" in bot.log()
    assert len(telegram_api.messages_to(una)) == 1
    # Telegram keeps pushing to it (and retries while nobody answers) until the restart.
    assert telegram_api.webhook["url"] == bot.environment["TELEGRAM_WEBHOOK_URL"]
