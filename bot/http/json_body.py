"""JSON from the network read with a cap on its nesting, so no body can exhaust the stack."""

from __future__ import annotations

import json
from typing import Any

# Telegram updates and Slack payloads nest a dozen levels or so; far deeper is no real one,
# and json.loads or any recursive walk over it (PTB, bolt, text repair) would hit Python's
# recursion limit: a RecursionError, which is not a ValueError, and a 500 with a traceback.
MAX_DEPTH = 64


class TooDeep(ValueError):
    """A JSON value nested deeper than the limit."""

    def __init__(self) -> None:
        super().__init__(f"it is nested more than {MAX_DEPTH} levels deep")


def read_json(raw: str | bytes) -> Any:
    """The JSON value in ``raw``; ValueError if it is not JSON or nests deeper than the limit."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise TooDeep() from None
    check_depth(value)
    return value


def why_unread(error: ValueError) -> str:
    """Our own words for why ``read_json`` refused a body, never a piece of the body."""
    return str(error) if isinstance(error, TooDeep) else "it is not JSON"


def check_depth(value: Any) -> None:
    """Raise TooDeep if ``value`` nests deeper than the limit; walked without recursion."""
    level: list[tuple[Any, int]] = [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise TooDeep()
        level.extend((child, depth + 1) for child in children)
