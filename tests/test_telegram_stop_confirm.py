"""At a stop, polling confirms the updates it handled, and only those."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from telegram import Bot

from bot.metrics import Metrics
from bot.telegram.channel import TelegramChannel
from handlers.messages import IncomingMessage
from tests.doubles.telegram_bot_api import Customer, FaultPlan, TelegramBotApiDouble


@dataclass
class HeldDialogue:
    """Takes messages, but keeps the first turn going until ``release``d."""

    handled: list[str] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    languages: list[str] = field(default_factory=lambda: ["en"])

    async def handle(self, message: IncomingMessage) -> bool:
        self.started.set()
        await self.release.wait()
        self.handled.append(message.external_id)
        return True


@pytest.fixture
async def telegram_api() -> Any:
    double = TelegramBotApiDouble()
    async with double.running():
        yield double


def polling(api: TelegramBotApiDouble, dialogue: HeldDialogue) -> TelegramChannel:
    bot = Bot(api.token, base_url=f"{api.base_url}/bot", base_file_url=f"{api.base_url}/file/bot")
    return TelegramChannel(
        bot=bot,
        dialogue=dialogue,  # type: ignore[arg-type]
        metrics=Metrics.create(),
        poll_timeout_seconds=1,
        dead_letters=None,  # type: ignore[arg-type]
        events=None,  # type: ignore[arg-type]
    )


async def stopped_mid_batch(
    api: TelegramBotApiDouble, dialogue: HeldDialogue
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Kari's update is being handled when Ola's arrives and the stop comes; then it ends."""
    channel = polling(api, dialogue)
    running = asyncio.create_task(channel.poll())
    handled = await api.send_text(Customer(user_id=11), "/start")
    await asyncio.wait_for(dialogue.started.wait(), 10)
    # Ola writes while the batch is under way: the loop is not polling, so it stays pending.
    late = await api.send_text(Customer(user_id=12), "/start")
    channel.stop()
    dialogue.release.set()
    await asyncio.wait_for(running, 10)
    return handled, late


async def test_the_handled_batch_is_confirmed_and_a_later_update_is_not(
    telegram_api: TelegramBotApiDouble,
) -> None:
    dialogue = HeldDialogue()
    handled, late = await stopped_mid_batch(telegram_api, dialogue)
    assert dialogue.handled == [f"{handled['update_id']}:message:11:1"]
    confirming = telegram_api.calls[-1]
    assert confirming.method == "getUpdates"
    assert int(confirming.params["offset"]) == handled["update_id"] + 1
    assert (int(confirming.params["limit"]), int(confirming.params["timeout"])) == (1, 0)
    # It returned Ola's update, which must not count as handled: Telegram keeps it.
    assert late["update_id"] in telegram_api.handed_out
    assert [update["update_id"] for update in telegram_api.pending_updates] == [late["update_id"]]


async def test_a_telegram_it_cannot_reach_at_the_stop_is_a_warning(
    telegram_api: TelegramBotApiDouble, caplog: pytest.LogCaptureFixture
) -> None:
    dialogue = HeldDialogue()
    channel = polling(telegram_api, dialogue)
    running = asyncio.create_task(channel.poll())
    await telegram_api.send_text(Customer(user_id=11), "/start")
    await asyncio.wait_for(dialogue.started.wait(), 10)
    telegram_api.faults = FaultPlan(
        seed=1, server_error_rate=1.0, methods=frozenset({"getUpdates"})
    )
    channel.stop()
    with caplog.at_level(logging.WARNING, logger="bot.telegram.channel"):
        dialogue.release.set()
        await asyncio.wait_for(running, 10)
    assert telegram_api.injected["getUpdates"] == 1
    assert "could not confirm the handled Telegram updates at the stop" in caplog.text
