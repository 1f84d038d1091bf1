"""The staff's regular digest: what came in, what moved, what is asked most, who waits."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from handlers.flows.charts import ChartPanel, FunnelChart
from handlers.flows.funnel import FlowFunnel
from handlers.ports import Inbox, OutboxSignal, Schedule, StaffOutbox, Store
from handlers.staff.room import PostDigest, PostRoomFile, RoomAction, StaffRoom

logger = logging.getLogger(__name__)

DIGEST_JOB = "digest"
# The digest's chart shows at most this many flows (in a grid), so it stays one readable picture.
CHARTED_FLOWS = 6


@dataclass(frozen=True, slots=True)
class DigestIdea:
    """One idea as the digest lists it."""

    id: int
    title: str
    status: str
    linked: int = 0


@dataclass(frozen=True, slots=True)
class DigestChange:
    """One status change in the period."""

    idea_id: int
    title: str
    from_status: str
    to_status: str
    by: str


@dataclass(frozen=True, slots=True)
class DigestPair:
    """Two open ideas that are likely the same: staff may merge one into the other."""

    first_id: int
    first_title: str
    second_id: int
    second_title: str


@dataclass(frozen=True, slots=True)
class WaitingConversation:
    """A customer who has waited for a staff reply since ``since``."""

    conversation_id: int
    customer_name: str
    since: str
    thread_channel: str = ""
    thread_ref: str = ""


@dataclass(frozen=True, slots=True)
class DigestFlow:
    """A live flow's funnel of the last weeks, in a line: finished, and where most leave."""

    flow_id: str
    version: int
    started: int
    finished: int
    # The question most customers left at, and how many left there ("" and 0: nobody left).
    most_left_at: str = ""
    most_left: int = 0
    # Since when the conversations are counted (ISO 8601; "" in digests of older versions).
    since: str = ""

    @classmethod
    def of(cls, funnel: FlowFunnel) -> DigestFlow:
        """The digest's line of a funnel."""
        worst = funnel.most_left
        return cls(
            flow_id=funnel.flow_id,
            version=funnel.version,
            started=funnel.started,
            finished=funnel.finished,
            most_left_at=worst.question if worst is not None else "",
            most_left=worst.left if worst is not None else 0,
            since=funnel.since.isoformat() if funnel.since is not None else "",
        )

    @property
    def finish_share(self) -> float:
        """The share of started conversations that finished (0 when none started)."""
        return self.finished / self.started if self.started else 0.0


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything one digest says."""

    since: str
    until: str
    new_ideas: list[DigestIdea] = field(default_factory=list)
    most_requested: list[DigestIdea] = field(default_factory=list)
    status_changes: list[DigestChange] = field(default_factory=list)
    # Groups of similar open ideas: the most asked one's title, and how many ideas.
    themes: list[tuple[str, int]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)
    waiting: list[WaitingConversation] = field(default_factory=list)
    flows: list[DigestFlow] = field(default_factory=list)
    # Likely duplicates among open ideas, the likeliest first.
    duplicates: list[DigestPair] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The digest as JSON-ready data, for the outbox."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Digest:
        """A digest from what ``to_json`` wrote."""
        return cls(
            since=data["since"],
            until=data["until"],
            new_ideas=[DigestIdea(**item) for item in data.get("new_ideas", [])],
            most_requested=[DigestIdea(**item) for item in data.get("most_requested", [])],
            status_changes=[DigestChange(**item) for item in data.get("status_changes", [])],
            themes=[(str(name), int(count)) for name, count in data.get("themes", [])],
            tags=[(str(name), int(count)) for name, count in data.get("tags", [])],
            waiting=[WaitingConversation(**item) for item in data.get("waiting", [])],
            flows=[DigestFlow(**item) for item in data.get("flows", [])],
            duplicates=[DigestPair(**item) for item in data.get("duplicates", [])],
        )


def charted(flows: list[DigestFlow]) -> list[DigestFlow]:
    """The flows the digest's chart shows: of those with conversations, where fewest finish."""
    started = [flow for flow in flows if flow.started]
    return sorted(started, key=lambda flow: (flow.finish_share, -flow.started))[:CHARTED_FLOWS]


def digest_chart(digest: Digest) -> FunnelChart | None:
    """One chart of the charted flows over the lines' conversations, judged at the digest's end."""
    shown = charted(digest.flows)
    if not shown:
        return None
    return FunnelChart(
        panels=tuple(ChartPanel(flow.flow_id, flow.version) for flow in shown),
        # The lines count the same window for every flow: since when, the first one says.
        since=datetime.fromisoformat(shown[0].since) if shown[0].since else None,
        until=datetime.fromisoformat(digest.until),
        with_figures=False,
    )


