"""`ideabot deadletters list|show|retry|drop` and `ideabot status` on a seeded database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from storage.dead_letters import SqlDeadLetters
from storage.event_queue import SqlEventQueue
from storage.tables import PlatformEventRow
from tests.helpers.cli import ideabot

WORDS = "my secret idea"
TELEGRAM_UPDATE = {"update_id": 4242, "message": {"message_id": 1, "text": WORDS + "\x00"}}
SLACK_BODY = {
    "type": "event_callback",
    "event_id": "Ev0POISON",
    "event": {"type": "message", "channel": "D0SIRI", "channel_type": "im", "text": WORDS},
}


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A Telegram update that could not be read, and a Slack event that failed for good."""
    await SqlDeadLetters(sessions).put(
        platform="telegram",
        external_id="4242",
        ordering_key="",
        reason="unreadable update: TypeError",
        payload=TELEGRAM_UPDATE,
    )
    queue = SqlEventQueue(sessions)
    await queue.store(
        platform="slack", external_id="Ev0POISON", ordering_key="D0SIRI:", payload=SLACK_BODY
    )
    (event,) = await queue.claim_due(platform="slack", limit=1, lease_seconds=30)
    await queue.fail(event, error="KeyError")


async def event_states(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(col(PlatformEventRow.external_id), col(PlatformEventRow.state))
        )
        return {external_id: state for external_id, state in rows}


async def test_list_show_retry_and_drop(
    sessions: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path
) -> None:
    await seed(sessions)
    run = {"DATABASE_URL": database_url}

    status = ideabot("status", cwd=tmp_path, **run)
    assert status.returncode == 1, status.stdout + status.stderr
    assert "✗ dead letters: 2 (slack: 1, telegram: 1)" in status.stdout

    listed = ideabot("deadletters", "list", cwd=tmp_path, **run)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[1] == "telegram"
    assert "4242" in lines[0]
    assert lines[0].endswith("unreadable update: TypeError")
    assert lines[1].split()[1] == "slack"
    assert "Ev0POISON" in lines[1]
    assert lines[1].endswith("KeyError")
    assert WORDS not in listed.stdout  # the customers' words only when asked for
    telegram_id, slack_id = (line.split()[0].lstrip("#") for line in lines)

    shown = ideabot("deadletters", "show", telegram_id, cwd=tmp_path, **run)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == TELEGRAM_UPDATE  # exactly as it came, NUL included
    with_payload = ideabot("deadletters", "list", "--show", slack_id, cwd=tmp_path, **run)
    assert json.loads(with_payload.stdout.split("\n", 2)[2]) == SLACK_BODY

    retried = ideabot(
        "deadletters",
        "retry",
        slack_id,
        telegram_id,
        cwd=tmp_path,
        TELEGRAM_BOT_TOKEN="123:abc",
        **run,
    )
    assert retried.returncode == 0, retried.stderr
    assert await event_states(sessions) == {"Ev0POISON": "pending", "4242": "pending"}
    # Slack is not set up for this command: it says the Slack letter waits until it is.
    assert "note: slack is not set up here" in retried.stdout
    assert "telegram is not set up" not in retried.stdout
    assert "waiting: 2" in ideabot("status", cwd=tmp_path, **run).stdout
    assert ideabot("deadletters", "list", cwd=tmp_path, **run).stdout.strip() == "no dead letters"
    # The retried Telegram update is queued repaired, so PostgreSQL's JSON can hold it.
    queue = SqlEventQueue(sessions)
    claimed = await queue.claim_due(platform="telegram", limit=5, lease_seconds=30)
    assert claimed[0].payload["message"]["text"] == WORDS + "\ufffd"
    await queue.fail(claimed[0], error="failed again")

    missing = ideabot("deadletters", "drop", "999", cwd=tmp_path, **run)
    assert missing.returncode == 2
    assert "no dead letter #999" in missing.stderr
    assert (
        ideabot("deadletters", "drop", cwd=tmp_path, **run).returncode == 2
    )  # neither ids nor --all
    dropped = ideabot("deadletters", "drop", "--all", cwd=tmp_path, **run)
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.startswith("dropped: #")
    assert (await SqlDeadLetters(sessions).counts()) == {}
    healthy = ideabot("status", cwd=tmp_path, **run)
    assert "dead letters" not in healthy.stdout
