"""Issue 11: an erasure's Slack steps, carried out by the real worker and sender on the double."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.files import FetchedFile, Files
from bot.delivery.pacing import Pacer
from bot.delivery.worker import Channel, DeliveryWorker
from bot.metrics import Metrics
from bot.slack.sender import SlackSender
from handlers.messages import Attachment
from storage.outbox.store import SqlOutboxStore
from storage.privacy.store import SqlErasures
from storage.tables import ErasureRow, table_of
from tests.doubles.slack_api import BOT_TOKEN, SlackWebApiDouble
from tests.helpers.privacy import ROOM, seed_customer
from tests.waiting import eventually

ADMIN = "UADMIN1"
_ERASURE = table_of(ErasureRow)


class TelegramPhotos:
    """The customer's photo, as Telegram would hand it over."""

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        return FetchedFile(data=b"\x89PNG", name="photo.png", mime_type="image/png")


def _worker(sessions: async_sessionmaker[AsyncSession], slack: SlackWebApiDouble) -> DeliveryWorker:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
    sender = SlackSender(client, files=Files({"telegram": TelegramPhotos()}))
    return DeliveryWorker(
        outbox=SqlOutboxStore(sessions),
        channels={
            "slack": Channel(
                sender=sender, pacer=Pacer(chat_rate=1000, chat_burst=1000, global_rate=1000)
            )
        },
        metrics=Metrics.create(),
        lease_seconds=30,
        max_in_flight=4,
        max_attempts=5,
        backoff_base_seconds=0.05,
    )


async def test_slack_sees_a_delete_or_rewrite_for_every_post_despite_a_429_and_a_hand_deletion(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await seed_customer(
        sessions, name="Alice", words="purple elephant", email="a@example.org", chat_id="777"
    )
    slack = SlackWebApiDouble()
    async with slack.running():
        worker = _worker(sessions, slack)
        await worker.deliver_pending()
        card, post = slack.posts_in(ROOM.chat_id)
        (upload,) = slack.uploads
        # Someone deleted the thread post by hand already; Slack will say message_not_found.
        slack.deletions.append({"channel": ROOM.chat_id, "ts": post.ts})
        slack.rate_limits["chat.update"] = [1]

        outcome = await SqlErasures(sessions, admins=[ADMIN]).erase_customer(
            customer_id=alice.customer_id, requested_by="cli:test"
        )
        assert outcome is not None
        running = asyncio.create_task(worker.run())
        worker.outbox_changed()

        async def finished() -> bool:
            async with sessions() as session:
                done = await session.scalar(select(_ERASURE.c.finished_at))
            return done is not None

        try:
            await eventually(finished, timeout=15, what="the erasure's Slack steps")
        finally:
            worker.stop()
            await running

    assert [c.error for c in slack.calls if c.method == "chat.delete"] == ["message_not_found"]
    assert [c.status for c in slack.calls if c.method == "chat.update"] == [429, 200]
    (rewrite,) = slack.updates
    assert rewrite["ts"] == card.ts
    assert "purple" not in rewrite["text"]
    assert "Alice" not in rewrite["text"]
    assert slack.deleted_files == [upload["id"]]
    in_thread, to_admin = slack.posts[-2:]
    assert (in_thread.channel, in_thread.thread_ts) == (ROOM.chat_id, card.ts)
    assert (to_admin.channel, to_admin.thread_ts) == (ADMIN, None)
    assert alice.staff_ts.replace(".", "") in in_thread.text
    assert in_thread.text == to_admin.text
