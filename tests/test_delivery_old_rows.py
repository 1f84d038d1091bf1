"""Outbox rows written by the version before typed deliveries still go out after the upgrade."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.delivery.files import Files, SlackFiles, TelegramFiles
from bot.delivery.pacing import Pacer
from bot.delivery.worker import Channel, DeliveryWorker
from bot.metrics import Metrics
from bot.slack.sender import SlackSender
from bot.telegram.sender import TelegramSender
from handlers.messages import ConversationKey
from handlers.staff.room import StaffRoom
from storage.dialogue.store import SqlDialogueStore
from storage.outbox.deliveries import MarkButtonsUsed
from storage.outbox.store import SqlOutboxStore
from storage.tables import OutboxRow, OutboxState, table_of
from storage.types import utc_now
from tests.doubles.slack_api import BOT_TOKEN, STAFF_CHANNEL, SlackWebApiDouble
from tests.doubles.telegram_bot_api import TelegramBotApiDouble
from tests.helpers.staff_thread import open_kari_thread

Sessions = async_sessionmaker[AsyncSession]
KARI = ConversationKey(platform="telegram", chat_id="42", user_id="42")
ROOM = StaffRoom(platform="slack", chat_id=STAFF_CHANNEL)
STAFF_REPLY = "1699999998.000200"
STAFF_QUESTION = "1699999999.000100"
_OUTBOX = table_of(OutboxRow)


async def open_thread(sessions: Sessions) -> int:
    """Kari's conversation, handed to staff, with its thread not yet posted."""
    async with SqlDialogueStore(sessions).transaction() as transaction:
        card = await open_kari_thread(transaction, room=ROOM)
    return card.conversation_id


def card_json(conversation_id: int, title: str) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "customer_name": "Kari",
        "platform": "telegram",
        "language": "nb",
        "reason": "customer_asked",
        "title": title,
        "answers": [["What would you like?", "A dark mode"]],
        "idea_id": None,
        "idea_status": "",
        "assignee": "",
        "closed_by": "",
        "internal_only": False,
        "tags": [],
    }


def old_rows(conversation_id: int) -> list[dict[str, Any]]:
    """The rows as the previous version inserted them: the action column and its JSON dict."""
    thread = {"destination": f"staff:{conversation_id}", "platform": "slack", "chat_id": "C0STAFF"}
    customer = {"destination": "telegram:42", "platform": "telegram", "chat_id": "42"}
    room = {"destination": "staff:room", "platform": "slack", "chat_id": "C0STAFF"}
    base = {"conversation_id": conversation_id}
    wanted: list[tuple[dict[str, str], str, dict[str, Any]]] = [
        (thread, "post_card", {**base, "card": card_json(conversation_id, "")}),
        (
            thread,
            "thread_post",
            {**base, "text": "I want a dark mode", "author": "Kari", "attachments": []},
        ),
        (thread, "update_card", {**base, "card": card_json(conversation_id, "Dark mode")}),
        (thread, "staff_notice", {**base, "user_id": "U0BOSS", "text": "Only you see this"}),
        (thread, "react", {**base, "message_ref": STAFF_QUESTION, "name": "eyes"}),
        (customer, "mark_buttons_used", {"message_id": "7", "text": "How often?\n\n✔ Daily"}),
        (
            customer,
            "send",
            {
                "text": "Score?",
                "buttons": [
                    {"label": "1", "payload": "score:1"},
                    {"label": "2", "payload": "score:2"},
                ],
                "report": {"conversation_id": conversation_id, "staff_message_ref": STAFF_REPLY},
            },
        ),
        (
            room,
            "post_digest",
            {
                "digest": {
                    "since": "2026-11-01",
                    "until": "2026-11-08",
                    "new_ideas": [{"id": 1, "title": "Dark mode", "status": "new", "linked": 0}],
                    "most_requested": [],
                    "status_changes": [],
                    "themes": [],
                    "tags": [],
                    "waiting": [],
                }
            },
        ),
    ]
    now = utc_now()
    return [
        {
            **where,
            "action": action,
            "payload": payload,
            "priority": 0,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "platform_message_id": "",
            "created_at": now,
        }
        for where, action, payload in wanted
    ]


