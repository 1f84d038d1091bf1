"""Issue 11 end to end: a Telegram customer erased with the CLI while `ideabot run` runs.

The Slack double sees a delete or rewrite for every post ideabot made with their words, and a
``files.delete``; the staff reply is listed in the report; afterwards no table of the database
and no line of the log at INFO holds their words, name or ids.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.doubles.slack_api import STAFF_CHANNEL, SlackWebApiDouble
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import outbox_settled
from tests.e2e.conftest import ANNE, BotFactory
from tests.helpers.cli import ideabot
from tests.helpers.privacy import erasures_finished, sqlite_dump
from tests.helpers.slack_staff import (
    events_to,
    finish_flow_on_telegram,
    slack_settings,
    wait_for_card,
)
from tests.waiting import eventually

ADMIN = "U0ADMIN"
NAME = "Zephyrine"
USER_ID = 48151623
WORDS = ("dark mode for the app", "My eyes hurt in bed", "Quasimodo-theme", "zephyrine-sketch")


def _database_text(sqlite_url: str) -> str:
    return sqlite_dump(sqlite_url)


def _erasure_finished(sqlite_url: str) -> bool:
    return erasures_finished(sqlite_url) == 1


async def test_a_customer_erased_from_the_command_line_is_gone_from_the_database_slack_and_log(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    slack_api.rate_limits["chat.delete"] = [1]
    bot = bot_factory(**slack_settings(slack_api), SLACK_ADMIN_USERS=ADMIN)
    await bot.start()
    customer = Customer(user_id=USER_ID, first_name=NAME)
    await finish_flow_on_telegram(telegram_api, customer)
    card = await wait_for_card(slack_api)
    _, reply = await events_to(bot).staff_reply(ANNE, card.ts, "Thanks! Which phone do you use?")
    await telegram_api.wait_for_messages(customer, 7)
    await telegram_api.send_text(customer, "A Pixel, with the Quasimodo-theme")
    document = await telegram_api.send_document(customer, "zephyrine-sketch.pdf", b"%PDF-1.4")
    file_id = document["message"]["document"]["file_id"]
    await slack_api.wait_until(lambda: len(slack_api.uploads) == 1)
    await outbox_settled(sqlite_url)
    thread_posts = slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)
    assert [post.username for post in thread_posts] == [NAME]
    before = _database_text(sqlite_url)
    traces = [NAME, str(USER_ID), file_id, *WORDS]
    assert all(trace in before for trace in traces)

    environment = {"DATABASE_URL": sqlite_url, "SLACK_ADMIN_USERS": ADMIN}
    found = ideabot("customers", "find", NAME, cwd=tmp_path, **environment)
    customer_id = found.stdout.splitlines()[1].split()[0]
    erased = ideabot("customers", "erase", customer_id, "--yes", cwd=tmp_path, **environment)
    assert erased.returncode == 0, erased.stderr

    async def finished() -> bool:
        return _erasure_finished(sqlite_url)

    await eventually(finished, timeout=20, what="the erasure's Slack steps")
    rewrite = [update for update in slack_api.updates if update["ts"] == card.ts][-1]
    assert "erased" in rewrite["text"]
    assert NAME not in rewrite["text"]
    deleted = {(deletion["channel"], deletion["ts"]) for deletion in slack_api.deletions}
    assert deleted == {(STAFF_CHANNEL, post.ts) for post in thread_posts}
    assert slack_api.deleted_files == [upload["id"] for upload in slack_api.uploads]
    in_thread, to_admin = slack_api.posts[-2:]
    assert (in_thread.thread_ts, to_admin.channel) == (card.ts, ADMIN)
    # The report links the staff reply, which a bot token cannot delete, for an admin.
    assert f"archives/{STAFF_CHANNEL}/p{reply['event']['ts'].replace('.', '')}" in in_thread.text
    assert to_admin.text == in_thread.text

    after = _database_text(sqlite_url)
    assert [trace for trace in traces if trace in after] == []
    log = bot.log() + erased.stdout + erased.stderr
    assert [trace for trace in traces if trace in log] == []


async def test_an_erasure_killed_during_a_slack_outage_finishes_exactly_once_after_restart(
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    settings = {**slack_settings(slack_api), "SLACK_ADMIN_USERS": ADMIN}
    bot = bot_factory(**settings)
    await bot.start()
    customer = Customer(user_id=USER_ID, first_name=NAME)
    await finish_flow_on_telegram(telegram_api, customer)
    card = await wait_for_card(slack_api)
    await telegram_api.send_text(customer, "A Pixel, with the Quasimodo-theme")
    await slack_api.wait_until(
        lambda: len(slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)) == 1
    )
    await outbox_settled(sqlite_url)
    (thread_post,) = slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)

    slack_api.down = True
    environment = {"DATABASE_URL": sqlite_url, "SLACK_ADMIN_USERS": ADMIN}
    customer_id = ideabot("customers", "find", NAME, cwd=tmp_path, **environment).stdout
    erased = ideabot(
        "customers",
        "erase",
        customer_id.splitlines()[1].split()[0],
        "--yes",
        cwd=tmp_path,
        **environment,
    )
    assert erased.returncode == 0, erased.stderr
    # The running bot tries its first step while Slack is down, and dies.
    await slack_api.wait_until(
        lambda: any(
            call.status == 503 and call.method == "chat.update" for call in slack_api.calls
        ),
        timeout=20,
    )
    bot.kill_hard()
    assert await bot.wait_exit() != 0
    slack_api.down = False
    await bot_factory(**settings).start()

    async def finished() -> bool:
        return _erasure_finished(sqlite_url)

    await eventually(finished, timeout=30, what="the erasure after the restart")
    done = [
        (call.method, call.status, call.error) for call in slack_api.calls if call.status != 503
    ]
    erasure_calls = [call for call in done if call[0] in ("chat.delete", "files.delete")]
    assert erasure_calls == [("chat.delete", 200, "")]
    assert slack_api.deletions == [{"channel": STAFF_CHANNEL, "ts": thread_post.ts}]
    assert [update["ts"] for update in slack_api.updates].count(card.ts) >= 1
    reports = [post for post in slack_api.posts if post.text.startswith("Erasure 1:")]
    assert [(post.channel, post.thread_ts) for post in reports] == [
        (STAFF_CHANNEL, card.ts),
        (ADMIN, None),
    ]
    assert [
        trace for trace in (NAME, str(USER_ID), *WORDS[:3]) if trace in _database_text(sqlite_url)
    ] == []


@pytest.mark.postgres
async def test_two_processes_on_postgresql_carry_out_each_step_of_an_erasure_once(
    postgres_url: str,
    telegram_api: TelegramBotApiDouble,
    slack_api: SlackWebApiDouble,
    bot_factory: BotFactory,
    tmp_path: Path,
) -> None:
    settings = {**slack_settings(slack_api), "SLACK_ADMIN_USERS": ADMIN}
    bots = [bot_factory(postgres_url, **settings) for _ in range(2)]
    # Only one process may poll Telegram; both deliver the outbox.
    bots[1].environment["TELEGRAM_BOT_TOKEN"] = ""
    for bot in bots:
        await bot.start()
    customer = Customer(user_id=USER_ID, first_name=NAME)
    await finish_flow_on_telegram(telegram_api, customer)
    card = await wait_for_card(slack_api)
    for number in range(3):
        await telegram_api.send_text(customer, f"Quasimodo-theme, part {number}")
    await slack_api.wait_until(
        lambda: len(slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)) == 3
    )
    thread_posts = slack_api.posts_in(STAFF_CHANNEL, thread_ts=card.ts)

    environment = {"DATABASE_URL": postgres_url, "SLACK_ADMIN_USERS": ADMIN}
    found = ideabot("customers", "find", NAME, cwd=tmp_path, **environment)
    erased = ideabot(
        "customers",
        "erase",
        found.stdout.splitlines()[1].split()[0],
        "--yes",
        cwd=tmp_path,
        **environment,
    )
    assert erased.returncode == 0, erased.stderr
    engine = create_async_engine(postgres_url)

    async def finished() -> bool:
        async with engine.connect() as connection:
            done = await connection.scalar(
                text("select count(*) from erasure where finished_at is not null")
            )
        return bool(done == 1)

    try:
        await eventually(finished, timeout=30, what="the erasure on two processes")
    finally:
        await engine.dispose()
    deletes = [call for call in slack_api.calls if call.method == "chat.delete"]
    assert [call.error for call in deletes] == ["", "", ""]
    assert sorted(d["ts"] for d in slack_api.deletions) == sorted(p.ts for p in thread_posts)
    reports = [post for post in slack_api.posts if post.text.startswith("Erasure 1:")]
    assert len(reports) == 2
