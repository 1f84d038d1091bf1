"""Admins change flows in their Slack DM: uploads checked and drafted, publish and roll back."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from bot.app import open_runtime, slack_client
from bot.delivery.campaign_charts import CAMPAIGN_CHART_PLATFORM, CampaignCharts
from bot.delivery.charts import FunnelCharts
from bot.delivery.files import Files
from bot.delivery.pacing import Pacer
from bot.delivery.worker import Channel
from bot.http.server import build_http_app
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.flow_admin import NO_DRAFT_ON_BUTTON
from bot.slack.platform import EVENTS_PATH, slack_channel
from bot.slack.sender import SlackSender
from bot.slack.translate import UNREADABLE_BUTTON
from handlers.dialogue.trial import TRIAL_IDLE_LIMIT
from handlers.flows.charts import CHART_PLATFORM
from handlers.flows.loader import parse_flow
from handlers.flows.upload import NOT_ADMIN, TOO_LARGE
from handlers.flows.versions import FlowAction
from handlers.ideas.status import StatusLabels
from handlers.messages import ConversationKey, IncomingMessage
from handlers.staff.desk import STAFF_IN_DIRECT_MESSAGE
from handlers.staff.room import StaffRoom
from storage.idea_queries import IdeaFilter
from storage.tables import FlowTrialRow, table_of
from storage.types import utc_now
from tests.doubles.loopback import serving
from tests.doubles.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    STAFF_CHANNEL,
    Posted,
    SlackEvents,
    SlackPerson,
    SlackWebApiDouble,
)
from tests.helpers.flow_uploads import NEW_QUESTION, file_with_three_mistakes, fixed_file

ADMIN = SlackPerson("U0ADA", "Ada Admin")
STAFF = SlackPerson("U0SAM", "Sam Staff")
ACTOR = f"slack:{ADMIN.user_id}"


@dataclass
class Workspace:
    slack_api: SlackWebApiDouble
    events: SlackEvents
    runtime: Runtime
    uploads: int = 0

    async def upload(self, person: SlackPerson, name: str, data: bytes) -> None:
        self.uploads += 1
        file = self.slack_api.file_event_fields(f"F{self.uploads:04d}", name, data, "text/yaml")
        response, _ = await self.events.direct_message(
            person, "", subtype="file_share", files=[file]
        )
        assert response.status_code == 200

    async def reply(self, person: SlackPerson, count: int) -> Posted:
        """The ``count``-th post in the person's DM, once it is there."""
        channel = person.dm_channel
        await self.slack_api.wait_until(lambda: len(self.slack_api.posts_in(channel)) >= count)
        return self.slack_api.posts_in(channel)[count - 1]

    async def click(self, person: SlackPerson, post: Posted, label: str, count: int) -> Posted:
        response = await self.events.click(person, post, label)
        assert response.status_code == 200
        return await self.reply(person, count)


@contextlib.asynccontextmanager
async def open_workspace(
    sqlite_url: str,
    *,
    customers: tuple[SlackPerson, ...] = (),
    draws_charts: bool = False,
    **settings: Any,
) -> AsyncIterator[Workspace]:
    """An admin and a staff member (and ``customers``) with the app, as `ideabot run` serves."""
    slack_api = SlackWebApiDouble()
    slack_api.add(ADMIN)
    for customer in customers:
        slack_api.add(customer)
    slack_api.join(slack_api.add(STAFF))
    async with slack_api.running():
        configured = Settings(
            _env_file=None,
            database_url=sqlite_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_base_url=slack_api.base_url,
            slack_staff_channel=STAFF_CHANNEL,
            slack_admin_users=ADMIN.user_id,
            **settings,
        )
        client = slack_client(configured)
        files = Files({})
        # Trials speak through the outbox, as customers' conversations do.
        sender = SlackSender(client, files=files, labels=StatusLabels.default())
        pacer = Pacer(chat_rate=50.0, chat_burst=10, global_rate=50.0)
        delivery = Channel(sender=sender, pacer=pacer)
        # The staff room, as `ideabot run` has it: trials must show nothing there.
        room = StaffRoom(platform="slack", chat_id=STAFF_CHANNEL)
        async with open_runtime(
            configured, channels={"slack": delivery}, staff_room=room
        ) as runtime:
            if draws_charts:
                drawing = asyncio.Lock()
                files.add(CHART_PLATFORM, FunnelCharts(runtime.flow_stats, drawing=drawing))
                files.add(
                    CAMPAIGN_CHART_PLATFORM,
                    CampaignCharts(runtime.campaigns.figures, drawing=drawing),
                )
            channel = slack_channel(
                settings=configured,
                runtime=runtime,
                client=client,
                labels=StatusLabels.default(),
            )
            app = build_http_app(
                metrics=runtime.metrics, routes={EVENTS_PATH: channel.events_endpoint}
            )
            processing = asyncio.create_task(channel.process())
            delivering = asyncio.create_task(runtime.worker.run())
            try:
                async with serving(app) as port:
                    events = SlackEvents(url=f"http://127.0.0.1:{port}{EVENTS_PATH}")
                    yield Workspace(slack_api=slack_api, events=events, runtime=runtime)
            finally:
                channel.stop()
                runtime.worker.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    async with asyncio.timeout(10):
                        await processing
                        await delivering


