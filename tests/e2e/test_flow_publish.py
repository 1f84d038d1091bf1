"""A publish or roll-back on the command line reaches two running processes within seconds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.conftest import SHIPPED_FLOWS
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import BotFactory
from tests.helpers.cli import ideabot
from tests.helpers.telegram_webhook import SECRET, text_update
from tests.waiting import eventually

pytestmark = pytest.mark.postgres

OLD_QUESTION = "What problem would it solve for you?"
NEW_QUESTION = "Which problem would this fix for you?"
IDEA = "A dark mode for the mobile app, please, for the evening"
# The promise: every process serves a publish within 5 s (FLOW_REFRESH_SECONDS is 2).
WITHIN_SECONDS = 5.0


class Webhook:
    """Sends Telegram updates to one process's webhook, with update ids that never repeat."""

    def __init__(self, client: httpx.AsyncClient, telegram_api: TelegramBotApiDouble) -> None:
        self.client = client
        self.telegram_api = telegram_api
        self.update_id = 0

    async def say(self, bot: BotProcess, customer: Customer, text: str) -> str:
        """Send ``text`` as ``customer`` and return the bot's newest reply."""
        self.update_id += 1
        before = len(self.telegram_api.messages_to(customer))
        response = await self.client.post(
            f"{bot.url}/telegram/webhook",
            json=text_update(self.update_id, customer, text),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status_code == 200
        sent = await self.telegram_api.wait_for_messages(customer, before + 1)
        return sent[-1].text


def live_at(bot: BotProcess, version: int) -> bool:
    return f"flow 'idea' is live at version {version} now" in bot.log()


async def served_by_both(bots: list[BotProcess], version: int) -> None:
    async def both() -> bool:
        return all(live_at(bot, version) for bot in bots)

    await eventually(both, timeout=WITHIN_SECONDS, what=f"both processes serving version {version}")


async def test_a_publish_reaches_every_process_and_conversations_keep_their_version(
    postgres_url: str, telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, tmp_path: Path
) -> None:
    bots = [bot_factory(postgres_url, TELEGRAM_WEBHOOK_SECRET=SECRET) for _ in range(2)]
    for bot in bots:
        bot.environment["TELEGRAM_WEBHOOK_URL"] = f"{bot.url}/telegram/webhook"
        await bot.start()
    edited = tmp_path / "idea.yaml"
    shipped = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    edited.write_text(shipped.replace(OLD_QUESTION, NEW_QUESTION))
    async with httpx.AsyncClient() as client:
        webhook = Webhook(client, telegram_api)
        kari = Customer(user_id=811)
        await webhook.say(bots[0], kari, "/start")
        assert (await webhook.say(bots[0], kari, IDEA)).endswith(OLD_QUESTION)

        pushed = await asyncio.to_thread(
            ideabot, "flows", "push", str(edited), cwd=tmp_path, DATABASE_URL=postgres_url
        )
        assert pushed.stdout.splitlines() == [
            "flow 'idea' is published as version 2 (was 1)",
            "changes against version 1:",
            "  step 'problem': question reworded (en)",
        ]
        await served_by_both(bots, 2)
        for number, bot in enumerate(bots):
            newcomer = Customer(user_id=820 + number)
            await webhook.say(bot, newcomer, "/start")
            assert (await webhook.say(bot, newcomer, IDEA)).endswith(NEW_QUESTION)
        # Kari, mid-flow, finishes version 1 on the other process
        reply = await webhook.say(bots[1], kari, "My eyes hurt when I read in bed at night")
        assert reply == "How often do you run into this?"

        rolled = await asyncio.to_thread(
            ideabot, "flows", "rollback", "idea", cwd=tmp_path, DATABASE_URL=postgres_url
        )
        assert rolled.returncode == 0, rolled.stderr
        await served_by_both(bots, 1)
        later = Customer(user_id=830)
        await webhook.say(bots[1], later, "/start")
        assert (await webhook.say(bots[1], later, IDEA)).endswith(OLD_QUESTION)
