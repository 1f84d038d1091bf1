"""Issue 13: the real ``ideabot run`` posts last month's report to its Slack channel once: its
charts as PNGs with the summary, and not again after a kill -9 and a restart."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.flows.loader import load_flows
from handlers.ideas.report import Chart, Month
from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from tests.conftest import SHIPPED_FLOWS
from tests.doubles.slack_api import SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import BotFactory
from tests.e2e.test_slack_flow_stats import assert_real_png, uploads_to
from tests.helpers.report_seed import seed_october
from tests.helpers.slack_staff import slack_settings

REPORT_CHANNEL = "C0REPORT"


async def test_the_monthly_report_is_posted_once_across_a_kill_and_a_restart(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
) -> None:
    # The report due now is last month's: the seed's figures are moved to it.
    month = Month.last_full(datetime.now(UTC), "UTC")
    engine = create_engine(sqlite_url)
    try:
        await migrate(engine)
        await seed_october(create_sessions(engine), load_flows(SHIPPED_FLOWS), month=month)
    finally:
        await engine.dispose()
    settings = {
        **slack_settings(slack_api),
        "REPORT_SLACK_CHANNEL": REPORT_CHANNEL,
        "REPORT_DAY": "1",
        "REPORT_HOUR": "0",
        "REMINDER_SWEEP_SECONDS": "1",
    }
    first = bot_factory(**settings)
    await first.start()
    await slack_api.wait_until(lambda: len(uploads_to(slack_api, REPORT_CHANNEL)) == len(Chart))
    charts = uploads_to(slack_api, REPORT_CHANNEL)
    assert [chart["filename"] for chart in charts] == [
        f"report-{month.key}-{chart.value}.png" for chart in Chart
    ]
    for chart in charts:
        assert_real_png(chart["data"])
    summary = charts[0]["initial_comment"]
    assert summary.startswith(f"```Report for {month.label}\nIdeas in: 3 (+2 on ")
    assert "Customers who heard back: 2" in summary
    assert "Customer Name" not in summary
    assert all(not chart["initial_comment"] for chart in charts[1:])

    first.kill_hard()
    await first.wait_exit()
    again = bot_factory(**settings)
    await again.start()
    # A customer's round trip through the restarted bot: its sweeps (every second) have run.
    kari = Customer(user_id=961, first_name="Kari")
    await telegram_api.send_text(kari, "/start")
    await telegram_api.wait_for_messages(kari, 1)
    assert len(uploads_to(slack_api, REPORT_CHANNEL)) == len(Chart)