@pytest.fixture
async def workspace(sqlite_url: str) -> AsyncIterator[Workspace]:
    async with open_workspace(sqlite_url) as opened:
        yield opened


async def test_every_mistake_comes_back_with_its_line_and_nothing_is_stored(
    workspace: Workspace,
) -> None:
    text, lines = file_with_three_mistakes()
    await workspace.upload(ADMIN, "idea.yaml", text.encode())
    answer = await workspace.reply(ADMIN, 1)
    assert answer.text.startswith("idea.yaml has 3 problems; nothing was stored:")
    reported = answer.text.splitlines()[1:]
    assert [int(line.split(":", 1)[0]) for line in reported] == lines
    assert [line.rsplit(" (step ", 1)[1] for line in reported] == [
        "'idea')",
        "'problem')",
        "'frequency')",
    ]
    assert "'colour' is not a known setting here" in reported[1]
    assert await workspace.runtime.library.drafts(flow_id="idea") == []


async def test_a_valid_upload_becomes_a_draft_and_is_published_after_a_confirmation(
    workspace: Workspace,
) -> None:
    library = workspace.runtime.library
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    drafted = await workspace.reply(ADMIN, 1)
    assert "Draft 1 of flow 'idea' is stored (against live version 1)" in drafted.text
    assert "• step 'problem': question reworded (en)" in drafted.text
    assert drafted.button_labels == ["Try", "Publish", "Discard"]
    assert (await library.stored(flow_id="idea")).definition.version == 1

    # The same file again (or the same event handled again) is the same draft.
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    assert "Draft 1 of flow 'idea'" in (await workspace.reply(ADMIN, 2)).text
    assert len(await library.drafts(flow_id="idea")) == 1

    confirm = await workspace.click(ADMIN, drafted, "Publish", 3)
    assert confirm.button_labels == ["Yes, publish draft 1", "Cancel"]
    assert (await library.stored(flow_id="idea")).definition.version == 1

    done = await workspace.click(ADMIN, confirm, "Yes, publish draft 1", 4)
    assert "version 2 is live (was 1)" in done.text
    live = await library.stored(flow_id="idea")
    assert live.definition.steps[1].question["en"] == NEW_QUESTION
    changes = [(change.action, change.actor) for change in await library.history(flow_id="idea")][
        -2:
    ]
    assert changes == [(FlowAction.DRAFT, ACTOR), (FlowAction.PUBLISH, ACTOR)]


async def test_a_discarded_draft_cannot_be_published_any_more(workspace: Workspace) -> None:
    library = workspace.runtime.library
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    drafted = await workspace.reply(ADMIN, 1)
    confirm = await workspace.click(ADMIN, drafted, "Publish", 2)
    discarded = await workspace.click(ADMIN, drafted, "Discard", 3)
    assert discarded.text == (
        "Draft 1 of flow 'idea' is thrown away; the live version is unchanged."
    )
    refused = await workspace.click(ADMIN, confirm, "Yes, publish draft 1", 4)
    assert refused.text == "Nothing was changed: flow 'idea' has no draft 1."
    assert (await library.stored(flow_id="idea")).definition.version == 1
    last = (await library.history(flow_id="idea"))[-1]
    assert (last.action, last.actor) == (FlowAction.DISCARD, ACTOR)


