"""Soak: rounds of customers at once while Telegram fails at random; every reply once, in order.

Each round has its own fault seed, so a failure names the seed that replays it. More and
bigger rounds for a longer soak: IDEABOT_SOAK_ROUNDS, IDEABOT_SOAK_CUSTOMERS, IDEABOT_SOAK_SEED
(and IDEABOT_SOAK_SERVER_ERROR_RATE, IDEABOT_SOAK_RATE_LIMIT_RATE, IDEABOT_SOAK_ROUND_SECONDS).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine
from storage.tables import InboxRow, OutboxRow, OutboxState, table_of
from tests.doubles.telegram_bot_api import Customer, FaultPlan, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.waiting import eventually

ROUNDS = int(os.environ.get("IDEABOT_SOAK_ROUNDS", "3"))
CUSTOMERS = int(os.environ.get("IDEABOT_SOAK_CUSTOMERS", "60"))
FIRST_SEED = int(os.environ.get("IDEABOT_SOAK_SEED", "1"))
SERVER_ERROR_RATE = float(os.environ.get("IDEABOT_SOAK_SERVER_ERROR_RATE", "0.10"))
RATE_LIMIT_RATE = float(os.environ.get("IDEABOT_SOAK_RATE_LIMIT_RATE", "0.03"))
# Each round must be over by then; the lease is far longer, so a message that waits for a
# lease to run out while nothing crashed (a lost wake-up, a stuck row) fails the round.
ROUND_SECONDS = float(os.environ.get("IDEABOT_SOAK_ROUND_SECONDS", "40"))
LEASE_SECONDS = 120
IDEA = "A dark mode for the mobile app, please, for reading in the evening"
_OUTBOX = table_of(OutboxRow)
_INBOX = table_of(InboxRow)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own connection to the bot's database, to look at the outbox."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def outbox_counts(engine: AsyncEngine) -> dict[str, int]:
    """Outbox rows by state."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(_OUTBOX.c.state, func.count()).group_by(_OUTBOX.c.state)
        )
        return {str(state): count for state, count in rows}


async def outbox_rows_to(engine: AsyncEngine, chat_ids: list[int]) -> list[dict[str, object]]:
    """The outbox rows to these chats, for a failure message that shows where they stopped."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                _OUTBOX.c.id,
                _OUTBOX.c.chat_id,
                _OUTBOX.c.state,
                _OUTBOX.c.attempts,
                _OUTBOX.c.next_attempt_at,
                _OUTBOX.c.lease_until,
                _OUTBOX.c.last_error,
            )
            .where(_OUTBOX.c.chat_id.in_([str(chat) for chat in chat_ids]))
            .order_by(_OUTBOX.c.id)
        )
        return [dict(row._mapping) for row in rows]


async def inbox_has(engine: AsyncEngine, update_ids: list[int]) -> list[int]:
    """Which of these update ids the bot recorded as handled."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(_INBOX.c.external_id).where(_INBOX.c.platform == "telegram")
        )
        # A Telegram update's external id starts with its update_id.
        handled = (int(external_id.split(":")[0]) for external_id in rows.scalars())
        wanted = set(update_ids)
        return sorted(number for number in handled if number in wanted)


async def converse(
    api: TelegramBotApiDouble, customer: Customer, updates: list[int], deadline: float
) -> None:
    """/start, then the idea: each sent once its answer arrived, as a person would."""
    loop = asyncio.get_running_loop()
    updates.append((await api.send_text(customer, "/start"))["update_id"])
    await api.wait_for_messages(customer, 1, timeout=deadline - loop.time())
    updates.append((await api.send_text(customer, IDEA))["update_id"])
    await api.wait_for_messages(customer, 2, timeout=deadline - loop.time())


async def test_every_customer_gets_every_reply_once_and_in_order_through_random_faults(
    telegram_api: TelegramBotApiDouble,
    bot_factory: BotFactory,
    database_url: str,
    database: AsyncEngine,
) -> None:
    # Retries due at once: a retry that becomes due before its old task has ended is the race
    # that once left a customer waiting for a whole lease.
    bot = bot_factory(
        database_url, OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS), OUTBOX_BACKOFF_BASE_SECONDS="0.001"
    )
    await bot.start()
    for number in range(ROUNDS):
        seed = FIRST_SEED + number
        telegram_api.faults = FaultPlan(
            seed=seed, server_error_rate=SERVER_ERROR_RATE, rate_limit_rate=RATE_LIMIT_RATE
        )
        people = [
            Customer(user_id=100_000 * (number + 1) + n, first_name=f"C{n}")
            for n in range(CUSTOMERS)
        ]
        updates: dict[int, list[int]] = {person.user_id: [] for person in people}
        started = asyncio.get_running_loop().time()
        deadline = started + ROUND_SECONDS
        outcomes = await asyncio.gather(
            *(
                converse(telegram_api, person, updates[person.user_id], deadline)
                for person in people
            ),
            return_exceptions=True,
        )
        waiting = {
            person.user_id: len(telegram_api.messages_to(person))
            for person, outcome in zip(people, outcomes, strict=True)
            if outcome is not None
        }
        if waiting:
            sent = [number for chat in waiting for number in updates[chat]]
            at_telegram = {update["update_id"] for update in telegram_api.pending_updates}
            raise AssertionError(
                f"seed {seed}: customers short of replies after {ROUND_SECONDS} s "
                f"(id: got): {waiting}; their updates: {sent}, "
                f"handed out: {sorted(telegram_api.handed_out & set(sent))}, "
                f"in the inbox: {await inbox_has(database, sent)}, "
                f"still at Telegram: {sorted(at_telegram & set(sent))}; "
                f"their outbox rows: {await outbox_rows_to(database, list(waiting))}"
            )

        async def settled() -> bool:
            return (await outbox_counts(database)).get(OutboxState.PENDING, 0) == 0

        await eventually(settled, timeout=ROUND_SECONDS, what=f"seed {seed}: the outbox settling")
        counts = await outbox_counts(database)
        assert counts.get(OutboxState.FAILED, 0) == 0, f"seed {seed}: {counts}"
        for person in people:
            texts = [message.text for message in telegram_api.messages_to(person)]
            assert len(texts) == 2, f"seed {seed}, customer {person.user_id}: {texts}"
            assert texts[0].startswith("Hi! We build our product"), f"seed {seed}: {texts}"
            assert texts[1].endswith("What problem would it solve for you?"), f"seed {seed}"
    # The faults really happened, on both sides, in every soak.
    assert telegram_api.injected["sendMessage"] > 0
    assert telegram_api.injected["getUpdates"] > 0
