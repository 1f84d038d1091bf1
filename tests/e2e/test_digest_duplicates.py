"""The real ``ideabot run``: the digest lists likely duplicate ideas, given in en and in nb."""

from __future__ import annotations

import dataclasses

import pytest

from tests.doubles.slack_api import STAFF_CHANNEL, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import ANNE, BotFactory
from tests.e2e.test_similar_decisions import ENGLISH, NORWEGIAN, Wording, give_idea
from tests.helpers.slack_staff import events_to, slack_settings, wait_for_card

# The same idea in other words, as a second customer writes it.
AGAIN = {
    "en": "Dark mode for the app please, the white screen hurts my eyes at night",
    "nb": "Mørk modus i appen, for lys skjerm om kvelden",
}


def digests(slack_api: SlackWebApiDouble) -> list[str]:
    return [
        post.text
        for post in slack_api.posts_in(STAFF_CHANNEL)
        if post.thread_ts is None and post.text.startswith("*Ideas digest")
    ]


@pytest.mark.parametrize("words", [ENGLISH, NORWEGIAN], ids=["en", "nb"])
async def test_the_digest_lists_two_ideas_that_are_likely_the_same(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    words: Wording,
) -> None:
    # Threshold 0: the customer is never asked, so both ideas are recorded for staff.
    bot = bot_factory(**slack_settings(slack_api), SIMILAR_IDEA_THRESHOLD="0")
    await bot.start()
    kari, ola = (
        Customer(user_id=user_id, first_name=name, language_code=words.language)
        for user_id, name in ((951, "Kari"), (952, "Ola"))
    )
    await give_idea(telegram_api, kari, words)
    await wait_for_card(slack_api)
    await give_idea(telegram_api, ola, dataclasses.replace(words, idea=AGAIN[words.language]))
    await wait_for_card(slack_api, 2)

    answer = await events_to(bot).command(ANNE, "digest", command="/ideas", channel=STAFF_CHANNEL)
    assert answer.text == "The digest is on its way to this channel."
    await slack_api.wait_until(lambda: len(digests(slack_api)) == 1)
    (digest,) = digests(slack_api)
    assert "*Likely duplicates*" in digest
    pairs = digest.split("*Likely duplicates*", 1)[1].split("\n\n", 1)[0]
    assert "• #1 " in pairs
    assert " ↔ #2 " in pairs
    assert "`/ideas merge ID into ID`" in pairs