async def test_a_publish_decided_on_a_live_version_that_moved_is_refused(
    workspace: Workspace,
) -> None:
    library = workspace.runtime.library
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    confirm = await workspace.click(ADMIN, await workspace.reply(ADMIN, 1), "Publish", 2)
    # Someone else publishes another change meanwhile (the command line, say).
    other = parse_flow(fixed_file().replace(NEW_QUESTION, "Why does it matter?"), source="cli")
    await library.push(other, actor="cli:kari")
    refused = await workspace.click(ADMIN, confirm, "Yes, publish draft 1", 3)
    assert refused.text.startswith("Nothing was changed: flow 'idea' was changed by someone else")
    assert (await library.stored(flow_id="idea")).definition.version == 2
    assert len(await library.drafts(flow_id="idea")) == 1


async def test_the_overview_downloads_the_live_flow_and_rolls_back_after_a_confirmation(
    workspace: Workspace,
) -> None:
    library = workspace.runtime.library
    await library.push(parse_flow(fixed_file(), source="cli"), actor="cli:kari")
    assert (await workspace.events.command(ADMIN, "flows")).status_code == 200
    overview = await workspace.reply(ADMIN, 1)
    assert "*idea* (Share an idea): live version 2, published by cli:kari" in overview.text
    assert overview.button_labels == ["Download", "History", "Stats", "Roll back"]

    await workspace.events.click(ADMIN, overview, "Download")
    await workspace.slack_api.wait_until(lambda: len(workspace.slack_api.uploads) == 1)
    (upload,) = workspace.slack_api.uploads
    assert upload["filename"] == "idea-v2.yaml"
    downloaded = parse_flow(upload["data"].decode(), source="download")
    assert downloaded.definition.steps[1].question["en"] == NEW_QUESTION
    assert yaml.safe_load(upload["data"])["id"] == "idea"

    history = await workspace.click(ADMIN, overview, "History", 2)
    assert "push 1 → 2 by cli:kari" in history.text

    confirm = await workspace.click(ADMIN, overview, "Roll back", 3)
    assert (await library.stored(flow_id="idea")).definition.version == 2
    done = await workspace.click(ADMIN, confirm, "Yes, roll back", 4)
    assert "version 1 is live (was 2)" in done.text
    assert (await library.stored(flow_id="idea")).definition.version == 1
    last = (await library.history(flow_id="idea"))[-1]
    assert (last.action, last.actor, last.to_version) == (FlowAction.ROLLBACK, ACTOR, 1)


ALIAS_BOMB = b'a: &a ["lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b]\n'
PYTHON_TAG = b"id: idea\nwelcome: !!python/object/apply:os.system ['echo hi']\n"


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("idea.yaml", b"id: idea\n" + b"# padding\n" * 500_000, TOO_LARGE),
        ("idea.yaml", b"id: idea\n" + b"# padding\n" * 30_000, TOO_LARGE),
        ("idea.yaml", b"id: idea\nid: campaign\n", "2: repeats the key 'id'"),
        ("idea.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "idea.yaml is not a text file"),
        ("idea.yaml", ALIAS_BOMB, "uses YAML aliases"),
        ("idea.yaml", PYTHON_TAG, "python/object"),
        ("campaign.yaml", None, "campaign.yaml says it is flow 'idea', which is another flow"),
    ],
    ids=["5 MB", "300 KB", "repeated key", "binary", "alias bomb", "python tag", "clashing id"],
)
async def test_bad_input_gets_one_sentence_and_nothing_is_stored(
    workspace: Workspace, name: str, data: bytes | None, said: str
) -> None:
    await workspace.upload(ADMIN, name, data if data is not None else fixed_file().encode())
    answer = await workspace.reply(ADMIN, 1)
    assert said in answer.text
    assert answer.button_labels == []
    assert await workspace.runtime.library.drafts(flow_id="idea") == []
    assert (await workspace.runtime.library.stored(flow_id="idea")).definition.version == 1


