"""One contract for the storage, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.engine import FlowState, IdeaDraft
from handlers.messages import Button, ButtonsUsed, ConversationKey, OutgoingMessage
from handlers.ports import (
    REDELIVERY_WINDOW,
    ConversationRecord,
    ConversationStatus,
    Direction,
    TranscriptEntry,
)
from storage.dialogue.store import SqlDialogueStore
from storage.idea_queries import export_ideas, idea_with_transcript
from storage.outbox.deliveries import MarkButtonsUsed, SendMessage
from storage.outbox.store import SqlOutboxStore
from storage.tables import InboxRow, table_of
from storage.types import utc_now
from tests.helpers.delivery import text_of

Sessions = async_sessionmaker[AsyncSession]
KARI = ConversationKey(platform="telegram", chat_id="42", user_id="42")
OLA = ConversationKey(platform="telegram", chat_id="43", user_id="43")


async def enqueue(sessions: Sessions, key: ConversationKey, *texts: str) -> None:
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.enqueue(key=key, actions=[OutgoingMessage(text) for text in texts])


async def test_an_event_is_claimed_once(sessions: Sessions) -> None:
    store = SqlDialogueStore(sessions)
    async with store.transaction() as transaction:
        assert await transaction.claim_inbound(platform="telegram", external_id="1")
    async with store.transaction() as transaction:
        assert not await transaction.claim_inbound(platform="telegram", external_id="1")
        assert await transaction.claim_inbound(platform="slack", external_id="1")


async def inbox_row(sessions: Sessions, external_id: str, *, age: timedelta) -> None:
    """An inbox row as an older ideabot wrote it, ``age`` ago."""
    async with sessions() as session, session.begin():
        await session.execute(
            insert(table_of(InboxRow)).values(
                platform="telegram", external_id=external_id, received_at=utc_now() - age
            )
        )


async def test_a_fresh_row_of_the_earlier_id_is_the_same_event(sessions: Sessions) -> None:
    # Handled by the older ideabot just before the upgrade; Telegram sends it again after it.
    await inbox_row(sessions, "870", age=timedelta(minutes=5))
    async with SqlDialogueStore(sessions).transaction() as transaction:
        assert not await transaction.claim_inbound(
            platform="telegram", external_id="870:message:42:7", earlier_id="870"
        )
        assert await transaction.claim_inbound(platform="slack", external_id="s", earlier_id="870")


async def test_an_old_row_of_the_earlier_id_is_another_event(sessions: Sessions) -> None:
    # Past the window Telegram no longer sends an update again: the id was given out anew.
    await inbox_row(sessions, "870", age=REDELIVERY_WINDOW + timedelta(minutes=1))
    async with SqlDialogueStore(sessions).transaction() as transaction:
        assert await transaction.claim_inbound(
            platform="telegram", external_id="870:message:42:7", earlier_id="870"
        )


async def test_a_failed_turn_leaves_no_trace(sessions: Sessions) -> None:
    store = SqlDialogueStore(sessions)
    with pytest.raises(RuntimeError):
        async with store.transaction() as transaction:
            await transaction.claim_inbound(platform="telegram", external_id="7")
            await transaction.enqueue(key=KARI, actions=[OutgoingMessage("hello")])
            raise RuntimeError("the process died here")
    async with store.transaction() as transaction:
        assert await transaction.claim_inbound(platform="telegram", external_id="7")
    assert (
        await SqlOutboxStore(sessions).claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
        == []
    )


async def test_customer_conversation_transcript_and_idea(sessions: Sessions) -> None:
    store = SqlDialogueStore(sessions)
    async with store.transaction() as transaction:
        customer = await transaction.customer_for(key=KARI, display_name="Kari", language="nb")
        assert not customer.has_history
        assert await transaction.open_conversation(customer_id=customer.id) is None
        conversation_id = await transaction.save_conversation(
            ConversationRecord(
                id=None,
                customer_id=customer.id,
                flow_id="idea",
                flow_version=1,
                status=ConversationStatus.ACTIVE,
                state=FlowState(step="idea"),
            )
        )
        await transaction.record_message(
            TranscriptEntry(
                conversation_id=conversation_id,
                customer_id=customer.id,
                direction=Direction.INBOUND,
                text="mørk modus",
                platform_message_id="m1",
                answered="idea",
            )
        )
    async with store.transaction() as transaction:
        again = await transaction.customer_for(key=KARI, display_name="Kari", language="en")
        assert again.id == customer.id
        assert again.language == "nb"  # the language chosen first sticks
        assert again.has_history
        conversation = await transaction.open_conversation(customer_id=customer.id)
        assert conversation is not None
        assert conversation.state == FlowState(step="idea")
        answered = await transaction.answered_by(
            conversation_id=conversation_id, platform_message_id="m1"
        )
        assert answered == "idea"
        await transaction.save_conversation(
            ConversationRecord(
                id=conversation.id,
                customer_id=customer.id,
                flow_id="idea",
                flow_version=1,
                status=ConversationStatus.FINISHED,
                state=FlowState(step="end", answers={"idea": "mørk modus"}),
            )
        )
        idea_id = await transaction.record_idea(
            customer_id=customer.id,
            conversation_id=conversation_id,
            language="nb",
            draft=IdeaDraft(
                title="mørk modus",
                description="mørk modus",
                problem=None,
                frequency="daily",
                importance=4,
                may_contact=True,
                email=None,
                answers={"idea": {"question": "Idé?", "value": "mørk modus"}},
                attachments=(),
            ),
        )
        await transaction.set_customer_language(customer_id=customer.id, language="en")
    async with store.transaction() as transaction:
        assert await transaction.open_conversation(customer_id=customer.id) is None
        relocked = await transaction.customer_for(key=KARI, display_name="Kari", language="nb")
        assert relocked.language == "en"
    (exported,) = await export_ideas(sessions)
    assert exported["id"] == idea_id
    assert exported["customer"]["name"] == "Kari"
    assert exported["importance"] == 4
    shown = await idea_with_transcript(sessions, idea_id)
    assert shown is not None
    assert [message["text"] for message in shown["transcript"]] == ["mørk modus"]


async def test_outbox_keeps_order_per_chat_and_chats_apart(sessions: Sessions) -> None:
    outbox = SqlOutboxStore(sessions)
    await enqueue(sessions, KARI, "k1", "k2")
    await enqueue(sessions, OLA, "o1")
    await enqueue(sessions, KARI, "k3")
    first = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    assert [text_of(item) for item in first] == ["k1", "o1"]
    # Leased heads are not handed out twice, and nothing behind them moves.
    assert await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30) == []
    for item in first:
        await outbox.mark_sent(item, platform_message_id="1")
    second = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    assert [text_of(item) for item in second] == ["k2"]
    await outbox.retry_later(second[0], delay_seconds=3600, error="429", counts_as_attempt=False)
    # k3 waits behind k2, which waits for its retry time.
    assert await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30) == []
    assert (await outbox.backlog()).pending == 2


async def test_expired_lease_is_claimed_again(sessions: Sessions) -> None:
    outbox = SqlOutboxStore(sessions)
    await enqueue(sessions, KARI, "k1")
    (item,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=0.05)
    await asyncio.sleep(0.1)  # the lease is a time span: only letting it pass tests its end
    (again,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    assert again.id == item.id


async def test_concurrent_claims_never_hand_out_a_row_twice(sessions: Sessions) -> None:
    outbox = SqlOutboxStore(sessions)
    for number in range(30):
        key = ConversationKey(platform="telegram", chat_id=str(number), user_id=str(number))
        await enqueue(sessions, key, f"m{number}")
    claims = await asyncio.gather(
        *(outbox.claim_due(platforms=["telegram"], limit=7, lease_seconds=30) for _ in range(6))
    )
    ids = [item.id for claim in claims for item in claim]
    assert len(ids) == len(set(ids)) == 30


async def test_unreachable_chat_fails_its_waiting_messages(sessions: Sessions) -> None:
    store = SqlDialogueStore(sessions)
    async with store.transaction() as transaction:
        await transaction.customer_for(key=KARI, display_name="Kari", language="en")
    outbox = SqlOutboxStore(sessions)
    await enqueue(sessions, KARI, "k1", "k2")
    await enqueue(sessions, OLA, "o1")
    claimed = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    kari_item = next(item for item in claimed if item.destination == KARI.destination)
    assert await outbox.fail_unreachable(kari_item, error="blocked") == 2
    backlog = await outbox.backlog()
    assert (backlog.pending, backlog.failed) == (1, 2)
    async with sessions() as session:
        from sqlmodel import select

        from storage.tables import CustomerRow

        customer = (await session.execute(select(CustomerRow))).scalar_one()
        assert customer.unreachable
        assert customer.unreachable_reason == "blocked"


async def test_buttons_and_marks_survive_the_outbox(sessions: Sessions) -> None:
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.enqueue(
            key=KARI,
            actions=[
                ButtonsUsed(message_id="5", text="How often?\n\n✔ Daily"),
                OutgoingMessage("Score?", (Button("1", "score:1"),)),
            ],
        )
    outbox = SqlOutboxStore(sessions)
    (mark,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    assert mark.delivery == MarkButtonsUsed(message_id="5", text="How often?\n\n✔ Daily")
    await outbox.mark_sent(mark, platform_message_id="5")
    (send,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    assert send.delivery == SendMessage(text="Score?", buttons=(Button("1", "score:1"),))


async def test_outages_are_told_apart_from_bad_statements(sessions: Sessions) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from storage.database import is_database_outage

    store = SqlDialogueStore(sessions)
    async with store.transaction() as transaction:
        await transaction.claim_inbound(platform="telegram", external_id="dup")
    with pytest.raises(SQLAlchemyError) as duplicate:
        async with sessions() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO inbox (platform, external_id, received_at) "
                    "VALUES ('telegram', 'dup', CURRENT_TIMESTAMP)"
                )
            )
    assert not is_database_outage(duplicate.value)
    with pytest.raises(SQLAlchemyError) as typo:
        async with sessions() as session:
            await session.execute(text("SELEC 1"))
    assert not is_database_outage(typo.value)
    assert is_database_outage(ConnectionRefusedError())


async def test_next_due_ignores_messages_waiting_behind_their_chat(sessions: Sessions) -> None:
    outbox = SqlOutboxStore(sessions)
    assert await outbox.next_due_at(platforms=["telegram"]) is None
    await enqueue(sessions, KARI, "k1", "k2", "k3")
    (head,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    await outbox.retry_later(head, delay_seconds=600, error="429", counts_as_attempt=False)
    due = await outbox.next_due_at(platforms=["telegram"])
    assert due is not None
    # k2 and k3 were due long ago, but wait for k1: the chat is due when k1 is.
    assert 590 < (due - utc_now()).total_seconds() <= 600