async def test_rows_of_the_previous_version_are_delivered_by_the_real_senders(
    sessions: Sessions,
) -> None:
    conversation_id = await open_thread(sessions)
    async with sessions() as session, session.begin():
        await session.execute(insert(_OUTBOX), old_rows(conversation_id))
    telegram, slack = TelegramBotApiDouble(), SlackWebApiDouble()
    async with telegram.running(), slack.running():
        bot = Bot(
            token=telegram.token,
            base_url=f"{telegram.base_url}/bot",
            base_file_url=f"{telegram.base_url}/file/bot",
        )
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
        files = Files({})
        async with bot:
            worker = DeliveryWorker(
                outbox=SqlOutboxStore(sessions),
                channels={
                    "telegram": _channel(TelegramSender(bot, files=files)),
                    "slack": _channel(SlackSender(client, files=files)),
                },
                metrics=Metrics.create(),
                lease_seconds=30,
                max_in_flight=8,
                max_attempts=3,
            )
            await worker.deliver_pending()

    (edit,) = telegram.edits
    assert (edit["message_id"], edit["text"]) == ("7", "How often?\n\n✔ Daily")
    (score,) = telegram.sent
    assert score.text == "Score?"
    assert [(b["text"], b["callback_data"]) for b in score.buttons] == [
        ("1", "score:1"),
        ("2", "score:2"),
    ]

    # The card and the digest are the room's top-level posts; only the card has blocks.
    (card,) = [post for post in slack.cards() if post.blocks]
    (digest,) = [post for post in slack.cards() if not post.blocks]
    assert "Kari" in card.block_text
    (words,) = slack.posts_in(STAFF_CHANNEL, thread_ts=card.ts)
    assert (words.text, words.username) == ("I want a dark mode", "Kari")
    (update,) = slack.updates
    assert card.text == "Customer asked for a person from Kari: (no idea recorded yet)"
    assert (update["ts"], update["text"]) == (
        card.ts,
        "Customer asked for a person from Kari: Dark mode",
    )
    (notice,) = slack.ephemerals
    assert (notice["user"], notice["text"], notice["thread_ts"]) == (
        "U0BOSS",
        "Only you see this",
        card.ts,
    )
    assert sorted((r["timestamp"], r["name"]) for r in slack.reactions) == [
        (STAFF_REPLY, "white_check_mark"),  # set off by the old send's delivery report
        (STAFF_QUESTION, "eyes"),
    ]
    assert "Dark mode" in digest.text

    async with sessions() as session:
        states = (await session.execute(select(_OUTBOX.c.action, _OUTBOX.c.state))).all()
    assert len(states) == len(old_rows(conversation_id)) + 1
    assert {state for _, state in states} == {OutboxState.SENT}


