"""Campaigns with hostile input: one sentence at `create`, nothing stored, nothing sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns.audience import Audience
from handlers.campaigns.campaign import CampaignProblem
from storage.campaigns.store import SqlCampaigns
from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from tests.helpers.campaigns import Clock, add_customer, campaign_desk, new_campaign, outbox_rows
from tests.helpers.cli import ideabot

Sessions = async_sessionmaker[AsyncSession]


@pytest.mark.parametrize(
    ("campaign", "problem"),
    [
        (
            new_campaign("old", audience=Audience(inactive_days=999_999_999)),
            "--inactive-days must be at most 36500",
        ),
        (
            new_campaign("far", audience=Audience(follows=(2**31,))),
            "there is no idea #2147483648",
        ),
        (
            new_campaign("painted", audience=Audience(tags=("ui\x1b[2J",))),
            r"a --tag cannot hold control characters: “ui\\x1b\[2J”",
        ),
        (
            new_campaign("rung", audience=Audience(languages=("en\x07",))),
            r"a --language cannot hold control characters: “en\\x07”",
        ),
        (
            new_campaign("long", texts={"en": "x" * 2001}),
            "the en invitation is 2001 characters long: at most 2000 fit in one chat message",
        ),
    ],
)
async def test_an_audience_or_text_the_database_or_a_chat_cannot_take_is_refused_at_create(
    sessions: Sessions, campaign: object, problem: str
) -> None:
    await add_customer(sessions)
    desk = campaign_desk(sessions, Clock())
    with pytest.raises(CampaignProblem, match=problem):
        await desk.create(campaign)  # type: ignore[arg-type]
    assert await desk.all() == []
    assert await outbox_rows(sessions) == 0


async def test_a_language_given_twice_is_one_sentence_and_stores_nothing(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}")
    try:
        await migrate(engine)
        await add_customer(create_sessions(engine))
    finally:
        await engine.dispose()
    texts = ["--text", "en=Got a minute?", "--text", "EN=Second thoughts"]
    done = ideabot("campaigns", "create", "twice", "--flow", "idea", *texts, cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip() == "ideabot: --text gives en twice: give each language once"
    assert "no campaigns yet" in ideabot("campaigns", "list", cwd=tmp_path).stdout


async def test_a_campaign_stored_with_such_an_audience_is_refused_at_preview_and_start(
    sessions: Sessions,
) -> None:
    await add_customer(sessions)
    await SqlCampaigns(sessions).create(
        new_campaign("old", audience=Audience(inactive_days=999_999_999))
    )
    desk = campaign_desk(sessions, Clock())
    for step in (desk.preview("old"), desk.start("old", actor="test")):
        with pytest.raises(CampaignProblem, match="--inactive-days must be at most 36500"):
            await step
    assert await outbox_rows(sessions) == 0


async def test_list_prints_control_characters_of_a_stored_campaign_escaped(tmp_path: Path) -> None:
    """Review of issue 13: `campaigns list` wrote a stored tag's escape codes to the terminal."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}")
    try:
        await migrate(engine)
        # Stored as a campaign from before `create` refused them: straight into the table.
        painted = Audience(tags=("\x1b[31mred",), languages=("en\x07",))
        await SqlCampaigns(create_sessions(engine)).create(new_campaign(audience=painted))
    finally:
        await engine.dispose()
    listed = ideabot("campaigns", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout
    assert "\x07" not in listed.stdout
    assert "language en\\x07, tag \\x1b[31mred" in listed.stdout
