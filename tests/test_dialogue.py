"""The dialogue with real storage (SQLite): commands, answers, redelivery, edits, languages."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.dialogue.dialogue import resolve_language
from handlers.dialogue.replies import merge_replies
from handlers.flows.loader import LoadedFlow
from handlers.messages import Attachment, AttachmentKind, ConversationKey
from storage.idea_queries import export_ideas
from tests.helpers.dialogue import Customer, finish_default_flow, make_customer, texts


@pytest.fixture
async def customer(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> Customer:
    return await make_customer(sqlite_sessions, shipped_flows)


async def test_whole_default_flow_records_the_idea(
    customer: Customer, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await customer.say("/start")
    assert len(first) == 1  # welcome and first question in one message
    assert texts(first)[0].startswith("Hi! We build our product")
    assert texts(first)[0].endswith("What would you like us to improve or create?")
    await finish_default_flow_after_start(customer)
    (idea,) = await export_ideas(sqlite_sessions)
    assert idea["title"] == "A dark mode for the mobile app, please, for the evening"
    assert idea["problem"] == "My eyes hurt when I read in bed at night"
    assert (idea["frequency"], idea["importance"], idea["may_contact"]) == ("daily", 5, False)
    assert idea["language"] == "en"
    assert idea["customer"]["name"] == "Kari Nordmann"


async def finish_default_flow_after_start(customer: Customer) -> None:
    await customer.say("A dark mode for the mobile app, please, for the evening")
    await customer.say("My eyes hurt when I read in bed at night")
    pressed = await customer.press("Every day")
    # The pressed message is marked and its buttons removed, before the next question.
    assert pressed[0]["action"] == "mark_buttons_used"
    assert pressed[0]["text"].endswith("✔ Every day")
    await customer.press("5")
    last = await customer.press("No")
    assert texts(last)[-1].startswith("Thank you! Your idea is recorded.")


async def test_norwegian_customer_gets_norwegian(customer: Customer) -> None:
    customer.language_code = "nb"
    replies = await customer.say("/start")
    assert "Hva vil du at vi skal forbedre eller lage?" in texts(replies)[0]


async def test_redelivered_event_has_no_second_effect(customer: Customer) -> None:
    await customer.say("/start", external_id="update-1")
    assert await customer.say("/start", external_id="update-1") == []


async def test_language_command_switches_and_repeats_the_question(customer: Customer) -> None:
    await customer.say("/start")
    choose = await customer.say("/language")
    assert [button["label"] for button in choose[0]["buttons"]] == ["English", "Norsk bokmål"]
    switched = await customer.press("Norsk bokmål")
    assert switched[0]["action"] == "mark_buttons_used"
    assert texts(switched) == [
        "Jeg snakker norsk fra nå av.\n\nHva vil du at vi skal forbedre eller lage?"
    ]
    assert texts(await customer.say("/language klingon"))[0].startswith(
        "Det språket kan jeg ikke ennå"
    )
    assert texts(await customer.say("/language en"))[0].startswith("I'll speak English")


async def test_cancel_restart_help_and_unknown_commands(customer: Customer) -> None:
    assert texts(await customer.say("/cancel"))[0].startswith("There is nothing to cancel")
    await customer.say("/start")
    await customer.say("Dark mode for the app in the evening please")
    assert texts(await customer.say("/start"))[0].startswith("We were in the middle")
    assert "/restart" in texts(await customer.say("/help"))[0]
    assert texts(await customer.say("/frobnicate"))[0].startswith("I don't know that command")
    restarted = texts(await customer.say("/restart"))[0]
    assert restarted == "Let's start over.\n\nWhat would you like us to improve or create?"
    assert texts(await customer.say("/cancel"))[0].startswith("All right, I've stopped")
    assert texts(await customer.say("hello again"))[0].startswith("Welcome back!")


async def test_writing_after_finishing_is_the_first_answer_of_a_new_idea(
    customer: Customer, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await finish_default_flow(customer)
    replies = texts(await customer.say("A calendar view of my bookings, one week per page"))
    assert replies == [
        "Welcome back! I've noted that as your new idea.\n\nWhat problem would it solve for you?"
    ]
    await customer.say("I lose track of which days are already full")
    await customer.press("Every week")
    await customer.press("4")
    assert texts(await customer.press("No"))[-1].startswith("Thank you! Your idea is recorded.")
    titles = [idea["title"] for idea in await export_ideas(sqlite_sessions)]
    assert titles == [
        "A dark mode for the mobile app, please, for the evening",
        "A calendar view of my bookings, one week per page",
    ]


async def test_a_short_first_line_after_finishing_gets_the_follow_up(customer: Customer) -> None:
    await finish_default_flow(customer)
    replies = texts(await customer.say("One more thing"))
    assert replies == [
        "Welcome back! I've noted that as your new idea.\n\n"
        "Could you tell me a bit more? What would it look like, or what should it do?"
    ]


async def test_stale_button_is_explained(customer: Customer) -> None:
    await customer.say("/start")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    await customer.say("My eyes hurt when I read in bed at night")
    await customer.press("Every day")
    replies = await customer.press("Every week")  # from the question already answered
    assert texts(replies)[0].startswith("That button belongs to an earlier question")


async def test_photo_is_kept_and_sticker_gets_a_friendly_note(
    customer: Customer, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await customer.say("/start")
    photo = Attachment(AttachmentKind.PHOTO, file_id="photo-1", size_bytes=1000)
    kept = texts(await customer.say("", attachments=(photo,)))
    assert kept[0].startswith("Got it, I've added that to your idea")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    sticker = Attachment(AttachmentKind.STICKER, file_id="sticker-1")
    note = texts(await customer.say("", attachments=(sticker,)))
    assert note[0].startswith("Thanks! I kept that, but for this question please answer in words")
    await customer.say("My eyes hurt when I read in bed at night")
    await customer.press("Every day")
    await customer.press("5")
    await customer.press("No")
    (idea,) = await export_ideas(sqlite_sessions)
    assert [attachment["file_id"] for attachment in idea["attachments"]] == ["photo-1"]


async def test_edit_of_an_open_answer_updates_it(
    customer: Customer, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await customer.say("/start")
    await customer.say("Dark mode in the app for the evening", platform_message_id="m-idea")
    edited = await customer.say(
        "Dark mode in the app and on the web for the evening",
        platform_message_id="m-idea",
        edited=True,
    )
    assert texts(edited) == ["I've updated your answer."]
    await customer.say("My eyes hurt when I read in bed at night")
    await customer.press("Every day")
    await customer.press("5")
    await customer.press("No")
    (idea,) = await export_ideas(sqlite_sessions)
    assert idea["description"] == "Dark mode in the app and on the web for the evening"
    late = await customer.say("Dark mode everywhere", platform_message_id="m-idea", edited=True)
    assert texts(late)[0].startswith("Your idea is already recorded")


async def test_edit_that_no_longer_fits_keeps_the_answer(customer: Customer) -> None:
    await customer.say("/start")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    await customer.say("My eyes hurt when I read in bed at night")
    await customer.press("Every day")
    await customer.say("4", platform_message_id="m-rating")
    refused = await customer.say("very", platform_message_id="m-rating", edited=True)
    assert texts(refused)[0].startswith("I kept your earlier answer")
    edited_command = await customer.say("/help", platform_message_id="m-help")
    assert edited_command
    assert await customer.say("/hjelp", platform_message_id="m-help", edited=True) == []


async def test_group_chat_gets_one_polite_line(customer: Customer) -> None:
    group = ConversationKey(platform="telegram", chat_id="-100", user_id="42")
    customer.key = group
    assert texts(await customer.say("/start", is_private_chat=False)) == [
        "Hi! I only talk in private chats. Please write to me directly."
    ]
    assert await customer.say("chatter in the group", is_private_chat=False) == []


async def test_long_replies_are_split_for_the_platform(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await make_customer(sqlite_sessions, shipped_flows, limit=60)
    replies = await customer.say("/start")
    assert len(replies) > 2
    assert all(len(reply["text"]) <= 60 for reply in replies)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("nb", "nb"),
        ("no", "nb"),
        ("nn", "nb"),
        ("nb_NO", "nb"),
        ("de", "en"),
        ("", "en"),
    ],
)
def test_platform_language_codes_map_to_supported_languages(code: str, expected: str) -> None:
    assert resolve_language(code, ["en", "nb"], "en") == expected


def test_replies_without_buttons_merge_into_the_next() -> None:
    from handlers.messages import Button, OutgoingMessage

    merged = merge_replies(
        [OutgoingMessage("a"), OutgoingMessage("b", (Button("x", "s:x"),)), OutgoingMessage("c")]
    )
    assert merged == [OutgoingMessage("a\n\nb", (Button("x", "s:x"),)), OutgoingMessage("c")]


async def test_a_conversation_finishes_the_flow_version_it_started(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    from handlers.flows.loader import parse_flow
    from tests.conftest import SHIPPED_FLOWS

    old = await make_customer(sqlite_sessions, shipped_flows)
    await old.say("/start")
    await old.say("A dark mode for the mobile app, please, for the evening")
    # An admin ships version 3, which asks something else second; the process restarts.
    text = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    version_2 = parse_flow(
        text.replace("version: 2", "version: 3").replace(
            "What problem would it solve for you?", "Which problem would this fix?"
        ),
        source="idea.yaml",
    )
    restarted = await make_customer(sqlite_sessions, [version_2])
    restarted.ids = old.ids
    replies = await restarted.say("My eyes hurt when I read in bed at night")
    assert texts(replies) == ["How often do you run into this?"]
    newcomer = await make_customer(sqlite_sessions, [version_2])
    newcomer.key = ConversationKey(platform="telegram", chat_id="77", user_id="77")
    newcomer.ids = old.ids
    await newcomer.say("/start")
    asked = await newcomer.say("A dark mode for the mobile app, please, for the evening")
    assert texts(asked) == ["Which problem would this fix?"]
