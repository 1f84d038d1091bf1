"""Two ``ideabot run`` processes on one PostgreSQL: one conversation, served by both."""

from __future__ import annotations

import httpx
import pytest

from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.e2e.test_telegram_webhook import SECRET, text_update

pytestmark = pytest.mark.postgres


async def test_two_processes_share_the_conversation_and_send_each_reply_once(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, postgres_url: str
) -> None:
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
