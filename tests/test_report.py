"""Issue 13: the leadership's report on a seeded database: every figure as seeded, on both
databases; hostile quotes escaped and clipped; the page fetches nothing; the command line."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.report_page import report_html
from handlers.flows.loader import LoadedFlow
from handlers.ideas.report import (
    QUOTE_LENGTH,
    AskedIdea,
    CampaignLine,
    Chart,
    FlowLine,
    Month,
    MonthFigures,
    Report,
    ReportData,
    ReportError,
    Wait,
    quote,
)
from handlers.ideas.status import IdeaStatus
from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from storage.report_queries import SqlReportSource
from tests.conftest import SHIPPED_FLOWS
from tests.helpers.cli import ideabot
from tests.helpers.report_seed import HOSTILE, seed_october

Sessions = async_sessionmaker[AsyncSession]
OCTOBER = Month(2026, 10)
HOURS = 3600.0
DAYS = 24 * HOURS


async def october(sessions: Sessions, flows: list[LoadedFlow]) -> Report:
    await seed_october(sessions, flows)
    data = await SqlReportSource(sessions).gather(OCTOBER, timezone="UTC")
    return Report(data, timezone="UTC")


async def test_the_month_figures_equal_the_seed(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    report = await october(sessions, shipped_flows)
    month = report.data.month
    assert month.ideas_in == 3  # the draft, September's and November's idea do not count
    assert month.conversations_started == 4
    assert month.invitations_sent == 4
    assert sorted(month.first_reply_seconds) == [2 * HOURS, 10 * HOURS]
    assert month.first_reply_missing == 1
    assert report.first_reply == Wait(2, 6 * HOURS, 10 * HOURS)
    assert sorted(month.news_seconds) == [1 * DAYS, 2 * DAYS]
    assert report.news == Wait(2, 1.5 * DAYS, 2 * DAYS)
    # Customers 1 and 5 (twice); not the pending row, not September's, not the invitation.
    assert month.customers_heard_back == 2


async def test_the_trend_months_equal_the_seed(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    report = await october(sessions, shipped_flows)
    trend = report.data.trend
    assert [figures.month.key for figures in trend] == [
        "2026-04",
        "2026-05",
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
    ]
    september = trend[-1]
    assert (september.ideas_in, september.conversations_started) == (1, 1)
    assert september.first_reply_seconds == (HOURS,)
    assert september.news_seconds == (2 * DAYS,)
    assert september.customers_heard_back == 1
    assert all(figures.ideas_in == 0 for figures in trend[:-1])
    assert report.summary().splitlines()[1] == "Ideas in: 3 (+2 on September 2026)"


async def test_tags_standing_and_most_asked_equal_the_seed(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    data = (await october(sessions, shipped_flows)).data
    assert data.tags == (("export", 2), ("csv", 1))
    # The export idea was under review at October's end; it is planned since November.
    assert data.standing == (
        (IdeaStatus.NEW, 1),
        (IdeaStatus.UNDER_REVIEW, 1),
        (IdeaStatus.PLANNED, 0),
        (IdeaStatus.IN_PROGRESS, 0),
        (IdeaStatus.DONE, 1),
        (IdeaStatus.DECLINED, 1),
    )
    asked = [(idea.title, idea.asked_in_month, idea.followers) for idea in data.most_asked]
    assert asked == [("Export to CSV", 3, 3), ("Dark mode", 1, 1), ("Faster app", 1, 1)]
    quotes = [idea.quote for idea in data.most_asked]
    assert len(quotes[0]) == QUOTE_LENGTH
    assert quotes[0].endswith("…")
    assert quotes[0].startswith("<script>alert('x')</script> Export")
    assert quotes[1:] == ["Dark mode, pls", "It is slow"]


async def test_campaigns_and_flows_equal_the_seed(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    data = (await october(sessions, shipped_flows)).data
    (autumn,) = data.campaigns
    assert (autumn.name, autumn.invited, autumn.delivered, autumn.opted_out) == ("autumn", 4, 3, 1)
    assert (autumn.started, autumn.finished, autumn.ideas) == (1, 1, 1)
    assert autumn.response_rate == pytest.approx(1 / 3)
    (idea,) = data.flows
    assert (idea.flow_id, idea.version) == ("idea", 1)
    assert (idea.started, idea.finished, idea.handed_to_staff) == (4, 3, 3)
    assert idea.completion == 0.75


async def test_the_page_escapes_clips_and_fetches_nothing(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    report = await october(sqlite_sessions, shipped_flows)
    page = report_html(report)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Export &lt;b&gt;" in page
    assert "🎉🚀" in page
    assert HOSTILE not in page
    assert "very " * 100 not in page
    # No name of a customer, no address: nothing outside the page is named or fetched.
    assert "Customer Name" not in page
    assert not re.search(r"https?:|//[a-z]", page)
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in page
    assert page.count("<svg") == len(report.charts) == len(Chart)
    assert "@media print" in page


def test_waits_are_median_and_nearest_rank_p90() -> None:
    assert Wait.of([]) == Wait(0, None, None)
    assert Wait.of([5.0]) == Wait(1, 5.0, 5.0)
    assert Wait.of([float(n) for n in range(1, 11)]) == Wait(10, 5.5, 9.0)
    assert Wait.of([float(n) for n in range(1, 12)]) == Wait(11, 6.0, 10.0)


@pytest.mark.parametrize(
    ("now", "timezone", "expected"),
    [
        (datetime(2026, 11, 30, 12, tzinfo=UTC), "UTC", Month(2026, 10)),
        (datetime(2026, 1, 3, tzinfo=UTC), "UTC", Month(2025, 12)),
        # Already December in Oslo while still November in UTC.
        (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Europe/Oslo", Month(2026, 11)),
    ],
)
def test_the_last_full_month_is_read_in_the_time_zone(
    now: datetime, timezone: str, expected: Month
) -> None:
    assert Month.last_full(now, timezone) == expected


@pytest.mark.parametrize("words", ["2026-13", "11-2026", "November", "2026-1", ""])
def test_a_month_that_is_no_month_gets_one_sentence(words: str) -> None:
    with pytest.raises(ReportError, match=r"is not a month: write it as YYYY-MM, e\.g\. 2026-11\."):
        Month.parse(words)


async def _seeded_file(folder: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'ideabot.db'}")
    try:
        await migrate(engine)
        from handlers.flows.loader import load_flows

        await seed_october(create_sessions(engine), load_flows(SHIPPED_FLOWS))
    finally:
        await engine.dispose()


async def test_the_command_writes_the_page_and_an_empty_month_gets_one_sentence(
    tmp_path: Path,
) -> None:
    await _seeded_file(tmp_path)
    made = ideabot("report", "--month", "2026-10", "--out", "october.html", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0] == "Report for October 2026"
    assert made.stdout.splitlines()[-1] == "Wrote october.html."
    assert (tmp_path / "october.html").read_text(encoding="utf-8").count("<svg") == len(Chart)

    empty = ideabot("report", "--month", "2026-03", "--out", "march.html", cwd=tmp_path)
    assert empty.returncode == 1
    assert empty.stderr == (
        "ideabot: No ideas, conversations or campaigns in March 2026 — nothing to report.\n"
    )
    assert not (tmp_path / "march.html").exists()

    wrong = ideabot("report", "--month", "2026-3", cwd=tmp_path)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().endswith("write it as YYYY-MM, e.g. 2026-11.")


def test_hostile_names_in_charts_and_tables_are_drawn_and_escaped() -> None:
    hostile = "<b>$\\frac{x</b>--><script>alert(1)</script>🎉" + "x" * 40
    data = ReportData(
        month=MonthFigures(Month(2026, 10), ideas_in=1, conversations_started=1),
        tags=((hostile[:64], 1),),
        themes=((hostile, 2),),
        most_asked=(AskedIdea(1, hostile, "new", 1, 1, quote(hostile * 10)),),
        campaigns=(CampaignLine(hostile[:64], 2, 2, 1, 1, 1, 0),),
        flows=(FlowLine("idea", 1, 1, 1),),
    )
    page = report_html(Report(data))
    assert "<script" not in page
    assert "<b>" not in page
    assert "&lt;b&gt;$\\frac{x&lt;/b&gt;--&gt;&lt;script&gt;" in page
    assert page.count("<svg") == 4  # ideas, tags, campaigns, flows


@pytest.mark.parametrize(
    "words",
    ["0000-01", "0001-01", "0001-06", "9999-12", "٢٠٢٦-11", "２０２６-11", "2026-1\u0661"],
)
def test_a_month_off_the_calendar_or_in_other_digits_gets_one_sentence(words: str) -> None:
    # Attack review: 0000-01 and 9999-12 passed and the command ended in a ValueError
    # traceback (the trend reaches back six months, the month's end one forward).
    with pytest.raises(ReportError, match=r"is not a month"):
        Month.parse(words)


def test_a_huge_month_is_not_echoed_whole() -> None:
    with pytest.raises(ReportError) as refused:
        Month.parse("2" * 100_000)
    assert len(str(refused.value)) < 200


def test_months_off_the_calendar_get_one_sentence_from_the_command(tmp_path: Path) -> None:
    for words in ("0000-01", "9999-12"):
        refused = ideabot("report", "--month", words, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.startswith("ideabot: ")
        assert "Traceback" not in refused.stderr


def _partial_files(folder: Path) -> list[str]:
    return [path.name for path in folder.glob(".*partial")]


def _outbox_rows(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / "ideabot.db") as database:
        return int(database.execute("select count(*) from outbox").fetchone()[0])


async def test_a_page_that_cannot_be_written_posts_nothing_and_leaves_no_half(
    tmp_path: Path,
) -> None:
    # Attack review: with --post, the charts were queued for Slack before the page was
    # written, so an --out that is a folder queued the post and then failed.
    await _seeded_file(tmp_path)
    slack = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "a-signing-secret-for-tests",
        "SLACK_STAFF_CHANNEL": "C0STAFF",
    }
    folder = tmp_path / "reports"
    folder.mkdir()
    seeded = _outbox_rows(tmp_path)
    for out, said in (
        (folder, f"ideabot: {folder} is a folder: give the name of a file in it\n"),
        (tmp_path / "none" / "r.html", f"ideabot: there is no folder {tmp_path / 'none'} "
         "to write r.html in\n"),
    ):  # fmt: skip
        refused = ideabot(
            "report", "--month", "2026-10", "--out", str(out), "--post", cwd=tmp_path, **slack
        )
        assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", said)
    assert _outbox_rows(tmp_path) == seeded
    posted = ideabot(
        "report", "--month", "2026-10", "--out", "october.html", "--post", cwd=tmp_path, **slack
    )
    assert posted.returncode == 0, posted.stderr
    assert _outbox_rows(tmp_path) == seeded + len(Chart)
    assert _partial_files(tmp_path) == []
