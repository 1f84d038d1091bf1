"""Flow stats in an admin's DM: the funnel chart with its figures, sent through the outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.delivery.charts import FunnelFigures
from bot.funnel_text import share
from bot.slack.flow_requests import FlowStatsAsked
from bot.slack.translate import PLATFORM
from handlers.flows.charts import FunnelChart
from handlers.flows.funnel import FlowFunnel
from handlers.flows.versions import FlowLibraryError
from handlers.messages import ConversationKey, OutboundAction, OutgoingMessage
from handlers.ports import CustomerOutbox, Inbox, OutboxSignal, Store

# The overview's completion rate counts the conversations started in this window.
RECENT = timedelta(days=30)


class StatsTransaction(Inbox, CustomerOutbox, Protocol):
    """What answering one stats request writes: the request seen, the answer queued."""


def _period(since: datetime | None) -> str:
    return f" since {since:%Y-%m-%d}" if since is not None else ""


def _nothing_yet(funnels: list[FlowFunnel], since: datetime | None) -> str:
    versions = " or ".join(f"version {funnel.version}" for funnel in funnels)
    return (
        f"Flow '{funnels[0].flow_id}' has no conversations in {versions}{_period(since)} yet, "
        "so there is nothing to draw."
    )


def in_progress_text(counts: dict[int, int]) -> str:
    """Conversations under way per version, newest first ("none" when there are none)."""
    shown = [f"v{version}: {counts[version]}" for version in sorted(counts, reverse=True)]
    return ", ".join(shown) or "none"


def recent_text(funnel: FlowFunnel) -> str:
    """The last weeks' completion rate of a live version, in a few words."""
    if not funnel.started:
        return f"no conversations of v{funnel.version} started"
    return (
        f"{share(funnel.finished, funnel.started)} of v{funnel.version}'s finish "
        f"({funnel.finished} of {funnel.started} started)"
    )


class SlackFlowStats:
    """Answers a stats request with the chart and its figures (drawn when delivered)."""

    def __init__(
        self,
        *,
        store: Store[StatsTransaction],
        figures: FunnelFigures,
        in_progress: Callable[[], Awaitable[dict[str, dict[int, int]]]],
        outbox_signal: OutboxSignal,
    ) -> None:
        self._store = store
        self._figures = figures
        self._in_progress = in_progress
        self._outbox_signal = outbox_signal

    async def in_progress(self) -> dict[str, dict[int, int]]:
        """Flow id → version → conversations under way (only versions with any)."""
        return await self._in_progress()

    async def recent(self, flow_id: str, *, now: datetime) -> FlowFunnel:
        """The live version's funnel of the conversations started in the last 30 days."""
        return await self._figures.flow_funnel(flow_id, since=now - RECENT, now=now)

    async def answer(self, asked: FlowStatsAsked) -> None:
        """Queue the chart (or one sentence) for the admin's DM, once per request."""
        query = asked.query
        reply: OutboundAction
        try:
            funnels = [
                await self._figures.flow_funnel(query.flow_id, version=version, since=query.since)
                for version in query.versions
            ]
        except FlowLibraryError as error:
            reply = OutgoingMessage(f"No stats: {error}.")
        else:
            reply = self._chart_or_sentence(funnels, query.since)
        key = ConversationKey(platform=PLATFORM, chat_id=asked.channel, user_id=asked.user_id)
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=PLATFORM, external_id=asked.external_id
            ):
                return
            await transaction.enqueue(key=key, actions=[reply])
        self._outbox_signal.outbox_changed()

    @staticmethod
    def _chart_or_sentence(funnels: list[FlowFunnel], since: datetime | None) -> OutgoingMessage:
        if not any(funnel.started for funnel in funnels):
            return OutgoingMessage(_nothing_yet(funnels, since))
        chart = FunnelChart(
            flow_id=funnels[0].flow_id,
            versions=tuple(funnel.version for funnel in funnels),
            since=since,
        )
        return OutgoingMessage("", attachments=(chart.attachment(),))
