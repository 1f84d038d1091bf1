"""Raw Telegram updates are read one by one; an unreadable one says why, without its words."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot

from bot.telegram_updates import read_update

WORDS = "private words of a customer"
USER = {"id": 5, "is_bot": False, "first_name": "Kari"}
CHAT = {"id": 5, "type": "private"}


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 1, "from": USER, "chat": CHAT, "date": 1_700_000_000, **fields}


@pytest.mark.parametrize(
    ("update", "problem"),
    [
        ({"update_id": 1, "message": {"message_id": 1, "from": USER, "text": WORDS}}, "KeyError"),
        (
            {
                "update_id": 2,
                "message": {k: v for k, v in message(text=WORDS).items() if k != "chat"},
            },
            "message without chat or date",
        ),
        (
            {"update_id": 3, "message": message(caption=WORDS, photo=[{"width": 1, "height": 1}])},
            "TypeError: PhotoSize.__init__() missing",
        ),
        ({"update_id": 4, "message": message(poll={"id": "p", "question": WORDS})}, "TypeError"),
        ({"message": message(text=WORDS)}, "update_id"),
    ],
)
def test_unreadable_updates_say_why_without_their_words(
    update: dict[str, Any], problem: str
) -> None:
    read = read_update(update, Bot("1:token"))
    assert read.update is None
    assert read.problem.startswith("unreadable update: ")
    assert problem in read.problem
    assert WORDS not in read.problem
    assert read.data == update


def test_a_readable_update_keeps_its_chat() -> None:
    read = read_update({"update_id": 9, "message": message(text="hi")}, Bot("1:token"))
    assert read.update is not None
    assert (read.update_id, read.chat, read.problem) == (9, "5", "")
