"""The dialogue's transaction on SQL: inbox, customer, conversation, transcript, idea, outbox."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.engine import FlowState
from handlers.messages import ConversationKey, OutboundAction
from handlers.ports import (
    REDELIVERY_WINDOW,
    ConversationRecord,
    ConversationStatus,
    CustomerProfile,
    EmbeddingNeeded,
    EmbeddingUnavailable,
    StalledConversation,
    TranscriptEntry,
)
from storage.dialogue.campaigns import CampaignTransactionPart
from storage.dialogue.ideas import IdeaTransactionPart
from storage.dialogue.privacy import PrivacyTransactionPart
from storage.dialogue.staff import StaffTransactionPart
from storage.dialogue.trials import TrialTransactionPart
from storage.epoch import EpochSeconds
from storage.flows.progress import FlowCompletionPart
from storage.outbox.actions import customer_delivery
from storage.outbox.rows import enqueue_rows
from storage.similar_ideas import SimilarIdeas
from storage.tables import (
    ConversationRow,
    CustomerRow,
    FlowVersionRow,
    IdeaFollowerRow,
    IdeaMergeRow,
    IdeaRow,
    IdeaStatusChangeRow,
    IdeaTagRow,
    InboxRow,
    MessageRow,
    OutboxRow,
    ScheduledRunRow,
    StaffThreadRow,
    table_of,
)
from storage.types import utc_now
from storage.upsert import insert_if_absent

_INBOX = table_of(InboxRow)
_CUSTOMER = table_of(CustomerRow)
_CONVERSATION = table_of(ConversationRow)
_MESSAGE = table_of(MessageRow)
_IDEA = table_of(IdeaRow)
_OUTBOX = table_of(OutboxRow)
_THREAD = table_of(StaffThreadRow)
_OPEN = (ConversationStatus.ACTIVE.value, ConversationStatus.WITH_STAFF.value)
_FOLLOWER = table_of(IdeaFollowerRow)
_STATUS_CHANGE = table_of(IdeaStatusChangeRow)
_TAG = table_of(IdeaTagRow)
_MERGE = table_of(IdeaMergeRow)
_VERSION = table_of(FlowVersionRow)

logger = logging.getLogger(__name__)


class SqlDialogueTransaction(
    IdeaTransactionPart,
    StaffTransactionPart,
    TrialTransactionPart,
    FlowCompletionPart,
    PrivacyTransactionPart,
    CampaignTransactionPart,
):
    """One turn's reads and writes inside one database transaction.

    It uses SQLAlchemy Core, not ORM objects: this is the hot path of every message, and
    building model objects cost more than the statements themselves.
    """

    def __init__(
        self, session: AsyncSession, similar: SimilarIdeas, *, used_ahead: set[str]
    ) -> None:
        self._session = session
        self._similar = similar
        self._used_ahead = used_ahead
        self._turn_started = utc_now()
        self._transcript: list[dict[str, Any]] = []
        self._chats: dict[int, ConversationKey] = {}

    async def claim_inbound(self, *, platform: str, external_id: str, earlier_id: str = "") -> bool:
        """Record the event; False if its id, or a fresh row of its earlier id, was seen before."""
        if earlier_id and await self._seen_lately(platform, earlier_id):
            return False
        inserted = await insert_if_absent(
            self._session,
            InboxRow,
            conflict=["platform", "external_id"],
            values={"platform": platform, "external_id": external_id, "received_at": utc_now()},
        )
        return inserted is not None

    async def _seen_lately(self, platform: str, external_id: str) -> bool:
        """Whether the inbox got this id within the window in which platforms send again."""
        found = await self._session.execute(
            select(_INBOX.c.id)
            .where(_INBOX.c.platform == platform)
            .where(_INBOX.c.external_id == external_id)
            .where(_INBOX.c.received_at >= utc_now() - REDELIVERY_WINDOW)
            .limit(1)
        )
        return found.first() is not None

    async def customer_for(
        self, *, key: ConversationKey, display_name: str, language: str
    ) -> CustomerProfile:
        """Get or create the customer, locked so other processes wait for this turn."""
        name = display_name[:256]
        customer = await self._locked_customer(key)
        if customer is None:
            now = utc_now()
            await insert_if_absent(
                self._session,
                CustomerRow,
                conflict=["platform", "platform_user_id"],
                values={
                    "platform": key.platform,
                    "platform_user_id": key.user_id,
                    "chat_id": key.chat_id,
                    "display_name": name,
                    "language": language,
                    "unreachable": False,
                    "unreachable_reason": "",
                    "created_at": now,
                    "updated_at": now,
                },
            )
            customer = await self._locked_customer(key)
            assert customer is not None
        if customer.unreachable or (name and customer.display_name != name):
            # A customer who writes again can be reached again (they unblocked the bot).
            await self._session.execute(
                update(_CUSTOMER)
                .where(_CUSTOMER.c.id == customer.id)
                .values(
                    unreachable=False,
                    unreachable_reason="",
                    display_name=name or customer.display_name,
                    chat_id=key.chat_id,
                    updated_at=utc_now(),
                )
            )
        self._chats[customer.id] = key
        return CustomerProfile(
            id=customer.id,
            language=customer.language,
            has_history=customer.created_at < self._turn_started,
        )

    async def customer_exists(self, *, key: ConversationKey) -> bool:
        """Whether ``key`` names a customer already, without creating one."""
        return await self._locked_customer(key) is not None

    async def _locked_customer(self, key: ConversationKey) -> Row[Any, Any, Any, Any, Any] | None:
        return (
            await self._session.execute(
                select(
                    _CUSTOMER.c.id,
                    _CUSTOMER.c.language,
                    _CUSTOMER.c.display_name,
                    _CUSTOMER.c.unreachable,
                    _CUSTOMER.c.created_at,
                )
                .where(_CUSTOMER.c.platform == key.platform)
                .where(_CUSTOMER.c.platform_user_id == key.user_id)
                .with_for_update()
            )
        ).first()

    async def set_customer_language(self, *, customer_id: int, language: str) -> None:
        """Remember the language a customer chose."""
        await self._session.execute(
            update(_CUSTOMER)
            .where(_CUSTOMER.c.id == customer_id)
            .values(language=language, updated_at=utc_now())
        )

    async def open_conversation(self, *, customer_id: int) -> ConversationRecord | None:
        """The customer's newest active conversation."""
        row = (
            await self._session.execute(
                select(
                    _CONVERSATION.c.id,
                    _CONVERSATION.c.flow_id,
                    _CONVERSATION.c.flow_version,
                    _CONVERSATION.c.status,
                    _CONVERSATION.c.state,
                )
                .where(_CONVERSATION.c.customer_id == customer_id)
                .where(_CONVERSATION.c.status.in_(_OPEN))
                .order_by(_CONVERSATION.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        return ConversationRecord(
            id=row.id,
            customer_id=customer_id,
            flow_id=row.flow_id,
            flow_version=row.flow_version,
            status=ConversationStatus(row.status),
            state=FlowState.from_json(row.state),
        )

    async def save_conversation(self, conversation: ConversationRecord) -> int:
        """Insert a new conversation or update the stored one."""
        now = utc_now()
        values = {
            "step": conversation.state.step,
            "status": conversation.status.value,
            "state": conversation.state.to_json(),
            "updated_at": now,
            # The customer is active again: a later stall earns a new reminder.
            "reminded_at": None,
        }
        if conversation.id is not None:
            await self._session.execute(
                update(_CONVERSATION).where(_CONVERSATION.c.id == conversation.id).values(values)
            )
            return conversation.id
        # customer_for came first in this turn and knows the chat: no need to read it again.
        key = self._chats[conversation.customer_id]
        inserted = await self._session.execute(
            insert(_CONVERSATION)
            .values(
                customer_id=conversation.customer_id,
                platform=key.platform,
                chat_id=key.chat_id,
                flow_id=conversation.flow_id,
                flow_version=conversation.flow_version,
                campaign_id=conversation.campaign_id,
                start_link=conversation.start_link,
                created_at=now,
                **values,
            )
            .returning(_CONVERSATION.c.id)
        )
        conversation_id: int = inserted.scalar_one()
        return conversation_id

    async def record_message(self, entry: TranscriptEntry) -> None:
        """Add one transcript message (written with the others at the end of the turn)."""
        self._transcript.append(
            {
                "conversation_id": entry.conversation_id,
                "customer_id": entry.customer_id,
                "direction": entry.direction.value,
                "text": entry.text,
                "platform_message_id": entry.platform_message_id,
                "answered": entry.answered,
                "attachments": [attachment.to_json() for attachment in entry.attachments],
                "edited": entry.edited,
                "author": entry.author[:256],
                "created_at": utc_now(),
            }
        )

    async def write_pending(self) -> None:
        """Write the transcript collected this turn in one statement."""
        if self._transcript:
            rows, self._transcript = self._transcript, []
            await self._session.execute(insert(_MESSAGE), rows)

    async def answered_by(self, *, conversation_id: int, platform_message_id: str) -> str | None:
        """The answer an earlier customer message gave, found by its platform message id."""
        if not platform_message_id:
            return None
        answered: str | None = (
            await self._session.execute(
                select(_MESSAGE.c.answered)
                .where(_MESSAGE.c.conversation_id == conversation_id)
                .where(_MESSAGE.c.platform_message_id == platform_message_id)
                .where(_MESSAGE.c.answered.is_not(None))
                .order_by(_MESSAGE.c.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        return answered

    async def lock_stalled(
        self, *, conversation_id: int, idle_since: datetime
    ) -> StalledConversation | None:
        """The conversation if still under way and quiet, locked; None if another has it."""
        query = (
            select(
                _CONVERSATION.c.id,
                _CONVERSATION.c.customer_id,
                _CONVERSATION.c.flow_id,
                _CONVERSATION.c.flow_version,
                _CONVERSATION.c.state,
                _CONVERSATION.c.updated_at,
                _CONVERSATION.c.reminded_at,
                _CUSTOMER.c.platform,
                _CUSTOMER.c.chat_id,
                _CUSTOMER.c.platform_user_id,
                _CUSTOMER.c.language,
            )
            .join(_CUSTOMER, _CUSTOMER.c.id == _CONVERSATION.c.customer_id)
            .where(_CONVERSATION.c.id == conversation_id)
            .where(_CONVERSATION.c.status == ConversationStatus.ACTIVE.value)
            .where(_CONVERSATION.c.updated_at <= idle_since)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=_CONVERSATION)
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        return StalledConversation(
            conversation=ConversationRecord(
                id=row.id,
                customer_id=row.customer_id,
                flow_id=row.flow_id,
                flow_version=row.flow_version,
                status=ConversationStatus.ACTIVE,
                state=FlowState.from_json(row.state),
            ),
            customer=ConversationKey(row.platform, row.chat_id, row.platform_user_id),
            language=row.language,
            last_activity=row.updated_at,
            reminded=row.reminded_at is not None,
        )

    async def mark_reminded(self, *, conversation_id: int, at: datetime) -> None:
        """Remember the reminder, without counting it as the customer's activity."""
        await self._session.execute(
            update(_CONVERSATION)
            .where(_CONVERSATION.c.id == conversation_id)
            .values(reminded_at=at)
        )

    async def enqueue(self, *, key: ConversationKey, actions: list[OutboundAction]) -> None:
        """Add the actions to the outbox; ids grow in the order given, which is the send order."""
        await enqueue_rows(
            self._session,
            destination=key.destination,
            platform=key.platform,
            chat_id=key.chat_id,
            deliveries=[customer_delivery(action) for action in actions],
        )

    async def claim_scheduled_run(self, *, job: str, period: str, at: datetime) -> bool:
        """Record the job's run for the period; False if another process recorded it first."""
        inserted = await insert_if_absent(
            self._session,
            ScheduledRunRow,
            conflict=["job", "period"],
            values={"job": job, "period": period, "ran_at": at},
        )
        return inserted is not None


class SqlDialogueStore:
    """Opens one database transaction per dialogue turn."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], similar: SimilarIdeas | None = None
    ) -> None:
        self._sessions = sessions
        self._similar = similar or SimilarIdeas()

    async def embed_ahead(self, texts: Sequence[str]) -> None:
        """Embed ``texts`` and ideas opened since, with no transaction open while the model runs."""
        similar = self._similar
        if similar.semantic is None:
            return
        async with self._sessions() as session:
            await similar.catch_up(session, embed_missing=False)
        ideas = similar.unembedded()
        try:
            vectors = await similar.semantic.embedder.embed([*texts, *(text for _, text in ideas)])
        except EmbeddingUnavailable:
            # The embedder said why in the log; the turn's lookups use the lexical method.
            similar.hold_ahead(texts, None)
            return
        if ideas:
            async with self._sessions() as session, session.begin():
                await similar.store(session, ideas, vectors[len(texts) :])
        similar.hold_ahead(texts, vectors[: len(texts)])

    async def backfill_vectors(self, *, batch: int = 64) -> int:
        """Catch similar ideas up, then embed open ideas the model has no vector of; how many."""
        # At start this reads every open idea and stored vector, so no customer's turn does.
        async with self._sessions() as session:
            await self._similar.catch_up(session, embed_missing=False)
        total = 0
        while self._similar.semantic is not None:
            async with self._sessions() as session:
                ideas = await self._similar.without_vectors(session, batch=batch)
            # The model runs outside any transaction: a slow endpoint holds no lock.
            try:
                vectors = await self._similar.semantic.embedder.embed([text for _, text in ideas])
            except EmbeddingUnavailable:
                # The embedder said why in the log; the next round tries again.
                break
            async with self._sessions() as session, session.begin():
                await self._similar.store(session, ideas, vectors)
            total += len(ideas)
            if len(ideas) < batch:
                if total:
                    logger.info("similar ideas: stored the vectors of %s ideas", total)
                break
        return total

    async def stalled(self, *, now: datetime, limit: int) -> list[int]:
        """Conversations under way that their own flow version's reminder settings make due."""
        reminder = _VERSION.c.definition["reminder"]
        quiet = now.timestamp() - EpochSeconds(_CONVERSATION.c.updated_at)
        hour = 3600.0
        due = or_(
            and_(
                _CONVERSATION.c.reminded_at.is_(None),
                quiet >= reminder["after_hours"].as_float() * hour,
            ),
            quiet >= reminder["draft_after_hours"].as_float() * hour,
        )
        async with self._sessions() as session:
            rows = await session.execute(
                select(_CONVERSATION.c.id)
                .join(
                    _VERSION,
                    and_(
                        _VERSION.c.flow_id == _CONVERSATION.c.flow_id,
                        _VERSION.c.version == _CONVERSATION.c.flow_version,
                    ),
                )
                .where(_CONVERSATION.c.status == ConversationStatus.ACTIVE.value)
                .where(_CONVERSATION.c.updated_at <= now)
                .where(reminder["enabled"].as_boolean())
                .where(due)
                .order_by(_CONVERSATION.c.updated_at)
                .limit(limit)
            )
            return list(rows.scalars())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlDialogueTransaction]:
        """A transaction that commits when the block ends without an error."""
        used_ahead: set[str] = set()
        taken_again = False
        try:
            async with self._sessions() as session, session.begin():
                transaction = SqlDialogueTransaction(session, self._similar, used_ahead=used_ahead)
                yield transaction
                await transaction.write_pending()
        except EmbeddingNeeded:
            # The turn is taken again at once, with the texts held so far and the ones it needs.
            taken_again = True
            raise
        finally:
            if not taken_again:
                self._similar.release_ahead(sorted(used_ahead))
