"""Attack review: a campaign command that failed half-way is carried out when it is tried again.

The request was claimed in its own transaction before the desk acted, so a database outage (or
a kill) between the claim and the answer left it claimed: the retry found the claim and
returned, and staff heard nothing while their command had never been carried out.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.slack.campaign_admin import CampaignsAsked, SlackCampaigns
from bot.slack.campaign_words import parse_campaigns_command
from handlers.campaigns.campaign import Campaign, NewCampaign, Respect
from handlers.campaigns.desk import CampaignDesk
from handlers.flows.loader import LoadedFlow
from storage.campaigns.store import SqlCampaigns
from storage.dialogue.store import SqlDialogueStore
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal

Sessions = async_sessionmaker[AsyncSession]
DM = "D0STAFF"


class OutageOnce(SqlCampaigns):
    """The campaigns' store, whose first create meets a database that does not answer."""

    def __init__(self, sessions: Sessions) -> None:
        super().__init__(sessions)
        self.failed = False

    async def create(self, campaign: NewCampaign) -> Campaign | None:
        if not self.failed:
            self.failed = True
            raise ConnectionRefusedError("the database does not answer")
        return await super().create(campaign)


async def _answers(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        rows = await session.execute(
            text("select payload from outbox where chat_id = :chat order by id"), {"chat": DM}
        )
        return [str(payload) for (payload,) in rows]


async def test_a_command_that_met_an_outage_is_carried_out_and_answered_on_retry(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await SqlFlowLibrary(sessions).import_files(shipped_flows, actor="file")
    campaigns = OutageOnce(sessions)
    desk = CampaignDesk(
        campaigns=campaigns,
        flows=await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea"),
        respect=Respect(cap_days=30, quiet_from=time(0), quiet_until=time(0), zone=ZoneInfo("UTC")),
        outbox_signal=CountingSignal(),
        clock=utc_now,
        batch_size=10,
    )
    slack = SlackCampaigns(
        desk=desk, store=SqlDialogueStore(sessions), outbox_signal=CountingSignal()
    )
    asked = CampaignsAsked(
        external_id="command:trigger-1",
        channel=DM,
        user_id="U0STAFF",
        command=parse_campaigns_command("campaigns create spring --flow idea --text en=Hello"),
    )
    with pytest.raises(ConnectionRefusedError):
        await slack.handle(asked)
    # The event queue hands the same request over again once the lease runs out.
    await slack.handle(asked)
    assert [campaign.name for campaign in await desk.all()] == ["spring"]
    (answer,) = await _answers(sessions)
    assert "is stored as a draft" in answer
    # Once answered, the same request again changes and says nothing more.
    await slack.handle(asked)
    assert len(await _answers(sessions)) == 1
