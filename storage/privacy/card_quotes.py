"""Staff cards that list an erased idea among "possibly the same as": rewritten, and in Slack."""

from __future__ import annotations

import contextlib

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.privacy.rules import card_without
from handlers.staff.room import StaffCard, StaffRoom
from storage.outbox.deliveries import (
    PostStaffCard,
    UnreadableDelivery,
    UpdateStaffCard,
    action_of,
    read_delivery,
    stored,
)
from storage.outbox.rows import enqueue_rows
from storage.privacy.erasure import Cleanup
from storage.tables import OutboxRow, OutboxState, StaffThreadRow, table_of

_OUTBOX = table_of(OutboxRow)
_THREAD = table_of(StaffThreadRow)
_CARDS = (action_of(PostStaffCard), action_of(UpdateStaffCard))


async def scrub_cards(session: AsyncSession, cleanup: Cleanup) -> None:
    """Other conversations' cards that name an erased or renamed idea as a candidate."""
    if not (cleanup.removed_ideas or cleanup.renamed_ideas):
        return
    # Erasures are rare and cards small: every kept card is read once, in this transaction.
    threads = await session.execute(
        select(
            _THREAD.c.conversation_id,
            _THREAD.c.room_platform,
            _THREAD.c.room_chat_id,
            _THREAD.c.card,
        ).where(_THREAD.c.conversation_id.not_in(cleanup.conversations))
    )
    for thread in threads.all():
        card = _cleaned(cleanup, StaffCard.from_json(thread.card))
        if card is None:
            continue
        await session.execute(
            update(_THREAD)
            .where(_THREAD.c.conversation_id == thread.conversation_id)
            .values(card=card.to_json(), updated_at=cleanup.now)
        )
        room = StaffRoom(platform=thread.room_platform, chat_id=thread.room_chat_id)
        # Shown in Slack in place of the old card, after what the thread has queued.
        await enqueue_rows(
            session,
            destination=room.destination(thread.conversation_id),
            platform=room.platform,
            chat_id=room.chat_id,
            deliveries=[UpdateStaffCard(conversation_id=thread.conversation_id, card=card)],
        )
        cleanup.removed["cards_rewritten"] += 1
    await _scrub_queued_cards(session, cleanup)


async def _scrub_queued_cards(session: AsyncSession, cleanup: Cleanup) -> None:
    """The cards in the outbox (queued, or kept after sending) lose the quotes too."""
    rows = await session.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.action, _OUTBOX.c.payload)
        .where(_OUTBOX.c.action.in_(_CARDS))
        .where(_OUTBOX.c.state.in_([OutboxState.PENDING.value, OutboxState.SENT.value]))
    )
    for row in rows.all():
        with contextlib.suppress(UnreadableDelivery):
            delivery = read_delivery(row.action, row.payload)
            assert isinstance(delivery, PostStaffCard | UpdateStaffCard)
            card = _cleaned(cleanup, delivery.card)
            if card is not None:
                rewritten = delivery.model_copy(update={"card": card})
                await session.execute(
                    update(_OUTBOX).where(_OUTBOX.c.id == row.id).values(payload=stored(rewritten))
                )


def _cleaned(cleanup: Cleanup, card: StaffCard) -> StaffCard | None:
    return card_without(
        card, removed_ideas=cleanup.removed_ideas, renamed_ideas=cleanup.renamed_ideas
    )
