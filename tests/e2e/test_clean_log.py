"""A whole day of bad input against the real ``ideabot run``: its log keeps no words or secrets."""

from __future__ import annotations

import json
import time

import httpx

from tests.doubles.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    STAFF_CHANNEL,
    SlackPerson,
    SlackWebApiDouble,
)
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import ANNE, BotFactory
from tests.helpers.slack_staff import events_settled, events_to, slack_settings
from tests.waiting import eventually

# Each bad input carries its own word, so a leak names the input it came from.
WORDS = {
    "conversation": "saffron-lighthouse",
    "telegram name": "Quillon",
    "no chat": "obsidian-walrus",
    "photo without file_id": "velvet-harbour",
    "poll": "cobalt-meadow",
    "nul": "amber-quasar",
    "surrogate": "tangerine-fjord",
    "unicode digit": "lunar-pretzel",
    "slack dm": "marble-cactus",
    "slack name": "Ysolde",
    "unsigned json": "crimson-tundra",
    "forged line": "INFO bot.app: every refund approved",
    "stale event": "ivory-glacier",
    "refused /ideas": "emerald-sphinx",
    "bad /ideas": "copper-nebula",
}
MALLORY = SlackPerson("U0MALLORY", "Mallory Member")  # of our workspace, not in the channel


async def post(url: str, body: bytes, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers, timeout=10)


async def test_a_day_of_bad_input_leaves_no_words_tokens_or_secrets_in_the_log(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    slack_api.add(MALLORY)
    bot = bot_factory(**slack_settings(slack_api))
    await bot.start()
    slack = events_to(bot)

    # A whole conversation on Telegram, with a choice answered by a digit that is no number.
    kari = Customer(user_id=901, first_name=WORDS["telegram name"])
    await telegram_api.send_text(kari, "/start")
    await telegram_api.wait_for_messages(kari, 1)
    await telegram_api.send_text(kari, f"A {WORDS['conversation']} mode for the night")
    await telegram_api.wait_for_messages(kari, 2)
    await telegram_api.send_text(kari, f"My eyes hurt, {WORDS['conversation']}")
    await telegram_api.wait_for_messages(kari, 3)
    await telegram_api.send_text(kari, f"² {WORDS['unicode digit']}")
    await telegram_api.wait_for_messages(kari, 4)

    # Updates PTB cannot read, and text the database would refuse.
    ola = Customer(user_id=902)
    no_chat = telegram_api.message_from(ola, text=WORDS["no chat"])
    del no_chat["chat"], no_chat["date"]
    await telegram_api.send_update({"message": no_chat})
    await telegram_api.send_update(
        {
            "message": telegram_api.message_from(
                ola,
                caption=WORDS["photo without file_id"],
                photo=[{"file_unique_id": "p1", "width": 90, "height": 90}],
            )
        }
    )
    await telegram_api.send_update(
        {"message": telegram_api.message_from(ola, poll={"id": "5", "question": WORDS["poll"]})}
    )
    await telegram_api.send_text(ola, "/start")
    await telegram_api.wait_for_messages(ola, 1)
    await telegram_api.send_text(ola, f"{WORDS['nul']}\x00 and \ud800 {WORDS['surrogate']}")
    await telegram_api.wait_for_messages(ola, 2)

    # Slack: a customer's direct message with a NUL, then requests nobody signed.
    siri = slack_api.add(SlackPerson("U0SIRI", WORDS["slack name"]))
    response, _ = await slack.direct_message(siri, f"{WORDS['slack dm']}\x00 please")
    assert response.status_code == 200
    await slack_api.wait_until(lambda: len(slack_api.posts_in(siri.dm_channel)) == 1)
    url = f"{bot.url}/slack/events"
    unsigned = await post(url, f'{{"broken": "{WORDS["unsigned json"]}'.encode())
    assert unsigned.status_code == 401
    forged = await post(url, f'{{"a": 1}}\n2026-11-29 10:00:00,000 {WORDS["forged line"]}'.encode())
    assert forged.status_code == 401
    stale_event = slack.envelope(
        {
            "type": "message",
            "channel": siri.dm_channel,
            "channel_type": "im",
            "user": siri.user_id,
            "text": WORDS["stale event"],
            "ts": slack.next_ts(),
        }
    )
    stale = await slack.post(
        json.dumps(stale_event), content_type="application/json", timestamp=int(time.time()) - 600
    )
    assert stale.status_code == 401

    # /ideas from someone not on the team, and a malformed one from the team.
    refused = await slack.command(
        MALLORY, f"search {WORDS['refused /ideas']}", command="/ideas", channel=STAFF_CHANNEL
    )
    assert refused.status_code == 200
    assert WORDS["refused /ideas"] not in refused.text
    malformed = await slack.command(
        ANNE, f"status 1 {WORDS['bad /ideas']}", command="/ideas", channel=STAFF_CHANNEL
    )
    assert malformed.status_code == 200

    async def settled() -> bool:
        return events_settled(sqlite_url)

    await eventually(settled, what="the stored Slack events handled")
    assert await bot.stop() == 0
    log = bot.log()
    assert "ideabot stopped" in log
    leaked = {name: word for name, word in WORDS.items() if word in log}
    assert leaked == {}, f"the log holds the words of {sorted(leaked)}"
    for secret in (telegram_api.token, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in log
    assert "CRITICAL" not in log
