"""The real ``ideabot run``: only the team (our staff channel's members) use staff tools."""

from __future__ import annotations

import sqlite3

from bot.slack.staff_access import CANNOT_CHECK, NO_STAFF_CHANNEL, REFUSAL
from tests.doubles.slack_api import OTHER_TEAM_ID, STAFF_CHANNEL, SlackPerson, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
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

MALLORY = SlackPerson("U0MALLORY", "Mallory Member")  # of our workspace, not in the channel
PARTNER = SlackPerson("U0PARTNER", "Pat Partner", team_id=OTHER_TEAM_ID)  # shared channel


def database_row(sqlite_url: str, query: str) -> tuple[object, ...]:
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as connection:
        row: tuple[object, ...] = connection.execute(query).fetchone()
    return row


async def settled(sqlite_url: str) -> bool:
    return events_settled(sqlite_url)


async def test_people_not_on_the_team_get_one_line_and_nothing_else(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    slack_api.add(MALLORY)
    slack_api.join(PARTNER)
    bot = await start_bot(bot_factory, slack_api)
    kari = Customer(user_id=801, first_name="Kari")
    await finish_flow_on_telegram(telegram_api, kari)
    card = await wait_for_card(slack_api)
    slack = events_to(bot)
    told_kari = len(telegram_api.messages_to(kari))

    # Reading: nothing of the ideas, wherever it is typed.
    for channel in (STAFF_CHANNEL, MALLORY.dm_channel):
        listed = await slack.command(MALLORY, "list", command="/ideas", channel=channel)
        assert (listed.status_code, listed.text) == (200, REFUSAL)
    searched = await slack.command(PARTNER, "search dark", command="/ideas", channel=STAFF_CHANNEL)
    assert searched.text == REFUSAL

    # Writing: refused before anything is stored, so nothing changes.
    moved = await slack.command(
        MALLORY, "status 1 done Shipped secretly", command="/ideas", channel=STAFF_CHANNEL
    )
    assert moved.text == REFUSAL
    # Buttons and menus on the card, by a person of another workspace in the shared channel.
    assert (await slack.click(PARTNER, card, "I'll take it")).status_code == 200
    assert (await slack.choose(PARTNER, card, "1:planned")).status_code == 200
    await slack_api.wait_until(lambda: len(slack_api.ephemerals) == 2)
    assert all(
        (e["channel"], e["user"], e["text"]) == (STAFF_CHANNEL, PARTNER.user_id, REFUSAL)
        for e in slack_api.ephemerals
    )
    # A reply in the thread by a member of our workspace who is not staff stays in Slack.
    await slack.staff_reply(MALLORY, card.ts, "psst, Kari, it is coming")

    # Staff still work, and their work comes after all of the above.
    assert (await slack.command(ANNE, "tag 1 ui", command="/ideas", channel=STAFF_CHANNEL)).text
    await slack_api.wait_until(lambda: any("#ui" in str(u["blocks"]) for u in slack_api.updates))
    await slack.staff_reply(ANNE, card.ts, "Thanks Kari, noted")
    await telegram_api.wait_for_messages(kari, told_kari + 1)
    await eventually(lambda: settled(sqlite_url), what="events handled")
    assert [m.text for m in telegram_api.messages_to(kari)][told_kari:] == [
        "Thanks Kari, noted\n\n— Anne Staff"
    ]
    assert database_row(sqlite_url, "select status from idea where id = 1") == ("new",)
    assert database_row(sqlite_url, "select count(*) from idea_status_change") == (0,)
    assert not any("Assigned to" in str(update["blocks"]) for update in slack_api.updates)
    found = await slack.command(ANNE, "search dark", command="/ideas", channel=STAFF_CHANNEL)
    assert found.text.startswith("#1 [New] A dark mode for the app")

    # Refusals are logged with where, never with who (a customer's Slack id) or the words.
    log = bot.log()
    assert "refused a Slack user at /ideas" in log
    assert "refused a Slack user at a card button" in log
    assert MALLORY.user_id not in log
    assert PARTNER.user_id not in log
    for words in ("Shipped secretly", "search dark", "psst", "dark mode"):
        assert words not in log


async def test_joining_the_staff_channel_lets_a_person_in_and_leaving_shuts_them_out(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    slack_api.add(MALLORY)
    bot = await start_bot(bot_factory, slack_api)
    slack = events_to(bot)
    before = await slack.command(MALLORY, "top", command="/ideas", channel=STAFF_CHANNEL)
    assert before.text == REFUSAL

    slack_api.join(MALLORY)
    response, _ = await slack.membership(MALLORY, joined=True)
    assert response.status_code == 200
    inside = await slack.command(MALLORY, "top", command="/ideas", channel=STAFF_CHANNEL)
    assert inside.text == "No ideas found."

    slack_api.leave(MALLORY)
    await slack.membership(MALLORY, joined=False)
    after = await slack.command(MALLORY, "top", command="/ideas", channel=STAFF_CHANNEL)
    assert after.text == REFUSAL
    # The member list was asked once: the join and the leave came as events.
    assert sum(1 for call in slack_api.calls if call.method == "conversations.members") == 1


async def test_without_a_staff_channel_an_admin_is_told_what_to_set(
    slack_api: SlackWebApiDouble, bot_factory: BotFactory
) -> None:
    boss = slack_api.add(SlackPerson("U0BOSS", "Bo Boss"))
    settings = slack_settings(slack_api)
    del settings["SLACK_STAFF_CHANNEL"]
    bot = bot_factory(**settings, SLACK_ADMIN_USERS=boss.user_id)
    await bot.start()
    slack = events_to(bot)
    answer = await slack.command(boss, "status 1 done", command="/ideas", channel="C0GENERAL")
    assert answer.text == NO_STAFF_CHANNEL
    other = await slack.command(ANNE, "status 1 done", command="/ideas", channel="C0GENERAL")
    assert other.text == REFUSAL
    # A customer's own command in their direct message still works.
    customer = slack_api.add(SlackPerson("U0SIRI", "Siri"))
    assert (await slack.command(customer, "help")).status_code == 200
    await slack_api.wait_until(lambda: len(slack_api.posts_in(customer.dm_channel)) == 1)


async def test_while_slack_cannot_say_who_is_staff_nobody_gets_in_and_a_staff_reply_waits(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    bot = await start_bot(bot_factory, slack_api)
    per = Customer(user_id=802, first_name="Per")
    card = await hand_off(telegram_api, slack_api, per)
    slack = events_to(bot)
    slack_api.errors["conversations.members"] = "missing_scope"  # an app from an old manifest

    listed = await slack.command(ANNE, "list", command="/ideas", channel=STAFF_CHANNEL)
    assert listed.text == CANNOT_CHECK
    await slack.staff_reply(ANNE, card.ts, "Hello Per, one moment")
    await slack_api.wait_until(
        lambda: sum(c.error == "missing_scope" for c in slack_api.calls) >= 2
    )
    assert len(telegram_api.messages_to(per)) == 1  # only "asked someone from our team"

    del slack_api.errors["conversations.members"]
    reply = (await telegram_api.wait_for_messages(per, 2, timeout=30))[-1]
    assert reply.text == "Hello Per, one moment\n\n— Anne Staff"
    await eventually(lambda: settled(sqlite_url), what="events handled")
    log = bot.log()
    assert "cannot check whether a Slack user is staff (200 missing_scope)" in log
    assert "Hello Per" not in log
