"""Text no database can store is repaired: NUL and lone surrogates become U+FFFD."""

from __future__ import annotations

import pytest

from handlers.dialogue.text_repair import repair_json, repair_text


@pytest.mark.parametrize(
    ("given", "repaired"),
    [
        ("plain words", "plain words"),
        ("a\x00b", "a\ufffdb"),
        ("lone \ud800 high", "lone \ufffd high"),
        ("lone \udc00 low", "lone \ufffd low"),
        ("\udc00\ud800", "\ufffd\ufffd"),  # a low before a high is not a pair
        ("split \ud83d\ude00 pair", "split 😀 pair"),  # a pair split in two is joined
        ("ok 😀 \x00", "ok 😀 \ufffd"),
    ],
)
def test_repair_text(given: str, repaired: str) -> None:
    assert repair_text(given) == repaired
    repaired.encode("utf-8")  # storable: this would raise on a surrogate


def test_repair_json_reaches_every_string_keys_too() -> None:
    given = {"te\x00xt": ["\ud800", 1, None, True, {"name": "Kari\x00"}]}
    assert repair_json(given) == {"te\ufffdxt": ["\ufffd", 1, None, True, {"name": "Kari\ufffd"}]}
