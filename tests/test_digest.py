"""The digest on a seeded database: content, schedule, once per period across processes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digest_format import digest_text, flow_line
from bot.slack.format import escape
from handlers.flows.charts import ChartPanel, FunnelChart
from handlers.flows.loader import LoadedFlow
from handlers.ideas.digest import (
    Digest,
    DigestDesk,
    DigestFlow,
    DigestPair,
    DigestSchedule,
    Frequency,
    room_posts,
)
from handlers.ideas.status import IdeaStatus, StatusLabels, TagChange
from handlers.messages import ConversationKey
from handlers.staff.room import PostDigest, PostRoomFile, StaffRoom
from storage.dialogue.store import SqlDialogueStore
from storage.digest_queries import SqlDigestSource
from storage.outbox.deliveries import PostRoomDigest
from storage.outbox.store import SqlOutboxStore
from storage.similar_ideas import SimilarIdeas
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal, finish_default_flow, make_customer
from tests.helpers.idea_desk import change, desk
from tests.helpers.staff_desk import make_pair

Sessions = async_sessionmaker[AsyncSession]
ROOM = StaffRoom(platform="slack", chat_id="C0STAFF")


def digest_desk(sessions: Sessions, schedule: DigestSchedule | None = None) -> DigestDesk:
    return DigestDesk(
        store=SqlDialogueStore(sessions),
        source=SqlDigestSource(sessions),
        room=ROOM,
        schedule=schedule or DigestSchedule(),
        waiting_longer_than=timedelta(hours=24),
        outbox_signal=CountingSignal(),
    )


async def seeded(sessions: Sessions, flows: list[LoadedFlow]) -> None:
    """Two ideas (one <escaped>), a status change, tags, and a customer waiting for staff."""
    kari = await make_customer(sessions, flows)
    await finish_default_flow(kari)
    ola, staff = await make_pair(sessions, flows)  # Ola's idea goes to the staff room
    ola.key, ola.ids = ConversationKey("telegram", "77", "77"), kari.ids
    await ola.say("/start")
    await ola.say("<!here> Export to *CSV* please, every month")
    await ola.say("Spreadsheets are where we work")
    await ola.press("Every month")
    await ola.press("3")
    await ola.press("No")
    ideas = desk(sessions)
    await ideas.change_status(change(IdeaStatus.PLANNED))
    await ideas.change_tags(TagChange(external_id="t", idea_id=1, changed_by="Anne", add=("ui",)))
    await ideas.change_tags(TagChange(external_id="u", idea_id=2, changed_by="Anne", add=("ui",)))
    await ideas.change_tags(
        TagChange(external_id="v", idea_id=2, changed_by="Anne", add=("export",))
    )
    await staff.posts()  # the card is posted: Ola's thread exists, and nobody has answered
    per = await make_customer(sessions, flows)  # idea 3, like Kari's
    per.key, per.ids = ConversationKey("telegram", "99", "99"), kari.ids
    await per.say("/start")
    await per.say("Dark mode for the mobile app in the evening, please")
    await per.say("Too bright at night")
    await per.press("Every day")
    await per.press("5")
    await per.press("No")


@pytest.mark.parametrize(
    ("schedule", "now", "period", "due"),
    [
        (
            DigestSchedule(),
            datetime(2026, 11, 28, 10, tzinfo=UTC),  # a Saturday
            "2026-W48",
            datetime(2026, 11, 23, 9, tzinfo=UTC),
        ),
        (
            DigestSchedule(),
            datetime(2026, 11, 30, 8, 59, tzinfo=UTC),  # Monday, a minute early
            "2026-W48",
            datetime(2026, 11, 23, 9, tzinfo=UTC),
        ),
        (
            DigestSchedule(frequency=Frequency.DAILY, hour=7, timezone="Europe/Oslo"),
            datetime(2026, 11, 28, 6, 30, tzinfo=UTC),  # 07:30 in Oslo
            "2026-11-28",
            datetime(2026, 11, 28, 6, tzinfo=UTC),
        ),
    ],
)
def test_schedule_periods_and_due_times(
    schedule: DigestSchedule, now: datetime, period: str, due: datetime
) -> None:
    found_period, found_due = schedule.current(now)
    assert (found_period, found_due) == (period, due)


async def test_digest_content_on_a_seeded_database(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seeded(sessions, shipped_flows)
    later = utc_now() + timedelta(hours=30)
    digest = await digest_desk(sessions).build(later)
    assert [(idea.id, idea.status) for idea in digest.new_ideas] == [
        (1, "planned"),
        (2, "new"),
        (3, "new"),
    ]
    assert [idea.id for idea in digest.most_requested] == [1, 2, 3]
    assert [(c.idea_id, c.from_status, c.to_status, c.by) for c in digest.status_changes] == [
        (1, "new", "planned", "Anne")
    ]
    assert digest.themes == [("A dark mode for the mobile app, please, for the evening", 2)]
    assert digest.tags == [("ui", 2), ("export", 1)]
    (waiting,) = digest.waiting
    assert (waiting.customer_name, waiting.thread_ref) == ("Kari Nordmann", "thread-2")
    window = (later - timedelta(days=30)).isoformat()
    assert digest.flows == [
        DigestFlow(flow_id="idea", version=1, started=3, finished=3, since=window)
    ]
    assert Digest.from_json(digest.to_json()) == digest

    text = digest_text(digest, StatusLabels.default(), escape=escape, bold="*")
    assert "*New ideas: 3*" in text
    assert "• #2 &lt;!here&gt; Export to *CSV* please, every month (New, 1 asked)" in text
    assert "• #1 A dark mode for the mobile app, please, for the evening: New → Planned (Anne)" in (
        text
    )
    assert "• A dark mode for the mobile app, please, for the evening: 2 similar ideas" in text
    assert "• by tag: #ui 2, #export 1" in text
    assert text.endswith("*Flows, last 30 days*\n• idea v1: 100% finish")


def test_a_flow_line_names_where_most_leave() -> None:
    flow = DigestFlow("idea", 3, 100, 62, "How often do you run into this?", 18)
    assert flow_line(flow) == "idea v3: 62% finish; most leave at 'How often…' (18%)"
    assert flow_line(DigestFlow("campaign", 1, 0, 0)) == "campaign v1: no conversations started"


async def test_the_scheduled_digest_is_posted_once_per_period_by_any_process(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seeded(sessions, shipped_flows)
    now = utc_now()
    first, second = digest_desk(sessions), digest_desk(sessions)
    assert not await first.tick(now)  # a new installation waits for the next due time
    assert await first.tick(now + timedelta(days=7))
    assert not await second.tick(now + timedelta(days=7))  # another process, same period
    assert not await first.tick(now + timedelta(days=7, minutes=1))
    assert await second.tick(now + timedelta(days=14))  # the week after
    outbox = SqlOutboxStore(sessions)
    posted = [
        item
        for item in await outbox.claim_due(platforms=["slack"], limit=100, lease_seconds=30)
        if isinstance(item.delivery, PostRoomDigest)
    ]
    assert len(posted) == 1  # one at a time in the room; the second waits behind it
    off = digest_desk(sessions, DigestSchedule(frequency=Frequency.OFF))
    assert not await off.tick(now + timedelta(days=21))


async def test_asked_for_digest_is_posted_once_per_request(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seeded(sqlite_sessions, shipped_flows)
    desk_ = digest_desk(sqlite_sessions)
    assert await desk_.post_now(utc_now(), external_id="command:1") is not None
    assert await desk_.post_now(utc_now(), external_id="command:1") is None


def test_the_digest_is_followed_by_one_chart_of_its_flows_judged_at_its_end() -> None:
    since = datetime(2026, 10, 9, 9, tzinfo=UTC)
    digest = Digest(
        since="2026-11-01T09:00:00+00:00",
        until="2026-11-08T09:00:00+00:00",
        flows=[
            DigestFlow(flow_id="idea", version=3, started=10, finished=6, since=since.isoformat()),
            DigestFlow(flow_id="spring", version=1, started=0, finished=0),
            DigestFlow(flow_id="autumn", version=2, started=4, finished=1, since=since.isoformat()),
        ],
    )
    first, chart = room_posts(digest)
    assert first == PostDigest(digest)
    assert isinstance(chart, PostRoomFile)
    # The fewest finish first; a flow without conversations has nothing to draw.
    assert FunnelChart.of(chart.attachment) == FunnelChart(
        panels=(ChartPanel("autumn", 2), ChartPanel("idea", 3)),
        since=since,
        until=datetime(2026, 11, 8, 9, tzinfo=UTC),
        with_figures=False,
    )


def test_a_digest_of_twenty_live_flows_does_not_flood_the_staff_room() -> None:
    # Review R1, F7: one top-level chart per live flow, 21 posts for 20 flows.
    flows = [
        DigestFlow(flow_id=f"flow{n}", version=1, started=10, finished=n % 10) for n in range(20)
    ]
    digest = Digest(since="2026-11-23", until="2026-11-30", flows=flows)
    posts = room_posts(digest)
    assert len(posts) == 2
    chart = FunnelChart.of(posts[1].attachment)  # type: ignore[union-attr]
    assert [panel.flow_id for panel in chart.panels] == [
        "flow0",
        "flow10",
        "flow1",
        "flow11",
        "flow2",
        "flow12",
    ]
    text = digest_text(digest, StatusLabels.default())
    assert "the chart shows the 6 where the fewest finish: flow0, flow10, flow1" in text
    assert "chart shows" not in digest_text(
        Digest(since="2026-11-23", until="2026-11-30", flows=flows[:3]), StatusLabels.default()
    )


async def test_digest_lists_likely_duplicates_among_the_periods_open_ideas(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seeded(sessions, shipped_flows)
    later = utc_now() + timedelta(hours=30)
    source = SqlDigestSource(sessions, similar=SimilarIdeas())
    digest = await source.gather(
        since=later - timedelta(days=7), until=later, waiting_longer_than=timedelta(hours=24)
    )
    title = "A dark mode for the mobile app, please, for the evening"
    # Idea 3 is looked up and finds idea 1; the pair is listed once, whichever way it was found.
    assert digest.duplicates == [
        DigestPair(1, title, 3, "Dark mode for the mobile app in the evening, please")
    ]
    text = digest_text(digest, StatusLabels.default())
    assert f"• #1 {title} ↔ #3 Dark mode" in text
    assert "/ideas merge ID into ID" in text
    assert Digest.from_json(json.loads(json.dumps(digest.to_json()))) == digest
    # Only the period's ideas are looked up: a later week with no new ideas lists no pairs.
    quiet = await source.gather(
        since=later, until=later + timedelta(days=7), waiting_longer_than=timedelta(hours=24)
    )
    assert quiet.duplicates == []
    old = digest.to_json()
    del old["duplicates"]  # a digest queued before pairs were listed
    assert Digest.from_json(old).duplicates == []
