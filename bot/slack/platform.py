"""Slack's part of ``ideabot run``: the event processor, and Socket Mode or the events route."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.files import SlackFiles
from bot.http.server import Endpoint
from bot.platform import Platform
from bot.runtime import Runtime
from bot.settings import Settings
from bot.shutdown import Service
from bot.slack.campaign_admin import SlackCampaigns
from bot.slack.channel import SlackChannel
from bot.slack.customer_admin import SlackCustomerAdmin
from bot.slack.flow_admin import SlackFlowAdmin
from bot.slack.flow_stats import SlackFlowStats
from bot.slack.signed_requests import SignedSlackRequests
from handlers.flows.safe_yaml import MAX_YAML_BYTES
from handlers.ideas.status import StatusLabels

NAME = "Slack"
EVENTS_PATH = "/slack/events"


def slack_platform(
    *,
    settings: Settings,
    runtime: Runtime,
    client: AsyncWebClient | None,
    labels: StatusLabels,
) -> Platform:
    """Slack's services, and its events route without Socket Mode; off without a client."""
    if client is None:
        return Platform.off(NAME)
    channel = slack_channel(settings=settings, runtime=runtime, client=client, labels=labels)
    events = Service("slack-events", channel.process, stop=channel.stop)
    if settings.slack_app_token is not None:
        app_token = settings.slack_app_token.get_secret_value()
        # Nothing of its own to finish: an event is acked only once it is stored.
        socket_mode = Service(
            "slack-socket-mode", lambda: channel.run_socket_mode(app_token), stop=None
        )
        return Platform(name=NAME, mode="Socket Mode", services=(events, socket_mode))
    routes: dict[str, Endpoint] = {}
    if (signing_secret := settings.slack_signing_secret) is not None:
        routes[EVENTS_PATH] = SignedSlackRequests(
            signing_secret=signing_secret.get_secret_value(), endpoint=channel.events_endpoint
        ).handle
    return Platform(name=NAME, mode=f"events at {EVENTS_PATH}", services=(events,), routes=routes)


def slack_channel(
    *, settings: Settings, runtime: Runtime, client: AsyncWebClient, labels: StatusLabels
) -> SlackChannel:
    """Slack's way in, over HTTP or Socket Mode, handing events to the runtime's desks."""
    signing_secret = settings.slack_signing_secret
    token = client.token or ""
    flow_files = SlackFiles(
        token=token, api_base_url=settings.slack_api_base_url, limit_bytes=MAX_YAML_BYTES
    )
    return SlackChannel(
        client=client,
        signing_secret=None
        if settings.slack_socket_mode or signing_secret is None
        else signing_secret.get_secret_value(),
        queue=runtime.events,
        dead_letters=runtime.dead_letters,
        dialogue=runtime.dialogue,
        staff_desk=runtime.staff_desk,
        metrics=runtime.metrics,
        staff_channel=settings.slack_staff_channel,
        admin_user_ids=settings.slack_admin_user_ids,
        idea_desk=runtime.idea_desk,
        customer_admin=SlackCustomerAdmin(
            desk=runtime.privacy, store=runtime.store, outbox_signal=runtime.worker
        ),
        campaign_admin=SlackCampaigns(
            desk=runtime.campaigns, store=runtime.store, outbox_signal=runtime.worker
        ),
        flow_admin=SlackFlowAdmin(
            client=client,
            library=runtime.library,
            files=flow_files,
            stats=SlackFlowStats(store=runtime.store, outbox_signal=runtime.worker),
            progress=runtime.flow_progress,
            trials=runtime.trials,
        ),
        ideas=runtime.ideas,
        labels=labels,
        digest=runtime.digest,
        lease_seconds=settings.outbox_lease_seconds,
        staff_cache_seconds=settings.slack_staff_cache_seconds,
    )
