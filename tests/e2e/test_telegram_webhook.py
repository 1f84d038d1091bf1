"""The real ``ideabot run`` in webhook mode: Telegram pushes updates to POST /telegram/webhook."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.helpers.telegram_webhook import SECRET, text_update


async def test_webhook_registers_checks_the_secret_and_handles_each_update_once(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    bot = bot_factory(TELEGRAM_WEBHOOK_SECRET=SECRET)
    webhook_url = f"{bot.url}/telegram/webhook"
    bot.environment["TELEGRAM_WEBHOOK_URL"] = webhook_url
    await bot.start()
    await telegram_api.wait_until(lambda: bool(telegram_api.webhook))
    assert telegram_api.webhook["url"] == webhook_url
    assert telegram_api.webhook["secret_token"] == SECRET
    assert set(telegram_api.webhook["allowed_updates"]) == {
        "message",
        "edited_message",
        "callback_query",
    }
    assert not any(call.method == "getUpdates" for call in telegram_api.calls)
    assert set(telegram_api.commands) == {"", "en", "nb"}
    assert {"command": "language", "description": "Velg språk"} in telegram_api.commands["nb"]

    kari = Customer(user_id=701, language_code="en")
    async with httpx.AsyncClient() as client:
        wrong = await client.post(
            webhook_url,
            json=text_update(1, kari, "/start"),
            headers={"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"},
        )
        assert wrong.status_code == 403
        missing = await client.post(webhook_url, json=text_update(2, kari, "/start"))
        assert missing.status_code == 403
        for _ in range(2):  # Telegram delivering the same update twice
            right = await client.post(
                webhook_url,
                json=text_update(3, kari, "/start"),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert right.status_code == 200
        junk = await client.post(
            webhook_url,
            content=b"not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert junk.status_code == 400
        await client.post(
            webhook_url,
            json=text_update(4, kari, "/help"),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    messages = await telegram_api.wait_for_messages(kari, 2)
    assert messages[0].text.startswith("Hi! We build our product")
    assert messages[1].text.startswith("I collect your ideas")
    assert len(telegram_api.messages_to(kari)) == 2


def test_webhook_mode_refuses_to_start_without_a_secret(tmp_path: object) -> None:
    token = "999999:do-not-print-this-token"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env={
            **os.environ,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram/webhook",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET is required in webhook mode" in result.stderr
    assert token not in result.stderr + result.stdout


def test_run_without_any_platform_says_what_to_set(tmp_path: object) -> None:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env={**environment, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert result.returncode == 2
    assert "nothing to serve: set TELEGRAM_BOT_TOKEN" in result.stderr
