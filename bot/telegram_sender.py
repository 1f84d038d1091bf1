"""Sends outbox items through the Telegram Bot API, and sorts its errors for the worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.delivery import PermanentDeliveryError, RetryLater, TransientDeliveryError
from storage.outbox_actions import OutboxAction
from storage.outbox_store import OutboxItem

MESSAGE_LIMIT = 4096
_UNREACHABLE_REQUESTS = ("chat not found", "user not found", "peer_id_invalid")


def _keyboard(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    buttons = payload.get("buttons") or []
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button["label"], callback_data=button["payload"])]
            for button in buttons
        ]
    )


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait a 429 asked for, whichever type this PTB version reports it as."""
    value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramSender:
    """Carries out ``send`` and ``mark_buttons_used`` items as Bot API calls."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def deliver(self, item: OutboxItem) -> str:
        """Send the item; the Telegram message id on success."""
        try:
            return await self._call(item)
        except RetryAfter as error:
            raise RetryLater(retry_after_seconds(error)) from error
        except Forbidden as error:
            raise PermanentDeliveryError(
                f"the customer has blocked the bot ({error.message})", recipient_unreachable=True
            ) from error
        except BadRequest as error:
            unreachable = any(text in error.message.lower() for text in _UNREACHABLE_REQUESTS)
            if item.action == OutboxAction.MARK_BUTTONS_USED and "not modified" in error.message:
                return str(item.payload["message_id"])
            raise PermanentDeliveryError(
                f"Telegram refused the request: {error.message}", recipient_unreachable=unreachable
            ) from error
        except ChatMigrated as error:
            raise PermanentDeliveryError(
                f"the chat moved to {error.new_chat_id}", recipient_unreachable=True
            ) from error
        except InvalidToken as error:
            # Every send fails until an admin fixes the token; keep the messages and retry.
            raise TransientDeliveryError("Telegram rejected the bot token") from error
        except (NetworkError, TelegramError) as error:
            raise TransientDeliveryError(f"{type(error).__name__}: {error.message}") from error

    async def _call(self, item: OutboxItem) -> str:
        payload = item.payload
        if item.action == OutboxAction.MARK_BUTTONS_USED:
            await self._bot.edit_message_text(
                text=payload["text"] or "✔",
                chat_id=item.chat_id,
                message_id=int(payload["message_id"]),
            )
            return str(payload["message_id"])
        sent = await self._bot.send_message(
            chat_id=item.chat_id, text=payload["text"], reply_markup=_keyboard(payload)
        )
        return str(sent.message_id)
