"""Sends outbox items through the Telegram Bot API, and sorts its errors for the worker."""

from __future__ import annotations

import datetime as dt
from typing import Any, assert_never

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.delivery.files import Files
from bot.delivery.text_limits import utf16_units
from bot.delivery.worker import PermanentDeliveryError, RetryLater, TransientDeliveryError
from handlers.messages import Attachment, Button, TextLimit
from storage.outbox.deliveries import (
    AddReaction,
    DeleteSlackFile,
    DeleteSlackMessage,
    FarewellThenErase,
    MarkButtonsUsed,
    NotifyStaffMember,
    PostErasureReport,
    PostInThread,
    PostRoomDigest,
    PostStaffCard,
    PostToRoom,
    RewriteRoomDigest,
    RewriteSlackMessage,
    SendDataExport,
    SendMessage,
    UpdateStaffCard,
)
from storage.outbox.store import OutboxItem

MESSAGE_LIMIT = 4096
TEXT_LIMIT = TextLimit(MESSAGE_LIMIT, measure=utf16_units)
# Larger pictures go as documents: sendPhoto takes at most 10 MB.
PHOTO_LIMIT = 10_000_000
_UNREACHABLE_REQUESTS = ("chat not found", "user not found", "peer_id_invalid")


def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.payload)] for button in buttons]
    )


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait a 429 asked for, whichever type this PTB version reports it as."""
    value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramSender:
    """Carries out ``send`` and ``mark_buttons_used`` items as Bot API calls."""

    def __init__(self, bot: Bot, *, files: Files) -> None:
        self._bot = bot
        self._files = files

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
            if isinstance(item.delivery, MarkButtonsUsed) and "not modified" in error.message:
                return item.delivery.message_id
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
        match item.delivery:
            case MarkButtonsUsed(message_id=message_id, text=text):
                await self._bot.edit_message_text(
                    text=text or "✔", chat_id=item.chat_id, message_id=int(message_id)
                )
                return message_id
            case SendMessage(attachments=(attachment, *_)):
                return await self._send_file(item.chat_id, attachment)
            case SendMessage(text=text, buttons=buttons):
                sent = await self._bot.send_message(
                    chat_id=item.chat_id, text=text, reply_markup=_keyboard(buttons)
                )
                return str(sent.message_id)
            case (
                PostStaffCard()
                | UpdateStaffCard()
                | PostInThread()
                | NotifyStaffMember()
                | AddReaction()
                | PostRoomDigest()
                | PostToRoom()
                | DeleteSlackMessage()
                | RewriteSlackMessage()
                | RewriteRoomDigest()
                | DeleteSlackFile()
                | PostErasureReport()
            ):
                # The staff room lives in Slack; Telegram only carries customers' chats.
                raise PermanentDeliveryError(f"Telegram cannot carry out '{item.delivery.action}'")
            case SendDataExport() | FarewellThenErase():
                # PrivacyRequestSender turns these into plain sends around this sender.
                raise PermanentDeliveryError(f"'{item.delivery.action}' needs the privacy sender")
            case _:
                assert_never(item.delivery)

    async def _send_file(self, chat_id: str, attachment: Attachment) -> str:
        fetched = await self._files.fetch(attachment)
        upload = InputFile(fetched.data, filename=fetched.name)
        if fetched.mime_type.startswith("image/") and len(fetched.data) <= PHOTO_LIMIT:
            sent = await self._bot.send_photo(chat_id=chat_id, photo=upload)
        else:
            sent = await self._bot.send_document(chat_id=chat_id, document=upload)
        return str(sent.message_id)
