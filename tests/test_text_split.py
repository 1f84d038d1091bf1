"""Splitting long replies on safe boundaries, counted as Telegram counts."""

import pytest

from bot.delivery.text_limits import utf16_units as units
from handlers.dialogue.text_split import split_text
from handlers.messages import TextLimit


def telegram(max_length: int) -> TextLimit:
    return TextLimit(max_length, measure=units)


def test_short_text_is_one_part() -> None:
    assert split_text("hello", telegram(4096)) == ["hello"]
    assert split_text("", telegram(4096)) == [""]


def test_paragraphs_are_preferred_boundaries() -> None:
    text = "a" * 50 + "\n\n" + "b" * 50
    assert split_text(text, telegram(80)) == ["a" * 50, "b" * 50]


def test_sentences_then_words() -> None:
    text = "This is one sentence. " * 20
    parts = split_text(text, telegram(100))
    assert all(units(part) <= 100 for part in parts)
    assert all(part.endswith(".") for part in parts[:-1])
    assert " ".join(parts).split() == text.split()


def test_one_huge_word_is_cut_hard() -> None:
    parts = split_text("x" * 250, telegram(100))
    assert [len(part) for part in parts] == [100, 100, 50]


@pytest.mark.parametrize("character", ["😀", "ø", "中"])
def test_limits_count_utf16_units(character: str) -> None:
    text = (character * 30 + " ") * 200
    parts = split_text(text, telegram(4096))
    assert all(units(part) <= 4096 for part in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_a_limit_counts_characters_unless_told_otherwise() -> None:
    parts = split_text("😀" * 150, TextLimit(100))
    assert [len(part) for part in parts] == [100, 50]
