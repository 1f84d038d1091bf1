"""How platforms count a message's length: UTF-16 code units."""

from __future__ import annotations


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, which is how Telegram counts a message's length."""
    return len(text.encode("utf-16-le")) // 2
