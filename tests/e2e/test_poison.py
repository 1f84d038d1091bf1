"""One bad update or event is put aside (dead letters); everyone else is still served."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx
from sqlalchemy import text

from storage.database import create_engine, create_sessions
from storage.dead_letters import SqlDeadLetters
from tests.doubles.slack_api import SlackPerson, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.helpers.slack_staff import events_to, start_bot
from tests.helpers.telegram_webhook import SECRET, text_update
from tests.waiting import eventually

SECRET_WORDS = "turquoise-elephant-idea"


async def query(database_url: str, statement: str) -> list[Any]:
    """Rows of ``statement`` on the bot's database (SQLite or PostgreSQL)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(text(statement)))
    finally:
        await engine.dispose()


async def dead_letters(database_url: str) -> list[tuple[str, str, str]]:
    rows = await query(
        database_url, "SELECT platform, external_id, reason FROM dead_letter ORDER BY id"
    )
    return [
        (str(platform), str(external_id), str(reason)) for platform, external_id, reason in rows
    ]


async def ideabot(*arguments: str, database_url: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *arguments,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output
    return output.decode()


async def test_unreadable_updates_are_put_aside_and_everyone_else_is_served(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, database_url: str
) -> None:
    bot = bot_factory(database_url)
    await bot.start()
    kari, ola = Customer(user_id=611), Customer(user_id=612)
    no_chat = telegram_api.message_from(kari, text=SECRET_WORDS)
    del no_chat["chat"], no_chat["date"]
    poisons = [
        await telegram_api.send_update({"message": no_chat}),
        await telegram_api.send_update(
            {
                "message": telegram_api.message_from(
                    kari,
                    caption=SECRET_WORDS,
                    photo=[{"file_unique_id": "p1", "width": 90, "height": 90}],
                )
            }
        ),
        await telegram_api.send_update(
            {"message": telegram_api.message_from(kari, poll={"id": "5", "question": SECRET_WORDS})}
        ),
    ]
    await telegram_api.send_text(kari, "/start")
    await telegram_api.send_text(ola, "/start")
    await telegram_api.wait_for_messages(kari, 1)
    await telegram_api.wait_for_messages(ola, 1)

    # Chats go side by side, so the letters are in the order their chats got to them.
    letters = sorted(
        await dead_letters(database_url), key=lambda letter: int(letter[1].split(":")[0])
    )
    # Each is kept under its update_id with its chat and message (a digest where it has none).
    assert [platform for platform, _, _ in letters] == ["telegram"] * 3
    assert letters[0][1].startswith(f"{poisons[0]['update_id']}:raw-")
    assert [external_id for _, external_id, _ in letters[1:]] == [
        f"{poison['update_id']}:message:{kari.chat_id}:{poison['message']['message_id']}"
        for poison in poisons[1:]
    ]
    assert [reason.split(":")[1].strip() for _, _, reason in letters] == [
        "KeyError",
        "TypeError",
        "TypeError",
    ]
    assert "file_id" in letters[1][2]
    assert all(SECRET_WORDS not in reason for _, _, reason in letters)
    poison_ids = {poison["update_id"] for poison in poisons}

    async def confirmed() -> bool:
        # Telegram forgets what the bot confirmed: the poison will not come again.
        return not poison_ids & {update["update_id"] for update in telegram_api.pending_updates}

    await eventually(confirmed, what="the poison updates confirmed to Telegram")
    assert bot.process is not None
    assert bot.process.returncode is None  # still running
    await bot.stop()
    assert SECRET_WORDS not in bot.log()
    assert "CRITICAL" not in bot.log()

    again = bot_factory(database_url)
    await again.start()
    await telegram_api.send_text(kari, "A dark mode, please")
    await telegram_api.wait_for_messages(kari, 2)
    assert len(await dead_letters(database_url)) == 3
    assert SECRET_WORDS not in again.log()


async def test_a_retried_dead_letter_is_handled_by_the_running_bot(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    bot = bot_factory()
    await bot.start()
    kari = Customer(user_id=621)
    # An update that failed before (say, a bug fixed since) waits in the dead letters.
    update = {"update_id": 77, "message": telegram_api.message_from(kari, text="/start")}
    engine = create_engine(sqlite_url)
    try:
        await SqlDeadLetters(create_sessions(engine)).put(
            platform="telegram",
            external_id="77",
            ordering_key=str(kari.chat_id),
            reason="handling failed 5 times: RuntimeError",
            payload=update,
        )
    finally:
        await engine.dispose()
    listed = await ideabot("deadletters", "list", database_url=sqlite_url)
    letter_id = listed.split()[0].lstrip("#")
    assert "RuntimeError" in listed
    assert await ideabot("deadletters", "retry", letter_id, database_url=sqlite_url)
    (welcome,) = await telegram_api.wait_for_messages(kari, 1)
    assert welcome.text.endswith("What would you like us to improve or create?")
    assert await dead_letters(sqlite_url) == []


async def test_nul_and_lone_surrogates_from_telegram_are_repaired_and_answered(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, database_url: str
) -> None:
    bot = bot_factory(database_url)
    await bot.start()
    customers = {
        "nul in text": (Customer(user_id=631), "Dark\x00mode"),
        "nul in name": (Customer(user_id=632, first_name="Ka\x00ri"), "Dark mode"),
        "surrogate in text": (Customer(user_id=633), "Dark \ud800 mode"),
        "surrogate in name": (Customer(user_id=634, first_name="Ola \udfff"), "Dark mode"),
    }
    for customer, _ in customers.values():
        await telegram_api.send_text(customer, "/start")
    for customer, _ in customers.values():
        await telegram_api.wait_for_messages(customer, 1)
    for customer, words in customers.values():
        await telegram_api.send_text(customer, words)
    for customer, _ in customers.values():
        more = (await telegram_api.wait_for_messages(customer, 2))[-1]
        assert more.text.startswith("Could you tell me a bit more?")
    texts = {row[0] for row in await query(database_url, "SELECT text FROM message")}
    assert {"Dark\ufffdmode", "Dark \ufffd mode"} <= texts
    names = {row[0] for row in await query(database_url, "SELECT display_name FROM customer")}
    assert {"Ka\ufffdri", "Ola \ufffd"} <= names
    assert await dead_letters(database_url) == []
    assert "will retry" not in bot.log()


async def test_nul_and_lone_surrogates_in_a_slack_dm_are_stored_and_answered(
    slack_api: SlackWebApiDouble, bot_factory: BotFactory, database_url: str
) -> None:
    bot = await start_bot(lambda **settings: bot_factory(database_url, **settings), slack_api)
    slack = events_to(bot)
    siri = slack_api.add(SlackPerson("U0SIRI", "Siri"))
    nora = slack_api.add(SlackPerson("U0NORA", "Nora"))
    for person, words in ((siri, "hello\x00there"), (nora, "hello \ud800 there")):
        response, _ = await slack.direct_message(person, words)
        assert response.status_code == 200
    for person in (siri, nora):

        def answered(channel: str = person.dm_channel) -> bool:
            return len(slack_api.posts_in(channel)) == 1

        await slack_api.wait_until(answered)
    texts = {row[0] for row in await query(database_url, "SELECT text FROM message")}
    assert {"hello\ufffdthere", "hello \ufffd there"} <= texts
    assert await dead_letters(database_url) == []


async def test_webhook_puts_an_unreadable_update_aside_and_answers_200(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    bot = bot_factory(TELEGRAM_WEBHOOK_SECRET=SECRET)
    webhook_url = f"{bot.url}/telegram/webhook"
    bot.environment["TELEGRAM_WEBHOOK_URL"] = webhook_url
    await bot.start()
    kari = Customer(user_id=641)
    unreadable = text_update(50, kari, SECRET_WORDS)
    del unreadable["message"]["chat"]
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with httpx.AsyncClient(timeout=30) as client:
        # 200, or Telegram would send it again and again.
        assert (await client.post(webhook_url, json=unreadable, headers=headers)).status_code == 200
        again = await client.post(webhook_url, json=unreadable, headers=headers)
        assert again.status_code == 200
        not_json = await client.post(webhook_url, content=b"{oops", headers=headers)
        assert not_json.status_code == 400
        fine = await client.post(webhook_url, json=text_update(51, kari, "/start"), headers=headers)
        assert fine.status_code == 200
    await telegram_api.wait_for_messages(kari, 1)
    letters = await dead_letters(sqlite_url)
    # Sent twice, kept once: under its update_id and a digest, as it names no chat.
    ((platform, key, reason),) = letters
    assert (platform, reason) == ("telegram", "unreadable update: message without chat or date")
    assert key.startswith("50:raw-")
    assert SECRET_WORDS not in bot.log()
