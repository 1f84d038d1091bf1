"""The dialogue's transaction on SQL: inbox, customer, conversation, transcript, idea, outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.conversation import ConversationKey, OutboundAction, OutgoingMessage
from handlers.flow_engine import FlowState, IdeaDraft
from handlers.idea_status import (
    IdeaFollower,
    IdeaStatus,
    IdeaSummary,
    MergeRecord,
    StatusChange,
)
from handlers.ports import (
    ConversationRecord,
    ConversationStatus,
    CustomerProfile,
    Direction,
    StaffThreadRecord,
    StalledConversation,
    TranscriptEntry,
)
from handlers.similarity import SimilarityIndex
from handlers.staff import PostDigest, StaffAction, StaffCard, StaffRoom
from storage.outbox_actions import outbox_payload, room_payload, staff_payload
from storage.tables import (
    ConversationRow,
    CustomerRow,
    IdeaFollowerRow,
    IdeaMergeRow,
    IdeaRow,
    IdeaStatusChangeRow,
    IdeaTagRow,
    InboxRow,
    MessageRow,
    OutboxRow,
    OutboxState,
    ScheduledRunRow,
    StaffThreadRow,
)
from storage.types import utc_now
from storage.upsert import insert_if_absent

_INBOX = InboxRow.__table__  # type: ignore[attr-defined]
_CUSTOMER = CustomerRow.__table__  # type: ignore[attr-defined]
_CONVERSATION = ConversationRow.__table__  # type: ignore[attr-defined]
_MESSAGE = MessageRow.__table__  # type: ignore[attr-defined]
_IDEA = IdeaRow.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
_THREAD = StaffThreadRow.__table__  # type: ignore[attr-defined]
_OPEN = (ConversationStatus.ACTIVE.value, ConversationStatus.WITH_STAFF.value)
_FOLLOWER = IdeaFollowerRow.__table__  # type: ignore[attr-defined]
_STATUS_CHANGE = IdeaStatusChangeRow.__table__  # type: ignore[attr-defined]
_TAG = IdeaTagRow.__table__  # type: ignore[attr-defined]
_MERGE = IdeaMergeRow.__table__  # type: ignore[attr-defined]
# Ideas a new one may be the same as: not drafts, duplicates, or decided ones.
OPEN_STATUSES = (
    IdeaStatus.NEW.value,
    IdeaStatus.UNDER_REVIEW.value,
    IdeaStatus.PLANNED.value,
    IdeaStatus.IN_PROGRESS.value,
)
# Outbox priorities: a live conversation's messages go before news sent to many customers.
LIVE = 0
BULK = 1


class SqlDialogueTransaction:
    """One turn's reads and writes inside one database transaction.

    It uses SQLAlchemy Core, not ORM objects: this is the hot path of every message, and
    building model objects cost more than the statements themselves.
    """

    def __init__(self, session: AsyncSession, similar: SimilarIdeas) -> None:
        self._session = session
        self._similar = similar
        self._turn_started = utc_now()
        self._transcript: list[dict[str, Any]] = []
        self._chats: dict[int, ConversationKey] = {}

    async def claim_inbound(self, *, platform: str, external_id: str) -> bool:
        """Record the event; False if this platform event id was seen before."""
        inserted = await insert_if_absent(
            self._session,
            InboxRow,
            conflict=["platform", "external_id"],
            values={"platform": platform, "external_id": external_id, "received_at": utc_now()},
        )
        return inserted is not None

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

    async def record_idea(
        self,
        *,
        customer_id: int,
        conversation_id: int,
        language: str,
        draft: IdeaDraft,
        status: str = "new",
    ) -> int:
        """Store the idea a flow recorded (or a draft of one)."""
        now = utc_now()
        inserted = await self._session.execute(
            insert(_IDEA)
            .values(
                customer_id=customer_id,
                conversation_id=conversation_id,
                title=draft.title[:256],
                description=draft.description,
                problem=draft.problem,
                frequency=draft.frequency,
                importance=draft.importance,
                may_contact=draft.may_contact,
                email=draft.email,
                answers=draft.answers,
                attachments=[attachment.to_json() for attachment in draft.attachments],
                status=status,
                language=language,
                created_at=now,
                updated_at=now,
            )
            .returning(_IDEA.c.id)
        )
        idea_id: int = inserted.scalar_one()
        await self._session.execute(
            insert(_FOLLOWER).values(
                idea_id=idea_id, customer_id=customer_id, kind="author", created_at=now
            )
        )
        return idea_id

    async def similar_idea(self, *, text: str, at_least: float) -> tuple[int, str] | None:
        """The open idea most like ``text``, from the similarity index kept up to date here."""
        await self._similar.catch_up(self._session)
        candidates = self._similar.index.search(text, limit=5, at_least=at_least)
        if not candidates:
            return None
        rows = await self._session.execute(
            select(_IDEA.c.id, _IDEA.c.title)
            .where(_IDEA.c.id.in_([match.idea_id for match in candidates]))
            .where(_IDEA.c.status.in_(OPEN_STATUSES))
        )
        titles = {row.id: row.title for row in rows}
        for match in candidates:
            if match.idea_id in titles:
                return match.idea_id, titles[match.idea_id]
        return None

    async def join_idea(
        self,
        *,
        idea_id: int,
        customer_id: int,
        conversation_id: int,
        language: str,
        draft: IdeaDraft,
    ) -> None:
        """Keep the answers as a duplicate of ``idea_id`` and count the customer's vote."""
        kept = await self.record_idea(
            customer_id=customer_id,
            conversation_id=conversation_id,
            language=language,
            draft=draft,
            status=IdeaStatus.DUPLICATE.value,
        )
        await self._session.execute(
            update(_IDEA).where(_IDEA.c.id == kept).values(duplicate_of=idea_id)
        )
        await insert_if_absent(
            self._session,
            IdeaFollowerRow,
            conflict=["idea_id", "customer_id"],
            values={
                "idea_id": idea_id,
                "customer_id": customer_id,
                "kind": "vote",
                "created_at": utc_now(),
            },
            returning="idea_id",
        )

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

    async def set_wants_updates(self, *, customer_id: int, wants_updates: bool) -> None:
        """Remember whether the customer wants news about ideas."""
        await self._session.execute(
            update(_CUSTOMER)
            .where(_CUSTOMER.c.id == customer_id)
            .values(wants_updates=wants_updates, updated_at=utc_now())
        )

    async def idea_for_update(self, *, idea_id: int) -> IdeaSummary | None:
        """The idea, locked for this transaction."""
        row = (
            await self._session.execute(
                select(_IDEA.c.id, _IDEA.c.title, _IDEA.c.status, _IDEA.c.conversation_id)
                .where(_IDEA.c.id == idea_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            return None
        return IdeaSummary(
            id=row.id,
            title=row.title,
            status=IdeaStatus(row.status),
            conversation_id=row.conversation_id,
        )

    async def record_status_change(
        self, *, idea: IdeaSummary, change: StatusChange, notified: int
    ) -> None:
        """Move the idea to its new status and keep the change in its history."""
        now = utc_now()
        await self._session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == idea.id)
            .values(status=change.new_status(idea.status).value, updated_at=now)
        )
        await self._session.execute(
            insert(_STATUS_CHANGE).values(
                idea_id=idea.id,
                from_status=idea.status.value,
                to_status=change.new_status(idea.status).value,
                message=change.message,
                changed_by=change.changed_by[:256],
                notified=notified,
                created_at=now,
            )
        )

    async def change_tags(
        self, *, idea_id: int, add: tuple[str, ...], remove: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Add and take off tags; the idea's tags afterwards, sorted."""
        if remove:
            await self._session.execute(
                delete(_TAG).where(_TAG.c.idea_id == idea_id).where(_TAG.c.tag.in_(remove))
            )
        for tag in add:
            await insert_if_absent(
                self._session,
                IdeaTagRow,
                conflict=["idea_id", "tag"],
                values={"idea_id": idea_id, "tag": tag, "created_at": utc_now()},
                returning="tag",
            )
        tags = await self._session.execute(
            select(_TAG.c.tag).where(_TAG.c.idea_id == idea_id).order_by(_TAG.c.tag)
        )
        return tuple(tags.scalars())

    async def merge_ideas(
        self, *, duplicate: IdeaSummary, original: IdeaSummary, merged_by: str
    ) -> MergeRecord:
        """Move the duplicate's customers to the original and remember what moved."""
        now = utc_now()
        linked = set(
            (
                await self._session.execute(
                    select(_FOLLOWER.c.customer_id).where(_FOLLOWER.c.idea_id == original.id)
                )
            ).scalars()
        )
        theirs = list(
            (
                await self._session.execute(
                    select(_FOLLOWER.c.customer_id).where(_FOLLOWER.c.idea_id == duplicate.id)
                )
            ).scalars()
        )
        moved = [customer_id for customer_id in theirs if customer_id not in linked]
        if moved:
            await self._session.execute(
                insert(_FOLLOWER),
                [
                    {"idea_id": original.id, "customer_id": c, "kind": "vote", "created_at": now}
                    for c in moved
                ],
            )
        await self._session.execute(delete(_FOLLOWER).where(_FOLLOWER.c.idea_id == duplicate.id))
        await self._session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == duplicate.id)
            .values(status=IdeaStatus.DUPLICATE.value, duplicate_of=original.id, updated_at=now)
        )
        await self._session.execute(
            insert(_MERGE).values(
                duplicate_id=duplicate.id,
                original_id=original.id,
                from_status=duplicate.status.value,
                moved={"moved": moved, "linked": theirs},
                merged_by=merged_by[:256],
                created_at=now,
            )
        )
        return MergeRecord(duplicate.id, original.id, duplicate.status, tuple(moved))

    async def undo_merge(self, *, duplicate_id: int) -> MergeRecord | None:
        """Put the customers and the status back as they were before the last merge."""
        row = (
            await self._session.execute(
                select(_MERGE)
                .where(_MERGE.c.duplicate_id == duplicate_id)
                .where(_MERGE.c.undone_at.is_(None))
                .order_by(_MERGE.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        now = utc_now()
        merged = list(row.moved.get("moved", []))
        # Everyone linked to the duplicate before comes back to it; those the merge brought
        # to the original leave it again (those who were there already stay).
        await self._session.execute(
            delete(_FOLLOWER)
            .where(_FOLLOWER.c.idea_id == row.original_id)
            .where(_FOLLOWER.c.customer_id.in_(merged))
        )
        author = (
            await self._session.execute(
                select(_IDEA.c.customer_id).where(_IDEA.c.id == duplicate_id)
            )
        ).scalar_one()
        back = set(row.moved.get("linked", [])) | {author}
        await self._session.execute(
            insert(_FOLLOWER),
            [
                {
                    "idea_id": duplicate_id,
                    "customer_id": customer_id,
                    "kind": "author" if customer_id == author else "vote",
                    "created_at": now,
                }
                for customer_id in sorted(back)
            ],
        )
        await self._session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == duplicate_id)
            .values(status=row.from_status, duplicate_of=None, updated_at=now)
        )
        await self._session.execute(
            update(_MERGE).where(_MERGE.c.id == row.id).values(undone_at=now)
        )
        return MergeRecord(
            duplicate_id, row.original_id, IdeaStatus(row.from_status), tuple(merged)
        )

    async def idea_followers(self, *, idea_id: int) -> list[IdeaFollower]:
        """Every customer linked to the idea, with how to reach them."""
        rows = await self._session.execute(
            select(
                _CUSTOMER.c.id,
                _CUSTOMER.c.platform,
                _CUSTOMER.c.chat_id,
                _CUSTOMER.c.platform_user_id,
                _CUSTOMER.c.language,
                _CUSTOMER.c.wants_updates,
                _CUSTOMER.c.unreachable,
            )
            .join(_FOLLOWER, _FOLLOWER.c.customer_id == _CUSTOMER.c.id)
            .where(_FOLLOWER.c.idea_id == idea_id)
            .order_by(_FOLLOWER.c.created_at, _CUSTOMER.c.id)
        )
        return [
            IdeaFollower(
                customer_id=row.id,
                platform=row.platform,
                chat_id=row.chat_id,
                user_id=row.platform_user_id,
                language=row.language,
                wants_updates=bool(row.wants_updates) and not row.unreachable,
            )
            for row in rows
        ]

    async def enqueue_news(self, messages: list[tuple[ConversationKey, OutgoingMessage]]) -> None:
        """Queue one message to each of many customers, behind live conversations."""
        if not messages:
            return
        now = utc_now()
        rows = [
            outbox_row(
                destination=key.destination,
                platform=key.platform,
                chat_id=key.chat_id,
                payload=outbox_payload(message),
                priority=BULK,
                now=now,
            )
            for key, message in messages
        ]
        await self._session.execute(insert(_OUTBOX), rows)

    async def enqueue(self, *, key: ConversationKey, actions: list[OutboundAction]) -> None:
        """Add the actions to the outbox; ids grow in the order given, which is the send order."""
        await enqueue_rows(
            self._session,
            destination=key.destination,
            platform=key.platform,
            chat_id=key.chat_id,
            payloads=[outbox_payload(action) for action in actions],
        )

    async def enqueue_to_staff(
        self, *, room: StaffRoom, conversation_id: int, actions: list[StaffAction]
    ) -> None:
        """Add posts for a conversation's staff thread; one destination per thread keeps order."""
        await enqueue_rows(
            self._session,
            destination=room.destination(conversation_id),
            platform=room.platform,
            chat_id=room.chat_id,
            payloads=[staff_payload(conversation_id, action) for action in actions],
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

    async def enqueue_to_room(self, *, room: StaffRoom, actions: list[PostDigest]) -> None:
        """Add posts for the staff room's top level, in order."""
        await enqueue_rows(
            self._session,
            destination=room.top_level,
            platform=room.platform,
            chat_id=room.chat_id,
            payloads=[room_payload(action) for action in actions],
        )

    async def open_thread(self, *, room: StaffRoom, card: StaffCard) -> None:
        """Remember the conversation's thread; its id comes when the card is posted."""
        now = utc_now()
        await self._session.execute(
            insert(_THREAD).values(
                conversation_id=card.conversation_id,
                room_platform=room.platform,
                room_chat_id=room.chat_id,
                thread_ref=None,
                card=card.to_json(),
                created_at=now,
                updated_at=now,
            )
        )

    async def thread_of(self, *, conversation_id: int) -> StaffThreadRecord | None:
        """The conversation's staff thread, locked for this turn."""
        return await self._thread_where(_THREAD.c.conversation_id == conversation_id)

    async def thread_at(self, *, room: StaffRoom, thread_ref: str) -> StaffThreadRecord | None:
        """The conversation whose thread this is, locked for this turn."""
        return await self._thread_where(
            (_THREAD.c.room_chat_id == room.chat_id) & (_THREAD.c.thread_ref == thread_ref)
        )

    async def last_closed_thread(self, *, customer_id: int) -> StaffThreadRecord | None:
        """The customer's newest closed conversation that has a staff thread."""
        return await self._thread_where(
            (_CONVERSATION.c.customer_id == customer_id)
            & (_CONVERSATION.c.status == ConversationStatus.CLOSED.value)
        )

    async def _thread_where(self, condition: Any) -> StaffThreadRecord | None:
        row = (
            await self._session.execute(
                select(
                    _THREAD.c.conversation_id,
                    _THREAD.c.card,
                    _CONVERSATION.c.status,
                    _CUSTOMER.c.id.label("customer_id"),
                    _CUSTOMER.c.platform,
                    _CUSTOMER.c.chat_id,
                    _CUSTOMER.c.platform_user_id,
                    _CUSTOMER.c.language,
                )
                .join(_CONVERSATION, _CONVERSATION.c.id == _THREAD.c.conversation_id)
                .join(_CUSTOMER, _CUSTOMER.c.id == _CONVERSATION.c.customer_id)
                .where(condition)
                .order_by(_THREAD.c.conversation_id.desc())
                .limit(1)
                .with_for_update(of=_THREAD)
            )
        ).first()
        if row is None:
            return None
        return StaffThreadRecord(
            conversation_id=row.conversation_id,
            conversation_status=ConversationStatus(row.status),
            customer=ConversationKey(row.platform, row.chat_id, row.platform_user_id),
            customer_id=row.customer_id,
            customer_language=row.language,
            card=StaffCard.from_json(row.card),
        )

    async def save_card(self, card: StaffCard) -> None:
        """Store the changed card."""
        await self._session.execute(
            update(_THREAD)
            .where(_THREAD.c.conversation_id == card.conversation_id)
            .values(card=card.to_json(), updated_at=utc_now())
        )

    async def set_conversation_status(
        self, *, conversation_id: int, status: ConversationStatus
    ) -> None:
        """Move the conversation to ``status``."""
        await self._session.execute(
            update(_CONVERSATION)
            .where(_CONVERSATION.c.id == conversation_id)
            .values(status=status.value, updated_at=utc_now())
        )

    async def is_relayed_reply(self, *, conversation_id: int, message_ref: str) -> bool:
        """True if the transcript has this staff message as a reply sent to the customer."""
        found = (
            await self._session.execute(
                select(_MESSAGE.c.id)
                .where(_MESSAGE.c.conversation_id == conversation_id)
                .where(_MESSAGE.c.platform_message_id == message_ref)
                .where(_MESSAGE.c.direction == Direction.STAFF.value)
                .limit(1)
            )
        ).first()
        return found is not None


class SimilarIdeas:
    """The similarity index of open ideas, kept in memory and caught up from the database.

    Only a cache: any process builds it from the ideas table, and catches up with ideas
    other processes recorded before each lookup.
    """

    def __init__(self) -> None:
        self.index = SimilarityIndex()
        self._seen = 0

    async def catch_up(self, session: AsyncSession) -> None:
        """Index the ideas recorded since the last look."""
        rows = await session.execute(
            select(_IDEA.c.id, _IDEA.c.title, _IDEA.c.description)
            .where(_IDEA.c.id > self._seen)
            .where(_IDEA.c.status.in_(OPEN_STATUSES))
            .order_by(_IDEA.c.id)
        )
        for row in rows:
            self.index.add(row.id, f"{row.title} {row.description}")
            self._seen = max(self._seen, row.id)


class SqlDialogueStore:
    """Opens one database transaction per dialogue turn."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], similar: SimilarIdeas | None = None
    ) -> None:
        self._sessions = sessions
        self._similar = similar or SimilarIdeas()

    async def stalled(self, *, idle_since: datetime, limit: int) -> list[int]:
        """Conversations under way whose customer has been quiet since ``idle_since``."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(_CONVERSATION.c.id)
                .where(_CONVERSATION.c.status == ConversationStatus.ACTIVE.value)
                .where(_CONVERSATION.c.updated_at <= idle_since)
                .order_by(_CONVERSATION.c.updated_at)
                .limit(limit)
            )
            return list(rows.scalars())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlDialogueTransaction]:
        """A transaction that commits when the block ends without an error."""
        async with self._sessions() as session, session.begin():
            transaction = SqlDialogueTransaction(session, self._similar)
            yield transaction
            await transaction.write_pending()


async def enqueue_rows(
    session: AsyncSession,
    *,
    destination: str,
    platform: str,
    chat_id: str,
    payloads: list[tuple[str, dict[str, Any]]],
    priority: int = LIVE,
) -> None:
    """Insert outbox rows for one destination in one statement, numbered in the order given."""
    if not payloads:
        return
    now = utc_now()
    rows = [
        outbox_row(
            destination=destination,
            platform=platform,
            chat_id=chat_id,
            payload=payload,
            priority=priority,
            now=now,
        )
        for payload in payloads
    ]
    await session.execute(insert(_OUTBOX), rows)


def outbox_row(
    *,
    destination: str,
    platform: str,
    chat_id: str,
    payload: tuple[str, dict[str, Any]],
    priority: int,
    now: datetime,
) -> dict[str, Any]:
    """The values of a new pending outbox row."""
    action, data = payload
    return {
        "destination": destination,
        "platform": platform,
        "chat_id": chat_id,
        "action": action,
        "payload": data,
        "priority": priority,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "platform_message_id": "",
        "created_at": now,
    }