async def test_someone_who_is_no_admin_gets_one_sentence_and_nothing_else(
    workspace: Workspace,
) -> None:
    await workspace.upload(STAFF, "idea.yaml", fixed_file().encode())
    assert (await workspace.events.command(STAFF, "flows")).status_code == 200
    first = await workspace.reply(STAFF, 1)
    second = await workspace.reply(STAFF, 2)
    for answer in (first, second):
        assert answer.text == "Only ideabot's admins can change flows; nothing was stored."
        assert answer.button_labels == []
    assert await workspace.runtime.library.drafts(flow_id="idea") == []
    assert len(await workspace.runtime.library.history(flow_id="idea")) == 1


async def test_a_button_that_names_no_draft_gets_one_sentence(workspace: Workspace) -> None:
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    drafted = await workspace.reply(ADMIN, 1)
    forged = dict(drafted.button("Discard"))
    forged["value"] = "idea::1"
    for block in drafted.blocks:
        for index, element in enumerate(block.get("elements", [])):
            if element.get("text", {}).get("text") == "Discard":
                block["elements"][index] = forged
    answer = await workspace.click(ADMIN, drafted, "Discard", 2)
    assert answer.text == NO_DRAFT_ON_BUTTON
    assert len(await workspace.runtime.library.drafts(flow_id="idea")) == 1


async def test_a_second_draft_of_a_new_flow_is_refused_once_the_first_is_live(
    workspace: Workspace,
) -> None:
    library = workspace.runtime.library
    campaign = fixed_file().replace("id: idea", "id: spring", 1)
    await workspace.upload(ADMIN, "spring.yaml", campaign.encode())
    first = await workspace.reply(ADMIN, 1)
    await workspace.upload(ADMIN, "spring.yaml", campaign.replace(NEW_QUESTION, "Why?").encode())
    second = await workspace.reply(ADMIN, 2)
    confirm_first = await workspace.click(ADMIN, first, "Publish", 3)
    confirm_second = await workspace.click(ADMIN, second, "Publish", 4)
    done = await workspace.click(ADMIN, confirm_first, "Yes, publish draft 1", 5)
    assert "version 1 is live" in done.text
    refused = await workspace.click(ADMIN, confirm_second, "Yes, publish draft 2", 6)
    assert "was changed by someone else" in refused.text
    assert (await library.stored(flow_id="spring")).definition.version == 1


def forged(post: Posted, label: str, **changes: str) -> Posted:
    """``post`` with the button ``label`` changed as a hand-made payload would have it."""
    blocks = copy.deepcopy(post.blocks)
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("text", {}).get("text") == label:
                element.update(changes)
    return replace(post, blocks=blocks)


async def test_a_change_made_meanwhile_says_once_that_nothing_was_changed(
    workspace: Workspace,
) -> None:
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    confirm = await workspace.click(ADMIN, await workspace.reply(ADMIN, 1), "Publish", 2)
    other = parse_flow(fixed_file().replace(NEW_QUESTION, "Why does it matter?"), source="cli")
    await workspace.runtime.library.push(other, actor="cli:kari")
    refused = await workspace.click(ADMIN, confirm, "Yes, publish draft 1", 3)
    assert refused.text == (
        "Nothing was changed: flow 'idea' was changed by someone else just now; "
        "see its History and try again."
    )
    assert refused.text.lower().count("nothing was changed") == 1


