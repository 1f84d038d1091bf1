"""The real ``ideabot run`` against Telegram and Slack doubles: hand-off, staff, Slack customers."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys

from tests.doubles.slack_api import (
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    OTHER_TEAM_ID,
    SIGNING_SECRET,
    STAFF_CHANNEL,
    SlackEvents,
    SlackPerson,
    SlackWebApiDouble,
    SocketModeDouble,
)
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import outbox_settled
from tests.e2e.conftest import ANNE, BotFactory
from tests.helpers.slack_staff import (
    events_settled,
    events_to,
    finish_flow_on_telegram,
    hand_off,
    slack_settings,
    start_bot,
    wait_for_card,
)
from tests.waiting import eventually


async def test_telegram_customer_and_staff_talk_through_the_thread(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    kari = Customer(user_id=601, first_name="Kari")
    await finish_flow_on_telegram(telegram_api, kari)
    done = telegram_api.messages_to(kari)[-1]
    assert "passed this on to our team" in done.text

    card = await wait_for_card(slack_api)
    assert "Kari" in card.block_text
    assert "Telegram" in card.block_text
    assert "A dark mode for the app" in card.block_text
    assert "Every day" in card.block_text
    assert card.button_labels == ["I'll take it", "Close conversation", "Internal only"]

    slack = events_to(bot)
    response, _ = await slack.staff_reply(ANNE, card.ts, "Thanks Kari! Is it the *Android* app?")
    assert response.status_code == 200
    reply = (await telegram_api.wait_for_messages(kari, 7))[-1]
    assert reply.text == "Thanks Kari! Is it the *Android* app?\n\n— Anne Staff"
    # Slack confirms the delivery on the staff member's message.
    await slack_api.wait_until(lambda: len(slack_api.reactions) == 1)
    assert slack_api.reactions[0]["name"] == "white_check_mark"

    await telegram_api.send_text(kari, "Yes, Android <b>12</b>")
    await slack_api.wait_until(
        lambda: len(slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)) == 1
    )
    (relayed,) = slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)
    assert relayed.username == "Kari"
    assert relayed.text == "Yes, Android &lt;b&gt;12&lt;/b&gt;"
    # The customer hears nothing from the bot while talking with staff.
    assert len(telegram_api.messages_to(kari)) == 7
    log = bot.log()
    for secret in (BOT_TOKEN, SIGNING_SECRET, "Android", "dark mode", "Thanks Kari"):
        assert secret not in log
    assert "WARNING" not in log


async def test_staff_closes_and_the_customer_starts_anew(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    ola = Customer(user_id=602, first_name="Ola")
    await telegram_api.send_text(ola, "/human")
    asked = (await telegram_api.wait_for_messages(ola, 1))[-1]
    assert "asked someone from our team" in asked.text
    card = await wait_for_card(slack_api)
    assert "Customer asked for a person" in card.block_text

    slack = events_to(bot)
    assert (await slack.click(ANNE, card, "I'll take it")).status_code == 200
    await slack_api.wait_until(lambda: len(slack_api.updates) >= 1)
    assert "Assigned to Anne Staff" in str(slack_api.updates[-1]["blocks"])

    assert (await slack.click(ANNE, card, "Close conversation")).status_code == 200
    closing = (await telegram_api.wait_for_messages(ola, 2))[-1]
    assert closing.text.startswith("Our team has closed this conversation.")
    await slack_api.wait_until(lambda: len(slack_api.updates) >= 2)
    assert "Closed by Anne Staff" in str(slack_api.updates[-1]["blocks"])

    await telegram_api.send_text(ola, "Hello again")
    again = (await telegram_api.wait_for_messages(ola, 3))[-1]
    assert again.text.startswith("Welcome back!")


async def test_only_own_people_replying_in_a_mapped_thread_reach_the_customer(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    outsider = slack_api.add(SlackPerson("U0OUTSIDE", "Outsider", team_id=OTHER_TEAM_ID))
    bot = await start_bot(bot_factory, slack_api)
    per = Customer(user_id=603, first_name="Per")
    card = await hand_off(telegram_api, slack_api, per)
    slack = events_to(bot)

    await slack.staff_reply(ANNE, card.ts, "note: he wrote before, see #123")
    await slack.staff_reply(ANNE, card.ts, "NOTE: also internal")
    await slack.event(  # the bot's own post in the thread
        {
            "type": "message",
            "channel": STAFF_CHANNEL,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": "echo",
            "ts": slack.next_ts(),
            "thread_ts": card.ts,
        }
    )
    await slack.event(  # another app's bot
        {
            "type": "message",
            "subtype": "bot_message",
            "channel": STAFF_CHANNEL,
            "bot_id": "B0OTHER",
            "text": "build passed",
            "ts": slack.next_ts(),
            "thread_ts": card.ts,
        }
    )
    await slack.event(  # a top-level post in the staff channel
        {
            "type": "message",
            "channel": STAFF_CHANNEL,
            "user": ANNE.user_id,
            "team": ANNE.team_id,
            "text": "lunch?",
            "ts": slack.next_ts(),
        }
    )
    await slack.staff_reply(outsider, card.ts, "hi from a shared channel", user_team=OTHER_TEAM_ID)
    await slack.staff_reply(ANNE, "1799999999.000001", "in a thread the bot did not open")
    await slack.event(
        {
            "type": "message",
            "subtype": "channel_join",
            "channel": STAFF_CHANNEL,
            "user": ANNE.user_id,
            "text": "<@U0ANNE> has joined the channel",
            "ts": slack.next_ts(),
        }
    )
    await eventually(lambda: _true(events_settled(sqlite_url)), what="events handled")
    await slack.staff_reply(ANNE, card.ts, "The only reply")
    await telegram_api.wait_for_messages(per, 2)
    await eventually(lambda: _true(events_settled(sqlite_url)), what="events handled")
    assert [m.text for m in telegram_api.messages_to(per)][1:] == ["The only reply\n\n— Anne Staff"]
    path = sqlite_url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        notes = connection.execute(
            "select text, author from message where direction = 'note' order by id"
        ).fetchall()
    assert notes == [
        ("note: he wrote before, see #123", "Anne Staff"),
        ("NOTE: also internal", "Anne Staff"),
    ]


async def _true(value: bool) -> bool:
    return value


async def test_internal_only_thread_and_edited_reply_are_explained_to_staff(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    liv = Customer(user_id=604, first_name="Liv")
    card = await hand_off(telegram_api, slack_api, liv)
    slack = events_to(bot)

    _, sent = await slack.staff_reply(ANNE, card.ts, "Hi Liv")
    await telegram_api.wait_for_messages(liv, 2)
    original = sent["event"]
    await slack.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": STAFF_CHANNEL,
            "hidden": True,
            "ts": slack.next_ts(),
            "message": {**original, "text": "Hi Liv!", "edited": {"user": ANNE.user_id}},
            "previous_message": original,
        }
    )
    await slack_api.wait_until(lambda: len(slack_api.ephemerals) == 1)
    assert slack_api.ephemerals[0]["user"] == ANNE.user_id
    assert "already has your original reply" in slack_api.ephemerals[0]["text"]

    await slack.click(ANNE, card, "Internal only")
    await slack_api.wait_until(lambda: len(slack_api.updates) == 1)
    await slack.staff_reply(ANNE, card.ts, "This must not reach her")
    await slack_api.wait_until(lambda: len(slack_api.ephemerals) == 2)
    assert "internal only" in slack_api.ephemerals[1]["text"]
    assert len(telegram_api.messages_to(liv)) == 2


async def test_customer_text_is_escaped_in_slack(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    await start_bot(bot_factory, slack_api)
    mallory = Customer(user_id=605, first_name="<!channel> Mallory")
    await telegram_api.send_text(mallory, "/start")
    await telegram_api.wait_for_messages(mallory, 1)
    await telegram_api.send_text(
        mallory, "<!here> ping <@U0ANNE> and <https://evil.example|your bank> & more, please read"
    )
    await telegram_api.wait_for_messages(mallory, 2)
    card = await hand_off(telegram_api, slack_api, mallory)
    shown = card.block_text + card.text
    for unsafe in ("<!channel>", "<!here>", "<@U0ANNE>", "<https://evil.example|your bank>"):
        assert unsafe not in shown
    assert (
        "&lt;!here&gt; ping &lt;@U0ANNE&gt; and &lt;https://evil.example|your bank&gt; &amp; more"
        in shown
    )
    assert "&lt;!channel&gt; Mallory" in shown

    await telegram_api.send_text(mallory, "<!channel> look")
    await slack_api.wait_until(
        lambda: len(slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)) == 1
    )
    (relayed,) = slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)
    assert relayed.text == "&lt;!channel&gt; look"


async def test_a_retried_event_has_no_second_effect_and_bad_signatures_are_refused(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    eva = Customer(user_id=606, first_name="Eva")
    card = await hand_off(telegram_api, slack_api, eva)
    slack = events_to(bot)

    forged = SlackEvents(url=slack.url, signing_secret="not-the-secret")
    response, _ = await forged.staff_reply(ANNE, card.ts, "forged")
    assert response.status_code == 401
    stale = slack.envelope({"type": "message", "channel": STAFF_CHANNEL, "text": "old"})
    response = await slack.post(
        json.dumps(stale),
        content_type="application/json",
        timestamp=1_600_000_000,
    )
    assert response.status_code == 401

    response, envelope = await slack.staff_reply(ANNE, card.ts, "Once only")
    assert response.status_code == 200
    again = await slack.post(json.dumps(envelope), content_type="application/json", retry_num=1)
    assert again.status_code == 200
    await telegram_api.wait_for_messages(eva, 2)
    await eventually(lambda: _true(events_settled(sqlite_url)), what="events handled")
    assert [m.text for m in telegram_api.messages_to(eva)][1:] == ["Once only\n\n— Anne Staff"]


async def test_slack_customer_in_a_direct_message(
    slack_api: SlackWebApiDouble, bot_factory: BotFactory
) -> None:
    siri = slack_api.add(SlackPerson("U0SIRI", "Siri", locale="nb-NO"))
    bot = await start_bot(bot_factory, slack_api)
    slack = events_to(bot)
    await slack.direct_message(siri, "hei")
    await slack_api.wait_until(lambda: len(slack_api.posts_in(siri.dm_channel)) == 1)
    (welcome,) = slack_api.posts_in(siri.dm_channel)
    assert "Hva vil du at vi skal forbedre" in welcome.text
    await slack.direct_message(siri, "Mørk modus i appen, takk, for kvelden")
    await slack.direct_message(siri, "Lyset er for sterkt")
    await slack_api.wait_until(lambda: len(slack_api.posts_in(siri.dm_channel)) == 3)
    frequency = slack_api.posts_in(siri.dm_channel)[-1]
    assert frequency.button_labels == ["Hver dag", "Hver uke", "Hver måned", "Av og til"]
    assert (await slack.click(siri, frequency, "Hver dag")).status_code == 200
    await slack_api.wait_until(lambda: len(slack_api.posts_in(siri.dm_channel)) == 4)
    # The pressed message loses its buttons and shows the choice.
    await slack_api.wait_until(lambda: len(slack_api.updates) == 1)
    assert slack_api.updates[0]["text"].endswith("✔ Hver dag")
    await slack.command(siri, "human")
    card = await wait_for_card(slack_api)
    assert "Siri" in card.block_text
    assert "Slack" in card.block_text
    await slack.staff_reply(ANNE, card.ts, "Hei Siri, takk!")
    await slack_api.wait_until(lambda: len(slack_api.posts_in(siri.dm_channel)) == 6)
    assert slack_api.posts_in(siri.dm_channel)[-1].text == "Hei Siri, takk!\n\n— Anne Staff"


async def test_slack_down_then_back_keeps_every_message_in_order(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    await start_bot(bot_factory, slack_api)
    nils = Customer(user_id=607, first_name="Nils")
    card = await hand_off(telegram_api, slack_api, nils)
    slack_api.down = True
    for number in range(1, 6):
        await telegram_api.send_text(nils, f"message {number}")
    await slack_api.wait_until(lambda: sum(c.status == 503 for c in slack_api.calls) >= 2)
    slack_api.down = False
    await slack_api.wait_until(
        lambda: len(slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)) == 5, timeout=30
    )
    await outbox_settled(sqlite_url)
    texts = [post.text for post in slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)]
    assert texts == [f"message {number}" for number in range(1, 6)]


async def test_slack_429_is_waited_out_and_posted_once(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    slack_api.rate_limits["chat.postMessage"] = [1]
    await start_bot(bot_factory, slack_api)
    mia = Customer(user_id=608, first_name="Mia")
    await telegram_api.send_text(mia, "/human")
    await wait_for_card(slack_api)
    refused = [c for c in slack_api.calls if c.method == "chat.postMessage" and c.status == 429]
    assert len(refused) == 1
    assert len(slack_api.cards()) == 1
    assert slack_api.cards()[0].at - refused[0].at >= 1.0


async def test_blocked_telegram_customer_is_reported_in_the_thread(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    jon = Customer(user_id=609, first_name="Jon")
    card = await hand_off(telegram_api, slack_api, jon)
    telegram_api.blocked_chats.add(jon.chat_id)
    await events_to(bot).staff_reply(ANNE, card.ts, "Are you there?")
    await slack_api.wait_until(
        lambda: len(slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)) == 1
    )
    (notice,) = slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)
    assert notice.text.startswith(
        "⚠️ Not delivered to the customer: the customer has blocked the bot"
    )
    assert slack_api.reactions == []


async def test_permanent_slack_error_stops_retries_and_shows_in_status(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    slack_api.errors["chat.postMessage"] = "not_in_channel"
    bot = await start_bot(bot_factory, slack_api)
    kim = Customer(user_id=610, first_name="Kim")
    await telegram_api.send_text(kim, "/human")
    await telegram_api.wait_for_messages(kim, 1)
    await slack_api.wait_until(lambda: any(c.method == "chat.postMessage" for c in slack_api.calls))
    await outbox_settled(sqlite_url)
    tries = [c for c in slack_api.calls if c.method == "chat.postMessage"]
    assert len(tries) == 1
    assert "the app is not in the channel" in bot.log()

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "status",
        env={**bot.environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    report = output.decode()
    assert "the app is not in the channel" in report
    assert "failed: 1" in report


async def test_files_go_both_ways_and_too_large_is_explained(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    ada = Customer(user_id=611, first_name="Ada")
    card = await hand_off(telegram_api, slack_api, ada)

    await telegram_api.send_document(ada, "invoice.pdf", b"%PDF-1.4 the invoice")
    await slack_api.wait_until(lambda: len(slack_api.uploads) == 1)
    upload = slack_api.uploads[0]
    assert (upload["filename"], upload["data"]) == ("invoice.pdf", b"%PDF-1.4 the invoice")
    assert (upload["channel"], upload["thread_ts"]) == (STAFF_CHANNEL, card.ts)

    # 25 MB is more than a Telegram bot may fetch: refused before any download.
    await telegram_api.send_document(ada, "video.mov", b"x", claimed_size=25_000_000)
    refused = (await telegram_api.wait_for_messages(ada, 2))[-1]
    assert refused.text.startswith("Your file “video.mov” is too large to pass on (25.0 MB")
    await slack_api.wait_until(
        lambda: any("too large to fetch" in p.text for p in slack_api.posts_in(STAFF_CHANNEL))
    )
    assert [c.method for c in telegram_api.calls].count("getFile") == 1

    slack = events_to(bot)
    screenshot = slack_api.file_event_fields(
        "F0SHOT", "screen.png", b"\x89PNG picture", "image/png"
    )
    await slack.staff_reply(ANNE, card.ts, "", subtype="file_share", files=[screenshot])
    await telegram_api.wait_until(lambda: len(telegram_api.sent_files) == 1)
    sent = telegram_api.sent_files[0]
    assert (sent["method"], sent["name"], sent["data"]) == (
        "sendPhoto",
        "screen.png",
        b"\x89PNG picture",
    )
    await slack_api.wait_until(lambda: len(slack_api.reactions) == 1)

    # A web page where the file should be (a sign-in page, say) never reaches the customer.
    page = slack_api.file_event_fields("F0PAGE", "report.pdf", b"<html>login</html>", "text/html")
    await slack.staff_reply(ANNE, card.ts, "", subtype="file_share", files=[page])
    await slack_api.wait_until(
        lambda: any("web page instead" in p.text for p in slack_api.posts_in(STAFF_CHANNEL))
    )
    assert len(telegram_api.sent_files) == 1


async def test_socket_mode_acks_and_a_retried_envelope_has_no_second_effect(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    async with SocketModeDouble(slack_api).running() as socket_mode:
        settings = slack_settings(slack_api)
        del settings["SLACK_SIGNING_SECRET"]
        bot = bot_factory(**settings, SLACK_APP_TOKEN=APP_TOKEN)
        await bot.start()
        await socket_mode.wait_connected()
        una = Customer(user_id=612, first_name="Una")
        await telegram_api.send_text(una, "/human")
        card = await wait_for_card(slack_api)
        # No events endpoint in Socket Mode: nothing is served at /slack/events.
        response, _ = await events_to(bot).staff_reply(ANNE, card.ts, "over HTTP")
        assert response.status_code == 404

        envelope = SlackEvents(url="unused").envelope(
            {
                "type": "message",
                "channel": STAFF_CHANNEL,
                "channel_type": "channel",
                "user": ANNE.user_id,
                "team": ANNE.team_id,
                "text": "Hello over the socket",
                "ts": "1800000099.000100",
                "thread_ts": card.ts,
            }
        )
        first = await socket_mode.push(envelope)
        retried = await socket_mode.push(envelope, retry_attempt=1)
        await socket_mode.wait_for(lambda: {first, retried} <= set(socket_mode.acks))
        await telegram_api.wait_for_messages(una, 2)
        await slack_api.wait_until(lambda: len(slack_api.reactions) == 1)
        assert [m.text for m in telegram_api.messages_to(una)][1:] == [
            "Hello over the socket\n\n— Anne Staff"
        ]


async def test_a_stored_event_survives_a_crash_and_is_handled_once_after_restart(
    slack_api: SlackWebApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    tor = slack_api.add(SlackPerson("U0TOR", "Tor"))
    slack_api.errors["users.info"] = "fatal_error"  # the event is stored, but cannot be handled
    bot = await start_bot(bot_factory, slack_api)
    response, _ = await events_to(bot).direct_message(tor, "hello")
    assert response.status_code == 200
    await slack_api.wait_until(lambda: any(c.method == "users.info" for c in slack_api.calls))
    bot.kill_hard()
    await bot.wait_exit()
    del slack_api.errors["users.info"]
    restarted = await start_bot(bot_factory, slack_api)
    await slack_api.wait_until(lambda: len(slack_api.posts_in(tor.dm_channel)) == 1, timeout=30)
    await eventually(lambda: _true(events_settled(sqlite_url)), what="events handled")
    await outbox_settled(sqlite_url)
    assert len(slack_api.posts_in(tor.dm_channel)) == 1
    del restarted
