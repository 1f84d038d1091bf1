"""The Slack app manifest asks for what ideabot uses and points Slack at /slack/events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.slack.campaign_words import CAMPAIGNS_SUBCOMMAND
from bot.slack.commands import IDEAS_COMMAND
from bot.slack.translate import FLOWS_SUBCOMMAND, SLASH_COMMAND

MANIFEST = Path(__file__).resolve().parent.parent / "docs" / "slack-app-manifest.yaml"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def test_events_interactivity_and_command_go_to_the_events_url() -> None:
    settings = manifest()["settings"]
    commands = manifest()["features"]["slash_commands"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(command["url"] for command in commands),
    ]
    assert all(url.endswith("/slack/events") for url in urls)
    assert [command["command"] for command in commands] == [SLASH_COMMAND, IDEAS_COMMAND]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "message.channels",
        "message.groups",
        "message.im",
        "member_joined_channel",
        "member_left_channel",
    }


def test_scopes_cover_the_web_api_methods_ideabot_calls() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    needed = {
        "chat:write",  # chat.postMessage, chat.update, chat.postEphemeral
        "chat:write.customize",  # username on customer posts
        "reactions:write",  # reactions.add
        "users:read",  # users.info
        "files:read",  # downloading url_private (customers' files, admins' flow files)
        "files:write",  # files_upload_v2 (customers' files, a flow's Download)
        "im:history",  # message.im
        "channels:history",  # message.channels
        "channels:read",  # conversations.members of a public staff channel
        "groups:read",  # conversations.members of a private staff channel
        "commands",
    }
    assert needed <= scopes


def test_the_customers_command_tells_admins_of_its_flows_part() -> None:
    (command,) = [
        command
        for command in manifest()["features"]["slash_commands"]
        if command["command"] == SLASH_COMMAND
    ]
    assert FLOWS_SUBCOMMAND in command["description"]
    assert CAMPAIGNS_SUBCOMMAND in command["description"]
