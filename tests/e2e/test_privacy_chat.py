"""Issue 11 end to end: customers see, copy and erase their own data from their chat.

A Telegram customer with an idea, a hand-off, thread posts and a file gets all of it with
/mydata (and nothing of another customer), then erases it with /forget; a Slack customer does
the same with ``/ideabot mydata`` and ``/ideabot forget``. Afterwards no table and no INFO line
of the log holds their words, name or ids.
"""

from __future__ import annotations

import json
import sqlite3

from tests.doubles.slack_api import STAFF_CHANNEL, SlackPerson, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import outbox_settled
from tests.e2e.conftest import ANNE, BotFactory
from tests.helpers.privacy import erasures_finished, sqlite_dump
from tests.helpers.slack_staff import (
    events_to,
    finish_flow_on_telegram,
    slack_settings,
    wait_for_card,
)
from tests.waiting import eventually

ADMIN = "U0ADMIN"
NAME = "Zephyrine"
USER_ID = 48151623
WORDS = ("dark mode for the app", "My eyes hurt in bed", "Quasimodo-theme", "zephyrine-sketch")
STAFF_REPLY = "Thanks! Which phone do you use?"
OTHER_NAME = "Bartholomew"
OTHER_ID = 27182818
OTHER_WORDS = "orange-giraffe calendar for the whole team"


async def test_a_telegram_customer_copies_then_erases_everything_from_their_chat(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    bot = bot_factory(**slack_settings(slack_api), SLACK_ADMIN_USERS=ADMIN)
    await bot.start()
    customer = Customer(user_id=USER_ID, first_name=NAME)
    await finish_flow_on_telegram(telegram_api, customer)
    card = await wait_for_card(slack_api)
    _, reply = await events_to(bot).staff_reply(ANNE, card.ts, STAFF_REPLY)
    await telegram_api.wait_for_messages(customer, 7)
    await telegram_api.send_text(customer, "A Pixel, with the Quasimodo-theme")
    document = await telegram_api.send_document(customer, "zephyrine-sketch.pdf", b"%PDF-1.4")
    file_id = document["message"]["document"]["file_id"]
    await slack_api.wait_until(lambda: len(slack_api.uploads) == 1)
    other = Customer(user_id=OTHER_ID, first_name=OTHER_NAME)
    await telegram_api.send_text(other, "/start")
    await telegram_api.wait_for_messages(other, 1)
    await telegram_api.send_text(other, OTHER_WORDS)
    await telegram_api.wait_for_messages(other, 2)
    await outbox_settled(sqlite_url)
    thread_posts = slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)

    await telegram_api.send_text(customer, "/mydata")
    await telegram_api.wait_until(lambda: len(telegram_api.sent_files) == 1)
    (sent,) = telegram_api.sent_files
    assert (sent["method"], sent["chat_id"], sent["name"]) == (
        "sendDocument",
        USER_ID,
        "my-data.json",
    )
    exported = sent["data"].decode()
    assert json.loads(exported)["customer"]["name"] == NAME
    for kept in (*WORDS[:3], STAFF_REPLY, file_id, "A dark mode for the app"):
        assert kept in exported
    assert [trace for trace in (OTHER_NAME, str(OTHER_ID), OTHER_WORDS) if trace in exported] == []
    await telegram_api.send_text(customer, "/mydata")
    too_soon = (await telegram_api.wait_for_messages(customer, 9))[-1]
    assert too_soon.text.startswith("I sent you your data a moment ago")
    assert len(telegram_api.sent_files) == 1

    await telegram_api.send_text(customer, "/forget")
    confirm = (await telegram_api.wait_for_messages(customer, 10))[-1]
    await telegram_api.press(customer, confirm, "Yes, erase everything")
    done = (await telegram_api.wait_for_messages(customer, 11))[-1]
    assert done.text.startswith("Done: everything I kept about you is erased")

    async def finished() -> bool:
        return erasures_finished(sqlite_url) == 1

    await eventually(finished, timeout=20, what="the erasure's Slack steps")
    rewrite = [update for update in slack_api.updates if update["ts"] == card.ts][-1]
    assert NAME not in rewrite["text"]
    deleted = {(deletion["channel"], deletion["ts"]) for deletion in slack_api.deletions}
    assert deleted == {(STAFF_CHANNEL, post.ts) for post in thread_posts}
    assert slack_api.deleted_files == [upload["id"] for upload in slack_api.uploads]
    in_thread = [post for post in slack_api.posts if post.thread_ts == card.ts][-1]
    assert f"archives/{STAFF_CHANNEL}/p{reply['event']['ts'].replace('.', '')}" in in_thread.text

    traces = [NAME, str(USER_ID), file_id, *WORDS, STAFF_REPLY]
    dump = sqlite_dump(sqlite_url)
    assert [trace for trace in traces if trace in dump] == []
    assert OTHER_WORDS in dump
    assert [trace for trace in traces if trace in bot.log()] == []

    # Writing again after the erasure: a new customer, greeted as one.
    await telegram_api.send_text(customer, "hello again")
    fresh = (await telegram_api.wait_for_messages(customer, 12))[-1]
    assert fresh.text.startswith("Hi! We build our product")


