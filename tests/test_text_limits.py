"""Each platform's message length, counted as that platform counts."""

from bot.slack.format import SECTION_LIMIT, escape, question_blocks
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


def test_slack_counts_a_text_as_it_is_sent_escaped() -> None:
    assert SLACK_TEXT_LIMIT.measure("a<b&c") == len("a&lt;b&amp;c")


def test_a_long_slack_text_with_markup_characters_is_sent_whole() -> None:
    text = "a<b " * 1500
    parts = split_text(text, SLACK_TEXT_LIMIT)
    sections = [question_blocks(part, [])[0]["text"]["text"] for part in parts]
    assert all(len(section) <= SECTION_LIMIT for section in sections)
    # Nothing was clipped: the escaped parts put back together are the escaped text.
    assert "".join(sections).replace(" ", "") == escape(text).replace(" ", "")