async def test_old_rows_with_files_are_delivered_by_the_real_senders(sessions: Sessions) -> None:
    conversation_id = await open_thread(sessions)
    telegram, slack = TelegramBotApiDouble(), SlackWebApiDouble()
    async with telegram.running(), slack.running():
        telegram.stored_files["T1"] = b"%PDF customer's file"
        staff_file = slack.file_event_fields(
            "F1", "plan.pdf", b"%PDF staff's file", "application/pdf"
        )
        # As Attachment.to_json wrote them, every key present.
        from_customer = {
            "kind": "document",
            "platform": "telegram",
            "file_id": "T1",
            "file_name": "idea.pdf",
            "mime_type": "application/pdf",
            "size_bytes": 20,
            "details": {},
        }
        from_staff = {
            "kind": "document",
            "platform": "slack",
            "file_id": "F1",
            "file_name": "plan.pdf",
            "mime_type": "application/pdf",
            "size_bytes": 17,
            "details": {"url_private": staff_file["url_private"]},
        }
        card, post, *_ = old_rows(conversation_id)
        send = old_rows(conversation_id)[6]
        rows = [
            card,
            {**post, "payload": {**post["payload"], "attachments": [from_customer]}},
            {**send, "payload": {"text": "", "attachments": [from_staff]}},
        ]
        async with sessions() as session, session.begin():
            await session.execute(insert(_OUTBOX), rows)
        bot = Bot(
            token=telegram.token,
            base_url=f"{telegram.base_url}/bot",
            base_file_url=f"{telegram.base_url}/file/bot",
        )
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
        async with bot:
            files = Files(
                {
                    "telegram": TelegramFiles(bot),
                    "slack": SlackFiles(token=BOT_TOKEN, api_base_url=slack.base_url),
                }
            )
            worker = DeliveryWorker(
                outbox=SqlOutboxStore(sessions),
                channels={
                    "telegram": _channel(TelegramSender(bot, files=files)),
                    "slack": _channel(SlackSender(client, files=files)),
                },
                metrics=Metrics.create(),
                lease_seconds=30,
                max_in_flight=8,
                max_attempts=3,
            )
            await worker.deliver_pending()

    (posted_card,) = slack.cards()
    (upload,) = slack.uploads
    assert (upload["filename"], upload["data"], upload["thread_ts"]) == (
        "idea.pdf",
        b"%PDF customer's file",
        posted_card.ts,
    )
    (sent,) = telegram.sent_files
    assert (sent["method"], sent["chat_id"], sent["name"], sent["data"]) == (
        "sendDocument",
        42,
        "plan.pdf",
        b"%PDF staff's file",
    )
    async with sessions() as session:
        states = (await session.execute(select(_OUTBOX.c.state))).scalars().all()
    assert set(states) == {OutboxState.SENT}


def _channel(sender: TelegramSender | SlackSender) -> Channel:
    return Channel(sender=sender, pacer=Pacer(chat_rate=1000, chat_burst=1000, global_rate=1000))


