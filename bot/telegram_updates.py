"""Reads raw Telegram updates one by one, so one that cannot be read spoils no other."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update

from storage.dead_letters import raw_json


@dataclass(frozen=True, slots=True)
class RawUpdate:
    """One update as Telegram sent it, and what PTB made of it (None: it could not be read)."""

    update_id: int
    chat: str
    data: dict[str, Any]
    update: Update | None
    problem: str = ""


def read_update(data: Any, bot: Bot) -> RawUpdate:
    """Parse one raw update on its own; an unreadable one says why, without its words."""
    data = data if isinstance(data, dict) else {"not_an_update": raw_json(data)}
    update_id = data.get("update_id")
    ident = update_id if isinstance(update_id, int) and not isinstance(update_id, bool) else -1
    chat = _raw_chat(data) or f"update-{ident}"
    try:
        update = Update.de_json(data, bot)
    except Exception as error:  # PTB raises whatever the constructors raise on missing fields
        return RawUpdate(ident, chat, data, None, f"unreadable update: {error_kind(error)}")
    if ident < 0:
        return RawUpdate(ident, chat, data, None, "unreadable update: no update_id")
    missing = _missing_part(update)
    if missing:
        return RawUpdate(ident, chat, data, None, f"unreadable update: {missing}")
    return RawUpdate(
        ident, str(update.effective_chat.id) if update.effective_chat else chat, data, update
    )


def _missing_part(update: Update) -> str:
    """What a parsed update lacks that Telegram always sends (PTB lets some of it be None)."""
    for message in (update.message, update.edited_message):
        if message is not None and (message.chat is None or message.date is None):
            return "message without chat or date"
    query = update.callback_query
    if query is not None and query.from_user is None:
        return "callback query without sender"
    return ""


def _raw_chat(data: dict[str, Any]) -> str:
    """The chat id in a raw update, if it has one where messages keep it."""
    for field_name in ("message", "edited_message"):
        message = data.get(field_name)
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return str(message["chat"].get("id", ""))
    query = data.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("from"), dict):
        return str(query["from"].get("id", ""))
    return ""


def error_kind(error: BaseException) -> str:
    """An error's type and, for a missing argument or key, which: never a customer's words."""
    if isinstance(error, TypeError | KeyError):
        return f"{type(error).__name__}: {str(error)[:200]}"
    return type(error).__name__


def external_id(data: dict[str, Any], update_id: int) -> str:
    """The id a dead letter keeps an update under: its update_id, or a digest of it."""
    if update_id >= 0:
        return str(update_id)
    return "raw-" + hashlib.sha256(raw_json(data).encode()).hexdigest()[:24]
