"""The staff side of a turn's transaction: threads, cards, and posts for the staff room."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import ConversationKey
from handlers.ports import ConversationStatus, Direction, StaffThreadRecord
from handlers.staff.room import RoomAction, StaffAction, StaffCard, StaffRoom
from storage.outbox.actions import room_delivery, staff_delivery
from storage.outbox.rows import enqueue_rows
from storage.tables import ConversationRow, CustomerRow, MessageRow, StaffThreadRow, table_of
from storage.types import utc_now

_CUSTOMER = table_of(CustomerRow)
_CONVERSATION = table_of(ConversationRow)
_MESSAGE = table_of(MessageRow)
_THREAD = table_of(StaffThreadRow)


class StaffTransactionPart:
    """The staff methods of the turn's transaction (mixed into SqlDialogueTransaction)."""

    _session: AsyncSession

    async def enqueue_to_staff(
        self, *, room: StaffRoom, conversation_id: int, actions: list[StaffAction]
    ) -> None:
        """Add posts for a conversation's staff thread; one destination per thread keeps order."""
        await enqueue_rows(
            self._session,
            destination=room.destination(conversation_id),
            platform=room.platform,
            chat_id=room.chat_id,
            deliveries=[staff_delivery(conversation_id, action) for action in actions],
        )

    async def enqueue_to_room(self, *, room: StaffRoom, actions: list[RoomAction]) -> None:
        """Add posts for the staff room's top level, in order."""
        await enqueue_rows(
            self._session,
            destination=room.top_level,
            platform=room.platform,
            chat_id=room.chat_id,
            deliveries=[room_delivery(action) for action in actions],
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
