"""JSON from the network: nesting is capped, and too deep is a ValueError, never RecursionError."""

from __future__ import annotations

import pytest

from bot.http.json_body import MAX_DEPTH, TooDeep, check_depth, read_json, why_unread


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_real_shapes_are_read() -> None:
    assert read_json(b'{"update_id": 1, "message": {"chat": {"id": 5}}}')["update_id"] == 1
    assert read_json(nested(MAX_DEPTH))
    assert read_json('{"a": ' * (MAX_DEPTH - 1) + "[]" + "}" * (MAX_DEPTH - 1))


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 900, 50_000])
def test_deeper_than_the_limit_is_a_value_error(levels: int) -> None:
    with pytest.raises(TooDeep):
        read_json(nested(levels))
    with pytest.raises(TooDeep):
        read_json('{"a": ' * levels + "1" + "}" * levels)


def test_not_json_is_a_value_error() -> None:
    for raw in [b"not json", b"\xff\xfe", b""]:
        with pytest.raises(ValueError, match=r"\S") as refused:
            read_json(raw)
        assert why_unread(refused.value) == "it is not JSON"


def test_a_parsed_value_is_checked_without_recursion() -> None:
    value: list[object] = []
    for _ in range(5000):
        value = [value]
    with pytest.raises(TooDeep):
        check_depth(value)
    check_depth({"a": [{"b": "c"}] * 1000})