def room_posts(digest: Digest) -> list[RoomAction]:
    """The digest, then one chart of its flows right after it (none when no flow had any)."""
    chart = digest_chart(digest)
    return [PostDigest(digest)] + ([PostRoomFile(chart.attachment())] if chart else [])


class DigestSource(Protocol):
    """Reads what a digest needs from the database."""

    async def gather(
        self, *, since: datetime, until: datetime, waiting_longer_than: timedelta
    ) -> Digest:
        """The digest of the period from ``since`` to ``until``."""
        ...

    async def last_run(self, *, job: str) -> datetime | None:
        """When the job last ran on its schedule, if ever."""
        ...

    async def has_run(self, *, job: str, period: str) -> bool:
        """True if the job already ran for ``period``."""
        ...


class DigestTransaction(Inbox, Schedule, StaffOutbox, Protocol):
    """What posting one digest reads and writes, committed together."""


@dataclass(frozen=True, slots=True)
class DigestRequest:
    """A staff member asked for the digest now."""

    external_id: str


class Frequency(StrEnum):
    """How often the digest comes."""

    WEEKLY = "weekly"
    DAILY = "daily"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When the digest is due: weekly on a weekday, or daily, at an hour, in a time zone."""

    frequency: Frequency = Frequency.WEEKLY
    weekday: int = 0  # Monday
    hour: int = 9
    timezone: str = "UTC"

    def current(self, now: datetime) -> tuple[str, datetime]:
        """The period ``now`` falls in and the moment its digest is due."""
        local = now.astimezone(ZoneInfo(self.timezone))
        due = local.replace(hour=self.hour, minute=0, second=0, microsecond=0)
        if self.frequency is Frequency.WEEKLY:
            due -= timedelta(days=(local.weekday() - self.weekday) % 7)
            if due > local:
                due -= timedelta(days=7)
            year, week, _ = due.isocalendar()
            return f"{year}-W{week:02d}", due
        if due > local:
            due -= timedelta(days=1)
        return due.date().isoformat(), due

    @property
    def length(self) -> timedelta:
        """How long one period is."""
        return timedelta(days=7 if self.frequency is Frequency.WEEKLY else 1)


class DigestDesk:
    """Posts the digest to the staff room on schedule (once per period) and on request."""

    def __init__(
        self,
        *,
        store: Store[DigestTransaction],
        source: DigestSource,
        room: StaffRoom | None,
        schedule: DigestSchedule,
        waiting_longer_than: timedelta,
        outbox_signal: OutboxSignal,
    ) -> None:
        self._store = store
        self._source = source
        self._room = room
        self._schedule = schedule
        self._waiting = waiting_longer_than
        self._outbox_signal = outbox_signal

    async def build(self, now: datetime) -> Digest:
        """The digest of the time since the last scheduled one (or one period)."""
        since = await self._source.last_run(job=DIGEST_JOB) or now - self._schedule.length
        return await self._source.gather(since=since, until=now, waiting_longer_than=self._waiting)

    async def tick(self, now: datetime) -> bool:
        """Post this period's digest if it is due and no process has posted it yet."""
        if self._room is None or self._schedule.frequency is Frequency.OFF:
            return False
        period, due = self._schedule.current(now)
        if now < due or await self._source.has_run(job=DIGEST_JOB, period=period):
            return False
        if await self._source.last_run(job=DIGEST_JOB) is None:
            # A new installation: the first digest comes at the next due time, not at once.
            async with self._store.transaction() as transaction:
                await transaction.claim_scheduled_run(job=DIGEST_JOB, period=period, at=now)
            return False
        digest = await self.build(now)
        async with self._store.transaction() as transaction:
            if not await transaction.claim_scheduled_run(job=DIGEST_JOB, period=period, at=now):
                return False
            await transaction.enqueue_to_room(room=self._room, actions=room_posts(digest))
        self._outbox_signal.outbox_changed()
        logger.info("posted the digest for %s", period)
        return True

    async def post_now(self, now: datetime, *, external_id: str) -> Digest | None:
        """Post a digest at once (``/ideas digest``); None if this request was handled before."""
        digest = await self.build(now)
        if self._room is None:
            return digest
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(platform="staff", external_id=external_id):
                return None
            await transaction.enqueue_to_room(room=self._room, actions=room_posts(digest))
        self._outbox_signal.outbox_changed()
        return digest
