"""Splits long texts into parts a platform accepts, on the safest boundary available."""

from __future__ import annotations

import re

_BOUNDARIES = (
    re.compile(r"\n\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?])\s"),
    re.compile(r"\s"),
)


def _units(text: str) -> int:
    """Length in UTF-16 code units, which is how Telegram counts a message's length."""
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int) -> int:
    """The longest prefix of ``text`` (in characters) that fits in ``limit`` UTF-16 units."""
    low, high = 0, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if _units(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most ``limit`` UTF-16 units: paragraphs, then lines, sentences, words."""
    parts: list[str] = []
    rest = text
    while _units(rest) > limit:
        window = rest[: _prefix_within(rest, limit)]
        cut = 0
        for boundary in _BOUNDARIES:
            matches = [match.end() for match in boundary.finditer(window) if match.start() > 0]
            if matches and matches[-1] > len(window) // 3:
                cut = matches[-1]
                break
        if cut == 0:
            cut = len(window)  # one long word: a hard cut is the only way
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts
