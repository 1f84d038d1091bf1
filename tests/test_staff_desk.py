"""Hand-off and the staff desk with real storage (SQLite): cards, relays, notes, close, reopen."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.loader import LoadedFlow
from handlers.messages import ConversationKey
from handlers.staff.desk import STAFF_IN_DIRECT_MESSAGE, StaffOutcome
from handlers.staff.room import CardActionKind, StaffDirectMessage
from tests.helpers.delivery import text_of
from tests.helpers.dialogue import Customer, finish_default_flow, texts
from tests.helpers.staff_desk import StaffSide, make_pair


@pytest.fixture
async def pair(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> tuple[Customer, StaffSide]:
    return await make_pair(sqlite_sessions, shipped_flows)


async def test_a_recorded_idea_goes_to_staff_and_the_customer_talks_on(
    pair: tuple[Customer, StaffSide],
) -> None:
    customer, staff = pair
    await finish_default_flow(customer)
    last = text_of(customer.received[-1])
    assert last.endswith("I've passed this on to our team. Someone will answer you right here.")
    (card,) = await staff.posts()
    assert card["action"] == "post_card"
    assert card["card"]["title"] == "A dark mode for the mobile app, please, for the evening"
    assert card["card"]["idea_id"] == 1
    assert ["How often do you run into this?", "Every day"] in card["card"]["answers"]

    assert await customer.say("It's the Android app") == []
    (post,) = await staff.posts()
    assert (post["action"], post["text"], post["author"]) == (
        "thread_post",
        "It's the Android app",
        "Kari Nordmann",
    )


async def test_staff_reply_is_signed_and_reported_notes_stay_internal(
    pair: tuple[Customer, StaffSide],
) -> None:
    customer, staff = pair
    await customer.say("/human")
    await staff.posts()
    assert await staff.reply("note: VIP customer") is StaffOutcome.NOTE
    assert await staff.reply("Hello Kari!", message_ref="555.5") is StaffOutcome.RELAYED
    (sent,) = await customer.replies()
    assert sent["text"] == "Hello Kari!\n\n— Anne"
    assert sent["report"] == {"conversation_id": 1, "staff_message_ref": "555.5"}
    (reaction,) = await staff.posts()
    assert (reaction["action"], reaction["message_ref"]) == ("react", "555.5")


async def test_redelivered_and_foreign_thread_messages_have_no_effect(
    pair: tuple[Customer, StaffSide],
) -> None:
    customer, staff = pair
    await customer.say("/human")
    await staff.posts()
    assert await staff.reply("Once", external_id="EvSame") is StaffOutcome.RELAYED
    assert await staff.reply("Once", external_id="EvSame") is StaffOutcome.DUPLICATE
    assert await staff.reply("Elsewhere", thread_ref="1.2") is StaffOutcome.IGNORED
    assert texts(await customer.replies()) == ["Once\n\n— Anne"]


async def test_internal_only_and_edits_are_explained_to_the_staff_member(
    pair: tuple[Customer, StaffSide],
) -> None:
    customer, staff = pair
    await customer.say("/human")
    await staff.posts()
    await staff.reply("First", message_ref="700.1")
    await customer.replies()
    await staff.posts()
    assert await staff.reply("First!", message_ref="700.1", edited=True) is (
        StaffOutcome.CHANGE_NOTICE
    )
    assert await staff.reply("x", message_ref="700.9", deleted=True) is StaffOutcome.IGNORED
    (notice,) = await staff.posts()
    assert notice["action"] == "staff_notice"
    assert notice["user_id"] == "U0ANNE"
    assert await staff.click(CardActionKind.INTERNAL_ONLY, 1)
    update, note = await staff.posts()
    assert update["card"]["internal_only"] is True
    assert note["text"].startswith("Anne made this thread internal only")
    assert await staff.reply("Not for her") is StaffOutcome.INTERNAL_ONLY
    assert await customer.replies() == []


async def test_customer_cancel_and_staff_close(pair: tuple[Customer, StaffSide]) -> None:
    customer, staff = pair
    await customer.say("/human")
    await staff.posts()
    replies = await customer.say("/cancel")
    assert texts(replies)[0].startswith("All right, I've stopped here.")
    note, update = await staff.posts()
    assert note["text"] == "The customer ended the conversation."
    assert update["card"]["closed_by"] == "the customer"

    await customer.say("/human")
    (card,) = [post for post in await staff.posts() if post["action"] == "post_card"]
    conversation_id = card["conversation_id"]
    assert await staff.click(CardActionKind.CLOSE, conversation_id)
    assert texts(await customer.replies()) == [
        "Our team has closed this conversation. Thank you! Write any time to share a new idea."
    ]
    assert not await staff.click(CardActionKind.CLOSE, 999)
    replies = await customer.say("One more thing")
    assert texts(replies)[0].startswith("Welcome back!")


async def test_reopening_by_configuration_and_by_a_staff_reply(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer, staff = await make_pair(sqlite_sessions, shipped_flows, reopen=True)
    await customer.say("/human")
    await staff.posts()
    await staff.click(CardActionKind.CLOSE, 1)
    await customer.replies()
    await staff.posts()
    assert await customer.say("One more thing") == []
    update, note, relayed = await staff.posts()
    assert update["card"]["closed_by"] == ""
    assert note["text"] == "The customer wrote again; the conversation is open."
    assert relayed["text"] == "One more thing"

    await staff.click(CardActionKind.CLOSE, 1)
    await customer.replies()
    await staff.posts()
    assert await staff.reply("Actually, one question") is StaffOutcome.RELAYED
    update, note = await staff.posts()
    assert note["text"] == "Anne reopened the conversation."


async def test_without_a_staff_room_nobody_is_promised(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer, _ = await make_pair(sqlite_sessions, shipped_flows, staff_room=None)
    replies = await customer.say("/human")
    assert texts(replies) == [
        "No one from our team is reachable in this chat, but everything you write is kept and read."
    ]


async def test_staff_writing_to_the_bot_are_told_where_customers_are(
    pair: tuple[Customer, StaffSide],
) -> None:
    _, staff = pair
    boss = ConversationKey(platform="slack", chat_id="D0BOSS", user_id="U0BOSS")
    message = StaffDirectMessage(external_id="EvBoss", chat=boss)
    assert await staff.desk.handle_direct_message(message)
    assert not await staff.desk.handle_direct_message(message)
    (notice,) = await staff.outbox.claim_due(platforms=["slack"], limit=10, lease_seconds=30)
    assert (notice.destination, text_of(notice)) == ("slack:D0BOSS", STAFF_IN_DIRECT_MESSAGE)


async def test_help_and_language_still_work_while_with_staff(
    pair: tuple[Customer, StaffSide],
) -> None:
    customer, staff = pair
    await customer.say("/human")
    await staff.posts()
    assert texts(await customer.say("/language nb")) == ["Jeg snakker norsk fra nå av."]
    assert texts(await customer.say("/help"))[0].startswith("Jeg samler ideene dine")
    assert await customer.say("Hei igjen") == []
    (post,) = await staff.posts()
    assert post["text"] == "Hei igjen"
