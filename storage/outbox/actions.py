"""The outbox's action names and the JSON payload of each thing the core asks to send."""

from __future__ import annotations

from typing import Any

from handlers.messages import ButtonsUsed, OutboundAction, OutgoingMessage
from handlers.staff.room import (
    PostCard,
    PostDigest,
    StaffAction,
    StaffNotice,
    ThreadPost,
    UpdateCard,
)


class OutboxAction:
    """The names of the things the delivery worker knows how to do."""

    SEND = "send"
    MARK_BUTTONS_USED = "mark_buttons_used"
    POST_CARD = "post_card"
    UPDATE_CARD = "update_card"
    THREAD_POST = "thread_post"
    STAFF_NOTICE = "staff_notice"
    REACT = "react"
    POST_DIGEST = "post_digest"


# Actions that go into a thread and so need its id (filled in when they are claimed).
IN_THREAD = frozenset(
    {
        OutboxAction.UPDATE_CARD,
        OutboxAction.THREAD_POST,
        OutboxAction.STAFF_NOTICE,
        OutboxAction.REACT,
    }
)
DELIVERED_REACTION = "white_check_mark"
NOT_DELIVERED = "⚠️ Not delivered to the customer: {reason}"


def outbox_payload(action: OutboundAction) -> tuple[str, dict[str, Any]]:
    """The outbox action name and JSON payload of a message to a customer's chat."""
    if isinstance(action, ButtonsUsed):
        return OutboxAction.MARK_BUTTONS_USED, {
            "message_id": action.message_id,
            "text": action.text,
        }
    assert isinstance(action, OutgoingMessage)
    buttons = [{"label": button.label, "payload": button.payload} for button in action.buttons]
    payload: dict[str, Any] = {"text": action.text, "buttons": buttons}
    if action.attachments:
        payload["attachments"] = [attachment.to_json() for attachment in action.attachments]
    if action.report is not None:
        payload["report"] = {
            "conversation_id": action.report.conversation_id,
            "staff_message_ref": action.report.staff_message_ref,
        }
    return OutboxAction.SEND, payload


def staff_payload(conversation_id: int, action: StaffAction) -> tuple[str, dict[str, Any]]:
    """The outbox action name and JSON payload of a post for a conversation's staff thread."""
    base: dict[str, Any] = {"conversation_id": conversation_id}
    if isinstance(action, PostCard):
        return OutboxAction.POST_CARD, {**base, "card": action.card.to_json()}
    if isinstance(action, UpdateCard):
        return OutboxAction.UPDATE_CARD, {**base, "card": action.card.to_json()}
    if isinstance(action, StaffNotice):
        return OutboxAction.STAFF_NOTICE, {**base, "user_id": action.user_id, "text": action.text}
    assert isinstance(action, ThreadPost)
    return OutboxAction.THREAD_POST, {
        **base,
        "text": action.text,
        "author": action.author,
        "attachments": [attachment.to_json() for attachment in action.attachments],
    }


def room_payload(action: PostDigest) -> tuple[str, dict[str, Any]]:
    """The outbox action name and JSON payload of a post at the staff room's top level."""
    return OutboxAction.POST_DIGEST, {"digest": action.digest.to_json()}


def report_reaction(report: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The reaction that tells the thread a staff reply reached the customer."""
    return OutboxAction.REACT, {
        "conversation_id": report["conversation_id"],
        "message_ref": report["staff_message_ref"],
        "name": DELIVERED_REACTION,
    }


def report_failure(report: dict[str, Any], reason: str) -> tuple[str, dict[str, Any]]:
    """The thread post that tells staff a reply did not reach the customer, and why."""
    return OutboxAction.THREAD_POST, {
        "conversation_id": report["conversation_id"],
        "text": NOT_DELIVERED.format(reason=reason),
        "author": "",
        "attachments": [],
    }
