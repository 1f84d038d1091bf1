"""The small interfaces the core talks through; storage and the platforms implement them."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from handlers.conversation import Attachment, ConversationKey, OutboundAction
from handlers.flow_engine import FlowState, IdeaDraft
from handlers.flow_schema import FlowDefinition


class ConversationStatus(StrEnum):
    """Whether a conversation is under way or over, and how it ended."""

    ACTIVE = "active"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class Direction(StrEnum):
    """Which way a transcript message went."""

    INBOUND = "in"
    OUTBOUND = "out"


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """A customer as the dialogue needs to know them."""

    id: int
    language: str
    has_history: bool


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """One run of a flow with one customer; ``id`` is None until it is first saved."""

    id: int | None
    customer_id: int
    flow_id: str
    flow_version: int
    status: ConversationStatus
    state: FlowState


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One message of a conversation's transcript, either way."""

    conversation_id: int | None
    customer_id: int
    direction: Direction
    text: str
    platform_message_id: str = ""
    answered: str | None = None
    attachments: tuple[Attachment, ...] = ()
    edited: bool = False


class DialogueTransaction(Protocol):
    """Everything one turn of the dialogue reads and writes, committed together or not at all."""

    async def claim_inbound(self, *, platform: str, external_id: str) -> bool:
        """Record that this platform event arrived; False if it was handled before."""
        ...

    async def customer_for(
        self, *, key: ConversationKey, display_name: str, language: str
    ) -> CustomerProfile:
        """The customer behind ``key``, created on first contact and locked for this turn."""
        ...

    async def set_customer_language(self, *, customer_id: int, language: str) -> None:
        """Remember the language a customer chose."""
        ...

    async def open_conversation(self, *, customer_id: int) -> ConversationRecord | None:
        """The customer's active conversation, if there is one."""
        ...

    async def save_conversation(self, conversation: ConversationRecord) -> int:
        """Insert or update a conversation and return its id."""
        ...

    async def record_message(self, entry: TranscriptEntry) -> None:
        """Add a message to the transcript."""
        ...

    async def answered_by(self, *, conversation_id: int, platform_message_id: str) -> str | None:
        """Which answer (step id) a customer's earlier message gave, if any."""
        ...

    async def record_idea(
        self, *, customer_id: int, conversation_id: int, language: str, draft: IdeaDraft
    ) -> int:
        """Store a recorded idea and return its id."""
        ...

    async def enqueue(self, *, key: ConversationKey, actions: list[OutboundAction]) -> None:
        """Put messages for the chat of ``key`` in the outbox, in this order."""
        ...


class DialogueStore(Protocol):
    """Opens one transaction per turn."""

    def transaction(self) -> AbstractAsyncContextManager[DialogueTransaction]:
        """A transaction that commits when the block ends without an error."""
        ...


class FlowCatalog(Protocol):
    """The flows a conversation can follow, every version that was ever started."""

    @property
    def default_flow(self) -> FlowDefinition:
        """The current version of the flow new conversations start."""
        ...

    async def get(self, *, flow_id: str, version: int) -> FlowDefinition:
        """The flow ``flow_id`` at ``version``, as it was when conversations started it."""
        ...


class OutboxSignal(Protocol):
    """Tells the delivery worker that new messages wait in the outbox."""

    def outbox_changed(self) -> None:
        """Wake whoever delivers the outbox."""
        ...