async def test_a_slack_customer_copies_then_erases_with_the_slash_command(
    slack_api: SlackWebApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    bot = bot_factory(**slack_settings(slack_api), SLACK_ADMIN_USERS=ADMIN)
    await bot.start()
    slack = events_to(bot)
    siri = slack_api.add(SlackPerson("U0SIRIWAN", "Siriwan Heron"))
    words = "purple-heron reports for every Friday"
    await slack.direct_message(siri, "/start")
    await slack_api.wait_until(lambda: len(slack_api.posts_in(siri.dm_channel)) == 1)
    await slack.direct_message(siri, words)
    await slack_api.wait_until(lambda: len(slack_api.posts_in(siri.dm_channel)) == 2)

    answer = await slack.command(siri, "mydata")
    assert answer.status_code == 200
    await slack_api.wait_until(lambda: len(slack_api.uploads) == 1)
    (upload,) = slack_api.uploads
    assert (upload["channel"], upload["filename"]) == (siri.dm_channel, "my-data.json")
    assert words in upload["data"].decode()

    await slack.command(siri, "forget")
    await slack_api.wait_until(
        lambda: "Yes, erase everything" in slack_api.posts_in(siri.dm_channel)[-1].button_labels
    )
    await slack.click(siri, slack_api.posts_in(siri.dm_channel)[-1], "Yes, erase everything")

    async def finished() -> bool:
        return erasures_finished(sqlite_url) == 1

    await eventually(finished, timeout=20, what="the Slack customer's erasure")
    farewell = slack_api.posts_in(siri.dm_channel)[-1]
    assert farewell.text.startswith("Done: everything I kept about you is erased")
    # The file of their data was an upload ideabot made: it goes with the rest.
    assert slack_api.deleted_files == [upload["id"]]
    traces = [siri.name, siri.user_id, siri.dm_channel, words]
    assert [trace for trace in traces if trace in sqlite_dump(sqlite_url)] == []
    assert [trace for trace in traces if trace in bot.log()] == []


def _stored_events(sqlite_url: str) -> str:
    """The stored Slack events of a SQLite database, as one string to search."""
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as connection:
        return repr(connection.execute("select * from platform_event").fetchall())


async def test_an_admin_finds_exports_and_erases_a_customer_from_slack(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    ada = slack_api.add(SlackPerson("U0ADA", "Ada Admin"))
    bot = bot_factory(**slack_settings(slack_api), SLACK_ADMIN_USERS=ada.user_id)
    await bot.start()
    slack = events_to(bot)
    customer = Customer(user_id=USER_ID, first_name=NAME)
    await finish_flow_on_telegram(telegram_api, customer)
    await wait_for_card(slack_api)

    def last_in(person: SlackPerson) -> str:
        posts = slack_api.posts_in(person.dm_channel)
        return posts[-1].text if posts else ""

    refused = await slack.command(ANNE, f"customers find {NAME}")
    assert "Only ideabot's admins" in refused.text
    # A search is answered at once and stored nowhere: its words name the customer.
    found = await slack.command(ada, f"customers find {NAME}")
    assert f"#1 · telegram {USER_ID} · {NAME}" in found.text
    # Review R2 of issue 11: a search in other words was stored whole, the name with it.
    for words in (f"customers Find {NAME}", f"Customers find {NAME}", f"customers {NAME}"):
        answer = await slack.command(ada, words)
        assert answer.status_code == 200
        assert NAME not in _stored_events(sqlite_url)
    outside = await slack.command(ada, f"customers find {NAME}", channel=STAFF_CHANNEL)
    assert outside.text.startswith("Use `/ideabot customers …` in your direct message")
    await slack.command(ANNE, "customers erase 1")
    await slack_api.wait_until(lambda: last_in(ANNE).startswith("Only ideabot's admins"))
    await slack.command(ada, "customers export 1")
    await slack_api.wait_until(lambda: len(slack_api.uploads) == 1)
    (upload,) = slack_api.uploads
    assert (upload["channel"], upload["filename"]) == (ada.dm_channel, "customer-1.json")
    assert json.loads(upload["data"])["customer"]["name"] == NAME
    await slack.command(ada, "customers erase 42")
    await slack_api.wait_until(lambda: last_in(ada).startswith("There is no customer #42"))
    await slack.command(ada, "customers erase 1")
    await slack_api.wait_until(lambda: last_in(ada).startswith("Erase customer #1 (telegram, 1 "))
    confirm = slack_api.posts_in(ada.dm_channel)[-1]
    await slack.click(ada, confirm, "Erase customer #1")

    async def finished() -> bool:
        return erasures_finished(sqlite_url) == 1

    await eventually(finished, timeout=20, what="the admin's erasure")
    await slack_api.wait_until(lambda: last_in(ada).startswith("Erasure 1: customer #1 is erased"))
    # Pressed again: nothing left to erase, and the admin hears so.
    await slack.click(ada, confirm, "Erase customer #1")
    await slack_api.wait_until(lambda: last_in(ada).startswith("There is no customer #1"))
    dump = sqlite_dump(sqlite_url)
    assert [trace for trace in (NAME, str(USER_ID), *WORDS[:2]) if trace in dump] == []
