"""The inbox tells a Telegram update sent again from a new one that got an old update_id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.telegram.translate import to_incoming_message
from bot.telegram.updates import read_update
from handlers.flows.loader import LoadedFlow
from storage.tables import InboxRow, table_of
from storage.types import utc_now
from tests.helpers.dialogue import Customer, make_customer, texts

Sessions = async_sessionmaker[AsyncSession]
KARI = {"id": 42, "is_bot": False, "first_name": "Kari", "language_code": "en"}


def update(update_id: int, message_id: int, text: str) -> dict[str, Any]:
    chat = {"id": 42, "type": "private", "first_name": "Kari"}
    message = {"message_id": message_id, "from": KARI, "chat": chat, "date": 1_700_000_000}
    return {"update_id": update_id, "message": {**message, "text": text}}


async def deliver(customer: Customer, data: dict[str, Any]) -> list[str]:
    """Hand ``data`` to the dialogue as TelegramChannel does; the texts it answered with."""
    raw = read_update(data, Bot("1:unused"))
    assert raw.update is not None
    incoming = to_incoming_message(raw.update, external_id=raw.key, bot_username="ideabot_test_bot")
    assert incoming is not None
    await customer.dialogue.handle(incoming)
    return texts(await customer.replies())


async def row_of_an_older_ideabot(sessions: Sessions, update_id: int, *, age: timedelta) -> None:
    """The inbox row an ideabot before the chat-and-message key wrote: the update_id alone."""
    async with sessions() as session, session.begin():
        await session.execute(
            insert(table_of(InboxRow)).values(
                platform="telegram", external_id=str(update_id), received_at=utc_now() - age
            )
        )


@pytest.fixture
async def kari(sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]) -> Customer:
    return await make_customer(sqlite_sessions, shipped_flows)


async def test_a_new_message_with_an_update_id_used_before_is_answered(kari: Customer) -> None:
    assert await deliver(kari, update(500, 1, "/start"))
    # A quiet week later, Telegram numbers updates at random and gives out 500 again.
    assert await deliver(kari, update(500, 2, "A dark mode for the app, please")) != []


async def test_the_same_update_sent_again_is_still_skipped(kari: Customer) -> None:
    assert await deliver(kari, update(500, 1, "/start"))
    assert await deliver(kari, update(500, 1, "/start")) == []


async def test_an_update_handled_before_the_upgrade_is_not_handled_again(
    kari: Customer, sqlite_sessions: Sessions
) -> None:
    # The older ideabot handled 500 but stopped before confirming it; Telegram sends it again.
    await row_of_an_older_ideabot(sqlite_sessions, 500, age=timedelta(minutes=3))
    assert await deliver(kari, update(500, 1, "/start")) == []
    assert await deliver(kari, update(501, 2, "/start"))


async def test_an_old_row_of_an_older_ideabot_does_not_hide_a_new_message(
    kari: Customer, sqlite_sessions: Sessions
) -> None:
    # Another chat's update 500, handled weeks ago; 500 is given out again to Kari's message.
    await row_of_an_older_ideabot(sqlite_sessions, 500, age=timedelta(days=9))
    assert await deliver(kari, update(500, 7, "/start"))
