"""Slack payloads (in Slack's documented shapes, tests/data/slack) become the core's values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.slack.flow_requests import (
    AdminWords,
    FlowButton,
    FlowClick,
    FlowRefused,
    FlowTarget,
    FlowTry,
)
from bot.slack.format import card_blocks, escape, question_blocks
from bot.slack.staff_access import Role
from bot.slack.translate import (
    SlackTranslator,
    SlackUser,
    Workspace,
    event_identity,
    slack_to_plain,
)
from handlers.dialogue.trial import publish_payload, trial_payload
from handlers.ideas.status import MergeChange
from handlers.messages import ConversationKey, IncomingMessage
from handlers.staff.room import (
    CardAction,
    CardActionKind,
    HandOffReason,
    StaffCard,
    StaffMessage,
)

DATA = Path(__file__).resolve().parent / "data" / "slack"
WORKSPACE = Workspace(
    team_id="T0IDEABOT",
    bot_user_id="U0BOT",
    staff_channel="C0STAFF",
    admin_user_ids=frozenset({"U0BOSS"}),
)
PEOPLE = {
    "U0SIRI": SlackUser("U0SIRI", "Siri", "nb-NO", "T0IDEABOT", False),
    "U0ANNE": SlackUser("U0ANNE", "Anne", "en-US", "T0IDEABOT", False),
    "U0PARTNER": SlackUser("U0PARTNER", "Partner", "en-US", "T0PARTNER", False),
    "U0BOSS": SlackUser("U0BOSS", "Boss", "nb-NO", "T0IDEABOT", False),
}


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return loaded


async def lookup(user_id: str) -> SlackUser:
    return PEOPLE[user_id]


# Who is staff here: Anne (in the staff channel); bot.slack.staff_access has its own tests.
STAFF = {"U0ANNE"}


async def roles(*, user_id: str, team_id: str) -> Role:
    own = team_id in ("", WORKSPACE.team_id)
    if own and user_id in WORKSPACE.admin_user_ids:
        return Role.ADMIN
    return Role.STAFF if own and user_id in STAFF else Role.CUSTOMER


async def translate(body: dict[str, Any]) -> object:
    return await SlackTranslator(workspace=WORKSPACE, users=lookup, roles=roles).translate(body)


async def test_direct_message_is_a_customer_message_with_the_slack_locale() -> None:
    message = await translate(payload("dm_message"))
    assert message == IncomingMessage(
        key=ConversationKey(platform="slack", chat_id="D0SIRI", user_id="U0SIRI"),
        external_id="Ev0DM000001",
        text="Could you add a dark mode? &lt;3",
        display_name="Siri",
        language_code="nb-NO",
        platform_message_id="1732790000.123456",
    )


BOSS_DM = ConversationKey(platform="slack", chat_id="D0SIRI", user_id="U0BOSS")


async def test_configured_staff_writing_to_the_app_are_not_customers() -> None:
    body = payload("dm_message")
    body["event"]["user"] = "U0BOSS"
    # An admin's words are a trial's answer if one runs, else they hear where customers are.
    assert await translate(body) == AdminWords(
        IncomingMessage(
            key=BOSS_DM,
            external_id="Ev0DM000001",
            text="Could you add a dark mode? &lt;3",
            platform_message_id="1732790000.123456",
        )
    )


async def test_an_admins_trial_click_and_command_in_their_dm_are_a_trials() -> None:
    click = payload("dm_button")
    click["user"]["id"] = "U0BOSS"
    click["actions"][0]["value"] = trial_payload(7, "frequency:daily")
    assert await translate(click) == AdminWords(
        IncomingMessage(
            key=BOSS_DM,
            external_id="action:1234567890.123456789.fedcba",
            button_payload="__trial:7:frequency:daily",
            button_message_id="1732790800.000800",
            button_message_text="How often do you run into this?",
        )
    )
    command = payload("slash_command")
    command.update(user_id="U0BOSS", text="cancel")
    translated = await translate(command)
    assert isinstance(translated, AdminWords)
    assert (translated.message.text, translated.message.key) == ("/cancel", BOSS_DM)


async def test_an_admins_click_on_their_own_conversations_question_is_a_customers() -> None:
    click = payload("dm_button")
    click["user"]["id"] = "U0BOSS"
    translated = await translate(click)
    assert isinstance(translated, IncomingMessage)
    assert (translated.key, translated.button_payload) == (BOSS_DM, "frequency:daily")


async def test_a_trials_buttons_pass_the_one_access_rule() -> None:
    click = payload("dm_button")
    click["actions"][0]["value"] = trial_payload(7, "frequency:daily")
    assert isinstance(await translate(click), FlowRefused)  # Siri, a customer, forged it
    # A listed admin the rule does not hold for (another workspace) is no admin anywhere.
    click["user"].update(id="U0BOSS", team_id="T0PARTNER")
    assert isinstance(await translate(click), FlowRefused)
    body = payload("dm_message")
    body["event"].update(user="U0BOSS", team="T0PARTNER")
    assert not isinstance(await translate(body), AdminWords)


async def test_publish_at_a_trials_end_is_the_flows_publish_button_for_admins_only() -> None:
    click = payload("dm_button")
    click["user"]["id"] = "U0BOSS"
    click["actions"][0]["value"] = publish_payload(flow_id="idea", draft_id=3, seen_live=2)
    assert await translate(click) == FlowClick(
        external_id="action:1234567890.123456789.fedcba",
        channel="D0SIRI",
        user_id="U0BOSS",
        button=FlowButton.PUBLISH,
        target=FlowTarget(flow_id="idea", draft_id=3, seen_live=2),
    )


async def test_try_is_a_button_and_a_typed_command_in_the_admins_language() -> None:
    command = payload("slash_command")
    command.update(user_id="U0BOSS", text="flows try idea")
    assert await translate(command) == FlowTry(
        external_id="command:1234567890.123456789.aaaaaa",
        channel="D0SIRI",
        user_id="U0BOSS",
        flow_id="idea",
        draft_id=None,
        language_code="nb-NO",
    )
    click = payload("dm_button")
    click["user"]["id"] = "U0BOSS"
    click["actions"][0].update(action_id="flow_admin:try", value="idea:4:1")
    translated = await translate(click)
    assert isinstance(translated, FlowTry)
    assert (translated.flow_id, translated.draft_id) == ("idea", 4)
    # Anyone else gets the one sentence of the flows, not a trial.
    click["user"]["id"] = "U0ANNE"
    assert isinstance(await translate(click), FlowRefused)


async def test_a_reply_in_a_staff_thread_is_a_staff_message_in_plain_words() -> None:
    message = await translate(payload("staff_thread_reply"))
    assert isinstance(message, StaffMessage)
    assert message.thread_ref == "1732790050.000100"
    assert message.message_ref == "1732790100.000200"
    assert message.user_name == "Anne"
    assert (
        message.text
        == "Thanks! See our roadmap (https://example.com/roadmap) & ask @U0ANNE or @here"
    )


async def test_edits_and_deletions_in_a_thread_are_recognised() -> None:
    edited = await translate(payload("staff_message_changed"))
    assert isinstance(edited, StaffMessage)
    assert (edited.edited, edited.message_ref, edited.text) == (
        True,
        "1732790100.000200",
        "Thanks!!",
    )
    deleted = await translate(payload("staff_message_deleted"))
    assert isinstance(deleted, StaffMessage)
    assert (deleted.deleted, deleted.message_ref) == (True, "1732790100.000200")


@pytest.mark.parametrize(
    "name", ["staff_channel_join", "staff_thread_bot_message", "staff_thread_shared_channel"]
)
async def test_system_messages_bots_and_other_workspaces_are_ignored(name: str) -> None:
    assert await translate(payload(name)) is None


async def test_a_top_level_post_in_the_staff_channel_is_ignored() -> None:
    body = payload("staff_thread_reply")
    del body["event"]["thread_ts"]
    assert await translate(body) is None


async def test_card_button_and_customer_button_and_slash_command() -> None:
    assert await translate(payload("card_button")) == CardAction(
        external_id="action:1234567890.123456789.abcdef",
        conversation_id=42,
        kind=CardActionKind.CLOSE,
        user_id="U0ANNE",
        user_name="Anne",
    )
    pressed = await translate(payload("dm_button"))
    assert isinstance(pressed, IncomingMessage)
    assert pressed.button_payload == "frequency:daily"
    assert pressed.button_message_id == "1732790800.000800"
    command = await translate(payload("slash_command"))
    assert isinstance(command, IncomingMessage)
    assert (command.text, command.key.chat_id) == ("/human", "D0SIRI")


async def test_replies_clicks_and_commands_of_people_not_on_the_team_are_dropped() -> None:
    reply = payload("staff_thread_reply")
    reply["event"]["user"] = "U0SIRI"
    assert await translate(reply) is None
    click = payload("card_button")
    click["user"]["id"] = "U0SIRI"
    assert await translate(click) is None
    command = payload("slash_command")
    command.update(command="/ideas", text="status 1 done", channel_id="C0STAFF")
    assert await translate(command) is None
    command["user_id"] = "U0ANNE"
    assert await translate(command) is not None


def test_stored_identity_keeps_order_per_chat_and_thread() -> None:
    assert event_identity(payload("dm_message")) == ("Ev0DM000001", "D0SIRI:")
    assert event_identity(payload("staff_thread_reply")) == (
        "Ev0STAFF0001",
        "C0STAFF:1732790050.000100",
    )
    changed = event_identity(payload("staff_message_changed"))
    assert changed is not None
    assert changed[1] == "C0STAFF:1732790050.000100"
    assert event_identity(payload("card_button")) == (
        "action:1234567890.123456789.abcdef",
        "C0STAFF",
    )
    assert (
        event_identity(
            {"type": "event_callback", "event_id": "E", "event": {"type": "reaction_added"}}
        )
        is None
    )


def test_escaping_leaves_no_control_sequence() -> None:
    assert escape("<!channel> <@U1> <https://x|y> a&b") == (
        "&lt;!channel&gt; &lt;@U1&gt; &lt;https://x|y&gt; a&amp;b"
    )
    assert slack_to_plain(escape("<b>&amp;</b>")) == "<b>&amp;</b>"


def test_card_shows_customer_words_escaped_and_its_buttons() -> None:
    card = StaffCard(
        conversation_id=7,
        customer_name="<!here> Eve",
        platform="telegram",
        language="nb",
        reason=HandOffReason.IDEA_RECORDED,
        title="<https://evil|Click>",
        idea_id=3,
        idea_status="new",
    )
    fallback, blocks = card_blocks(card)
    shown = json.dumps(blocks) + fallback
    assert "<!here>" not in shown
    assert "<https://evil|Click>" not in shown
    assert "Idea #3" in shown
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["idea_status", "staff_assign", "staff_close", "staff_internal_only"]
    (menu,) = [e for b in blocks if b["type"] == "actions" for e in b["elements"][:1]]
    assert menu["initial_option"]["value"] == "3:new"
    assert "3:planned" in [option["value"] for option in menu["options"]]


def test_question_buttons_have_unique_action_ids() -> None:
    blocks = question_blocks(
        "Pick", [{"label": "A", "payload": "s:a"}, {"label": "B", "payload": "s:b"}]
    )
    (actions,) = [block for block in blocks if block["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["answer_0", "answer_1"]


@pytest.mark.parametrize(
    ("words", "text"),
    [("start spring_2026", "/start spring_2026"), ("  start   nosuch ", "/start   nosuch")],
)
async def test_ideabot_start_with_a_flow_is_the_start_a_link_gives(words: str, text: str) -> None:
    body = payload("slash_command")
    body["text"] = words
    command = await translate(body)
    assert isinstance(command, IncomingMessage)
    assert command.text == text


async def test_a_merge_command_names_who_typed_it_to_tell_them_if_nothing_is_merged() -> None:
    """Review of issue 13: `/ideas merge` promised the thread would show a merge that never came."""
    command = payload("slash_command")
    command.update(command="/ideas", text="merge 2 into 1", channel_id="C0STAFF", user_id="U0ANNE")
    merge = await translate(command)
    assert isinstance(merge, MergeChange)
    assert (merge.duplicate_id, merge.original_id, merge.asked_by) == (2, 1, "U0ANNE")
    assert merge.clicked_by == ""  # a command may merge into an idea decided since


async def test_a_slack_customers_invitations_command_reaches_the_dialogue() -> None:
    command = payload("slash_command")
    command["text"] = "invitations"
    message = await translate(command)
    assert isinstance(message, IncomingMessage)
    assert (message.text, message.key.chat_id) == ("/invitations", "D0SIRI")
