"""Issue 11: a customer's /privacy, /mydata and /forget in their chat (SQLite storage)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.dialogue.privacy import PrivacySettings, forget_payload, parse_forget_payload
from handlers.flows.loader import LoadedFlow, parse_flow
from handlers.messages import IncomingMessage
from handlers.privacy.answers import ErasureAnswer
from handlers.texts import Text, text
from storage.flows.library import SqlFlowLibrary
from storage.outbox.deliveries import FarewellThenErase
from storage.privacy.store import SqlErasures
from storage.tables import CustomerRow, table_of
from tests.conftest import SHIPPED_FLOWS
from tests.helpers.dialogue import Customer, make_customer, texts
from tests.helpers.staff_desk import make_pair

_CUSTOMER = table_of(CustomerRow)


async def _customer(
    sessions: async_sessionmaker[AsyncSession],
    flows: list[LoadedFlow],
    **settings: Any,
) -> Customer:
    return await make_customer(sessions, flows, privacy=PrivacySettings(**settings))


def _actions(replies: list[dict[str, Any]]) -> list[str]:
    return [reply["action"] for reply in replies]


async def test_privacy_says_until_erased_and_leaves_out_an_unset_notice(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _customer(sqlite_sessions, shipped_flows)
    (said,) = texts(await customer.say("/privacy"))
    assert "How long: until you ask us to erase it." in said
    assert "our company's staff, in our Slack workspace" in said
    assert "privacy notice" not in said


async def test_privacy_names_the_retention_and_the_notice_in_norwegian(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _customer(
        sqlite_sessions,
        shipped_flows,
        retention_days=30,
        notice_url="https://example.org/personvern",
    )
    customer.language_code = "nb"
    (said,) = texts(await customer.say("/privacy"))
    assert "Hvor lenge: en samtale glemmes 30 dager etter at den ble avsluttet." in said
    assert said.endswith("Personvernerklæringen vår: https://example.org/personvern")


async def test_my_data_queues_the_file_once_in_a_while(
    sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _customer(sessions, shipped_flows)
    first = await customer.say("/mydata")
    assert _actions(first) == ["send", "send_data_export"]
    assert first[1]["file_name"] == "my-data.json"
    again = await customer.say("/mydata")
    assert _actions(again) == ["send"]
    assert texts(again)[0].startswith("I sent you your data a moment ago")
    assert "in 5 minutes" in texts(again)[0]


async def test_my_data_without_a_pause_may_be_asked_again(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _customer(sqlite_sessions, shipped_flows, export_every=timedelta(0))
    await customer.say("/mydata")
    assert _actions(await customer.say("/mydata")) == ["send", "send_data_export"]


async def test_forget_asks_and_no_keeps_everything(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _customer(sqlite_sessions, shipped_flows)
    (asked,) = await customer.say("/forget")
    assert [button["label"] for button in asked["buttons"]] == [
        "Yes, erase everything",
        "No, keep it",
    ]
    kept = await customer.press("No, keep it")
    assert _actions(kept) == ["mark_buttons_used", "send"]
    assert texts(kept) == ["All right, nothing was erased."]


async def test_forget_yes_queues_the_farewell_then_the_erasure(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _customer(sqlite_sessions, shipped_flows)
    await customer.say("/start")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    await customer.say("/forget")
    erased = await customer.press("Yes, erase everything")
    assert _actions(erased) == ["mark_buttons_used", "farewell_then_erase"]
    assert erased[1]["text"].startswith("Done: everything I kept about you is erased")


async def test_yes_pressed_twice_before_the_erasure_queues_it_once(
    sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _customer(sessions, shipped_flows)
    await customer.say("/forget")
    customer_id = await _customer_id(sessions)
    for external_id in ("click-1", "click-2"):
        # Two presses arrive before the delivery worker has taken the first.
        await customer.dialogue.handle(
            IncomingMessage(
                key=customer.key,
                external_id=external_id,
                button_payload=forget_payload("yes", customer_id),
            )
        )
    replies = await customer.replies()
    assert _actions(replies) == ["farewell_then_erase", "send"]
    assert texts(replies) == ["Your data is already being erased; I'll tell you when it's done."]


async def test_an_erasure_given_up_on_is_said_once_and_blocks_a_second_request(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    """Review R2 of issue 11: a failed request said nothing, and let /forget queue another."""
    customer = await _customer(sqlite_sessions, shipped_flows)
    await customer.say("/forget")
    yes = forget_payload("yes", await _customer_id(sqlite_sessions))
    await customer.dialogue.handle(
        IncomingMessage(key=customer.key, external_id="click-1", button_payload=yes)
    )
    (request,) = await customer.outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=30)
    assert isinstance(request.delivery, FarewellThenErase)
    await customer.outbox.fail(request, error="gave up after 5 attempts")
    assert texts(await customer.replies()) == [text(Text.FORGET_FAILED, "en")]
    again = await customer.say(button_payload=yes)
    assert texts(again) == [text(Text.FORGET_UNDER_WAY, "en")]
    (failed,) = await customer.outbox.recent_failures()
    assert failed.action == "farewell_then_erase"


async def test_a_yes_pressed_after_the_erasure_makes_no_new_customer(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    """Review R2 of issue 11: the old confirmation's Yes created a customer row for a click."""
    customer = await _customer(sqlite_sessions, shipped_flows)
    await customer.say("/forget")
    customer_id = await _customer_id(sqlite_sessions)
    await SqlErasures(sqlite_sessions).erase_customer(
        customer_id=customer_id, requested_by="customer"
    )
    stale = await customer.say(button_payload=forget_payload("yes", customer_id))
    assert texts(stale) == [text(Text.FORGET_STALE, "en")]
    async with sqlite_sessions() as session:
        customers = await session.scalar(
            select(func.count()).where(_CUSTOMER.c.platform == customer.key.platform)
        )
    assert customers == 0


