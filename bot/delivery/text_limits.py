"""How long one message's text may be on each platform, counted as that platform counts."""

from __future__ import annotations

from bot.slack.sender import MESSAGE_LIMIT as SLACK_MESSAGE_LIMIT
from bot.telegram.sender import MESSAGE_LIMIT as TELEGRAM_MESSAGE_LIMIT
from handlers.messages import TextLimit


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, which is how Telegram counts a message's length."""
    return len(text.encode("utf-16-le")) // 2


TELEGRAM_TEXT_LIMIT = TextLimit(TELEGRAM_MESSAGE_LIMIT, measure=utf16_units)
# Slack does not say how it counts; UTF-16 units are never fewer than characters, so a part
# that fits in them fits however Slack counts characters.
SLACK_TEXT_LIMIT = TextLimit(SLACK_MESSAGE_LIMIT, measure=utf16_units)