async def test_a_row_no_sender_can_read_fails_with_why_and_the_chat_goes_on(
    sqlite_sessions: Sessions,
) -> None:
    rows = old_rows(conversation_id=1)
    unknown = {**rows[6], "action": "teleport"}
    broken = {**rows[6], "payload": {"text": "Score?", "buttons": "1, 2"}}
    async with sqlite_sessions() as session, session.begin():
        await session.execute(insert(_OUTBOX), [unknown, broken, rows[5]])
    outbox = SqlOutboxStore(sqlite_sessions)
    # One head per chat and claim: each unreadable head fails in turn, the next comes up.
    assert await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30) == []
    assert await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30) == []
    (first, second) = await outbox.recent_failures()
    assert (second.action, first.action) == ("teleport", "send")
    assert "unreadable 'teleport' payload" in second.last_error
    assert "buttons" in first.last_error
    (mark,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    assert mark.delivery == MarkButtonsUsed(message_id="7", text="How often?\n\n✔ Daily")


def raw_row(chat: str, action: str, payload: Any) -> dict[str, Any]:
    """A row as anything with write access to the database may have left it."""
    now = utc_now()
    return {
        "destination": f"telegram:{chat}",
        "platform": "telegram",
        "chat_id": chat,
        "action": action,
        "payload": payload,
        "next_attempt_at": now,
        "created_at": now,
    }


SECRET_SEND = {"text": "SECRET", "buttons": "1, 2"}
UNREADABLE = {
    "list": ("send", ["SECRET"]),
    "null": ("send", None),
    "string": ("send", "SECRET"),
    "number": ("send", 7),
    "attachment without kind": ("send", {"text": "SECRET", "attachments": [{"file_id": "F"}]}),
    "attachment a string": ("thread_post", {"conversation_id": 1, "attachments": ["SECRET"]}),
    "card without id": ("post_card", {"conversation_id": 1, "card": {"title": "SECRET"}}),
    "card answers a number": (
        "update_card",
        {"conversation_id": 1, "card": {"conversation_id": 1, "answers": 5}},
    ),
    "digest a list": ("post_digest", {"digest": ["SECRET"]}),
    "digest idea not an object": (
        "post_digest",
        {"digest": {"since": "a", "until": "b", "new_ideas": ["SECRET"]}},
    ),
    "body in a refused value": ("send", SECRET_SEND),
    "action not the column's": (
        "send",
        {"action": "mark_buttons_used", "message_id": "7", "text": "SECRET"},
    ),
}


async def test_every_unreadable_row_fails_at_once_with_a_reason_and_no_body(
    sqlite_sessions: Sessions,
) -> None:
    rows = [raw_row(name, action, payload) for name, (action, payload) in UNREADABLE.items()]
    async with sqlite_sessions() as session, session.begin():
        await session.execute(insert(_OUTBOX), [*rows, raw_row("good", "send", {"text": "hi"})])
    outbox = SqlOutboxStore(sqlite_sessions)
    (good,) = await outbox.claim_due(platforms=["telegram"], limit=50, lease_seconds=30)
    assert good.chat_id == "good"
    failures = await outbox.recent_failures(limit=50)
    reasons = {failure.destination.removeprefix("telegram:"): failure for failure in failures}
    assert set(reasons) == set(UNREADABLE)
    for name, failure in reasons.items():
        assert failure.last_error.startswith(f"unreadable {failure.action!r} payload: "), name
        assert "SECRET" not in failure.last_error, name
    assert reasons["list"].last_error.endswith("the JSON is a list, not an object")
    assert reasons["null"].last_error.endswith("the JSON is a NoneType, not an object")
    assert "lacks the key 'kind'" in reasons["attachment without kind"].last_error
    assert "lacks the key 'conversation_id'" in reasons["card without id"].last_error
    assert "buttons" in reasons["body in a refused value"].last_error
    assert reasons["action not the column's"].last_error.endswith(
        "the JSON's action is not the row's"
    )


async def test_a_blocked_chat_with_an_unreadable_row_is_failed_whole(
    sqlite_sessions: Sessions,
) -> None:
    conversation_id = await open_thread(sqlite_sessions)
    report = {"conversation_id": conversation_id, "staff_message_ref": STAFF_REPLY}
    async with sqlite_sessions() as session, session.begin():
        await session.execute(
            insert(_OUTBOX),
            [
                raw_row("42", "send", {"text": "first"}),
                raw_row("42", "send", ["SECRET"]),
                raw_row("42", "send", {"attachments": [{"file_id": "F"}]}),
                raw_row("42", "send", {"text": "reply", "report": report}),
            ],
        )
    outbox = SqlOutboxStore(sqlite_sessions)
    (head,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    assert await outbox.fail_unreachable(head, error="blocked the bot") == 4
    # The readable reply with a report still tells its thread that it did not arrive.
    async with sqlite_sessions() as session:
        posts = (
            await session.execute(
                select(_OUTBOX.c.payload)
                .where(_OUTBOX.c.destination == f"staff:{conversation_id}")
                .where(_OUTBOX.c.action == "thread_post")
            )
        ).scalars()
        (notice,) = list(posts)
    assert "blocked the bot" in notice["text"]


async def test_a_digest_row_with_flow_lines_of_the_previous_version_is_delivered(
    sessions: Sessions,
) -> None:
    # The previous version's flow lines had no "since" (the window the charts now come with).
    digest = {
        "since": "2026-11-01",
        "until": "2026-11-08",
        "flows": [
            {
                "flow_id": "idea",
                "version": 3,
                "started": 10,
                "finished": 6,
                "most_left_at": "How often do you hit it?",
                "most_left": 2,
            }
        ],
    }
    row = {**old_rows(0)[-1], "payload": {"digest": digest}}
    async with sessions() as session, session.begin():
        await session.execute(insert(_OUTBOX), [row])
    slack = SlackWebApiDouble()
    async with slack.running():
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
        worker = DeliveryWorker(
            outbox=SqlOutboxStore(sessions),
            channels={"slack": _channel(SlackSender(client, files=Files({})))},
            metrics=Metrics.create(),
            lease_seconds=30,
            max_in_flight=8,
            max_attempts=3,
        )
        await worker.deliver_pending()
    (posted,) = slack.cards()
    assert "• idea v3: 60% finish; most leave at 'How often…' (20%)" in posted.text
    async with sessions() as session:
        (state,) = (await session.execute(select(_OUTBOX.c.state))).scalars().all()
    assert state == OutboxState.SENT