async def test_a_yes_from_before_an_erasure_erases_nothing_new(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer = await _customer(sqlite_sessions, shipped_flows)
    await customer.say("/help")
    customer_id = await _customer_id(sqlite_sessions)
    stale = await customer.say(button_payload=forget_payload("yes", customer_id + 1000))
    assert _actions(stale) == ["send"]
    assert texts(stale)[0].startswith("That button is from before your data was erased")


async def test_forget_while_a_staff_reply_is_on_its_way_says_goodbye_after_it(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    customer, staff = await make_pair(sqlite_sessions, shipped_flows)
    await customer.say("/start")
    await customer.say("/human")
    await staff.posts()
    (asked,) = await customer.say("/forget")
    assert asked["text"].startswith("Do you want me to erase everything")
    assert texts(await customer.say("/privacy"))[0].startswith("What I keep about you")
    await staff.reply("We are looking at it right now")
    # The reply waits in the outbox while the customer confirms: it goes first, then goodbye.
    replies = await customer.press("Yes, erase everything")
    assert _actions(replies) == ["send", "mark_buttons_used", "farewell_then_erase"]
    assert replies[0]["text"].startswith("We are looking at it right now")


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        ("forget:yes:12", ErasureAnswer(erase=True, customer_id=12)),
        ("forget:no:12", ErasureAnswer(erase=False, customer_id=12)),
        ("forget:maybe:12", None),
        ("forget:yes:twelve", None),
        # Review R2 of issue 11: int() took these as numbers.
        ("forget:yes:-1", None),
        ("forget:yes:+1", None),
        ("forget:yes: 1", None),
        ("forget:yes:1_0", None),
        ("lang:en", None),
    ],
)
def test_forget_payloads_read_back(payload: str, parsed: ErasureAnswer | None) -> None:
    assert parse_forget_payload(payload) == parsed


async def _customer_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int((await session.execute(select(_CUSTOMER.c.id))).scalar_one())


async def test_a_database_with_the_old_shipped_flow_gets_the_welcome_that_names_the_commands(
    sqlite_sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    text_now = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    before = "\n".join(line for line in text_now.splitlines() if not _names_commands(line))
    library = SqlFlowLibrary(sqlite_sessions)
    await library.import_files([parse_flow(before, source="idea.yaml")], actor="file")
    # What a start does with the changed shipped file: it becomes the next published version.
    (published,) = await library.import_files(shipped_flows, actor="file")
    assert (published.changed, published.version) == (True, 2)
    customer = await make_customer(sqlite_sessions, shipped_flows)
    (welcome,) = texts(await customer.say("/start"))
    assert (
        "Your answers are kept for our team: /privacy says how, /mydata gives you a copy, "
        "/forget erases them."
    ) in welcome


def _names_commands(line: str) -> bool:
    return any(word in line for word in ("/privacy", "/forget", "/mydata"))
