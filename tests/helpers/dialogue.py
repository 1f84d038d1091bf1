"""Customers of the dialogue core in tests: a fake customer, its replies, a finished flow."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.text_limits import utf16_units
from handlers.dialogue.dialogue import Dialogue
from handlers.dialogue.privacy import PrivacySettings
from handlers.flows.loader import LoadedFlow
from handlers.messages import ConversationKey, IncomingMessage, TextLimit
from storage.dialogue.store import SqlDialogueStore
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.outbox.deliveries import SendMessage, stored
from storage.outbox.store import OutboxItem, SqlOutboxStore

KARI = ConversationKey(platform="telegram", chat_id="42", user_id="42")


@dataclass
class CountingSignal:
    wakes: int = 0

    def outbox_changed(self) -> None:
        self.wakes += 1


@dataclass
class Customer:
    """Talks to the dialogue and reads what it put in the outbox."""

    dialogue: Dialogue
    outbox: SqlOutboxStore
    key: ConversationKey = KARI
    language_code: str = "en"
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    received: list[OutboxItem] = field(default_factory=list)

    async def say(self, text: str = "", **extra: Any) -> list[dict[str, Any]]:
        number = next(self.ids)
        message = IncomingMessage(
            key=self.key,
            external_id=str(extra.pop("external_id", number)),
            text=text,
            display_name="Kari Nordmann",
            language_code=self.language_code,
            platform_message_id=str(extra.pop("platform_message_id", number)),
            **extra,
        )
        await self.dialogue.handle(message)
        return await self.replies()

    async def press(self, label: str) -> list[dict[str, Any]]:
        """Press the button ``label`` on the newest message that has it."""
        for item in reversed(self.received):
            if not isinstance(item.delivery, SendMessage):
                continue
            for button in item.delivery.buttons:
                if button.label == label:
                    return await self.say(
                        button_payload=button.payload,
                        button_message_id=str(item.id),
                        button_message_text=item.delivery.text,
                    )
        raise AssertionError(f"no button {label!r}")

    async def replies(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while items := await self.outbox.claim_due(
            platforms=["telegram"], limit=100, lease_seconds=30
        ):
            for item in items:
                await self.outbox.mark_sent(item, platform_message_id=str(item.id))
                self.received.append(item)
                found.append(stored(item.delivery))
        return found


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [reply["text"] for reply in replies if reply["action"] == "send"]


async def make_customer(
    sessions: async_sessionmaker[AsyncSession],
    flows: list[LoadedFlow],
    *,
    limit: int = 4096,
    privacy: PrivacySettings | None = None,
) -> Customer:
    """A customer talking to a dialogue over ``sessions`` with Telegram's message ``limit``."""
    await SqlFlowLibrary(sessions).import_files(flows, actor="file")
    dialogue = Dialogue(
        store=SqlDialogueStore(sessions),
        flows=await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea"),
        outbox_signal=CountingSignal(),
        message_limits={"telegram": TextLimit(limit, measure=utf16_units)},
        privacy=privacy,
    )
    return Customer(dialogue=dialogue, outbox=SqlOutboxStore(sessions))


async def finish_default_flow(customer: Customer) -> None:
    await customer.say("/start")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    await customer.say("My eyes hurt when I read in bed at night")
    await customer.press("Every day")
    await customer.press("5")
    await customer.press("No")