async def test_a_publish_clicked_again_says_the_draft_is_already_live(
    workspace: Workspace,
) -> None:
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    confirm = await workspace.click(ADMIN, await workspace.reply(ADMIN, 1), "Publish", 2)
    done = await workspace.click(ADMIN, confirm, "Yes, publish draft 1", 3)
    assert "version 2 is live (was 1)" in done.text
    again = await workspace.click(ADMIN, confirm, "Yes, publish draft 1", 4)
    assert again.text == (
        "Draft 1 of flow 'idea' was already published as version 2; nothing was changed."
    )
    assert (await workspace.runtime.library.stored(flow_id="idea")).definition.version == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"value": "nonsense"},
        {"value": "idea:one:"},
        {"value": "::1"},
        {"action_id": "flow_admin:explode"},
    ],
    ids=["no fields", "draft no number", "no flow", "unknown button"],
)
async def test_a_malformed_flow_button_gets_one_sentence(
    workspace: Workspace, changes: dict[str, str]
) -> None:
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    drafted = await workspace.reply(ADMIN, 1)
    answer = await workspace.click(ADMIN, forged(drafted, "Discard", **changes), "Discard", 2)
    assert answer.text == UNREADABLE_BUTTON
    assert answer.button_labels == []
    assert len(await workspace.runtime.library.drafts(flow_id="idea")) == 1


CUSTOMER = SlackPerson("U0CUS", "Cara Customer")


@pytest.mark.parametrize("person", [STAFF, CUSTOMER], ids=["staff", "customer"])
async def test_who_is_no_admin_is_refused_politely_at_every_flow_surface(
    workspace: Workspace, person: SlackPerson
) -> None:
    workspace.slack_api.add(CUSTOMER)
    await workspace.events.command(ADMIN, "flows")
    overview = await workspace.reply(ADMIN, 1)
    # The overview's buttons pressed in their own DM, as a hand-made payload would.
    theirs = replace(overview, channel=person.dm_channel)
    for number, label in enumerate(["Stats", "Download", "Roll back"], start=1):
        await workspace.click(person, theirs, label, number)
    await workspace.events.command(person, "flows")
    await workspace.events.command(person, "flows stats idea --compare 1 2")
    answers = [await workspace.reply(person, number) for number in range(1, 6)]
    assert [answer.text for answer in answers] == [NOT_ADMIN] * 5
    assert all(answer.button_labels == [] for answer in answers)
    assert workspace.slack_api.uploads == []
    assert len(await workspace.runtime.library.history(flow_id="idea")) == 1


async def test_try_walks_the_draft_in_the_dm_and_its_end_offers_publish(
    workspace: Workspace,
) -> None:
    library = workspace.runtime.library
    await workspace.upload(ADMIN, "idea.yaml", fixed_file().encode())
    drafted = await workspace.reply(ADMIN, 1)
    opening = await workspace.click(ADMIN, drafted, "Try", 2)
    assert opening.text.startswith("Trying draft 1 of *idea* — nothing you answer is recorded.")
    assert opening.button_labels == ["Stop"]
    assert (await workspace.reply(ADMIN, 3)).text.endswith("improve or create?")
    await workspace.events.direct_message(ADMIN, "A dark mode for the app, please, for the evening")
    assert (await workspace.reply(ADMIN, 4)).text == NEW_QUESTION
    await workspace.events.direct_message(ADMIN, "My eyes hurt when I read in bed at night")
    frequency = await workspace.reply(ADMIN, 5)
    importance = await workspace.click(ADMIN, frequency, "Every day", 6)
    contact = await workspace.click(ADMIN, importance, "5", 7)
    end = await workspace.click(ADMIN, contact, "No", 8)
    assert "Trial of draft 1 of *idea* done; nothing was recorded." in end.text
    assert end.button_labels == ["Publish"]
    confirm = await workspace.click(ADMIN, end, "Publish", 9)
    assert confirm.button_labels == ["Yes, publish draft 1", "Cancel"]
    assert workspace.slack_api.posts_in(STAFF_CHANNEL) == []
    assert await workspace.runtime.ideas.find(IdeaFilter()) == []
    assert (await library.stored(flow_id="idea")).definition.version == 1
    # A trial is no change of the flow: the audit trail ends with the draft.
    assert (await library.history(flow_id="idea"))[-1].action is FlowAction.DRAFT


