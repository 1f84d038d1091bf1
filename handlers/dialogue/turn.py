"""What one turn of a customer's dialogue has decided so far, shared by its parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from handlers.flows.engine import IdeaDraft
from handlers.messages import ConversationKey, OutboundAction, OutgoingMessage
from handlers.ports import (
    ConversationRecord,
    Conversations,
    CustomerOutbox,
    CustomerProfile,
    Customers,
    EmbeddingAhead,
    IdeaIntake,
    Inbox,
    InvitationAnswers,
    PrivacyRequests,
    SimilarCandidates,
    StaffOutbox,
    StaffThreads,
    Store,
    Transcript,
)
from handlers.staff.room import HandOffReason, StaffAction


class DialogueTransaction(
    Inbox,
    Customers,
    Conversations,
    Transcript,
    IdeaIntake,
    SimilarCandidates,
    StaffThreads,
    CustomerOutbox,
    StaffOutbox,
    PrivacyRequests,
    InvitationAnswers,
    Protocol,
):
    """Everything one turn of a customer's dialogue reads and writes, committed together."""


class DialogueStore(Store[DialogueTransaction], EmbeddingAhead, Protocol):
    """Opens a turn's transaction, and asks the model ahead of it when a lookup needs it."""


@dataclass(slots=True)
class Turn:
    """The conversation as this turn leaves it, and everything it will send."""

    key: ConversationKey
    customer: CustomerProfile
    language: str
    conversation: ConversationRecord | None
    replies: list[OutgoingMessage]
    actions_first: list[OutboundAction]
    answered: str | None = None
    idea: IdeaDraft | None = None
    handoff: HandOffReason | None = None
    # What goes after the replies (a file of their data, their erasure).
    actions_last: list[OutboundAction] = field(default_factory=list)
    # Posts for a staff thread, by conversation (it may be closed by the end of the turn).
    staff_posts: list[tuple[int, StaffAction]] = field(default_factory=list)
