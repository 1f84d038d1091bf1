"""kill -9 at any moment, then a restart: the customer goes on, nothing lost, nothing twice."""

from __future__ import annotations

from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess, outbox_settled
from tests.e2e.conftest import BotFactory
from tests.helpers.restart import EXPECTED, IDEA, PROBLEM


def last_lines(telegram_api: TelegramBotApiDouble, customer: Customer) -> list[str]:
    """The question each message ends with (or starts with, for the last one)."""
    lines = []
    for message in telegram_api.messages_to(customer):
        paragraphs = message.text.split("\n\n")
        lines.append(paragraphs[0] if "Thank you" in message.text else paragraphs[-1])
    return lines


async def running_after_the_idea(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str, who: Customer
) -> BotProcess:
    """A bot to which ``who`` has given an idea, with every reply so far recorded as sent."""
    bot = bot_factory()
    await bot.start()
    await telegram_api.send_text(who, "/start")
    await telegram_api.send_text(who, IDEA)
    await telegram_api.wait_for_messages(who, 2)
    # Between two messages: everything sent is recorded as sent. (Killed in the instant
    # after Telegram accepted a message and before that was recorded, the message would
    # be sent again: the Bot API has no idempotency key. See docs/architecture.md.)
    await outbox_settled(sqlite_url)
    return bot


async def killed_and_restarted(
    bot: BotProcess, bot_factory: BotFactory, telegram_api: TelegramBotApiDouble
) -> BotProcess:
    """kill -9 ``bot`` (sends it had under way never arrive), then start a new process."""
    bot.kill_hard()
    await bot.wait_exit()
    telegram_api.release_sends(drop_held=True)
    restarted = bot_factory()
    await restarted.start()
    return restarted


async def test_killed_between_messages_resumes_at_the_same_step(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    kari = Customer(user_id=601)
    first = await running_after_the_idea(telegram_api, bot_factory, sqlite_url, kari)
    first.kill_hard()
    await first.wait_exit()
    # The customer writes while the bot is down; Telegram keeps the update.
    await telegram_api.send_text(kari, PROBLEM)
    second = bot_factory()
    await second.start()
    frequency = (await telegram_api.wait_for_messages(kari, 3))[-1]
    await telegram_api.press(kari, frequency, "Every week")
    importance = (await telegram_api.wait_for_messages(kari, 4))[-1]
    await telegram_api.press(kari, importance, "3")
    contact = (await telegram_api.wait_for_messages(kari, 5))[-1]
    await telegram_api.press(kari, contact, "No")
    await telegram_api.wait_for_messages(kari, 6)
    assert last_lines(telegram_api, kari) == EXPECTED


async def test_killed_after_commit_before_send_sends_once_after_restart(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    ola = Customer(user_id=602)
    first = await running_after_the_idea(telegram_api, bot_factory, sqlite_url, ola)
    telegram_api.hold_sends()
    await telegram_api.send_text(ola, PROBLEM)
    # The bot stored the answer and its reply, and is sending the reply right now.
    await telegram_api.wait_until(lambda: telegram_api.held_sends == 1)
    await killed_and_restarted(first, bot_factory, telegram_api)
    frequency = (await telegram_api.wait_for_messages(ola, 3))[-1]
    assert frequency.text == EXPECTED[2]
    await telegram_api.send_text(ola, "/help")
    await telegram_api.wait_for_messages(ola, 4)
    assert last_lines(telegram_api, ola)[:3] == EXPECTED[:3]
    assert len(telegram_api.messages_to(ola)) == 4


async def test_killed_right_after_fetching_an_update_handles_it_once(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    first = bot_factory()
    await first.start()
    liv = Customer(user_id=603)
    await telegram_api.send_text(liv, "/start")
    await telegram_api.wait_for_messages(liv, 1)
    await outbox_settled(sqlite_url)
    telegram_api.hold_sends()
    update = await telegram_api.send_text(liv, IDEA)
    await telegram_api.wait_until(lambda: update["update_id"] in telegram_api.handed_out)
    # Killed somewhere between fetching the update and sending the reply: either the
    # transaction committed (the outbox has the reply) or not (Telegram redelivers).
    await killed_and_restarted(first, bot_factory, telegram_api)
    await telegram_api.wait_for_messages(liv, 2)
    await telegram_api.send_text(liv, PROBLEM)
    await telegram_api.wait_for_messages(liv, 3)
    assert last_lines(telegram_api, liv) == EXPECTED[:3]
