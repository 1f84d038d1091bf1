"""The real ``ideabot run`` against the Bot API double, in long-polling mode."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys

import httpx

from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.waiting import eventually


async def export_ideas(database_url: str) -> list[dict[str, object]]:
    """What `ideabot ideas export --format json` prints, parsed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "ideas",
        "export",
        "--format",
        "json",
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0
    ideas: list[dict[str, object]] = json.loads(output)
    return ideas


async def test_whole_flow_with_buttons_and_typed_answers(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    bot = bot_factory()
    await bot.start()
    kari = Customer(user_id=501, first_name="Kari", language_code="nb")
    await telegram_api.send_text(kari, "/start")
    (welcome,) = await telegram_api.wait_for_messages(kari, 1)
    assert welcome.text.startswith("Hei! Vi lager produktet vårt")
    assert welcome.text.endswith("Hva vil du at vi skal forbedre eller lage?")
    await telegram_api.send_text(kari, "Mørk modus")
    more = (await telegram_api.wait_for_messages(kari, 2))[-1]
    assert more.text.startswith("Kan du fortelle litt mer?")
    await telegram_api.send_text(
        kari, "Skjermen er for lys om kvelden når jeg leser <b>nyheter</b> & *annet*"
    )
    problem = (await telegram_api.wait_for_messages(kari, 3))[-1]
    assert problem.text == "Hvilket problem ville det løst for deg?"
    await telegram_api.send_text(kari, "Jeg får vondt i øynene av det lyse lyset")
    frequency = (await telegram_api.wait_for_messages(kari, 4))[-1]
    assert [b["text"] for b in frequency.buttons] == [
        "Hver dag",
        "Hver uke",
        "Hver måned",
        "Av og til",
    ]
    await telegram_api.press(kari, frequency, "Hver dag")
    importance = (await telegram_api.wait_for_messages(kari, 5))[-1]
    # The tapped keyboard is replaced by the choice.
    await telegram_api.wait_until(lambda: len(telegram_api.edits) == 1)
    assert telegram_api.edits[0]["text"].endswith("✔ Hver dag")
    assert "reply_markup" not in telegram_api.edits[0]
    await telegram_api.send_text(kari, "4")  # typing works as well as tapping
    contact = (await telegram_api.wait_for_messages(kari, 6))[-1]
    assert contact.text.startswith("Kan vi kontakte deg")
    await telegram_api.press(kari, contact, "Ja")
    email = (await telegram_api.wait_for_messages(kari, 7))[-1]
    await telegram_api.press(kari, email, "Hopp over")
    done = (await telegram_api.wait_for_messages(kari, 8))[-1]
    assert done.text.startswith("Hoppet over.\n\nTusen takk! Ideen din er registrert.")
    del importance

    (idea,) = await export_ideas(sqlite_url)
    assert idea["title"] == "Mørk modus"
    assert idea["description"] == (
        "Mørk modus\n\nSkjermen er for lys om kvelden når jeg leser <b>nyheter</b> & *annet*"
    )
    assert (idea["frequency"], idea["importance"], idea["may_contact"], idea["email"]) == (
        "daily",
        4,
        True,
        None,
    )
    assert idea["language"] == "nb"
    assert idea["customer"] == {
        "id": 1,
        "platform": "telegram",
        "platform_user_id": "501",
        "name": "Kari",
        "language": "nb",
        "unreachable": False,
    }
    # Every call the bot made was answered without an error.
    assert {call.status for call in telegram_api.calls} == {200}


async def test_redelivered_update_is_handled_once(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    bot = bot_factory()
    await bot.start()
    ola = Customer(user_id=502, first_name="Ola", language_code="en")
    update = await telegram_api.send_text(ola, "/start")
    await telegram_api.wait_for_messages(ola, 1)
    await telegram_api.redeliver(update)
    await telegram_api.send_text(ola, "/help")
    messages = await telegram_api.wait_for_messages(ola, 2)
    # The /help reply came, and the redelivered /start before it had no effect.
    assert messages[1].text.startswith("I collect your ideas")
    assert len(telegram_api.messages_to(ola)) == 2


async def test_rate_limit_is_waited_out(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory
) -> None:
    bot = bot_factory()
    await bot.start()
    per = Customer(user_id=503, first_name="Per")
    telegram_api.rate_limits[per.chat_id] = [1]
    await telegram_api.send_text(per, "/start")
    (welcome,) = await telegram_api.wait_for_messages(per, 1)
    refused = [
        call for call in telegram_api.calls if call.method == "sendMessage" and call.status == 429
    ]
    assert len(refused) == 1
    assert welcome.at - refused[0].at >= 1.0
    await telegram_api.send_text(per, "/help")
    await telegram_api.wait_for_messages(per, 2)
    assert len(telegram_api.messages_to(per)) == 2


async def test_blocked_customer_is_marked_and_not_retried(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    bot = bot_factory()
    await bot.start()
    liv = Customer(user_id=504, first_name="Liv")
    other = Customer(user_id=505, first_name="Nils")
    telegram_api.blocked_chats.add(liv.chat_id)
    await telegram_api.send_text(liv, "/start")
    await telegram_api.send_text(other, "/start")
    await telegram_api.wait_for_messages(other, 1)
    await telegram_api.wait_until(
        lambda: any(c.status == 403 for c in telegram_api.calls if c.method == "sendMessage")
    )

    path = sqlite_url.split("///", 1)[1]

    async def marked() -> bool:
        with sqlite3.connect(path) as connection:
            row = connection.execute(
                "select unreachable from customer where platform_user_id = '504'"
            ).fetchone()
        return bool(row and row[0])

    await eventually(marked, what="marking the customer unreachable")
    # One try only: a block is permanent, so nothing retries it.
    await telegram_api.send_text(other, "/help")
    await telegram_api.wait_for_messages(other, 2)
    blocked_tries = [
        call
        for call in telegram_api.calls
        if call.method == "sendMessage" and int(call.params["chat_id"]) == liv.chat_id
    ]
    assert len(blocked_tries) == 1


async def test_photo_group_chat_health_and_metrics(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    bot = bot_factory()
    await bot.start()
    nina = Customer(user_id=506, first_name="Nina")
    await telegram_api.send_text(nina, "/start")
    await telegram_api.wait_for_messages(nina, 1)
    await telegram_api.send_update(
        {
            "message": {
                "message_id": 9001,
                "from": nina.as_user(),
                "chat": {"id": nina.chat_id, "type": "private"},
                "date": 1_700_000_000,
                "photo": [
                    {"file_id": "photo-small", "file_unique_id": "s", "width": 90, "height": 60},
                    {
                        "file_id": "photo-big",
                        "file_unique_id": "b",
                        "width": 1280,
                        "height": 853,
                        "file_size": 120_000,
                    },
                ],
            }
        }
    )
    kept = (await telegram_api.wait_for_messages(nina, 2))[-1]
    assert kept.text.startswith("Got it, I've added that to your idea.")
    await telegram_api.send_update(
        {
            "message": {
                "message_id": 9002,
                "from": nina.as_user(),
                "chat": {"id": -100123, "type": "group", "title": "Fans"},
                "date": 1_700_000_000,
                "text": "/start@ideabot_test_bot",
                "entities": [{"offset": 0, "length": 23, "type": "bot_command"}],
            }
        }
    )
    await telegram_api.wait_until(lambda: bool(telegram_api.sent_by_chat.get(-100123)))
    assert telegram_api.sent_by_chat[-100123][0].text.startswith("Hi! I only talk in private")

    async with httpx.AsyncClient() as client:
        health = await client.get(f"{bot.url}/healthz")
        metrics = await client.get(f"{bot.url}/metrics")
    assert health.json() == {"status": "ok"}
    assert 'ideabot_messages_received_total{platform="telegram"} 3.0' in metrics.text
    assert 'ideabot_outbox_sent_total{platform="telegram"}' in metrics.text
    # Message bodies stay out of the log at INFO.
    assert "Got it" not in bot.log()
    assert telegram_api.token not in bot.log()
