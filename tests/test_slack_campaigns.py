"""Issue 13: staff run invitation campaigns with ``/ideabot campaigns`` in their Slack DM."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from bot.slack.campaign_admin import (
    CAMPAIGNS_ONLY_IN_DM,
    CAMPAIGNS_REFUSAL,
    UNREADABLE_BUTTON,
    CampaignButton,
    CampaignTarget,
)
from handlers.campaigns.campaign import CampaignState
from handlers.campaigns.desk import LONGEST_INVITATION
from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from tests.doubles.slack_api import OTHER_TEAM_ID, STAFF_CHANNEL, Posted, SlackPerson
from tests.e2e.test_slack_flow_stats import assert_real_png
from tests.helpers.campaigns import add_customer
from tests.helpers.slack_staff import events_settled
from tests.test_slack_flow_admin import STAFF, Workspace, open_workspace

KARI = SlackPerson("U0KARI", "Kari Customer")
# A member of the staff channel from another workspace (a Slack Connect channel).
GUEST = SlackPerson("U0GUEST", "Gus Guest", team_id=OTHER_TEAM_ID)
CREATE = "campaigns create spring --flow idea --text en=Got a minute? --text nb=Har du et minutt?"


async def _seeded(sqlite_url: str) -> None:
    """Two English and one Norwegian Slack customer who may be invited."""
    engine = create_engine(sqlite_url)
    try:
        await migrate(engine)
        sessions = create_sessions(engine)
        for language in ("en", "en", "nb"):
            await add_customer(sessions, platform="slack", language=language)
    finally:
        await engine.dispose()


@pytest.fixture
async def workspace(sqlite_url: str) -> AsyncIterator[Workspace]:
    await _seeded(sqlite_url)
    # No quiet hours: a test's tick must invite whatever the hour.
    async with open_workspace(
        sqlite_url,
        customers=(KARI,),
        draws_charts=True,
        campaign_quiet_from=0,
        campaign_quiet_until=0,
    ) as opened:
        opened.slack_api.join(opened.slack_api.add(GUEST))
        yield opened


async def _typed(workspace: Workspace, person: SlackPerson, words: str, count: int) -> Posted:
    """``/ideabot words`` in the person's DM, and the ``count``-th post there."""
    assert (await workspace.events.command(person, words)).status_code == 200
    return await workspace.reply(person, count)


def _invitations(sqlite_url: str) -> int:
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as connection:
        (count,) = connection.execute("select count(*) from campaign_invitation").fetchone()
    return int(count)


async def _state(workspace: Workspace, name: str = "spring") -> CampaignState:
    (campaign,) = [c for c in await workspace.runtime.campaigns.all() if c.name == name]
    return campaign.state


