"""Kari's conversation handed to staff, straight in the store: the card, the thread opened."""

from __future__ import annotations

from handlers.dialogue.turn import DialogueTransaction
from handlers.flows.engine import FlowState
from handlers.messages import ConversationKey
from handlers.ports import ConversationRecord, ConversationStatus
from handlers.staff.room import HandOffReason, StaffCard, StaffRoom

KARI = ConversationKey(platform="telegram", chat_id="42", user_id="42")


async def open_kari_thread(transaction: DialogueTransaction, *, room: StaffRoom) -> StaffCard:
    """Kari's conversation, with staff, and its thread opened in ``room`` (not yet posted)."""
    customer = await transaction.customer_for(key=KARI, display_name="Kari", language="nb")
    conversation_id = await transaction.save_conversation(
        ConversationRecord(
            id=None,
            customer_id=customer.id,
            flow_id="idea",
            flow_version=1,
            status=ConversationStatus.WITH_STAFF,
            state=FlowState(step="end"),
        )
    )
    card = StaffCard(
        conversation_id=conversation_id,
        customer_name="Kari",
        platform="telegram",
        language="nb",
        reason=HandOffReason.CUSTOMER_ASKED,
    )
    await transaction.open_thread(room=room, card=card)
    return card
