"""Translates Telegram updates into the core's IncomingMessage, and nothing more."""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update, User
from telegram.constants import MessageEntityType

from bot.telegram.updates import earlier_external_id
from handlers.dialogue.text_repair import repair_text
from handlers.messages import Attachment, AttachmentKind, ConversationKey, IncomingMessage

PLATFORM = "telegram"


def for_this_bot(text: str, *, command_length: int, bot_username: str | None) -> str | None:
    """``text`` without ``@bot_username`` on its leading command; None if it names another bot.

    ``command_length`` is that of the leading ``bot_command`` entity Telegram marked (0 if
    none), so a path or an address such as ``/home/kari@work`` is never taken for a command.
    """
    command = text[:command_length]
    name_at = command.find("@")
    if name_at < 0 or bot_username is None:
        return text
    if command[name_at + 1 :].casefold() != bot_username.casefold():
        return None
    return command[:name_at] + text[command_length:]


def _leading_command_length(message: Message) -> int:
    """How long the ``bot_command`` entity at the start of the text or caption is, or 0."""
    entities = message.entities if message.text is not None else message.caption_entities
    for entity in entities:
        if entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0:
            # Commands are ASCII (/[a-z0-9_]+@name), so UTF-16 units are characters here.
            return entity.length
    return 0


def _attachments(message: Message) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        found.append(
            Attachment(
                AttachmentKind.PHOTO,
                platform=PLATFORM,
                file_id=largest.file_id,
                mime_type="image/jpeg",
                size_bytes=largest.file_size,
                details={"width": largest.width, "height": largest.height},
            )
        )
    for kind, media in (
        (AttachmentKind.DOCUMENT, message.document),
        (AttachmentKind.AUDIO, message.audio),
        (AttachmentKind.VIDEO, message.video),
        (AttachmentKind.VOICE, message.voice),
    ):
        if media is not None:
            found.append(
                Attachment(
                    kind,
                    platform=PLATFORM,
                    file_id=media.file_id,
                    file_name=repair_text(getattr(media, "file_name", None) or ""),
                    mime_type=repair_text(getattr(media, "mime_type", None) or ""),
                    size_bytes=media.file_size,
                )
            )
    if message.sticker is not None:
        found.append(
            Attachment(
                AttachmentKind.STICKER,
                platform=PLATFORM,
                file_id=message.sticker.file_id,
                details={"emoji": repair_text(message.sticker.emoji or "")},
            )
        )
    if message.location is not None:
        found.append(
            Attachment(
                AttachmentKind.LOCATION,
                details={
                    "latitude": message.location.latitude,
                    "longitude": message.location.longitude,
                },
            )
        )
    if message.contact is not None:
        found.append(
            Attachment(
                AttachmentKind.CONTACT,
                details={
                    "phone_number": repair_text(message.contact.phone_number),
                    "name": repair_text(
                        " ".join(
                            part
                            for part in (message.contact.first_name, message.contact.last_name)
                            if part
                        )
                    ),
                },
            )
        )
    return tuple(found)


def _key(chat_id: int, user: User) -> ConversationKey:
    return ConversationKey(platform=PLATFORM, chat_id=str(chat_id), user_id=str(user.id))


def _button_press(query: CallbackQuery, *, external_id: str, earlier_id: str) -> IncomingMessage:
    """A pressed inline button, with the message it was on when Telegram still has it."""
    carrier = query.message if isinstance(query.message, Message) else None
    chat_id = carrier.chat.id if carrier is not None else query.from_user.id
    return IncomingMessage(
        key=_key(chat_id, query.from_user),
        external_id=external_id,
        earlier_external_id=earlier_id,
        display_name=repair_text(query.from_user.full_name),
        language_code=repair_text(query.from_user.language_code or ""),
        button_payload=repair_text(query.data or ""),
        button_message_id=str(carrier.message_id) if carrier is not None else "",
        button_message_text=repair_text(carrier.text or "") if carrier is not None else "",
        is_private_chat=carrier is None or carrier.chat.type == "private",
    )


def to_incoming_message(
    update: Update, *, external_id: str, bot_username: str | None
) -> IncomingMessage | None:
    """The customer event in ``update``, kept as ``external_id``; None if not for this bot."""
    # Rows an older ideabot wrote name the update by its update_id alone.
    earlier_id = earlier_external_id(update.update_id)
    if update.callback_query is not None:
        return _button_press(update.callback_query, external_id=external_id, earlier_id=earlier_id)
    message = update.message or update.edited_message
    # Channel posts and service messages have no sender; they are not customers talking.
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    text = repair_text(message.text or message.caption or "")
    words = for_this_bot(
        text, command_length=_leading_command_length(message), bot_username=bot_username
    )
    if words is None:
        if message.chat.type != "private":
            # In a group, a command for another bot is that bot's business, not ours.
            return None
        # In our own chat it is still the customer talking: nothing they write is dropped.
        words = text
    return IncomingMessage(
        key=_key(message.chat.id, message.from_user),
        external_id=external_id,
        earlier_external_id=earlier_id,
        text=words,
        display_name=repair_text(message.from_user.full_name),
        language_code=repair_text(message.from_user.language_code or ""),
        attachments=_attachments(message),
        platform_message_id=str(message.message_id),
        edited=update.edited_message is not None,
        is_private_chat=message.chat.type == "private",
    )