async def _press(
    workspace: Workspace, person: SlackPerson, post: Posted, value: str, trigger: str = ""
) -> httpx.Response:
    """A click on ``post`` with a payload of our choosing (a forged or replayed one)."""
    payload = {
        "type": "block_actions",
        "team": {"id": person.team_id},
        "user": {"id": person.user_id, "team_id": person.team_id, "name": person.name},
        "trigger_id": trigger or f"forged-{time.monotonic_ns()}",
        "container": {"type": "message", "message_ts": post.ts, "channel_id": post.channel},
        "channel": {"id": person.dm_channel},
        "message": {"ts": post.ts, "text": post.text, "blocks": post.blocks},
        "actions": [{"type": "button", "action_id": "answer_0", "value": value}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return await workspace.events.post(body, content_type="application/x-www-form-urlencoded")


async def test_staff_preview_start_after_a_confirmation_once_and_see_the_chart(
    workspace: Workspace, sqlite_url: str
) -> None:
    created = await _typed(workspace, STAFF, CREATE, 1)
    assert created.text.startswith("Campaign “spring” (draft) · flow idea · schedule now")
    assert "is stored as a draft; nothing is sent yet" in created.text

    preview = await _typed(workspace, STAFF, "campaigns preview spring", 2)
    assert "Would invite 3 customer(s) now: en 2, nb 1" in preview.text
    assert "For example (customer number, platform, language): #1 slack en" in preview.text
    assert "Invitation (nb): Har du et minutt?" in preview.text
    assert preview.button_labels == ["Start…"]
    assert _invitations(sqlite_url) == 0

    confirm = await workspace.click(STAFF, preview, "Start…", 3)
    assert confirm.text.startswith("Start “spring”? It would invite 3 customer(s) now (en 2, nb 1)")
    assert confirm.button_labels == ["Yes, start inviting", "Cancel"]
    assert await _state(workspace) is CampaignState.DRAFT

    started = await workspace.click(STAFF, confirm, "Yes, start inviting", 4)
    assert started.text.startswith("“spring” started: 3 customer(s) to invite.")
    assert await _state(workspace) is CampaignState.RUNNING
    # The confirmation's buttons are gone once it is answered.
    await workspace.slack_api.wait_until(
        lambda: any(update["ts"] == confirm.ts for update in workspace.slack_api.updates)
    )

    # A second press of the same Yes (two clicks before Slack redrew it) starts nothing more.
    again = await workspace.click(STAFF, confirm, "Yes, start inviting", 5)
    assert again.text == ("Nothing was changed: “spring” is running: only a draft can be started.")
    assert await workspace.runtime.campaigns.tick() == 3
    assert await workspace.runtime.campaigns.tick() == 0

    assert (await workspace.events.command(STAFF, "campaigns stats spring")).status_code == 200
    await workspace.slack_api.wait_until(
        lambda: any(u["channel"] == STAFF.dm_channel for u in workspace.slack_api.uploads)
    )
    (chart,) = [u for u in workspace.slack_api.uploads if u["channel"] == STAFF.dm_channel]
    assert chart["filename"] == "campaign-spring.png"
    assert_real_png(chart["data"])
    figures = chart["initial_comment"]
    # Nobody was left to invite at the second tick: a campaign sent "now" is then done.
    assert figures.startswith("```campaign “spring” (done), flow idea\nlanguage")
    assert "\nen                 2" in figures
    assert "\nall                3" in figures
    assert len(workspace.slack_api.posts_in(STAFF.dm_channel)) == 5


async def test_a_replayed_confirmation_starts_the_campaign_once(
    workspace: Workspace, sqlite_url: str
) -> None:
    await _typed(workspace, STAFF, CREATE, 1)
    confirm = await _typed(workspace, STAFF, "campaigns start spring", 2)
    campaign = (await workspace.runtime.campaigns.all())[0]
    yes = CampaignTarget(CampaignButton.CONFIRM, campaign.id, "spring").payload
    assert (await _press(workspace, STAFF, confirm, yes, "trigger-replayed")).status_code == 200
    assert (await _press(workspace, STAFF, confirm, yes, "trigger-replayed")).status_code == 200
    started = await workspace.reply(STAFF, 3)
    assert started.text.startswith("“spring” started")
    await workspace.slack_api.wait_until(lambda: events_settled(sqlite_url))
    assert len(workspace.slack_api.posts_in(STAFF.dm_channel)) == 3


async def test_who_is_not_staff_gets_one_sentence_and_nothing_else(
    workspace: Workspace, sqlite_url: str
) -> None:
    await _typed(workspace, STAFF, CREATE, 1)
    confirm = await _typed(workspace, STAFF, "campaigns start spring", 2)
    campaign = (await workspace.runtime.campaigns.all())[0]
    yes = CampaignTarget(CampaignButton.CONFIRM, campaign.id, "spring").payload
    for person in (KARI, GUEST):
        asked = [
            "campaigns",
            "campaigns preview spring",
            "campaigns stats spring",
            "campaigns pause spring",
            CREATE.replace("spring", "autumn"),
        ]
        for number, words in enumerate(asked, start=1):
            assert (await _typed(workspace, person, words, number)).text == CAMPAIGNS_REFUSAL
        # Staff's own Yes, pressed by someone else (a forged click in their own DM).
        assert (await _press(workspace, person, confirm, yes)).status_code == 200
        assert (await workspace.reply(person, 6)).text == CAMPAIGNS_REFUSAL
        await workspace.slack_api.wait_until(lambda: events_settled(sqlite_url))
        assert len(workspace.slack_api.posts_in(person.dm_channel)) == 6
    assert [c.name for c in await workspace.runtime.campaigns.all()] == ["spring"]
    assert await _state(workspace) is CampaignState.DRAFT

    # Elsewhere than a DM it is answered at once, only to who typed it, and never stored.
    for person, said in ((KARI, CAMPAIGNS_REFUSAL), (STAFF, CAMPAIGNS_ONLY_IN_DM)):
        response = await workspace.events.command(person, "campaigns", channel=STAFF_CHANNEL)
        assert response.text == said
    assert workspace.slack_api.posts_in(STAFF_CHANNEL) == []


async def test_bad_input_gets_one_sentence_and_nothing_starts(
    workspace: Workspace, sqlite_url: str
) -> None:
    never = await _typed(
        workspace,
        STAFF,
        "campaigns create never --flow idea --text en=Hi --schedule monthly 6 mon 10:00",
        1,
    )
    assert never.text == (
        "Nothing was changed: the schedule “monthly 6 mon 10:00” would never fire."
    )
    unknown_flow = await _typed(
        workspace, STAFF, "campaigns create lost --flow nowhere --text en=Hi", 2
    )
    assert unknown_flow.text.startswith("Nothing was changed: there is no live flow “nowhere”")
    assert await workspace.runtime.campaigns.all() == []

    await _typed(workspace, STAFF, "campaigns create english --flow idea --text en=Hi", 3)
    missing = await _typed(workspace, STAFF, "campaigns start english", 4)
    assert missing.text == (
        "Nothing was changed: “english” has no invitation text in nb, "
        "which 1 of its audience speak."
    )
    assert missing.button_labels == []

    await _typed(
        workspace, STAFF, "campaigns create nobody --flow idea --text en=Hi --platform telegram", 5
    )
    nobody = await _typed(workspace, STAFF, "campaigns start nobody", 6)
    assert (
        nobody.text
        == "Nothing was changed: “nobody” would invite nobody now (its audience is empty)."
    )

    # Two campaigns for the same people: the second's Yes, pressed once the first runs.
    await _typed(workspace, STAFF, CREATE, 7)
    await _typed(workspace, STAFF, CREATE.replace("spring", "autumn"), 8)
    autumn_confirm = await _typed(workspace, STAFF, "campaigns start autumn", 9)
    spring_confirm = await _typed(workspace, STAFF, "campaigns start spring", 10)
    await workspace.click(STAFF, spring_confirm, "Yes, start inviting", 11)
    shared = await workspace.click(STAFF, autumn_confirm, "Yes, start inviting", 12)
    assert shared.text == (
        "Nothing was changed: “spring” is inviting 3 of the same customers: "
        "pause it or wait until it is done."
    )
    assert await _state(workspace, "autumn") is CampaignState.DRAFT
    paused = await _typed(workspace, STAFF, "campaigns pause autumn", 13)
    assert paused.text == "Nothing was changed: “autumn” is draft: only a running one can pause."
    wrong = await _typed(workspace, STAFF, "campaigns create x --flow idea --text en", 14)
    assert wrong.text.startswith("“en” is no text: write --text LANGUAGE=TEXT; nothing was changed")
    # The core's limit and sentence, as on the command line (Slack's parser had its own 1,000).
    create = "campaigns create {} --flow idea --text en={} --text nb=Hei"
    await _typed(workspace, STAFF, create.format("long", "x" * LONGEST_INVITATION), 15)
    assert "long" in [campaign.name for campaign in await workspace.runtime.campaigns.all()]
    too_long = await _typed(
        workspace, STAFF, create.format("longer", "x" * (LONGEST_INVITATION + 1)), 16
    )
    assert too_long.text == (
        "Nothing was changed: the en invitation is 2001 characters long: "
        "at most 2000 fit in one chat message."
    )
    assert _invitations(sqlite_url) == 0


async def test_forged_buttons_and_hostile_words_change_nothing(workspace: Workspace) -> None:
    await _typed(workspace, STAFF, CREATE, 1)
    await _typed(workspace, STAFF, CREATE.replace("spring", "autumn"), 2)
    confirm = await _typed(workspace, STAFF, "campaigns start spring", 3)
    spring, autumn = sorted(await workspace.runtime.campaigns.all(), key=lambda c: c.id)
    forged = [
        # autumn's name on spring's button, and the other way round.
        CampaignTarget(CampaignButton.CONFIRM, spring.id, "autumn").payload,
        CampaignTarget(CampaignButton.CONFIRM, autumn.id, "spring").payload,
        CampaignTarget(CampaignButton.CONFIRM, 999, "spring").payload,
        "campaigns:confirm:spring",
        "campaigns:launch:1:spring",
    ]
    for number, value in enumerate(forged, start=4):
        assert (await _press(workspace, STAFF, confirm, value)).status_code == 200
        assert (await workspace.reply(STAFF, number)).text == UNREADABLE_BUTTON
    assert {c.state for c in await workspace.runtime.campaigns.all()} == {CampaignState.DRAFT}
    assert workspace.slack_api.updates == []

    hostile = (
        "campaigns create loud --flow idea --text en=<!channel> see <http://evil.example|this> "
        "&amp; <@U0ADA> now --text nb=Hei"
    )
    stored = await _typed(workspace, STAFF, hostile, 9)
    assert "<!channel>" not in stored.text
    loud = next(c for c in await workspace.runtime.campaigns.all() if c.name == "loud")
    assert loud.texts["en"] == "@channel see this (http://evil.example) & @U0ADA now"
    preview = await _typed(workspace, STAFF, "campaigns preview loud", 10)
    assert "Invitation (en): @channel see this (http://evil.example) &amp; @U0ADA now" in (
        preview.text
    )
    huge = await _typed(workspace, STAFF, "campaigns create big --flow idea " + "x" * 9000, 11)
    assert huge.text.startswith("that command is 9033 characters long; keep it to 4000")
    named = await _typed(workspace, STAFF, "campaigns create <!here> --flow idea --text en=Hi", 12)
    assert named.text.startswith("Nothing was changed: “@here” cannot name a campaign")


async def test_list_pause_resume_and_stats_before_any_invitation(workspace: Workspace) -> None:
    empty = await _typed(workspace, STAFF, "campaigns", 1)
    assert empty.text.startswith("No campaigns yet")
    await _typed(workspace, STAFF, CREATE, 2)
    listed = await _typed(workspace, STAFF, "campaigns list", 3)
    assert listed.text == (
        "• “spring” (draft) · flow idea · schedule now · audience: everyone who allows contact"
    )
    usage = await _typed(workspace, STAFF, "campaigns help", 4)
    assert usage.text.startswith("Usage: `/ideabot campaigns list`")
    nothing = await _typed(workspace, STAFF, "campaigns stats spring", 5)
    assert nothing.text == "“spring” (draft) has invited nobody yet, so there is nothing to draw."

    await workspace.runtime.campaigns.start("spring", actor="test")
    assert await workspace.runtime.campaigns.tick() == 3
    paused = await _typed(workspace, STAFF, "campaigns pause spring", 6)
    # The worker may have sent some meanwhile: those count as sent.
    assert paused.text.startswith("“spring” is paused; ")
    assert paused.text.endswith(
        "invitation(s) not yet sent were held back. `/ideabot campaigns resume spring` goes on."
    )
    assert await _state(workspace) is CampaignState.PAUSED
    resumed = await _typed(workspace, STAFF, "campaigns resume spring", 7)
    assert resumed.text == "“spring” is inviting again, within the respect rules."
    assert await _state(workspace) is CampaignState.RUNNING
    unknown = await _typed(workspace, STAFF, "campaigns stats autumn", 8)
    assert unknown.text == (
        "Nothing was changed: there is no campaign “autumn” (see `ideabot campaigns list`)."
    )
