"""A real ideabot process with Slack staff: its settings, events, cards."""

from __future__ import annotations

import sqlite3

from tests.doubles.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    STAFF_CHANNEL,
    Posted,
    SlackEvents,
    SlackWebApiDouble,
)
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import BotFactory


def slack_settings(slack_api: SlackWebApiDouble) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_BASE_URL": slack_api.base_url,
        "SLACK_STAFF_CHANNEL": STAFF_CHANNEL,
        "SLACK_CHANNEL_RATE_PER_SECOND": "50",
        "SLACK_CHANNEL_BURST": "10",
    }


async def start_bot(bot_factory: BotFactory, slack_api: SlackWebApiDouble) -> BotProcess:
    bot = bot_factory(**slack_settings(slack_api))
    await bot.start()
    return bot


def events_to(bot: BotProcess) -> SlackEvents:
    return SlackEvents(url=f"{bot.url}/slack/events")


async def finish_flow_on_telegram(telegram_api: TelegramBotApiDouble, customer: Customer) -> None:
    """Give an idea through the whole shipped flow, the short way."""
    await telegram_api.send_text(customer, "/start")
    await telegram_api.wait_for_messages(customer, 1)
    await telegram_api.send_text(
        customer, "A dark mode for the app, because the white screen hurts at night"
    )
    await telegram_api.wait_for_messages(customer, 2)
    await telegram_api.send_text(customer, "My eyes hurt in bed")
    frequency = (await telegram_api.wait_for_messages(customer, 3))[-1]
    await telegram_api.press(customer, frequency, "Every day")
    importance = (await telegram_api.wait_for_messages(customer, 4))[-1]
    await telegram_api.press(customer, importance, "5")
    contact = (await telegram_api.wait_for_messages(customer, 5))[-1]
    await telegram_api.press(customer, contact, "No")
    await telegram_api.wait_for_messages(customer, 6)


async def wait_for_card(slack_api: SlackWebApiDouble, count: int = 1) -> Posted:
    await slack_api.wait_until(lambda: len(slack_api.cards()) >= count)
    return slack_api.cards()[count - 1]


async def hand_off(
    telegram_api: TelegramBotApiDouble, slack_api: SlackWebApiDouble, customer: Customer
) -> Posted:
    """The customer asks for a person on Telegram; the card the staff channel gets for it."""
    await telegram_api.send_text(customer, "/human")
    return await wait_for_card(slack_api, len(slack_api.cards()) + 1)


def events_settled(sqlite_url: str) -> bool:
    path = sqlite_url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        (waiting,) = connection.execute(
            "select count(*) from platform_event where state = 'pending'"
        ).fetchone()
    return bool(waiting == 0)
