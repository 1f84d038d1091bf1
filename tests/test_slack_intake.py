"""Slack events are stored before bolt acks them: a failed store answers 500 and the retry works."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from bot.app import open_runtime, slack_client
from bot.http.server import build_http_app
from bot.settings import Settings
from bot.slack.channel import SlackChannel
from storage.event_queue import SqlEventQueue
from tests.doubles.slack_api import BOT_TOKEN, SIGNING_SECRET, STAFF_CHANNEL, SlackWebApiDouble


class FailingOnce(SqlEventQueue):
    """The real queue, except that the first store fails as a database outage would."""

    failed = False

    async def store(self, **event: Any) -> bool:
        if not self.failed:
            self.failed = True
            raise OperationalError("INSERT INTO platform_event", {}, Exception("database is down"))
        return await super().store(**event)


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackWebApiDouble]:
    double = SlackWebApiDouble()
    async with double.running():
        yield double


def signed(body: str, *, secret: str = SIGNING_SECRET, stamp: int | None = None) -> dict[str, str]:
    timestamp = str(stamp if stamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def slack_settings(slack_api: SlackWebApiDouble, sqlite_url: str) -> Settings:
    """Slack over signed HTTP requests, against the double, on a SQLite file."""
    return Settings(
        _env_file=None,
        database_url=sqlite_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_base_url=slack_api.base_url,
        slack_staff_channel=STAFF_CHANNEL,
    )


async def test_an_event_not_stored_on_the_first_try_is_stored_on_the_retry(
    slack_api: SlackWebApiDouble, sqlite_url: str
) -> None:
    settings = slack_settings(slack_api, sqlite_url)
    async with open_runtime(settings, channels={}) as runtime:
        queue = FailingOnce(runtime.events._sessions)
        channel = SlackChannel(
            client=slack_client(settings),
            signing_secret=SIGNING_SECRET,
            queue=queue,
            dead_letters=runtime.dead_letters,
            dialogue=runtime.dialogue,
            staff_desk=runtime.staff_desk,
            metrics=runtime.metrics,
            staff_channel=STAFF_CHANNEL,
            admin_user_ids=frozenset(),
        )
        app = build_http_app(
            metrics=runtime.metrics, routes={"/slack/events": channel.events_endpoint}
        )
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0IDEABOT",
                "event_id": "Ev0RETRY",
                "event": {
                    "type": "message",
                    "channel": "D0SIRI",
                    "channel_type": "im",
                    "user": "U0SIRI",
                    "text": "hello",
                    "ts": "1.1",
                },
            }
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ideabot") as client:
            forged = await client.post(
                "/slack/events", content=body, headers=signed(body, secret="wrong")
            )
            stale = await client.post(
                "/slack/events", content=body, headers=signed(body, stamp=int(time.time()) - 600)
            )
            first = await client.post("/slack/events", content=body, headers=signed(body))
            retry = await client.post(
                "/slack/events",
                content=body,
                headers={**signed(body), "X-Slack-Retry-Num": "1"},
            )
            again = await client.post(
                "/slack/events",
                content=body,
                headers={**signed(body), "X-Slack-Retry-Num": "2"},
            )
            challenge = json.dumps(
                {
                    "token": "t",
                    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                    "type": "url_verification",
                }
            )
            verified = await client.post(
                "/slack/events", content=challenge, headers=signed(challenge)
            )
        assert verified.json() == {
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        }
        assert (forged.status_code, stale.status_code) == (401, 401)
        assert first.status_code == 500
        assert (retry.status_code, again.status_code) == (200, 200)
        (stored,) = await queue.claim_due(platform="slack", limit=10, lease_seconds=30)
        assert stored.external_id == "Ev0RETRY"


def _form(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps({"type": "event_callback", "event": {"type": "message", "ts": "1.1"}}), None),
        (
            json.dumps(
                {
                    "type": "event_callback",
                    "event_id": "Ev0X",
                    "event": {"type": "message", "channel": "D0SIRI", "message": "not a dict"},
                }
            ),
            None,
        ),
        (
            _form(
                {
                    "type": "block_actions",
                    "channel": "C0NOTADICT",
                    "actions": [{"action_id": "claim", "value": "1"}],
                }
            ),
            "application/x-www-form-urlencoded",
        ),
        (
            urlencode({"command": "/ideabot", "text": "hi", "channel_id": "D0SIRI"}),
            "application/x-www-form-urlencoded",
        ),
    ],
    ids=["no event_id", "message not a dict", "action without trigger_id", "command without id"],
)
async def test_a_signed_payload_without_its_ids_is_put_aside_once_and_acked(
    slack_api: SlackWebApiDouble, sqlite_url: str, body: str, content_type: str | None
) -> None:
    settings = slack_settings(slack_api, sqlite_url)
    async with open_runtime(settings, channels={}) as runtime:
        channel = SlackChannel(
            client=slack_client(settings),
            signing_secret=SIGNING_SECRET,
            queue=runtime.events,
            dead_letters=runtime.dead_letters,
            dialogue=runtime.dialogue,
            staff_desk=runtime.staff_desk,
            metrics=runtime.metrics,
            staff_channel=STAFF_CHANNEL,
            admin_user_ids=frozenset(),
        )
        app = build_http_app(
            metrics=runtime.metrics, routes={"/slack/events": channel.events_endpoint}
        )
        headers = signed(body)
        if content_type is not None:
            headers["Content-Type"] = content_type
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ideabot") as client:
            first = await client.post("/slack/events", content=body, headers=headers)
            retry = await client.post(
                "/slack/events", content=body, headers={**headers, "X-Slack-Retry-Num": "1"}
            )
        assert (first.status_code, retry.status_code) == (200, 200)
        (letter,) = await runtime.dead_letters.all()
        assert letter.external_id.startswith("unreadable:")
        assert "has no id to be stored under" in letter.reason
        assert await runtime.events.claim_due(platform="slack", limit=10, lease_seconds=30) == []
