"""The delivery each thing the core asks to send becomes, and the ones a delivery sets off."""

from __future__ import annotations

from handlers import messages
from handlers.messages import ButtonsUsed, DeliveryReport, OutboundAction, OutgoingMessage
from handlers.staff.room import (
    PostCard,
    PostDigest,
    PostRoomFile,
    RoomAction,
    StaffAction,
    StaffNotice,
    ThreadPost,
    UpdateCard,
)
from storage.outbox.deliveries import (
    AddReaction,
    Delivery,
    FarewellThenErase,
    MarkButtonsUsed,
    NotifyStaffMember,
    PostInThread,
    PostRoomDigest,
    PostStaffCard,
    PostToRoom,
    SendDataExport,
    SendMessage,
    UpdateStaffCard,
)

DELIVERED_REACTION = "white_check_mark"
NOT_DELIVERED = "⚠️ Not delivered to the customer: {reason}"


def customer_delivery(action: OutboundAction) -> Delivery:
    """The delivery of a message to a customer's chat."""
    match action:
        case ButtonsUsed():
            return MarkButtonsUsed(message_id=action.message_id, text=action.text)
        case OutgoingMessage():
            return SendMessage(
                text=action.text,
                buttons=action.buttons,
                attachments=action.attachments,
                report=action.report,
            )
        case messages.SendDataExport():
            return SendDataExport(customer_id=action.customer_id, file_name=action.file_name)
        case messages.FarewellThenErase():
            return FarewellThenErase(
                customer_id=action.customer_id, text=action.text, could_not=action.could_not
            )


def staff_delivery(conversation_id: int, action: StaffAction) -> Delivery:
    """The delivery of a post for a conversation's staff thread."""
    match action:
        case PostCard():
            return PostStaffCard(conversation_id=conversation_id, card=action.card)
        case UpdateCard():
            return UpdateStaffCard(conversation_id=conversation_id, card=action.card)
        case StaffNotice():
            return NotifyStaffMember(
                conversation_id=conversation_id, user_id=action.user_id, text=action.text
            )
        case ThreadPost():
            return PostInThread(
                conversation_id=conversation_id,
                text=action.text,
                author=action.author,
                attachments=action.attachments,
            )


def room_delivery(action: RoomAction) -> Delivery:
    """The delivery of a post at the staff room's top level."""
    match action:
        case PostDigest():
            return PostRoomDigest(digest=action.digest)
        case PostRoomFile():
            return PostToRoom(attachment=action.attachment)


def report_reaction(report: DeliveryReport) -> AddReaction:
    """The reaction that tells the thread a staff reply reached the customer."""
    return AddReaction(
        conversation_id=report.conversation_id,
        message_ref=report.staff_message_ref,
        name=DELIVERED_REACTION,
    )


def report_failure(report: DeliveryReport, reason: str) -> PostInThread:
    """The thread post that tells staff a reply did not reach the customer, and why."""
    return PostInThread(
        conversation_id=report.conversation_id, text=NOT_DELIVERED.format(reason=reason)
    )
