"""The plain values that cross the line between the platforms and the core."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Who a conversation is with: one customer in one chat of one platform."""

    platform: str
    chat_id: str
    user_id: str

    @property
    def destination(self) -> str:
        """The outbox destination of this chat, e.g. ``telegram:12345``."""
        return f"{self.platform}:{self.chat_id}"


class AttachmentKind(StrEnum):
    """What kind of thing a customer sent besides words."""

    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO = "video"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file or a thing a customer sent, kept by reference to the platform."""

    kind: AttachmentKind
    # The platform the file lives on, so it can be fetched from there to go elsewhere.
    platform: str = ""
    file_id: str = ""
    file_name: str = ""
    mime_type: str = ""
    size_bytes: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """This attachment as JSON-ready data."""
        return {
            "kind": self.kind.value,
            "platform": self.platform,
            "file_id": self.file_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size_bytes": self.size_bytes,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attachment:
        """An attachment from what ``to_json`` wrote."""
        return cls(
            kind=AttachmentKind(data["kind"]),
            platform=data.get("platform", ""),
            file_id=data.get("file_id", ""),
            file_name=data.get("file_name", ""),
            mime_type=data.get("mime_type", ""),
            size_bytes=data.get("size_bytes"),
            details=dict(data.get("details") or {}),
        )

    @property
    def is_file(self) -> bool:
        """True for what can be carried across as a file (not a location or a contact)."""
        return bool(self.file_id) and self.kind not in (
            AttachmentKind.LOCATION,
            AttachmentKind.CONTACT,
            AttachmentKind.STICKER,
        )

    def describe(self) -> str:
        """A short line naming the attachment, for where the file itself cannot go."""
        name = f" “{self.file_name}”" if self.file_name else ""
        size = f" ({megabytes(self.size_bytes)} MB)" if self.size_bytes else ""
        return f"📎 {self.kind.value}{name}{size}"


def megabytes(size_bytes: int) -> str:
    """A size in MB with one decimal, as people read file sizes."""
    return f"{size_bytes / 1_000_000:.1f}"


@dataclass(frozen=True, slots=True)
class FileLimits:
    """How large a file a platform lets a bot fetch and send, in bytes (None: no limit known)."""

    fetch_bytes: int | None = None
    send_bytes: int | None = None

    def too_large_to_fetch(self, attachment: Attachment) -> bool:
        """True when the attachment is known to exceed what can be fetched."""
        return _exceeds(attachment, self.fetch_bytes)

    def too_large_to_send(self, attachment: Attachment) -> bool:
        """True when the attachment is known to exceed what can be sent."""
        return _exceeds(attachment, self.send_bytes)


def _exceeds(attachment: Attachment, limit: int | None) -> bool:
    size = attachment.size_bytes
    return limit is not None and size is not None and size > limit


@dataclass(frozen=True, slots=True)
class TextLimit:
    """How long one message's text may be on a platform, measured as that platform counts."""

    max_length: int
    # The split relies on it counting every character as at least one (characters and UTF-16
    # units do).
    measure: Callable[[str], int] = len


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One thing a customer did: a line of text, a button press, a file or an edit."""

    key: ConversationKey
    external_id: str
    text: str = ""
    display_name: str = ""
    language_code: str = ""
    button_payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    platform_message_id: str = ""
    # The message that carried the pressed button, so its buttons can be marked as used.
    button_message_id: str = ""
    button_message_text: str = ""
    edited: bool = False
    is_private_chat: bool = True
    # The id an older ideabot kept this same event under ("" if none): a fresh row of it means
    # the event was handled before an upgrade and is now sent again.
    earlier_external_id: str = ""


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a message: what it says and what pressing it sends back."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Tell a staff thread whether a staff member's reply reached the customer."""

    conversation_id: int
    staff_message_ref: str


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message the bot sends to a chat; buttons are laid out one per row."""

    text: str
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    report: DeliveryReport | None = None


@dataclass(frozen=True, slots=True)
class ButtonsUsed:
    """Marks the message whose button was pressed, so its buttons cannot be pressed again."""

    message_id: str
    text: str


@dataclass(frozen=True, slots=True)
class SendDataExport:
    """Send the customer a file of everything stored about them, built when it is sent."""

    customer_id: int
    file_name: str


@dataclass(frozen=True, slots=True)
class FarewellThenErase:
    """Erase the customer's data; the erasure then tells them ``text`` (their chat goes with it)."""

    customer_id: int
    text: str
    # What they are told, once, if the erasure cannot be done.
    could_not: str = ""


OutboundAction = OutgoingMessage | ButtonsUsed | SendDataExport | FarewellThenErase
