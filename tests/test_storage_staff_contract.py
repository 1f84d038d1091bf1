"""The staff side of the storage contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import ConversationKey, DeliveryReport, OutgoingMessage
from handlers.ports import ConversationStatus
from handlers.staff.room import PostCard, StaffCard, StaffRoom, ThreadPost
from storage.dialogue.store import SqlDialogueStore
from storage.event_queue import SqlEventQueue
from storage.outbox.deliveries import PostInThread, PostStaffCard
from storage.outbox.store import SentReceipt, SqlOutboxStore
from storage.tables import OutboxRow, table_of
from storage.types import utc_now
from tests.helpers.staff_thread import open_kari_thread

Sessions = async_sessionmaker[AsyncSession]
KARI = ConversationKey(platform="telegram", chat_id="42", user_id="42")
ROOM = StaffRoom(platform="slack", chat_id="C0STAFF")


async def handed_off(sessions: Sessions) -> StaffCard:
    """A conversation with Kari handed to staff: its card posted to the outbox."""
    async with SqlDialogueStore(sessions).transaction() as transaction:
        card = await open_kari_thread(transaction, room=ROOM)
        conversation_id = card.conversation_id
        await transaction.enqueue_to_staff(
            room=ROOM,
            conversation_id=conversation_id,
            actions=[PostCard(card), ThreadPost("first words", author="Kari")],
        )
    return card


async def test_posting_the_card_opens_the_thread_for_the_posts_behind_it(
    sessions: Sessions,
) -> None:
    card = await handed_off(sessions)
    outbox = SqlOutboxStore(sessions)
    (post_card,) = await outbox.claim_due(platforms=["slack"], limit=10, lease_seconds=30)
    assert isinstance(post_card.delivery, PostStaffCard)
    await outbox.record_sent([SentReceipt(post_card, "1700000001.000100", utc_now())])
    (thread_post,) = await outbox.claim_due(platforms=["slack"], limit=10, lease_seconds=30)
    assert isinstance(thread_post.delivery, PostInThread)
    assert thread_post.thread_ref == "1700000001.000100"
    assert thread_post.chat_id == "C0STAFF"

    async with SqlDialogueStore(sessions).transaction() as transaction:
        thread = await transaction.thread_at(room=ROOM, thread_ref="1700000001.000100")
        assert thread is not None
        assert thread.customer == KARI
        assert thread.card == card
        assert thread.conversation_status is ConversationStatus.WITH_STAFF
        assert await transaction.thread_at(room=ROOM, thread_ref="1700000009.000100") is None


async def test_a_delivered_staff_reply_is_confirmed_and_a_failed_one_explained(
    sessions: Sessions,
) -> None:
    card = await handed_off(sessions)
    outbox = SqlOutboxStore(sessions)
    await outbox.claim_due(platforms=["slack"], limit=10, lease_seconds=30)  # the card's lease
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.enqueue(
            key=KARI,
            actions=[
                OutgoingMessage("one", report=DeliveryReport(card.conversation_id, "111.1")),
                OutgoingMessage("two", report=DeliveryReport(card.conversation_id, "222.2")),
            ],
        )
    (first,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    await outbox.record_sent([SentReceipt(first, "9", utc_now())])
    (second,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    await outbox.fail_unreachable(second, error="the customer has blocked the bot")
    outbox_table = table_of(OutboxRow)
    async with sessions() as session:
        rows = (
            await session.execute(
                select(outbox_table.c.action, outbox_table.c.payload)
                .where(outbox_table.c.destination == ROOM.destination(card.conversation_id))
                .order_by(outbox_table.c.id)
            )
        ).all()
    actions = [row.action for row in rows]
    assert actions == ["post_card", "thread_post", "react", "thread_post"]
    assert rows[2].payload["message_ref"] == "111.1"
    assert rows[3].payload["text"].endswith("the customer has blocked the bot")


async def test_events_are_stored_once_and_handed_out_in_order_per_key(
    sessions: Sessions,
) -> None:
    queue = SqlEventQueue(sessions)
    assert await queue.store(
        platform="slack", external_id="Ev1", ordering_key="D1", payload={"n": 1}
    )
    assert not await queue.store(
        platform="slack", external_id="Ev1", ordering_key="D1", payload={"n": 1}
    )
    assert await queue.store(
        platform="slack", external_id="Ev2", ordering_key="D1", payload={"n": 2}
    )
    assert await queue.store(
        platform="slack", external_id="Ev3", ordering_key="D2", payload={"n": 3}
    )

    claimed = await queue.claim_due(platform="slack", limit=10, lease_seconds=30)
    assert [event.payload["n"] for event in claimed] == [1, 3]
    assert await queue.claim_due(platform="slack", limit=10, lease_seconds=30) == []
    await queue.retry_later(claimed[0], delay_seconds=0, error="users.info failed")
    (again,) = await queue.claim_due(platform="slack", limit=10, lease_seconds=30)
    assert (again.payload["n"], again.attempts) == (1, 1)
    await queue.done(again)
    (second,) = await queue.claim_due(platform="slack", limit=10, lease_seconds=30)
    assert second.payload["n"] == 2


async def test_concurrent_event_claims_never_hand_out_an_event_twice(sessions: Sessions) -> None:
    queue = SqlEventQueue(sessions)
    for number in range(30):
        await queue.store(
            platform="slack", external_id=f"Ev{number}", ordering_key=f"D{number}", payload={}
        )
    batches = await asyncio.gather(
        *(queue.claim_due(platform="slack", limit=10, lease_seconds=30) for _ in range(6))
    )
    ids = [event.id for batch in batches for event in batch]
    assert len(ids) == len(set(ids)) == 30
