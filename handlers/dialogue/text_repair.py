"""Repairs text no database can store: NUL characters and lone UTF-16 surrogates."""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
# PostgreSQL refuses U+0000 in text and JSON; lone surrogates cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def repair_text(text: str) -> str:
    """``text`` with each NUL and each lone surrogate replaced by U+FFFD; pairs are joined."""
    if _UNSTORABLE.search(text) is None:
        return text
    # A high and a low surrogate side by side are one character split in two: join them.
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\x00", REPLACEMENT)


def repair_json(value: Any) -> Any:
    """A JSON value with every string in it (keys too) repaired by ``repair_text``."""
    match value:
        case str():
            return repair_text(value)
        case dict():
            return {repair_text(str(key)): repair_json(item) for key, item in value.items()}
        case list() | tuple():
            return [repair_json(item) for item in value]
        case _:
            return value
