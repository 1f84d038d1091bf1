"""Issue 13: a campaign sent by `ideabot run`, kill -9 halfway: each invited once, 0 × 429."""

from __future__ import annotations

from sqlalchemy import update

from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from storage.tables import CustomerRow, table_of
from tests.doubles.telegram_bot_api import TelegramBotApiDouble
from tests.e2e.bot_process import outbox_settled
from tests.e2e.conftest import BotFactory
from tests.helpers.campaigns import Clock, add_customer, campaign_desk, new_campaign

INVITATION = "Got a minute? Tell us one idea."


async def _seeded(sqlite_url: str) -> tuple[list[int], int]:
    """Telegram chats of 40 customers who may be invited and one who said no more."""
    engine = create_engine(sqlite_url)
    try:
        await migrate(engine)
        sessions = create_sessions(engine)
        chats: dict[int, int] = {}
        for _ in range(41):
            customer_id = await add_customer(sessions)
            chats[customer_id] = 0
        customer = table_of(CustomerRow)
        async with sessions() as session, session.begin():
            rows = await session.execute(customer.select())
            for row in rows:
                chats[row.id] = int(row.chat_id)
            opted_out = max(chats)
            await session.execute(
                update(customer).where(customer.c.id == opted_out).values(wants_invitations=False)
            )
        desk = campaign_desk(sessions, Clock())
        await desk.create(new_campaign())
        await desk.start("spring", actor="test")
    finally:
        await engine.dispose()
    return [chat for number, chat in chats.items() if number != opted_out], chats[opted_out]


async def test_a_campaign_killed_halfway_invites_everyone_once_after_a_restart(
    telegram_api: TelegramBotApiDouble, bot_factory: BotFactory, sqlite_url: str
) -> None:
    invitees, opted_out = await _seeded(sqlite_url)
    telegram_api.global_limit_per_second = 30
    settings = {
        "CAMPAIGN_TICK_SECONDS": "0.2",
        "CAMPAIGN_BATCH_SIZE": "4",
        "CAMPAIGN_QUIET_FROM": "0",
        "CAMPAIGN_QUIET_UNTIL": "0",
    }
    first = bot_factory(**settings)
    await first.start()
    await telegram_api.wait_until(lambda: len(telegram_api.sent) >= 10)
    # Sends under way at the kill never arrive (so none is sent and then sent again).
    telegram_api.hold_sends()
    await telegram_api.wait_until(lambda: telegram_api.held_sends >= 1)
    first.kill_hard()
    await first.wait_exit()
    telegram_api.release_sends(drop_held=True)
    assert len(telegram_api.sent) < len(invitees)

    second = bot_factory(**settings)
    await second.start()
    await telegram_api.wait_until(
        lambda: all(telegram_api.sent_by_chat.get(chat) for chat in invitees), timeout=60
    )
    await outbox_settled(sqlite_url)
    received = {
        chat: [m.text for m in telegram_api.sent_by_chat.get(chat, [])] for chat in invitees
    }
    assert all(texts == [INVITATION] for texts in received.values()), received
    assert opted_out not in telegram_api.sent_by_chat
    assert telegram_api.refused_for_flooding == 0
