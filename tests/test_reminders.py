"""Reminders with a controllable clock: one nudge per stall, then a draft idea."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.text_limits import utf16_units
from handlers.dialogue.dialogue import Dialogue
from handlers.flows.loader import LoadedFlow, parse_flow
from handlers.ideas.reminders import Reminders, SweepResult
from handlers.messages import ConversationKey, TextLimit
from storage.dialogue.store import SqlDialogueStore
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.idea_queries import export_ideas
from storage.outbox.store import SqlOutboxStore
from storage.types import utc_now
from tests.conftest import SHIPPED_FLOWS
from tests.helpers.dialogue import CountingSignal, Customer, make_customer, texts

Sessions = async_sessionmaker[AsyncSession]
HOUR = timedelta(hours=1)


async def reminders(sessions: Sessions, flows: list[LoadedFlow]) -> Reminders:
    await SqlFlowLibrary(sessions).import_files(flows, actor="file")
    return Reminders(
        store=SqlDialogueStore(sessions),
        flows=await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea"),
        outbox_signal=CountingSignal(),
    )


async def halfway(sessions: Sessions, flows: list[LoadedFlow]) -> Customer:
    customer = await make_customer(sessions, flows)
    await customer.say("/start")
    await customer.say("A dark mode for the mobile app, please, for the evening")
    return customer


async def test_one_gentle_reminder_per_stall_with_the_question_again(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    sqlite_sessions = sessions  # this one runs on PostgreSQL as well
    customer = await halfway(sqlite_sessions, shipped_flows)
    sweeper = await reminders(sqlite_sessions, shipped_flows)
    start = utc_now()
    assert await sweeper.sweep(start + 23 * HOUR) == SweepResult()
    assert await sweeper.sweep(start + 25 * HOUR) == SweepResult(reminded=1)
    (nudge,) = texts(await customer.replies())
    assert nudge.startswith("Hi again! You were telling us about an idea.")
    assert nudge.endswith("What problem would it solve for you?")
    # A second process (or the next sweep) does not remind again.
    assert (
        await (await reminders(sqlite_sessions, shipped_flows)).sweep(start + 30 * HOUR)
        == SweepResult()
    )

    await customer.say("My eyes hurt when I read in bed at night")  # carries on...
    later = utc_now()
    assert await sweeper.sweep(later + 25 * HOUR) == SweepResult(reminded=1)  # ...stalls again
    assert texts(await customer.replies())[-1].endswith("How often do you run into this?")


async def test_answers_left_long_enough_become_a_draft_idea(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await halfway(sqlite_sessions, shipped_flows)
    sweeper = await reminders(sqlite_sessions, shipped_flows)
    start = utc_now()
    await sweeper.sweep(start + 25 * HOUR)
    await customer.replies()
    assert await sweeper.sweep(start + 73 * HOUR) == SweepResult(put_away=1)
    (draft,) = await export_ideas(sqlite_sessions)
    assert (draft["status"], draft["title"]) == (
        "draft",
        "A dark mode for the mobile app, please, for the evening",
    )
    assert await sweeper.sweep(start + 100 * HOUR) == SweepResult()
    replies = await customer.say("Hello again")
    assert texts(replies)[0].startswith("Welcome back!")


async def test_a_conversation_with_no_answers_is_put_away_without_a_draft(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    customer = await make_customer(sqlite_sessions, shipped_flows)
    await customer.say("/start")
    sweeper = await reminders(sqlite_sessions, shipped_flows)
    assert await sweeper.sweep(utc_now() + 80 * HOUR) == SweepResult(put_away=1)
    assert await export_ideas(sqlite_sessions) == []


CAMPAIGN = (
    (SHIPPED_FLOWS / "idea.yaml")
    .read_text(encoding="utf-8")
    .replace("id: idea\n", "id: campaign\n", 1)
    .replace(
        "  after_hours: 24\n  draft_after_hours: 72\n",
        "  after_hours: 0.25\n  draft_after_hours: 2\n",
    )
)


async def test_each_conversation_is_reminded_when_its_own_flow_says(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    """A campaign flow reminding after 15 minutes is not held to the default flow's 24 hours."""
    campaign = parse_flow(CAMPAIGN, source="campaign.yaml")
    await SqlFlowLibrary(sessions).import_files([*shipped_flows, campaign], actor="file")
    kari = await halfway(sessions, shipped_flows)  # on the default flow: after 24 hours
    ola = Customer(
        dialogue=Dialogue(
            store=SqlDialogueStore(sessions),
            flows=await SqlFlowCatalog.load(sessions=sessions, default_flow_id="campaign"),
            outbox_signal=CountingSignal(),
            message_limits={"telegram": TextLimit(4096, measure=utf16_units)},
        ),
        outbox=SqlOutboxStore(sessions),
        key=ConversationKey("telegram", "43", "43"),
        ids=itertools.count(100),
    )
    await ola.say("/start")
    await ola.say("A dark mode for the mobile app, please, for the evening")
    sweeper = await reminders(sessions, shipped_flows)
    start = utc_now()
    assert await sweeper.sweep(start + timedelta(minutes=10)) == SweepResult()
    assert await sweeper.sweep(start + timedelta(minutes=16)) == SweepResult(reminded=1)
    assert texts(await ola.replies())[-1].endswith("What problem would it solve for you?")
    assert await kari.replies() == []
    assert await sweeper.sweep(start + 3 * HOUR) == SweepResult(put_away=1)  # Ola's draft
    assert await sweeper.sweep(start + 25 * HOUR) == SweepResult(reminded=1)  # Kari's turn
