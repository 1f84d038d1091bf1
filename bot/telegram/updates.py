"""Reads raw Telegram updates one by one, so one that cannot be read spoils no other."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update

from storage.dead_letters import raw_json

# The inbox and the dead letters keep external ids of at most this many characters.
MAX_KEY_LENGTH = 128


@dataclass(frozen=True, slots=True)
class RawUpdate:
    """One update as Telegram sent it, and what PTB made of it (None: it could not be read)."""

    update_id: int
    chat: str
    data: dict[str, Any]
    update: Update | None
    problem: str = ""

    @property
    def key(self) -> str:
        """The id the inbox and the dead letters keep this update under (see ``external_id``)."""
        return external_id(self.data, self.update_id)


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
    """The update's id for ever: update_id with the chat and message, or the callback query id.

    Telegram picks update_ids at random again after a quiet week, so update_id alone could name
    an update handled long ago; the same update sent again keeps all of these parts.
    """
    key = _key(data, update_id) if update_id >= 0 else ""
    # An absurd id in a forged or broken update must not grow past the column.
    return key if 0 < len(key) <= MAX_KEY_LENGTH else "raw-" + _digest(data)


def _key(data: dict[str, Any], update_id: int) -> str:
    query = data.get("callback_query")
    if isinstance(query, dict) and _plain_id(query.get("id")):
        # Telegram gives every callback query an id of its own, unique across all chats.
        return f"{update_id}:callback_query:{query['id']}"
    for field_name in ("message", "edited_message"):
        message = data.get(field_name)
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat_id, message_id = message["chat"].get("id"), message.get("message_id")
            if _plain_id(chat_id) and _plain_id(message_id):
                return f"{update_id}:{field_name}:{chat_id}:{message_id}"
    return f"{update_id}:raw-{_digest(data)}"


def earlier_external_id(update_id: int) -> str:
    """The id ideabot kept a Telegram update under before ``external_id``: its update_id."""
    return str(update_id)


def _plain_id(value: Any) -> bool:
    """Whether ``value`` is an id as Telegram sends them: a number, or letters and digits."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and 0 < len(value) <= 64 and value.lstrip("-").isalnum()


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(raw_json(data).encode()).hexdigest()[:24]
