"""Splits long texts into parts a platform accepts, on the safest boundary available."""

from __future__ import annotations

import re

from handlers.messages import TextLimit

_BOUNDARIES = (
    re.compile(r"\n\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?])\s"),
    re.compile(r"\s"),
)


def _prefix_within(text: str, limit: TextLimit) -> int:
    """The longest prefix of ``text`` (in characters) that fits in ``limit``."""
    low, high = 0, min(len(text), limit.max_length)
    while low < high:
        middle = (low + high + 1) // 2
        if limit.measure(text[:middle]) <= limit.max_length:
            low = middle
        else:
            high = middle - 1
    return low


def split_text(text: str, limit: TextLimit) -> list[str]:
    """Parts that fit in ``limit``: cut between paragraphs, then lines, sentences, words."""
    parts: list[str] = []
    rest = text
    while limit.measure(rest) > limit.max_length:
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
