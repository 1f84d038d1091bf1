"""The things the delivery worker knows how to do, one typed value each, stored as JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationError,
)

from handlers.ideas.digest import Digest
from handlers.messages import Attachment, Button, DeliveryReport
from handlers.staff.room import StaffCard

_Value = TypeVar("_Value")


class UnreadableDelivery(ValueError):
    """An outbox row's JSON holds no delivery this version can carry out; says why, not what."""


def _read(reader: Callable[[Any], _Value], value: Any, what: str) -> _Value:
    """The core's reader applied to stored JSON, its failures a ValueError pydantic reports."""
    # Pydantic passes KeyError and TypeError through unwrapped; the message names no input.
    try:
        return reader(value)
    except KeyError as error:
        raise ValueError(f"{what} lacks the key {error}") from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} of the wrong shape ({type(error).__name__})") from None


def _attachment(value: Any) -> Attachment:
    return value if isinstance(value, Attachment) else _read(Attachment.from_json, value, "file")


def _card(value: Any) -> StaffCard:
    return value if isinstance(value, StaffCard) else _read(StaffCard.from_json, value, "card")


def _digest(value: Any) -> Digest:
    return value if isinstance(value, Digest) else _read(Digest.from_json, value, "digest")


# Stored in the JSON shape the core's own to_json writes, as rows always held them.
StoredAttachment = Annotated[
    Attachment, PlainValidator(_attachment), PlainSerializer(Attachment.to_json)
]
StoredCard = Annotated[StaffCard, PlainValidator(_card), PlainSerializer(StaffCard.to_json)]
StoredDigest = Annotated[Digest, PlainValidator(_digest), PlainSerializer(Digest.to_json)]


class _Delivery(BaseModel):
    # A message id put into a row by hand may be a JSON number; it names the same message.
    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)


class SendMessage(_Delivery):
    """A message to a customer's chat, with its buttons or one file."""

    action: Literal["send"] = "send"
    text: str = ""
    buttons: tuple[Button, ...] = ()
    attachments: tuple[StoredAttachment, ...] = ()
    report: DeliveryReport | None = None


class MarkButtonsUsed(_Delivery):
    """Replace a customer's message whose button was pressed with its text, without buttons."""

    action: Literal["mark_buttons_used"] = "mark_buttons_used"
    message_id: str
    text: str = ""


class SendDataExport(_Delivery):
    """A file of everything stored about a customer, built at send time and kept nowhere."""

    action: Literal["send_data_export"] = "send_data_export"
    customer_id: int
    file_name: str


class FarewellThenErase(_Delivery):
    """The erasure of a customer's data (this row included), which then queues ``text``."""

    action: Literal["farewell_then_erase"] = "farewell_then_erase"
    customer_id: int
    text: str
    # Said instead, once, when the erasure is given up on.
    could_not: str = ""


class PostStaffCard(_Delivery):
    """Open a conversation's thread: its card at the top level of the staff room."""

    action: Literal["post_card"] = "post_card"
    conversation_id: int
    card: StoredCard


class InThread(_Delivery):
    """A delivery into a conversation's staff thread, which exists once its card was posted."""

    conversation_id: int


class UpdateStaffCard(InThread):
    """Show a changed card in place of the old one."""

    action: Literal["update_card"] = "update_card"
    card: StoredCard


class PostInThread(InThread):
    """A post in the thread, from the customer (``author``) or the bot."""

    action: Literal["thread_post"] = "thread_post"
    text: str = ""
    author: str = ""
    attachments: tuple[StoredAttachment, ...] = ()


class NotifyStaffMember(InThread):
    """A post in the thread that only one staff member sees."""

    action: Literal["staff_notice"] = "staff_notice"
    user_id: str
    text: str


class AddReaction(InThread):
    """A reaction on a message in the thread."""

    action: Literal["react"] = "react"
    message_ref: str
    name: str


class PostRoomDigest(_Delivery):
    """A digest at the top level of the staff room."""

    action: Literal["post_digest"] = "post_digest"
    digest: StoredDigest


class PostToRoom(_Delivery):
    """A file at the top level of the staff room (a digest's chart)."""

    action: Literal["post_room_file"] = "post_room_file"
    attachment: StoredAttachment


class DeleteSlackMessage(_Delivery):
    """Delete a message ideabot posted (an erasure's or retention's remote step)."""

    action: Literal["delete_message"] = "delete_message"
    erasure_id: int
    message_ref: str


class RewriteSlackMessage(_Delivery):
    """Replace a message ideabot posted with a neutral text (a card whose thread stays)."""

    action: Literal["rewrite_message"] = "rewrite_message"
    erasure_id: int
    message_ref: str
    text: str


class RewriteRoomDigest(_Delivery):
    """Show a digest again without what an erasure removed."""

    action: Literal["rewrite_digest"] = "rewrite_digest"
    erasure_id: int
    message_ref: str
    digest: StoredDigest


class DeleteSlackFile(_Delivery):
    """Delete a file ideabot uploaded."""

    action: Literal["delete_file"] = "delete_file"
    erasure_id: int
    file_id: str


class PostErasureReport(_Delivery):
    """What an erasure did and what staff must remove by hand, in a thread or to an admin."""

    action: Literal["erasure_report"] = "erasure_report"
    erasure_id: int
    text: str
    thread_ref: str = ""


# An erasure's steps in Slack: the outbox rows of its destination (``erasure:<id>``).
ErasureStep = (
    DeleteSlackMessage
    | RewriteSlackMessage
    | RewriteRoomDigest
    | DeleteSlackFile
    | PostErasureReport
)
# The kinds that go into a conversation's thread (an ``InThread`` each).
ThreadDelivery = UpdateStaffCard | PostInThread | NotifyStaffMember | AddReaction
Delivery = Annotated[
    SendMessage
    | MarkButtonsUsed
    | SendDataExport
    | FarewellThenErase
    | PostStaffCard
    | UpdateStaffCard
    | PostInThread
    | NotifyStaffMember
    | AddReaction
    | PostRoomDigest
    | PostToRoom
    | DeleteSlackMessage
    | RewriteSlackMessage
    | RewriteRoomDigest
    | DeleteSlackFile
    | PostErasureReport,
    Field(discriminator="action"),
]
_DELIVERY: TypeAdapter[Delivery] = TypeAdapter(Delivery)


def action_of(kind: type[BaseModel]) -> str:
    """The ``action`` column of an outbox row that holds this kind of delivery."""
    return str(kind.model_fields["action"].default)


def stored(delivery: Delivery) -> dict[str, Any]:
    """The JSON an outbox row keeps of a delivery."""
    return delivery.model_dump(mode="json")


def read_delivery(action: str, payload: Any) -> Delivery:
    """The delivery an outbox row holds; rows of older versions kept the action out of the JSON."""
    if not isinstance(payload, dict):
        raise UnreadableDelivery(f"the JSON is a {type(payload).__name__}, not an object")
    if payload.get("action", action) != action:
        # Else a row would do what its JSON says while counted and shown as its column says.
        raise UnreadableDelivery("the JSON's action is not the row's")
    try:
        return _DELIVERY.validate_python({**payload, "action": action})
    except ValidationError as error:
        raise UnreadableDelivery(_without_inputs(error)) from None


def _without_inputs(error: ValidationError) -> str:
    """Where and why the JSON was refused; never its values, which may be a customer's words."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors(include_url=False, include_context=False, include_input=False)
    )
