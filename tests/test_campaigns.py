"""Issue 13: campaigns invite exactly the customers their audience and the respect rules allow."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns.audience import Audience
from handlers.campaigns.campaign import CampaignClash, CampaignProblem, CampaignState
from handlers.campaigns.desk import CampaignDesk
from storage.campaigns.store import SqlCampaigns
from storage.database import create_engine, create_sessions
from storage.tables import CampaignInvitationRow, OutboxRow, OutboxState, table_of
from tests.helpers.campaigns import (
    OSLO,
    Clock,
    LiveFlows,
    add_conversation,
    add_customer,
    add_idea,
    campaign_desk,
    invited,
    new_campaign,
    outbox_rows,
    respect,
)
from tests.helpers.dialogue import CountingSignal

Sessions = async_sessionmaker[AsyncSession]


async def _started(sessions: Sessions, clock: Clock, **campaign: object) -> None:
    desk = campaign_desk(sessions, clock)
    await desk.create(new_campaign(**campaign))  # type: ignore[arg-type]
    await desk.start(str(campaign.get("name", "spring")), actor="test")


async def _opted_out(sessions: Sessions) -> int:
    return await add_customer(sessions, wants_invitations=False)


async def _unreachable(sessions: Sessions) -> int:
    return await add_customer(sessions, unreachable=True, unreachable_reason="blocked the bot")


async def _erased(sessions: Sessions) -> int:
    return await add_customer(sessions, platform="erased")


async def _mid_conversation(sessions: Sessions) -> int:
    customer_id = await add_customer(sessions)
    await add_conversation(sessions, customer_id, status="active")
    return customer_id


async def _with_staff(sessions: Sessions) -> int:
    customer_id = await add_customer(sessions)
    await add_conversation(sessions, customer_id, status="with_staff")
    return customer_id


async def _invited_ten_days_ago(sessions: Sessions) -> int:
    customer_id = await add_customer(sessions)
    desk = campaign_desk(sessions, Clock())
    earlier = await desk.create(new_campaign("earlier"))
    async with sessions() as session, session.begin():
        await session.execute(
            insert(table_of(CampaignInvitationRow)).values(
                campaign_id=earlier.id,
                run="once",
                customer_id=customer_id,
                language="en",
                created_at=Clock().now - timedelta(days=10),
            )
        )
    return customer_id


@pytest.mark.parametrize(
    "excluded",
    [_opted_out, _unreachable, _erased, _mid_conversation, _with_staff, _invited_ten_days_ago],
    ids=lambda rule: rule.__name__.strip("_"),
)
async def test_a_respect_rule_keeps_a_customer_from_the_invitations(
    sessions: Sessions, excluded: Callable[[Sessions], Awaitable[int]]
) -> None:
    welcome = await add_customer(sessions)
    await excluded(sessions)
    before = await invited(sessions)
    clock = Clock()
    await _started(sessions, clock)
    desk = campaign_desk(sessions, clock)
    assert await desk.tick() == 1
    assert await invited(sessions) == sorted([*before, welcome])
    preview = await desk.preview("spring")
    assert preview.audience.total == 0  # the one welcome customer is invited now: the cap


async def test_the_cap_lets_a_customer_be_invited_again_after_its_days(sessions: Sessions) -> None:
    customer_id = await add_customer(sessions)
    clock = Clock()
    await _started(sessions, clock, name="first")
    desk = campaign_desk(sessions, clock)
    assert await desk.tick() == 1
    assert await desk.tick() == 0  # nobody left: "first" is done
    await desk.create(new_campaign("second"))
    with pytest.raises(CampaignProblem, match="would invite nobody"):
        await desk.start("second", actor="test")
    clock.now += timedelta(days=31)
    await desk.start("second", actor="test")
    assert await desk.tick() == 1
    assert await invited(sessions) == [customer_id, customer_id]


async def test_quiet_hours_hold_invitations_until_the_morning(sessions: Sessions) -> None:
    await add_customer(sessions)
    night = datetime(2026, 11, 30, 23, 30, tzinfo=OSLO)
    clock = Clock(night)
    desk = campaign_desk(sessions, clock, rules=respect(quiet=(21, 8)))
    await desk.create(new_campaign())
    await desk.start("spring", actor="test")
    assert await desk.tick() == 0
    clock.now = datetime(2026, 12, 1, 7, 59, tzinfo=OSLO)
    assert await desk.tick() == 0
    clock.now = datetime(2026, 12, 1, 8, 0, tzinfo=OSLO)
    assert await desk.tick() == 1


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (Audience(platforms=("slack",)), "slack"),
        (Audience(languages=("nb",)), "norwegian"),
        (Audience(inactive_days=90), "silent"),
        (Audience(tags=("mobile",)), "tagged"),
        (Audience(shipped=True), "shipped"),
    ],
    ids=["platform", "language", "activity", "tag", "shipped"],
)
async def test_the_audience_filter_picks_its_customers(
    sessions: Sessions, audience: Audience, expected: str
) -> None:
    clock = Clock()
    seeded = {
        "slack": await add_customer(sessions, platform="slack"),
        "norwegian": await add_customer(sessions, language="nb"),
        "silent": await add_customer(sessions),
        "tagged": await add_customer(sessions),
        "shipped": await add_customer(sessions),
    }
    # Everyone but the silent one spoke within the last week.
    for name, customer_id in seeded.items():
        if name != "silent":
            await add_conversation(sessions, customer_id, updated_at=clock.now - timedelta(days=5))
    await add_idea(sessions, seeded["tagged"], tag="mobile")
    await add_idea(sessions, seeded["shipped"], status="done")
    desk = campaign_desk(sessions, clock)
    await desk.create(new_campaign(audience=audience))
    preview = await desk.preview("spring")
    assert [customer for customer, _, _ in preview.audience.sample] == [seeded[expected]]


async def test_following_an_idea_picks_its_followers(sessions: Sessions) -> None:
    follower = await add_customer(sessions)
    idea_id = await add_idea(sessions, follower)
    await add_idea(sessions, await add_customer(sessions))
    desk = campaign_desk(sessions, Clock())
    await desk.create(new_campaign(audience=Audience(follows=(idea_id,))))
    assert (await desk.preview("spring")).audience.total == 1


async def test_nobody_is_invited_twice_across_ticks_and_two_processes(
    database_url: str, sessions: Sessions
) -> None:
    customers = [await add_customer(sessions) for _ in range(30)]
    clock = Clock()
    await _started(sessions, clock)
    # A second engine is a second process: its own connections, the same database.
    other_engine = create_engine(database_url)
    try:
        other = campaign_desk(create_sessions(other_engine), clock, batch_size=7)
        here = campaign_desk(sessions, clock, batch_size=5)
        for _ in range(10):
            await asyncio.gather(here.tick(), other.tick())
    finally:
        await other_engine.dispose()
    assert await invited(sessions) == customers
    assert await outbox_rows(sessions) == len(customers)


async def test_pause_holds_unsent_invitations_and_resume_sends_them_once(
    sessions: Sessions,
) -> None:
    customers = [await add_customer(sessions) for _ in range(4)]
    clock = Clock()
    await _started(sessions, clock)
    desk = campaign_desk(sessions, clock, batch_size=2)
    assert await desk.tick() == 2
    async with sessions() as session, session.begin():
        # The first one went out before the pause.
        outbox = table_of(OutboxRow)
        first = (await session.execute(outbox.select().order_by(outbox.c.id))).first()
        assert first is not None
        await session.execute(
            update(outbox).where(outbox.c.id == first.id).values(state=OutboxState.SENT.value)
        )
    assert await desk.pause("spring", actor="test") == 1
    assert await desk.tick() == 0
    assert await invited(sessions) == customers[:1]
    await desk.resume("spring", actor="test")
    while await desk.tick():
        pass
    assert await invited(sessions) == customers
    assert await outbox_rows(sessions) == len(customers)


async def test_bad_campaigns_get_one_sentence_and_send_nothing(sessions: Sessions) -> None:
    await add_customer(sessions, language="nb")
    desk = campaign_desk(sessions, Clock())
    problems = {
        "no text": ("english", {"texts": {"en": "Hello"}}, "no invitation text in nb"),
        "never fires": ("never", {"schedule": "monthly 6 mon 10:00"}, "would never fire"),
        "past": ("past", {"schedule": "daily 10:00 until 2020-01-01"}, "would never fire"),
        "empty": ("empty", {"audience": Audience(platforms=("slack",))}, "invite nobody"),
    }
    for name, campaign, expected in problems.values():
        with pytest.raises(CampaignProblem, match=expected):
            await desk.create(new_campaign(name, **campaign))  # type: ignore[arg-type]
            await desk.start(name, actor="test")
    with pytest.raises(CampaignProblem, match="no live flow"):
        await desk.create(replace(new_campaign("lost"), flow_id="gone"))
    assert await outbox_rows(sessions) == 0


async def test_a_start_while_another_campaign_invites_the_same_people_is_refused(
    sessions: Sessions,
) -> None:
    await add_customer(sessions)
    await add_customer(sessions, platform="slack")
    clock = Clock()
    await _started(sessions, clock, name="everyone")
    desk = campaign_desk(sessions, clock)
    await desk.create(new_campaign("slack-only", audience=Audience(platforms=("slack",))))
    with pytest.raises(CampaignProblem, match="“everyone” is inviting 1 of the same customers"):
        await desk.start("slack-only", actor="test")
    await desk.pause("everyone", actor="test")
    await desk.start("slack-only", actor="test")


async def test_a_resume_for_an_audience_that_now_speaks_a_language_without_text_is_refused(
    sessions: Sessions,
) -> None:
    await add_customer(sessions)
    clock = Clock()
    desk = campaign_desk(sessions, clock, batch_size=1)
    await desk.create(new_campaign(texts={"en": "Hello"}))
    await desk.start("spring", actor="test")
    await desk.pause("spring", actor="test")
    await add_customer(sessions, language="nb")
    with pytest.raises(CampaignProblem, match="“spring” has no invitation text in nb, which 1"):
        await desk.resume("spring", actor="test")
    assert (await desk.preview("spring")).campaign.state == "paused"
    assert await outbox_rows(sessions) == 0


class _MeetingCampaigns(SqlCampaigns):
    """The real store; each start waits for the other one to arrive before it runs."""

    def __init__(self, sessions: Sessions, meeting: asyncio.Barrier) -> None:
        super().__init__(sessions)
        self._meeting = meeting

    async def run_alone(self, **start: Any) -> CampaignClash | bool:
        # Both starts have passed every check of their own: now they run at the same moment.
        async with asyncio.timeout(30):
            await self._meeting.wait()
        return await super().run_alone(**start)


def _meeting_desk(sessions: Sessions, clock: Clock, meeting: asyncio.Barrier) -> CampaignDesk:
    return CampaignDesk(
        campaigns=_MeetingCampaigns(sessions, meeting),
        flows=LiveFlows("idea"),
        respect=respect(),
        outbox_signal=CountingSignal(),
        clock=clock,
        batch_size=100,
    )


@pytest.mark.parametrize("second_step", ["start", "resume"])
async def test_two_starts_at_once_of_campaigns_sharing_customers_let_only_one_run(
    database_url: str, sessions: Sessions, second_step: str
) -> None:
    """Review of issue 13: the check and the start were two transactions, so both ran."""
    await add_customer(sessions)
    clock = Clock()
    setup = campaign_desk(sessions, clock)
    await setup.create(new_campaign("first"))
    await setup.create(new_campaign("second"))
    if second_step == "resume":
        await setup.start("second", actor="test")
        await setup.pause("second", actor="test")
    meeting = asyncio.Barrier(2)
    # A second engine is a second process: its own connections, the same database.
    other_engine = create_engine(database_url)
    try:
        here = _meeting_desk(sessions, clock, meeting)
        there = _meeting_desk(create_sessions(other_engine), clock, meeting)
        second = (
            there.start("second", actor="test")
            if second_step == "start"
            else there.resume("second", actor="test")
        )
        outcomes = await asyncio.gather(
            here.start("first", actor="test"), second, return_exceptions=True
        )
    finally:
        await other_engine.dispose()
    refusals = [str(outcome) for outcome in outcomes if isinstance(outcome, CampaignProblem)]
    assert len(refusals) == 1, outcomes
    assert refusals[0].endswith(
        "is inviting 1 of the same customers: pause it or wait until it is done"
    )
    states = [(await setup.preview(name)).campaign.state for name in ("first", "second")]
    assert states.count(CampaignState.RUNNING) == 1


async def test_customers_without_a_text_in_their_language_are_logged_once_per_tick(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    """Review of issue 13: those who joined the audience in another language went unseen."""
    for platform in ("telegram", "slack"):
        await add_customer(sessions, platform=platform)
    clock = Clock()
    desk = campaign_desk(sessions, clock, batch_size=1)
    for platform in ("telegram", "slack"):
        only = Audience(platforms=(platform,))
        await desk.create(new_campaign(platform, texts={"en": "Hello"}, audience=only))
        await desk.start(platform, actor="test")
    # Joined after the start checked the languages.
    for language, platform in (("de", "telegram"), ("de", "slack"), ("fr", "slack")):
        await add_customer(sessions, language=language, platform=platform)
    caplog.set_level(logging.INFO, logger="handlers.campaigns.desk")
    for _ in range(2):
        caplog.clear()
        await desk.tick()
        skipped = [record for record in caplog.records if "no invitation text" in record.message]
        assert [record.levelno for record in skipped] == [logging.INFO]
        assert skipped[0].message == (
            "campaign tick: 3 customer(s) not invited, no invitation text in their language "
            "(campaign 1: de 1; campaign 2: de 1, fr 1)"
        )
    assert "Customer" not in caplog.text
    assert "Hello" not in caplog.text
    assert len(await invited(sessions)) == 2
