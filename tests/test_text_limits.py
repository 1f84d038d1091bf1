"""Each platform's message length, counted as that platform counts."""

from bot.slack.sender import TEXT_LIMIT as SLACK_TEXT_LIMIT
from bot.telegram.sender import TEXT_LIMIT as TELEGRAM_TEXT_LIMIT
from handlers.dialogue.text_split import split_text


def test_telegram_counts_an_emoji_as_two() -> None:
    assert TELEGRAM_TEXT_LIMIT.measure("😀") == 2
    assert TELEGRAM_TEXT_LIMIT.measure("ø中") == 2


def test_telegram_splits_emoji_at_half_its_limit_in_characters() -> None:
    parts = split_text("😀" * 4096, TELEGRAM_TEXT_LIMIT)
    assert [len(part) for part in parts] == [2048, 2048]


def test_slack_counts_as_strictly_as_telegram() -> None:
    assert (SLACK_TEXT_LIMIT.max_length, SLACK_TEXT_LIMIT.measure("😀")) == (3000, 2)
