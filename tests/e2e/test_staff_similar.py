"""The real ``ideabot run``: a card shows the open ideas that may be the same, merged in a click."""

from __future__ import annotations

import sqlite3
from typing import Any

from bot.slack.staff_access import REFUSAL
from tests.doubles.slack_api import (
    OTHER_TEAM_ID,
    STAFF_CHANNEL,
    Posted,
    SlackPerson,
    SlackWebApiDouble,
)
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import ANNE, BotFactory
from tests.helpers.slack_staff import (
    events_to,
    finish_flow_on_telegram,
    slack_settings,
    wait_for_card,
)

PARTNER = SlackPerson("U0PARTNER", "Pat Partner", team_id=OTHER_TEAM_ID)  # shared channel


def idea_status(sqlite_url: str, idea_id: int) -> str:
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as connection:
        (status,) = connection.execute(
            "select status from idea where id = ?", (idea_id,)
        ).fetchone()
    return str(status)


def card_update(slack_api: SlackWebApiDouble, card: Posted, number: int) -> Posted:
    """The card as its ``number``-th update (chat.update) showed it, to click on."""
    updates = [update for update in slack_api.updates if update["ts"] == card.ts]
    shown: dict[str, Any] = updates[number - 1]
    return Posted(
        channel=card.channel,
        ts=card.ts,
        text=str(shown.get("text", "")),
        blocks=shown["blocks"],
        thread_ts=None,
        username=None,
        at=0.0,
    )


def updates_of(slack_api: SlackWebApiDouble, card: Posted) -> int:
    return sum(1 for update in slack_api.updates if update["ts"] == card.ts)


async def test_staff_merge_a_likely_duplicate_from_its_card_and_undo_it(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    slack_api.join(PARTNER)
    # Threshold 0: the customer is never asked, so both ideas are recorded and staff decide.
    bot = bot_factory(**slack_settings(slack_api), SIMILAR_IDEA_THRESHOLD="0")
    await bot.start()
    kari, ola = Customer(user_id=901, first_name="Kari"), Customer(user_id=902, first_name="Ola")
    await finish_flow_on_telegram(telegram_api, kari)
    first = await wait_for_card(slack_api)
    assert "Possibly the same as" not in first.block_text  # nothing else was open
    await finish_flow_on_telegram(telegram_api, ola)
    second = await wait_for_card(slack_api, 2)
    assert "*Possibly the same as:*\n#1 A dark mode for the app" in second.block_text
    assert "· 1 follower" in second.block_text
    assert "Merge into #1" in second.button_labels
    slack = events_to(bot)

    # A person of another workspace in the shared channel: one line, and nothing merged.
    await slack.click(PARTNER, second, "Merge into #1")
    await slack_api.wait_until(lambda: len(slack_api.ephemerals) == 1)
    assert slack_api.ephemerals[0]["text"] == REFUSAL
    assert idea_status(sqlite_url, 2) == "new"

    told_ola = len(telegram_api.messages_to(ola))
    assert (await slack.click(ANNE, second, "Merge into #1")).status_code == 200
    await slack_api.wait_until(lambda: updates_of(slack_api, second) == 1)
    merged = card_update(slack_api, second, 1)
    assert "Undo merge" in merged.button_labels
    assert "Merge into #1" not in merged.button_labels
    news = (await telegram_api.wait_for_messages(ola, told_ola + 1))[-1]
    assert "A dark mode for the app" in news.text
    assert idea_status(sqlite_url, 2) == "duplicate"

    # The same button again (a stale card): one line to the one who clicked, nothing changes.
    await slack.click(ANNE, second, "Merge into #1")
    await slack_api.wait_until(lambda: len(slack_api.ephemerals) == 2)
    assert slack_api.ephemerals[1]["user"] == ANNE.user_id
    assert "already merged" in slack_api.ephemerals[1]["text"]
    # The same merge typed: the answer says what will show, and who typed it hears why not.
    typed = await slack.command(ANNE, "merge 2 into 1", command="/ideas", channel=STAFF_CHANNEL)
    assert typed.text == (
        "Merge of idea #2 into #1: both threads show it once done; if nothing is merged, "
        "you alone are told why in #2's thread."
    )
    await slack_api.wait_until(lambda: len(slack_api.ephemerals) == 3)
    assert slack_api.ephemerals[2]["user"] == ANNE.user_id
    assert slack_api.ephemerals[2]["text"] == "Idea #2 is already merged or was not changed."
    assert slack_api.ephemerals[2]["thread_ts"] == second.ts

    await slack.click(ANNE, merged, "Undo merge")
    await slack_api.wait_until(lambda: updates_of(slack_api, second) == 2)
    undone = card_update(slack_api, second, 2)
    assert "Merge into #1" in undone.button_labels  # the same candidates, as stored
    assert idea_status(sqlite_url, 2) == "new"

    # The original is decided since: a merge into it is refused kindly.
    await slack.choose(ANNE, first, "1:done")
    await slack_api.wait_until(lambda: updates_of(slack_api, first) == 1)
    await slack.click(ANNE, undone, "Merge into #1")
    await slack_api.wait_until(lambda: len(slack_api.ephemerals) == 4)
    assert slack_api.ephemerals[3]["text"] == (
        "Idea #1 is no longer open, so nothing was merged into it."
    )
    assert idea_status(sqlite_url, 2) == "new"
    assert slack_api.ephemerals[3]["channel"] == STAFF_CHANNEL