async def test_the_overview_and_a_typed_command_try_the_newest_draft(
    workspace: Workspace,
) -> None:
    library = workspace.runtime.library
    await library.draft(parse_flow(fixed_file(), source="cli"), actor="cli:kari")
    assert (await workspace.events.command(ADMIN, "flows")).status_code == 200
    overview = await workspace.reply(ADMIN, 1)
    assert overview.button_labels == ["Download", "History", "Stats", "Roll back", "Try draft 1"]
    opening = await workspace.click(ADMIN, overview, "Try draft 1", 2)
    assert opening.text.startswith("Trying draft 1 of *idea*")
    await workspace.reply(ADMIN, 3)
    assert (await workspace.events.command(ADMIN, "flows try idea")).status_code == 200
    assert (await workspace.reply(ADMIN, 4)).text.startswith("Trying draft 1 of *idea*")
    assert (await workspace.events.command(ADMIN, "flows try spring")).status_code == 200
    await workspace.reply(ADMIN, 6)
    # The trial's welcome comes through the outbox, this sentence straight: either may be first.
    said = [post.text for post in workspace.slack_api.posts_in(ADMIN.dm_channel)[4:]]
    assert "Flow 'spring' has no draft to try: upload its file here first." in said
    assert (await workspace.events.command(STAFF, "flows try idea")).status_code == 200
    refused = await workspace.reply(STAFF, 1)
    assert refused.text == "Only ideabot's admins can change flows; nothing was stored."


async def test_tries_do_not_push_publishes_out_of_the_history(workspace: Workspace) -> None:
    library = workspace.runtime.library
    await library.push(parse_flow(fixed_file(), source="cli"), actor="cli:kari")
    await library.draft(
        parse_flow(fixed_file().replace("?", "??", 1), source="cli"), actor="cli:kari"
    )
    for _ in range(16):
        await workspace.events.command(ADMIN, "flows try idea")
    posts = workspace.slack_api.posts_in
    await workspace.slack_api.wait_until(
        lambda: sum("improve or create?" in p.text for p in posts(ADMIN.dm_channel)) == 16
    )
    await workspace.events.command(ADMIN, "flows")
    await workspace.slack_api.wait_until(
        lambda: any(p.text.startswith("*idea*") for p in posts(ADMIN.dm_channel))
    )
    overview = next(p for p in posts(ADMIN.dm_channel) if p.text.startswith("*idea*"))
    history = await workspace.click(ADMIN, overview, "History", len(posts(ADMIN.dm_channel)) + 1)
    assert "push 1 → 2 by cli:kari" in history.text


async def test_a_trial_left_for_a_day_is_over_and_the_admins_words_go_where_they_would(
    workspace: Workspace,
) -> None:
    await workspace.runtime.library.draft(parse_flow(fixed_file(), source="cli"), actor="cli:kari")
    await workspace.events.command(ADMIN, "flows try idea")
    await workspace.reply(ADMIN, 2)
    # The trial's row as a day without answers leaves it.
    async with workspace.runtime.store._sessions() as session, session.begin():
        await session.execute(
            update(table_of(FlowTrialRow)).values(updated_at=utc_now() - TRIAL_IDLE_LIMIT)
        )
    await workspace.events.direct_message(ADMIN, "where are the customers' ideas?")
    answer = await workspace.reply(ADMIN, 3)
    assert answer.text == STAFF_IN_DIRECT_MESSAGE


async def test_an_admins_own_conversation_keeps_taking_its_buttons(workspace: Workspace) -> None:
    # An admin who was a customer first (added to SLACK_ADMIN_USERS mid-conversation).
    key = ConversationKey(platform="slack", chat_id=ADMIN.dm_channel, user_id=ADMIN.user_id)
    words = [
        "hello",
        "A dark mode for the app, please, for the evening",
        "My eyes hurt when I read in bed at night, every single evening",
    ]
    for number, said in enumerate(words, start=1):
        message = IncomingMessage(key=key, external_id=f"seed-{number}", text=said)
        await workspace.runtime.dialogue.handle(message)
    posts = workspace.slack_api.posts_in
    await workspace.slack_api.wait_until(
        lambda: any(p.button_labels for p in posts(ADMIN.dm_channel))
    )
    question = next(p for p in posts(ADMIN.dm_channel) if p.button_labels)
    count = len(posts(ADMIN.dm_channel))
    answer = await workspace.click(ADMIN, question, question.button_labels[0], count + 1)
    assert "How important is this to you" in answer.text, answer.text
