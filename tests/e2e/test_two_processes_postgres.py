"""Two ``ideabot run`` processes on one PostgreSQL: one conversation, served by both."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.doubles.slack_api import SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import ANNE, BotFactory
from tests.helpers.slack_staff import events_to, hand_off, slack_settings
from tests.helpers.telegram_webhook import SECRET, text_update

pytestmark = pytest.mark.postgres


async def test_two_processes_share_the_conversation_and_send_each_reply_once(
    postgres_url: str, telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    # The database is asked for first, so it is dropped only after the bots have stopped.
    bots = [bot_factory(postgres_url, TELEGRAM_WEBHOOK_SECRET=SECRET) for _ in range(2)]
    for bot in bots:
        bot.environment["TELEGRAM_WEBHOOK_URL"] = f"{bot.url}/telegram/webhook"
        await bot.start()
    kari = Customer(user_id=801)
    answers = [
        "/start",
        "A dark mode for the mobile app, please, for the evening",
        "My eyes hurt when I read in bed at night",
        "2",
        "5",
        "no",
    ]
    async with httpx.AsyncClient() as client:
        for number, answer in enumerate(answers, start=1):
            # Alternate processes, as a load balancer would; a redelivery goes to the other.
            for bot in (bots[number % 2], bots[(number + 1) % 2]):
                response = await client.post(
                    f"{bot.url}/telegram/webhook",
                    json=text_update(number, kari, answer),
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                )
                assert response.status_code == 200
            await telegram_api.wait_for_messages(kari, number)
    texts = [message.text for message in telegram_api.messages_to(kari)]
    assert len(texts) == len(answers)
    assert texts[1].endswith("What problem would it solve for you?")
    assert texts[2] == "How often do you run into this?"
    assert texts[-1].startswith("Thank you! Your idea is recorded.")


async def test_two_processes_relay_staff_replies_once_each_and_in_order(
    postgres_url: str,
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    bots = [bot_factory(postgres_url, **slack_settings(slack_api)) for _ in range(2)]
    # Only one process may poll Telegram; the other serves Slack events (and delivers).
    bots[1].environment["TELEGRAM_BOT_TOKEN"] = ""
    for bot in bots:
        await bot.start()
    siv = Customer(user_id=802, first_name="Siv")
    card = await hand_off(telegram_api, slack_api, siv)
    replies = [f"reply {number}" for number in range(1, 7)]
    slack = events_to(bots[0])  # one sender, so event ids and timestamps are unique
    for number, reply in enumerate(replies):
        # Slack may send any event to any process, and retry it at the other one.
        first, second = bots[number % 2], bots[(number + 1) % 2]
        slack.url = f"{first.url}/slack/events"
        response, envelope = await slack.staff_reply(ANNE, card.ts, reply)
        assert response.status_code == 200
        slack.url = f"{second.url}/slack/events"
        retried = await slack.post(
            json.dumps(envelope), content_type="application/json", retry_num=1
        )
        assert retried.status_code == 200
    await telegram_api.wait_for_messages(siv, 1 + len(replies))
    await slack_api.wait_until(lambda: len(slack_api.reactions) == len(replies))
    texts = [message.text for message in telegram_api.messages_to(siv)][1:]
    assert texts == [f"{reply}\n\n— Anne Staff" for reply in replies]
