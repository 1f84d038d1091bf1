"""The reminders' store in memory: conversations, ideas and outbox as plain Python, no database."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from handlers.flows.engine import FlowState, IdeaDraft
from handlers.flows.schema import FlowDefinition, FlowReminder
from handlers.messages import ConversationKey, OutboundAction, OutgoingMessage
from handlers.ports import ConversationRecord, ConversationStatus, StalledConversation
from handlers.staff.room import CardCandidate

_OPEN = (ConversationStatus.ACTIVE, ConversationStatus.WITH_STAFF)


@dataclass(frozen=True, slots=True)
class KeptIdea:
    """An idea as the memory store keeps it, with the customers linked to it."""

    id: int
    conversation_id: int
    draft: IdeaDraft
    status: str
    customer_ids: tuple[int, ...]


@dataclass(slots=True)
class MemoryState:
    """Everything the memory store holds; a transaction changes a copy of it."""

    now: datetime
    customers: dict[int, tuple[ConversationKey, str]] = field(default_factory=dict)
    conversations: dict[int, ConversationRecord] = field(default_factory=dict)
    last_activity: dict[int, datetime] = field(default_factory=dict)
    reminded: set[int] = field(default_factory=set)
    ideas: list[KeptIdea] = field(default_factory=list)
    outbox: list[tuple[ConversationKey, OutboundAction]] = field(default_factory=list)


class MemoryReminderTransaction:
    """The reminders' transaction (``ReminderTransaction``) on a ``MemoryState``."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def open_conversation(self, *, customer_id: int) -> ConversationRecord | None:
        """The customer's newest conversation under way."""
        under_way = [
            conversation
            for conversation in self._state.conversations.values()
            if conversation.customer_id == customer_id and conversation.status in _OPEN
        ]
        return max(under_way, key=lambda conversation: conversation.id or 0, default=None)

    async def save_conversation(self, conversation: ConversationRecord) -> int:
        """Insert or update; like the database, saving counts as the customer's activity."""
        conversation_id = conversation.id or len(self._state.conversations) + 1
        self._state.conversations[conversation_id] = replace(conversation, id=conversation_id)
        self._state.last_activity[conversation_id] = self._state.now
        self._state.reminded.discard(conversation_id)
        return conversation_id

    async def lock_stalled(
        self, *, conversation_id: int, idle_since: datetime
    ) -> StalledConversation | None:
        """The conversation if it is still under way and quiet since ``idle_since``."""
        conversation = self._state.conversations.get(conversation_id)
        if conversation is None or conversation.status is not ConversationStatus.ACTIVE:
            return None
        last_activity = self._state.last_activity[conversation_id]
        if last_activity > idle_since:
            return None
        key, language = self._state.customers[conversation.customer_id]
        return StalledConversation(
            conversation=conversation,
            customer=key,
            language=language,
            last_activity=last_activity,
            reminded=conversation_id in self._state.reminded,
        )

    async def mark_reminded(self, *, conversation_id: int, at: datetime) -> None:
        """Remember the reminder, without counting it as the customer's activity."""
        self._state.reminded.add(conversation_id)

    async def record_idea(
        self,
        *,
        customer_id: int,
        conversation_id: int,
        language: str,
        draft: IdeaDraft,
        status: str = "new",
    ) -> int:
        """Keep the idea and return its id."""
        idea_id = len(self._state.ideas) + 1
        self._state.ideas.append(KeptIdea(idea_id, conversation_id, draft, status, (customer_id,)))
        return idea_id

    async def similar_idea(self, *, text: str, at_least: float) -> tuple[int, str] | None:
        """An open idea with the same title stands in for the similarity index."""
        for idea in self._state.ideas:
            if idea.status != "draft" and idea.draft.title.casefold() == text.casefold():
                return idea.id, idea.draft.title
        return None

    async def similar_candidates(
        self, *, idea_id: int, text: str, limit: int = 5
    ) -> tuple[CardCandidate, ...]:
        """Staff's candidates are not kept in memory: no card shows any."""
        return ()

    async def join_idea(
        self,
        *,
        idea_id: int,
        customer_id: int,
        conversation_id: int,
        language: str,
        draft: IdeaDraft,
    ) -> None:
        """Link the customer to the idea."""
        index = idea_id - 1
        idea = self._state.ideas[index]
        self._state.ideas[index] = replace(idea, customer_ids=(*idea.customer_ids, customer_id))

    async def not_the_same(
        self, *, idea_id: int, customer_id: int, conversation_id: int, text: str
    ) -> None:
        """A "no" calibrates nothing in memory."""

    async def enqueue(self, *, key: ConversationKey, actions: list[OutboundAction]) -> None:
        """Put the actions in the outbox, in this order."""
        self._state.outbox.extend((key, action) for action in actions)

    async def enqueue_news(self, messages: list[tuple[ConversationKey, OutgoingMessage]]) -> None:
        """Put one message to each customer in the outbox."""
        self._state.outbox.extend(messages)


class MemoryReminderStore:
    """The reminders' store (``ReminderStore``) in memory; a failed transaction keeps nothing."""

    def __init__(self, now: datetime) -> None:
        self.state = MemoryState(now=now)
        # Each conversation's flow version's reminder settings, as the database joins them.
        self.reminders: dict[int, FlowReminder] = {}

    def start_conversation(
        self, *, key: ConversationKey, language: str, flow: FlowDefinition, flow_state: FlowState
    ) -> int:
        """A new customer whose conversation stands at ``flow_state``, last active ``state.now``."""
        customer_id = len(self.state.customers) + 1
        self.state.customers[customer_id] = (key, language)
        conversation_id = len(self.state.conversations) + 1
        self.state.conversations[conversation_id] = ConversationRecord(
            conversation_id,
            customer_id,
            flow.id,
            flow.version,
            ConversationStatus.ACTIVE,
            flow_state,
        )
        self.state.last_activity[conversation_id] = self.state.now
        self.reminders[conversation_id] = flow.reminder
        return conversation_id

    async def stalled(self, *, now: datetime, limit: int) -> list[int]:
        """Conversations under way due at ``now`` by their own flow's reminder settings."""
        due = [
            conversation_id
            for conversation_id, conversation in self.state.conversations.items()
            if conversation.status is ConversationStatus.ACTIVE and self._due(conversation_id, now)
        ]
        return sorted(due, key=self.state.last_activity.__getitem__)[:limit]

    def _due(self, conversation_id: int, now: datetime) -> bool:
        settings = self.reminders[conversation_id]
        quiet = now - self.state.last_activity[conversation_id]
        if not settings.enabled:
            return False
        if quiet >= timedelta(hours=settings.draft_after_hours):
            return True
        return conversation_id not in self.state.reminded and quiet >= timedelta(
            hours=settings.after_hours
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryReminderTransaction]:
        """A transaction on a copy of the state, kept when the block ends without an error."""
        working = copy.deepcopy(self.state)
        yield MemoryReminderTransaction(working)
        self.state = working


@dataclass(frozen=True, slots=True)
class FixedFlows:
    """A flow catalog of one flow."""

    flow: FlowDefinition

    @property
    def default_flow(self) -> FlowDefinition:
        """The one flow."""
        return self.flow

    def live(self, flow_id: str) -> FlowDefinition | None:
        """The one flow, if it is the one asked for."""
        return self.flow if flow_id == self.flow.id else None

    async def get(self, *, flow_id: str, version: int) -> FlowDefinition:
        """The one flow, if it is the one asked for."""
        if (flow_id, version) != (self.flow.id, self.flow.version):
            raise LookupError(f"no flow {flow_id} v{version}")
        return self.flow
