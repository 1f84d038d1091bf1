"""The real ``ideabot run``: customers answer "is yours the same?", in en and nb, and it is kept."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import pytest

from tests.doubles.slack_api import SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.helpers.slack_staff import slack_settings, wait_for_card


@dataclass(frozen=True)
class Wording:
    """One language's answers to the shipped flow, and its words for the question's buttons."""

    language: str
    idea: str
    why: str
    every_day: str
    no_contact: str
    asked: str
    same: str
    different: str
    joined: str


ENGLISH = Wording(
    language="en",
    idea="A dark mode for the app, because the white screen hurts at night",
    why="My eyes hurt in bed",
    every_day="Every day",
    no_contact="No",
    asked="Someone has suggested something like it already",
    same="Yes, the same",
    different="No, mine is different",
    joined="I've added your voice",
)
NORWEGIAN = Wording(
    language="nb",
    idea="Mørk modus i appen, skjermen er for lys om kvelden",
    why="Øynene mine blir slitne når jeg leser i senga",
    every_day="Hver dag",
    no_contact="Nei",
    asked="Noen har allerede foreslått noe lignende",
    same="Ja, den samme",
    different="Nei, min er annerledes",
    joined="Jeg har lagt til stemmen",
)


async def give_idea(telegram_api: TelegramBotApiDouble, customer: Customer, words: Wording) -> str:
    """Answer the shipped flow; the bot's last message after the last answer."""
    await telegram_api.send_text(customer, "/start")
    await telegram_api.wait_for_messages(customer, 1)
    await telegram_api.send_text(customer, words.idea)
    await telegram_api.wait_for_messages(customer, 2)
    await telegram_api.send_text(customer, words.why)
    frequency = (await telegram_api.wait_for_messages(customer, 3))[-1]
    await telegram_api.press(customer, frequency, words.every_day)
    importance = (await telegram_api.wait_for_messages(customer, 4))[-1]
    await telegram_api.press(customer, importance, "5")
    contact = (await telegram_api.wait_for_messages(customer, 5))[-1]
    await telegram_api.press(customer, contact, words.no_contact)
    return str((await telegram_api.wait_for_messages(customer, 6))[-1].text)


def rows(sqlite_url: str, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as connection:
        return list(connection.execute(query).fetchall())


@pytest.mark.parametrize("words", [ENGLISH, NORWEGIAN], ids=["en", "nb"])
async def test_a_yes_links_the_customer_and_a_no_records_the_idea_and_both_are_kept(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
    words: Wording,
) -> None:
    bot = bot_factory(**slack_settings(slack_api))
    await bot.start()
    first, second, third = (
        Customer(user_id=user_id, first_name=name, language_code=words.language)
        for user_id, name in ((931, "Kari"), (932, "Ola"), (933, "Siri"))
    )
    await give_idea(telegram_api, first, words)
    await wait_for_card(slack_api)

    question = await give_idea(telegram_api, second, words)
    assert words.asked in question
    asked = (await telegram_api.wait_for_messages(second, 6))[-1]
    await telegram_api.press(second, asked, words.same)
    joined = (await telegram_api.wait_for_messages(second, 7))[-1]
    assert words.joined in joined.text
    assert rows(sqlite_url, "select id, status from idea order by id") == [
        (1, "new"),
        (2, "duplicate"),
    ]

    # Asked again (through the wording the second customer confirmed), the third says no.
    question = await give_idea(telegram_api, third, words)
    assert words.asked in question
    asked = (await telegram_api.wait_for_messages(third, 6))[-1]
    await telegram_api.press(third, asked, words.different)
    card = await wait_for_card(slack_api, 2)
    # Recorded as an idea of its own, and staff see the one it may be the same as.
    assert "*Possibly the same as:*\n#1 " in card.block_text
    assert "Merge into #1" in card.button_labels
    assert rows(sqlite_url, "select source, same, idea_id from similar_decision order by id") == [
        ("customer_yes", 1, 1),
        ("customer_no", 0, 1),
    ]
