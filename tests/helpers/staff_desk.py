"""A customer and staff member talking through the staff desk."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram.sender import TEXT_LIMIT as TELEGRAM_TEXT_LIMIT
from handlers.dialogue.dialogue import Dialogue
from handlers.flows.loader import LoadedFlow
from handlers.staff.desk import StaffDesk, StaffOutcome
from handlers.staff.room import CardAction, CardActionKind, StaffMessage, StaffRoom
from storage.dialogue.store import SqlDialogueStore
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.outbox.deliveries import PostStaffCard, stored
from storage.outbox.store import OutboxItem, SentReceipt, SqlOutboxStore
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal, Customer

ROOM = StaffRoom(platform="slack", chat_id="C0STAFF")


THREAD = "thread-1"


def thread_ref(item: OutboxItem) -> str:
    """Each card opens its own thread: ``thread-<conversation id>``."""
    delivery = item.delivery
    return f"thread-{delivery.conversation_id}" if isinstance(delivery, PostStaffCard) else ""


@dataclass
class StaffSide:
    """Staff in the room: reads the thread's outbox and writes replies and clicks."""

    desk: StaffDesk
    outbox: SqlOutboxStore
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    thread_opened: bool = False

    async def posts(self) -> list[dict[str, Any]]:
        """What went to the staff thread since the last look (the card's post opens it)."""
        found: list[dict[str, Any]] = []
        while items := await self.outbox.claim_due(
            platforms=["slack"], limit=100, lease_seconds=30
        ):
            await self.outbox.record_sent(
                [SentReceipt(item, thread_ref(item) or str(item.id), utc_now()) for item in items]
            )
            found.extend(stored(item.delivery) for item in items)
        return found

    async def reply(self, text: str, **extra: Any) -> StaffOutcome:
        number = next(self.ids)
        return await self.desk.handle_message(
            StaffMessage(
                external_id=extra.pop("external_id", f"Ev{number}"),
                thread_ref=extra.pop("thread_ref", THREAD),
                message_ref=extra.pop("message_ref", f"1800000000.{number:06d}"),
                user_id="U0ANNE",
                user_name="Anne",
                text=text,
                **extra,
            )
        )

    async def click(self, kind: CardActionKind, conversation_id: int) -> bool:
        return await self.desk.handle_card_action(
            CardAction(
                external_id=f"action:{next(self.ids)}",
                conversation_id=conversation_id,
                kind=kind,
                user_id="U0ANNE",
                user_name="Anne",
            )
        )


async def make_pair(
    sessions: async_sessionmaker[AsyncSession],
    flows: list[LoadedFlow],
    *,
    staff_room: StaffRoom | None = ROOM,
    reopen: bool = False,
) -> tuple[Customer, StaffSide]:
    await SqlFlowLibrary(sessions).import_files(flows, actor="file")
    store = SqlDialogueStore(sessions)
    signal = CountingSignal()
    dialogue = Dialogue(
        store=store,
        flows=await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea"),
        outbox_signal=signal,
        message_limits={"telegram": TELEGRAM_TEXT_LIMIT},
        staff_room=staff_room,
        reopen_closed_threads=reopen,
    )
    desk = StaffDesk(
        store=store,
        room=ROOM,
        outbox_signal=signal,
        message_limits={"telegram": TELEGRAM_TEXT_LIMIT},
    )
    outbox = SqlOutboxStore(sessions)
    return Customer(dialogue=dialogue, outbox=outbox), StaffSide(desk=desk, outbox=outbox)
