"""Flow stats in an admin's DM: the funnel chart with its figures, sent through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.funnel_text import share
from bot.slack.flow_requests import FlowStatsAsked
from bot.slack.stats_words import StatsQuery
from bot.slack.translate import PLATFORM
from handlers.flows.charts import FunnelChart
from handlers.flows.versions import FlowLibraryError
from handlers.messages import ConversationKey, OutgoingMessage
from handlers.ports import CustomerOutbox, Inbox, OutboxSignal, Store, VersionCompletion

# The overview's completion rate counts the conversations started in this window.
RECENT = timedelta(days=30)


class FlowCompletion(Protocol):
    """Counts of a stored flow version's conversations, without reading its whole funnel."""

    async def completion(
        self, *, flow_id: str, version: int | None, since: datetime | None
    ) -> VersionCompletion:
        """Started since ``since`` and finished, of a version (the live one for None).

        Raises FlowLibraryError (UnknownFlow, UnknownVersion) for a name or number not stored.
        """
        ...


class FlowProgress(FlowCompletion, Protocol):
    """What the admins' overview counts of each flow (SqlFlowProgress)."""

    async def in_progress(self) -> dict[str, dict[int, int]]:
        """Flow id → version → conversations under way (only versions with any)."""
        ...


class StatsTransaction(Inbox, FlowCompletion, CustomerOutbox, Protocol):
    """What answering one stats request does: the request seen, counted, the answer queued."""


def _period(since: datetime | None) -> str:
    return f" since {since:%Y-%m-%d}" if since is not None else ""


def _nothing_yet(counts: list[VersionCompletion], since: datetime | None) -> str:
    versions = " or ".join(f"version {count.version}" for count in counts)
    return (
        f"Flow '{counts[0].flow_id}' has no conversations in {versions}{_period(since)} yet, "
        "so there is nothing to draw."
    )


def in_progress_text(counts: dict[int, int]) -> str:
    """Conversations under way per version, newest first ("none" when there are none)."""
    shown = [f"v{version}: {counts[version]}" for version in sorted(counts, reverse=True)]
    return ", ".join(shown) or "none"


def recent_text(count: VersionCompletion) -> str:
    """The last weeks' completion rate of a live version, in a few words."""
    if not count.started:
        return f"no conversations of v{count.version} started"
    return (
        f"{share(count.finished, count.started)} of v{count.version}'s finish "
        f"({count.finished} of {count.started} started)"
    )


async def _reply(transaction: StatsTransaction, query: StatsQuery) -> OutgoingMessage:
    """The chart asked for, or the one sentence that says why there is none."""
    try:
        counts = [
            await transaction.completion(flow_id=query.flow_id, version=version, since=query.since)
            for version in query.versions
        ]
    except (FlowLibraryError, ValueError) as error:
        return OutgoingMessage(f"No stats: {error}.")
    if not any(count.started for count in counts):
        return OutgoingMessage(_nothing_yet(counts, query.since))
    chart = FunnelChart.of_flow(
        query.flow_id, tuple(count.version for count in counts), since=query.since
    )
    return OutgoingMessage("", attachments=(chart.attachment(),))


class SlackFlowStats:
    """Answers a stats request with the chart and its figures (read and drawn when delivered)."""

    def __init__(self, *, store: Store[StatsTransaction], outbox_signal: OutboxSignal) -> None:
        self._store = store
        self._outbox_signal = outbox_signal

    async def answer(self, asked: FlowStatsAsked) -> None:
        """Queue the chart (or one sentence) for the admin's DM, once per request."""
        key = ConversationKey(platform=PLATFORM, chat_id=asked.channel, user_id=asked.user_id)
        async with self._store.transaction() as transaction:
            # Claimed first: a request handled before costs nothing more, not even a count.
            if not await transaction.claim_inbound(
                platform=PLATFORM, external_id=asked.external_id
            ):
                return
            await transaction.enqueue(key=key, actions=[await _reply(transaction, asked.query)])
        self._outbox_signal.outbox_changed()
