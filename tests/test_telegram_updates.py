"""Raw Telegram updates are read one by one; an unreadable one says why, without its words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import Bot

from bot.telegram.updates import read_update
from storage.dead_letters import raw_json

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


def key_of(update: dict[str, Any]) -> str:
    return read_update(update, Bot("1:token")).key


def test_the_key_names_the_update_with_its_chat_and_message() -> None:
    assert key_of({"update_id": 9, "message": message(text="hi")}) == "9:message:5:1"
    edited = {"update_id": 9, "edited_message": message(text="hi", edit_date=1_700_000_001)}
    assert key_of(edited) == "9:edited_message:5:1"
    pressed = {"update_id": 9, "callback_query": {"id": "4411", "from": USER, "data": "x"}}
    assert key_of(pressed) == "9:callback_query:4411"


def test_an_update_id_given_out_again_is_another_key() -> None:
    # After a quiet week Telegram numbers updates at random: an old update_id comes again.
    first = key_of({"update_id": 9, "message": message(text="hi")})
    other_chat = {**message(text="hi"), "chat": {"id": 6, "type": "private"}}
    assert key_of({"update_id": 9, "message": other_chat}) != first
    assert key_of({"update_id": 9, "message": {**message(text="hi"), "message_id": 2}}) != first
    assert key_of({"update_id": 9, "callback_query": {"id": "1", "from": USER}}) != first


def test_the_same_update_sent_again_or_kept_as_a_dead_letter_has_the_same_key() -> None:
    update = {"update_id": 9, "message": message(text=WORDS)}
    assert key_of(update) == key_of(json.loads(raw_json(update)))
    unreadable = {"update_id": 10, "message": {"message_id": 3, "text": WORDS}}
    assert key_of(unreadable) == key_of(json.loads(raw_json(unreadable)))
    assert key_of(unreadable).startswith("10:raw-")
    assert WORDS not in key_of(unreadable)


def test_a_key_never_outgrows_the_inbox_column() -> None:
    huge = {"update_id": 10**200, "message": message(text="hi")}
    assert key_of(huge).startswith("raw-")
    assert len(key_of(huge)) <= 128
    assert key_of({"message": message(text="hi")}).startswith("raw-")
