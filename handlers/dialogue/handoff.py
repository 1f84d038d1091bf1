"""The customer's side of talking with staff: handing over, relaying, closing and reopening."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from handlers.dialogue.turn import Turn
from handlers.flows.engine import begin, draft_idea, lookup_text
from handlers.flows.schema import FlowDefinition
from handlers.messages import (
    Attachment,
    FileLimits,
    IncomingMessage,
    OutgoingMessage,
    megabytes,
)
from handlers.ports import (
    ConversationRecord,
    Conversations,
    ConversationStatus,
    SimilarCandidates,
    StaffOutbox,
    StaffThreads,
)
from handlers.staff.room import (
    HandOffReason,
    PostCard,
    StaffAction,
    StaffCard,
    StaffRoom,
    ThreadPost,
    UpdateCard,
    answers_of,
    thread_posts,
)
from handlers.texts import Text, text

logger = logging.getLogger(__name__)

CUSTOMER_CLOSED = "the customer"


class HandOffTransaction(Conversations, StaffThreads, StaffOutbox, SimilarCandidates, Protocol):
    """What the customer's side of talking with staff reads and writes in a turn."""


class HandOff:
    """Hands conversations to the staff room and carries the customer's side of them."""

    def __init__(
        self,
        *,
        room: StaffRoom | None,
        file_limits: Mapping[str, FileLimits],
        reopen_closed_threads: bool,
    ) -> None:
        self._room = room
        self._file_limits = file_limits
        self._reopen_closed_threads = reopen_closed_threads

    def ask_for_a_person(self, turn: Turn, flow: FlowDefinition) -> bool:
        """/human: hand the conversation over now; False when there is nobody to hand it to."""
        if self._room is None:
            turn.replies.append(OutgoingMessage(text(Text.NO_STAFF, turn.language)))
            return False
        if turn.conversation is None:
            turn.conversation = begin_with_staff(turn, flow)
        else:
            turn.conversation = replace(turn.conversation, status=ConversationStatus.WITH_STAFF)
        turn.handoff = HandOffReason.CUSTOMER_ASKED
        turn.replies.append(OutgoingMessage(text(Text.HUMAN_REQUESTED, turn.language)))
        return True

    def flow_ended(self, turn: Turn, *, wants_staff: bool, idea_recorded: bool) -> bool:
        """A flow ended; True when the conversation goes on with staff."""
        if not wants_staff or self._room is None:
            return False
        turn.handoff = HandOffReason.IDEA_RECORDED if idea_recorded else HandOffReason.FLOW_ASKED
        turn.replies.append(OutgoingMessage(text(Text.HANDED_OFF, turn.language)))
        return True

    def relay(self, turn: Turn, message: IncomingMessage) -> None:
        """The customer's words and files go to the thread; the bot says nothing back."""
        conversation = turn.conversation
        assert conversation is not None
        assert conversation.id is not None
        words = message.text if not message.edited else f"(edited) {message.text}"
        author = message.display_name or "Customer"
        passed = self._refuse_large_files(turn, conversation.id, message)
        for post in thread_posts(words, author=author, attachments=passed):
            turn.staff_posts.append((conversation.id, post))

    def _refuse_large_files(
        self, turn: Turn, conversation_id: int, message: IncomingMessage
    ) -> tuple[Attachment, ...]:
        """The attachments that can go to staff; the customer hears of those too large to fetch."""
        limits = self._file_limits.get(message.key.platform, FileLimits())
        passed = []
        for attachment in message.attachments:
            if not limits.too_large_to_fetch(attachment):
                passed.append(attachment)
                continue
            size = megabytes(attachment.size_bytes or 0)
            limit = megabytes(limits.fetch_bytes or 0)
            name = attachment.file_name or attachment.kind.value
            turn.replies.append(
                OutgoingMessage(
                    text(Text.FILE_TOO_LARGE, turn.language, file=name, size=size, limit=limit)
                )
            )
            note = (
                f"{attachment.describe()} is too large to fetch from {message.key.platform} "
                f"(at most {limit} MB); the customer was asked for a smaller one."
            )
            turn.staff_posts.append((conversation_id, ThreadPost(note)))
        return tuple(passed)

    async def close_by_customer(
        self, transaction: HandOffTransaction, turn: Turn, *, starting_over: bool
    ) -> None:
        """The customer ended (or restarted) a conversation that was with staff."""
        conversation = turn.conversation
        assert conversation is not None
        assert conversation.id is not None
        thread = await transaction.thread_of(conversation_id=conversation.id)
        await transaction.save_conversation(replace(conversation, status=ConversationStatus.CLOSED))
        turn.conversation = None
        note = (
            "The customer started over with a new idea; this conversation is closed."
            if starting_over
            else "The customer ended the conversation."
        )
        turn.staff_posts.append((conversation.id, ThreadPost(note)))
        if thread is not None:
            card = replace(thread.card, closed_by=CUSTOMER_CLOSED)
            await transaction.save_card(card)
            turn.staff_posts.append((conversation.id, UpdateCard(card)))

    async def reopen_last_thread(self, transaction: HandOffTransaction, turn: Turn) -> None:
        """The customer writes again after a close: carry on in the same thread (if configured)."""
        if self._room is None or not self._reopen_closed_threads:
            return
        thread = await transaction.last_closed_thread(customer_id=turn.customer.id)
        if thread is None:
            return
        conversation_id = thread.conversation_id
        await transaction.set_conversation_status(
            conversation_id=conversation_id, status=ConversationStatus.WITH_STAFF
        )
        card = replace(thread.card, closed_by="")
        await transaction.save_card(card)
        turn.staff_posts.append((conversation_id, UpdateCard(card)))
        turn.staff_posts.append(
            (conversation_id, ThreadPost("The customer wrote again; the conversation is open."))
        )
        turn.conversation = await transaction.open_conversation(customer_id=turn.customer.id)

    async def open_thread(
        self,
        transaction: HandOffTransaction,
        turn: Turn,
        *,
        message: IncomingMessage,
        flow: FlowDefinition,
        conversation_id: int,
        idea_id: int | None,
    ) -> None:
        """Store the conversation's thread and queue its card, then the flow's files."""
        assert self._room is not None
        assert turn.conversation is not None
        assert turn.handoff is not None
        partial = draft_idea(flow, turn.conversation.state, turn.language)
        card = StaffCard(
            conversation_id=conversation_id,
            customer_name=message.display_name or f"{message.key.platform} user",
            platform=message.key.platform,
            language=turn.language,
            reason=turn.handoff,
            title=partial.title if partial.answers else "",
            answers=answers_of(partial.answers),
        )
        if idea_id is not None and turn.idea is not None:
            similar = await transaction.similar_candidates(
                idea_id=idea_id, text=lookup_text(turn.idea.title, turn.idea.description)
            )
            card = card.with_idea(idea_id, turn.idea, similar)
        await transaction.open_thread(room=self._room, card=card)
        files = thread_posts(
            "", author=card.customer_name, attachments=turn.conversation.state.attachments
        )
        turn.staff_posts[:0] = [(conversation_id, PostCard(card))] + [
            (conversation_id, post) for post in files
        ]
        logger.info("handed conversation %s to staff (%s)", conversation_id, turn.handoff)

    async def post(self, transaction: HandOffTransaction, turn: Turn) -> None:
        """Queue the turn's thread posts, per conversation."""
        if self._room is None or not turn.staff_posts:
            return
        by_conversation: dict[int, list[StaffAction]] = {}
        for conversation_id, action in turn.staff_posts:
            by_conversation.setdefault(conversation_id, []).append(action)
        for conversation_id, actions in by_conversation.items():
            await transaction.enqueue_to_staff(
                room=self._room, conversation_id=conversation_id, actions=actions
            )


def begin_with_staff(turn: Turn, flow: FlowDefinition) -> ConversationRecord:
    """A new conversation that starts with staff (the customer asked before any flow)."""
    return ConversationRecord(
        id=None,
        customer_id=turn.customer.id,
        flow_id=flow.id,
        flow_version=flow.version,
        status=ConversationStatus.WITH_STAFF,
        state=begin(flow, turn.language).state,
    )
