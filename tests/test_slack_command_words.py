"""Slack customers read ideabot's commands as the app's slash command they can type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.files import Files
from bot.slack.format import with_app_command
from bot.slack.sender import SlackSender
from storage.outbox.deliveries import SendMessage
from storage.outbox.store import OutboxItem
from tests.doubles.slack_api import BOT_TOKEN, SlackWebApiDouble


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        (
            "Your answers are kept: /privacy says how, /mydata gives a copy, /forget erases them.",
            "Your answers are kept: /ideabot privacy says how, /ideabot mydata gives a copy, "
            "/ideabot forget erases them.",
        ),
        ("Type /skip to pass.", "Type /ideabot skip to pass."),
        (
            "Write /invitations to change your mind.",
            "Write /ideabot invitations to change your mind.",
        ),
        ("(/help)", "(/ideabot help)"),
        # Already the app's command, a link, a longer word, or a path: left alone.
        ("Type /ideabot cancel to stop.", "Type /ideabot cancel to stop."),
        ("See https://example.com/help for more.", "See https://example.com/help for more."),
        ("/helpful and /forgetting are no commands", "/helpful and /forgetting are no commands"),
        ("a/help", "a/help"),
    ],
)
def test_customers_commands_are_written_as_the_apps_command(said: str, shown: str) -> None:
    assert with_app_command(said) == shown
    assert with_app_command(shown) == shown  # applying it twice changes nothing more


async def test_the_sender_posts_a_customers_commands_as_the_apps_command() -> None:
    slack = SlackWebApiDouble()
    async with slack.running():
        sender = SlackSender(
            AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url), files=Files({})
        )
        item = OutboxItem(
            id=1,
            destination="slack:D0CUS",
            platform="slack",
            chat_id="D0CUS",
            delivery=SendMessage(text="Type /skip to pass, or /privacy to see what is kept."),
            attempts=0,
            created_at=datetime.now(UTC),
        )
        await sender.deliver(item)
        (posted,) = slack.posts_in("D0CUS")
    assert posted.text == "Type /ideabot skip to pass, or /ideabot privacy to see what is kept."
