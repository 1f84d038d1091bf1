"""The staff side's door into the core: replies, notes and card buttons, each one transaction."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Protocol

from handlers.dialogue.keyed_locks import KeyedLocks
from handlers.dialogue.text_split import split_text
from handlers.messages import (
    DeliveryReport,
    FileLimits,
    OutboundAction,
    OutgoingMessage,
    TextLimit,
    megabytes,
)
from handlers.ports import (
    ConversationStatus,
    CustomerOutbox,
    Direction,
    Inbox,
    OutboxSignal,
    StaffOutbox,
    StaffThreadRecord,
    StaffThreads,
    Store,
    Transcript,
    TranscriptEntry,
)
from handlers.staff.room import (
    CardAction,
    CardActionKind,
    StaffDirectMessage,
    StaffMessage,
    StaffNotice,
    StaffRoom,
    ThreadPost,
    UpdateCard,
)
from handlers.texts import Text, text

logger = logging.getLogger(__name__)

DEFAULT_NOTE_PREFIX = "note:"
DEFAULT_SIGNATURE = "{text}\n\n— {name}"

# What staff read in their own channel; staff share one working language (English).
INTERNAL_ONLY_NOTICE = (
    "Not sent: this thread is internal only. Press “Reply to customer” on the card to "
    "send replies again."
)
STAFF_IN_DIRECT_MESSAGE = (
    "You are set up as staff, so ideabot does not treat you as a customer here. Customers' "
    "conversations are in the staff channel: reply in a card's thread to answer them."
)
CHANGE_NOT_PASSED_ON = (
    "The customer already has your original reply; edits and deletions here do not reach "
    "them. Write a new reply to correct it."
)


class StaffOutcome(StrEnum):
    """What became of a staff message."""

    RELAYED = "relayed"
    NOTE = "note"
    INTERNAL_ONLY = "internal_only"
    CHANGE_NOTICE = "change_notice"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


class StaffDeskTransaction(Inbox, Transcript, StaffThreads, CustomerOutbox, StaffOutbox, Protocol):
    """What one staff message or card button reads and writes, committed together."""


class StaffDesk:
    """Carries staff replies to customers and applies the card's buttons."""

    def __init__(
        self,
        *,
        store: Store[StaffDeskTransaction],
        room: StaffRoom,
        outbox_signal: OutboxSignal,
        message_limits: Mapping[str, TextLimit],
        note_prefix: str = DEFAULT_NOTE_PREFIX,
        signature: str = DEFAULT_SIGNATURE,
        file_limits: Mapping[str, FileLimits] | None = None,
    ) -> None:
        self._file_limits = file_limits or {}
        self._store = store
        self._room = room
        self._outbox_signal = outbox_signal
        self._message_limits = message_limits
        self._note_prefix = note_prefix.casefold()
        self._signature = signature
        self._locks = KeyedLocks()

    async def handle_message(self, message: StaffMessage) -> StaffOutcome:
        """Take a staff member's message in a thread: relay it, keep it as a note, or ignore it."""
        async with self._locks.hold(message.thread_ref), self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=self._room.platform, external_id=message.external_id
            ):
                return StaffOutcome.DUPLICATE
            thread = await transaction.thread_at(room=self._room, thread_ref=message.thread_ref)
            if thread is None:
                return StaffOutcome.IGNORED  # a thread the bot did not open
            outcome = await self._take_message(transaction, thread, message)
        if outcome is not StaffOutcome.IGNORED:
            self._outbox_signal.outbox_changed()
        logger.info(
            "staff message in the thread of conversation %s: %s", thread.conversation_id, outcome
        )
        return outcome

    async def _take_message(
        self, transaction: StaffDeskTransaction, thread: StaffThreadRecord, message: StaffMessage
    ) -> StaffOutcome:
        conversation_id = thread.conversation_id
        if message.edited or message.deleted:
            relayed = await transaction.is_relayed_reply(
                conversation_id=conversation_id, message_ref=message.message_ref
            )
            if not relayed:
                return StaffOutcome.IGNORED
            await self._notify(transaction, conversation_id, message.user_id, CHANGE_NOT_PASSED_ON)
            return StaffOutcome.CHANGE_NOTICE
        words = message.text.strip()
        if not words and not message.attachments:
            return StaffOutcome.IGNORED
        if words.casefold().startswith(self._note_prefix):
            await self._keep(transaction, thread, message, Direction.NOTE)
            return StaffOutcome.NOTE
        if thread.card.internal_only:
            await self._keep(transaction, thread, message, Direction.NOTE)
            await self._notify(transaction, conversation_id, message.user_id, INTERNAL_ONLY_NOTICE)
            return StaffOutcome.INTERNAL_ONLY
        if thread.conversation_status is not ConversationStatus.WITH_STAFF:
            # A reply in a closed thread carries the dialogue on: the conversation reopens.
            await self._reopen(transaction, thread, by=message.user_name)
        await self._keep(transaction, thread, message, Direction.STAFF)
        signed = self._signature.format(text=words, name=message.user_name) if words else ""
        replies = [OutgoingMessage(piece) for piece in self._pieces(thread, signed) if piece]
        limits = self._file_limits.get(thread.customer.platform, FileLimits())
        notes: list[ThreadPost] = []
        for attachment in message.attachments:
            if not attachment.is_file:
                continue
            if not limits.too_large_to_send(attachment):
                # One file per message: a retried send never repeats the words or other files.
                replies.append(OutgoingMessage("", attachments=(attachment,)))
                continue
            size = megabytes(attachment.size_bytes or 0)
            name = attachment.file_name or attachment.kind.value
            replies.append(
                OutgoingMessage(
                    text(Text.STAFF_FILE_TOO_LARGE, thread.customer_language, file=name, size=size)
                )
            )
            notes.append(
                ThreadPost(
                    f"{attachment.describe()} is too large for {thread.customer.platform} "
                    f"(at most {megabytes(limits.send_bytes or 0)} MB); the customer was told."
                )
            )
        if replies:
            report = DeliveryReport(conversation_id, message.message_ref)
            replies[-1] = replace(replies[-1], report=report)
            await transaction.enqueue(key=thread.customer, actions=list[OutboundAction](replies))
        if notes:
            await transaction.enqueue_to_staff(
                room=self._room, conversation_id=conversation_id, actions=list(notes)
            )
        return StaffOutcome.RELAYED

    def _pieces(self, thread: StaffThreadRecord, words: str) -> list[str]:
        limit = self._message_limits.get(thread.customer.platform)
        return split_text(words, limit) if limit is not None and words else [words]

    async def handle_direct_message(self, message: StaffDirectMessage) -> bool:
        """Tell a staff member who writes to the bot where the customers are; once per event."""
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=message.chat.platform, external_id=message.external_id
            ):
                return False
            notice = OutgoingMessage(STAFF_IN_DIRECT_MESSAGE)
            await transaction.enqueue(key=message.chat, actions=[notice])
        self._outbox_signal.outbox_changed()
        return True

    async def handle_card_action(self, action: CardAction) -> bool:
        """Apply a card button; False if it was handled before or its thread is unknown."""
        async with (
            self._locks.hold(str(action.conversation_id)),
            self._store.transaction() as transaction,
        ):
            if not await transaction.claim_inbound(
                platform=self._room.platform, external_id=action.external_id
            ):
                return False
            thread = await transaction.thread_of(conversation_id=action.conversation_id)
            if thread is None:
                return False
            await self._take_card_action(transaction, thread, action)
        self._outbox_signal.outbox_changed()
        logger.info("card action %s on conversation %s", action.kind.value, action.conversation_id)
        return True

    async def _take_card_action(
        self, transaction: StaffDeskTransaction, thread: StaffThreadRecord, action: CardAction
    ) -> None:
        card = thread.card
        name = action.user_name
        if action.kind is CardActionKind.ASSIGN:
            taking = card.assignee != name
            card = replace(card, assignee=name if taking else "")
            note = f"{name} took this conversation." if taking else f"{name} let it go."
        elif action.kind is CardActionKind.CLOSE:
            if card.closed or thread.conversation_status is not ConversationStatus.WITH_STAFF:
                return
            await transaction.set_conversation_status(
                conversation_id=thread.conversation_id, status=ConversationStatus.CLOSED
            )
            closing = OutgoingMessage(text(Text.CONVERSATION_CLOSED, thread.customer_language))
            await transaction.enqueue(key=thread.customer, actions=[closing])
            card = replace(card, closed_by=name)
            note = f"{name} closed the conversation; the customer was told."
        elif action.kind is CardActionKind.REOPEN:
            if thread.conversation_status is ConversationStatus.WITH_STAFF:
                return
            await self._reopen(transaction, thread, by=name)
            return
        else:
            card = replace(card, internal_only=not card.internal_only)
            note = (
                f"{name} made this thread internal only: replies here do not reach the customer."
                if card.internal_only
                else f"{name} turned replies to the customer back on."
            )
        await transaction.save_card(card)
        await transaction.enqueue_to_staff(
            room=self._room,
            conversation_id=thread.conversation_id,
            actions=[UpdateCard(card), ThreadPost(note)],
        )

    async def _reopen(
        self, transaction: StaffDeskTransaction, thread: StaffThreadRecord, *, by: str
    ) -> None:
        await transaction.set_conversation_status(
            conversation_id=thread.conversation_id, status=ConversationStatus.WITH_STAFF
        )
        card = replace(thread.card, closed_by="")
        await transaction.save_card(card)
        await transaction.enqueue_to_staff(
            room=self._room,
            conversation_id=thread.conversation_id,
            actions=[UpdateCard(card), ThreadPost(f"{by} reopened the conversation.")],
        )

    async def _keep(
        self,
        transaction: StaffDeskTransaction,
        thread: StaffThreadRecord,
        message: StaffMessage,
        direction: Direction,
    ) -> None:
        await transaction.record_message(
            TranscriptEntry(
                conversation_id=thread.conversation_id,
                customer_id=thread.customer_id,
                direction=direction,
                text=message.text,
                platform_message_id=message.message_ref,
                attachments=message.attachments,
                author=message.user_name,
            )
        )

    async def _notify(
        self, transaction: StaffDeskTransaction, conversation_id: int, user_id: str, words: str
    ) -> None:
        await transaction.enqueue_to_staff(
            room=self._room,
            conversation_id=conversation_id,
            actions=[StaffNotice(user_id=user_id, text=words)],
        )
