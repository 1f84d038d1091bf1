"""The database goes away and comes back: updates wait, then are handled once, in order."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.conftest import POSTGRES_SERVER
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.helpers.telegram_webhook import SECRET, text_update
from tests.waiting import eventually

pytestmark = pytest.mark.postgres


async def set_database_open(database_url: str, *, open_: bool) -> None:
    """Allow or refuse connections to the test database, and cut the ones it has."""
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_SERVER)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(open_).lower()}')
        if not open_:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
    finally:
        await admin.close()


async def test_webhook_answers_500_while_the_database_is_down_and_handles_the_retry_once(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, postgres_url: str
) -> None:
    bot = bot_factory(postgres_url, TELEGRAM_WEBHOOK_SECRET=SECRET)
    bot.environment["TELEGRAM_WEBHOOK_URL"] = f"{bot.url}/telegram/webhook"
    await bot.start()
    kari = Customer(user_id=901)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with httpx.AsyncClient(timeout=30) as client:
        first = await client.post(
            f"{bot.url}/telegram/webhook", json=text_update(1, kari, "/start"), headers=headers
        )
        assert first.status_code == 200
        await telegram_api.wait_for_messages(kari, 1)
        await set_database_open(postgres_url, open_=False)
        try:
            refused = await client.post(
                f"{bot.url}/telegram/webhook", json=text_update(2, kari, "/help"), headers=headers
            )
            # Telegram keeps an update it got no 200 for, and delivers it again.
            assert refused.status_code == 500
        finally:
            await set_database_open(postgres_url, open_=True)
        again = await client.post(
            f"{bot.url}/telegram/webhook", json=text_update(2, kari, "/help"), headers=headers
        )
        assert again.status_code == 200
    messages = await telegram_api.wait_for_messages(kari, 2)
    assert messages[1].text.startswith("I collect your ideas")
    assert "handling Telegram update 2 failed" in bot.log()
    assert "database unavailable" not in bot.log()  # webhook: Telegram itself retries
    assert "/help" not in bot.log()  # the log names the update, not what the customer wrote


async def test_polling_keeps_an_update_until_the_database_is_back(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, postgres_url: str
) -> None:
    bot = bot_factory(postgres_url)
    await bot.start()
    ola = Customer(user_id=902)
    await telegram_api.send_text(ola, "/start")
    await telegram_api.wait_for_messages(ola, 1)
    await set_database_open(postgres_url, open_=False)
    try:
        await telegram_api.send_text(ola, "A dark mode for the mobile app, please, for the evening")
        await telegram_api.send_text(ola, "/help")

        async def outlasted_the_retry_limit() -> bool:
            # Longer than an update that fails for its own sake is kept (5 tries).
            return bot.log().count("database unavailable while handling") > 6

        await eventually(outlasted_the_retry_limit, timeout=30, what="a long outage")
    finally:
        await set_database_open(postgres_url, open_=True)
    messages = await telegram_api.wait_for_messages(ola, 3, timeout=30)
    # Both updates were handled once, in the order the customer sent them.
    assert messages[1].text == "What problem would it solve for you?"
    assert messages[2].text.startswith("I collect your ideas")
    assert len(telegram_api.messages_to(ola)) == 3
