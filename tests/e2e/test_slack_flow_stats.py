"""The real ``ideabot run``: flow stats come to an admin's DM, and to the digest, as a picture."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.doubles.slack_api import STAFF_CHANNEL, SlackPerson, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.conftest import ANNE, BotFactory
from tests.e2e.test_slack_flow_admin import AdminDm
from tests.helpers.slack_staff import (
    events_to,
    finish_flow_on_telegram,
    slack_settings,
    wait_for_card,
)

ADA = SlackPerson("U0ADA", "Ada Admin")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_real_png(data: bytes) -> None:
    """A PNG that decodes to a picture of a chart's size, not an empty or broken file."""
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 5_000, f"only {len(data)} bytes"
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        width, height = image.size
        assert image.format == "PNG"
    assert 400 <= width <= 3000, width
    assert 200 <= height <= 3000, height


def uploads_to(slack_api: SlackWebApiDouble, channel: str) -> list[dict[str, Any]]:
    return [upload for upload in slack_api.uploads if upload["channel"] == channel]


async def test_the_stats_button_uploads_the_funnel_chart_with_its_figures_to_the_admin(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    slack_api.add(ADA)
    bot = bot_factory(**slack_settings(slack_api), SLACK_ADMIN_USERS=ADA.user_id)
    await bot.start()
    dm = AdminDm(slack_api, events_to(bot))
    await finish_flow_on_telegram(telegram_api, Customer(user_id=951, first_name="Kari"))
    halfway = Customer(user_id=952, first_name="Ola")
    await telegram_api.send_text(halfway, "/start")
    await telegram_api.wait_for_messages(halfway, 1)

    assert (await dm.events.command(ADA, "flows")).status_code == 200
    overview = await dm.answer(1)
    assert "In progress: v1: 1" in overview.text
    assert "Last 30 days: 50% of v1's finish (1 of 2 started)" in overview.text
    assert overview.button_labels == ["Download", "History", "Stats", "Roll back"]

    assert (await dm.events.click(ADA, overview, "Stats")).status_code == 200
    await slack_api.wait_until(lambda: len(uploads_to(slack_api, ADA.dm_channel)) == 1)
    (chart,) = uploads_to(slack_api, ADA.dm_channel)
    assert chart["filename"] == "idea-v1-funnel.png"
    assert chart["thread_ts"] is None
    assert_real_png(chart["data"])
    figures = chart["initial_comment"]
    assert figures.startswith("```flow 'idea' version 1: 2 started, 1 finished (50%)")
    assert "1 in progress" in figures

    # Typed, two versions side by side: the shipped flow has one, so the admin is told.
    assert (await dm.events.command(ADA, "flows stats idea --compare 1 2")).status_code == 200
    assert (await dm.answer(2)).text == "No stats: flow 'idea' has no version 2."
    await dm.events.command(ADA, "flows stats idea --since 2099-01-01")
    assert (await dm.answer(3)).text == (
        "Flow 'idea' has no conversations in version 1 since 2099-01-01 yet, "
        "so there is nothing to draw."
    )
    await dm.events.command(ADA, "flows stats idea --version two")
    assert (await dm.answer(4)).text == (
        "--version needs a version number such as 2; type it as "
        "/ideabot flows stats NAME [--version N] [--since YYYY-MM-DD] [--compare A B]."
    )
    await dm.events.command(ADA, "flows stats idea --since 2020-01-01 --version 1")
    await slack_api.wait_until(lambda: len(uploads_to(slack_api, ADA.dm_channel)) == 2)
    assert_real_png(uploads_to(slack_api, ADA.dm_channel)[1]["data"])
    assert uploads_to(slack_api, ADA.dm_channel)[1]["initial_comment"].startswith(
        "```flow 'idea' version 1 since 2020-01-01: 2 started"
    )
    assert len(dm.answers()) == 4


async def test_the_digest_comes_with_the_chart_of_each_live_flow(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
) -> None:
    bot = bot_factory(**slack_settings(slack_api))
    await bot.start()
    await finish_flow_on_telegram(telegram_api, Customer(user_id=953, first_name="Kari"))
    await wait_for_card(slack_api)

    answer = await events_to(bot).command(ANNE, "digest", command="/ideas", channel=STAFF_CHANNEL)
    assert answer.text == "The digest is on its way to this channel."
    await slack_api.wait_until(lambda: len(uploads_to(slack_api, STAFF_CHANNEL)) == 1)
    (chart,) = uploads_to(slack_api, STAFF_CHANNEL)
    assert chart["filename"] == "idea-v1-funnel.png"
    assert chart["thread_ts"] is None
    # The digest's own line has the figures; the chart comes without a table.
    assert chart["initial_comment"] is None
    assert_real_png(chart["data"])
    (digest,) = [
        post.text
        for post in slack_api.posts_in(STAFF_CHANNEL)
        if post.thread_ts is None and post.text.startswith("*Ideas digest")
    ]
    assert "• idea v1: 100% finish" in digest
