"""Customers who stop halfway: one gentle reminder, and later their answers kept as a draft idea.

Nothing here waits in memory: each sweep reads what is due from the database, so a restart, or
several processes sweeping at once, neither loses nor repeats a reminder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from handlers.dialogue.replies import merge_replies
from handlers.flows.engine import draft_idea, localized, question
from handlers.flows.schema import FlowDefinition
from handlers.ideas.status import IdeaStatus
from handlers.messages import OutgoingMessage
from handlers.ports import (
    Conversations,
    ConversationStatus,
    CustomerOutbox,
    FlowCatalog,
    IdeaIntake,
    OutboxSignal,
    StalledConversation,
    StalledConversations,
    Store,
)
from handlers.texts import Text, text

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200


class ReminderTransaction(
    Conversations, StalledConversations, IdeaIntake, CustomerOutbox, Protocol
):
    """What acting on one stalled conversation reads and writes, committed together."""


class ReminderStore(Store[ReminderTransaction], Protocol):
    """Finds stalled conversations, and opens one transaction per conversation it acts on."""

    async def stalled(self, *, now: datetime, limit: int) -> list[int]:
        """Conversations under way due at ``now`` by their own flow version's reminder settings.

        Due: quiet for the reminder's ``after_hours`` and not reminded yet, or quiet for its
        ``draft_after_hours``; the quietest first. A flow with reminders off is never due.
        """
        ...


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did."""

    reminded: int = 0
    # Left long enough: closed, with a draft idea when there were answers.
    put_away: int = 0


class Reminders:
    """Finds stalled conversations and reminds, or keeps a draft, as each flow says."""

    def __init__(
        self, *, store: ReminderStore, flows: FlowCatalog, outbox_signal: OutboxSignal
    ) -> None:
        self._store = store
        self._flows = flows
        self._outbox_signal = outbox_signal

    async def sweep(self, now: datetime) -> SweepResult:
        """Deal with every conversation that is due at ``now``."""
        reminded = put_away = 0
        for conversation_id in await self._store.stalled(now=now, limit=SWEEP_BATCH):
            async with self._store.transaction() as transaction:
                # Quiet until now at least; whether it is still due is for its flow to say.
                stalled = await transaction.lock_stalled(
                    conversation_id=conversation_id, idle_since=now
                )
                if stalled is None:
                    continue
                done = await self._take(transaction, stalled, now)
            reminded += done == "reminded"
            put_away += done == "put_away"
        if reminded or put_away:
            self._outbox_signal.outbox_changed()
            logger.info("reminded %s customer(s), put %s conversation(s) away", reminded, put_away)
        return SweepResult(reminded=reminded, put_away=put_away)

    async def _take(
        self, transaction: ReminderTransaction, stalled: StalledConversation, now: datetime
    ) -> str:
        conversation = stalled.conversation
        flow = await self._flows.get(
            flow_id=conversation.flow_id, version=conversation.flow_version
        )
        settings = flow.reminder
        if not settings.enabled:
            return ""
        idle = now - stalled.last_activity
        if idle >= timedelta(hours=settings.draft_after_hours):
            await self._keep_draft(transaction, stalled, flow)
            return "put_away"
        if idle >= timedelta(hours=settings.after_hours) and not stalled.reminded:
            assert conversation.id is not None
            language = stalled.language
            nudge = (
                localized(settings.text, language, flow)
                if settings.text is not None
                else text(Text.REMINDER, language)
            )
            replies = merge_replies(
                [OutgoingMessage(nudge), question(flow, conversation.state, language)]
            )
            await transaction.enqueue(key=stalled.customer, actions=list(replies))
            await transaction.mark_reminded(conversation_id=conversation.id, at=now)
            return "reminded"
        return ""

    async def _keep_draft(
        self, transaction: ReminderTransaction, stalled: StalledConversation, flow: FlowDefinition
    ) -> None:
        """Put the conversation away; its answers, if any, become a draft idea for staff."""
        conversation = stalled.conversation
        conversation_id = await transaction.save_conversation(
            replace(conversation, status=ConversationStatus.ABANDONED)
        )
        draft = draft_idea(flow, conversation.state, stalled.language)
        if draft.answers:
            await transaction.record_idea(
                customer_id=conversation.customer_id,
                conversation_id=conversation_id,
                language=stalled.language,
                draft=draft,
                status=IdeaStatus.DRAFT.value,
            )
