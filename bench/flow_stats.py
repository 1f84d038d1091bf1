"""The funnel of 100,000 conversations of the shipped flow on SQLite: how long `flow_funnel` takes.

Run: .venv/bin/python -m bench.flow_stats [--conversations 100000] [--rounds 3]
Seeds a temporary SQLite file (customers, conversations with their states, transcripts with
the step each answer answered), then times the funnel, wall clock and CPU; the figures go to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers.flows.loader import load_flows
from storage.database import create_engine, create_sessions
from storage.flows.library import SqlFlowLibrary
from storage.flows.stats import SqlFlowStats
from storage.migrate import migrate
from tests.conftest import SHIPPED_FLOWS

STEPS = ["idea", "problem", "frequency", "importance", "contact", "email"]
VALUES: dict[str, object] = {
    "idea": "A dark mode for the app, so it is easier on the eyes at night",
    "problem": "The screen is too bright in the evening",
    "frequency": "weekly",
    "importance": 4,
    "contact": True,
    "email": "kari@example.com",
}
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _one(number: int, rng: random.Random) -> tuple[tuple[object, ...], list[tuple[object, ...]]]:
    """A conversation row and its transcript: it stops after a random number of steps."""
    started = NOW - timedelta(days=30, seconds=number * 20)
    answered = rng.choice([0, 1, 2, 3, 4, 5, 5, 6, 6, 6])
    steps = STEPS[:answered]
    status = "finished" if answered == len(STEPS) else rng.choice(["active", "cancelled"])
    step = "end" if answered == len(STEPS) else STEPS[answered]
    state = {"step": step, "attempts": 0, "answers": {s: VALUES[s] for s in steps}}
    moment = started
    messages: list[tuple[object, ...]] = [(number, number, "in", "/start", None, _stamp(moment))]
    for step_id in steps:
        messages.append((number, number, "out", "question", None, _stamp(moment)))
        moment += timedelta(seconds=rng.randint(5, 300))
        messages.append((number, number, "in", str(VALUES[step_id]), step_id, _stamp(moment)))
    conversation = (
        number, number, "telegram", str(number), "idea", 1, step, status,
        json.dumps(state), _stamp(started), _stamp(moment),
    )  # fmt: skip
    return conversation, messages


def seed(path: Path, conversations: int) -> None:
    """Customers, conversations and transcripts, written with the standard sqlite3 module."""
    rng = random.Random(10)
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO customer (id, platform, platform_user_id, chat_id, display_name, "
            "language, unreachable, unreachable_reason, wants_updates, created_at, updated_at) "
            "VALUES (?, 'telegram', ?, ?, '', 'en', 0, '', 1, ?, ?)",
            ((n, str(n), str(n), _stamp(NOW), _stamp(NOW)) for n in range(1, conversations + 1)),
        )
        rows = [_one(n, rng) for n in range(1, conversations + 1)]
        connection.executemany(
            "INSERT INTO conversation (id, customer_id, platform, chat_id, flow_id, flow_version,"
            " step, status, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (conversation for conversation, _ in rows),
        )
        connection.executemany(
            "INSERT INTO message (conversation_id, customer_id, direction, text, "
            "platform_message_id, author, answered, attachments, edited, created_at) "
            "VALUES (?, ?, ?, ?, '', '', ?, '[]', 0, ?)",
            (message for _, messages in rows for message in messages),
        )


async def run(conversations: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "stats.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        sessions = create_sessions(engine)
        await SqlFlowLibrary(sessions).push(
            load_flows(SHIPPED_FLOWS / "idea.yaml")[0], actor="bench"
        )
        seed(path, conversations)
        stats = SqlFlowStats(sessions)
        for _ in range(rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            funnel = await stats.flow_funnel("idea", now=NOW)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"{funnel.started} conversations: funnel in {wall:.2f} s "
                f"({cpu:.2f} s CPU); {funnel.finished} finished"
            )
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.conversations, arguments.rounds))


if __name__ == "__main__":
    main()
