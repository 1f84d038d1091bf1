"""The leadership's report on SQLite: how long reading a month and drawing its page take.

Run: .venv/bin/python -m bench.report [--ideas 10000]
Seeds a temporary SQLite file with ideas (a customer, conversation and follower each) spread
over six months, then times the report of the last; the figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.app import import_flows
from bot.report_page import report_html
from handlers.flows.loader import load_flows
from handlers.ideas.report import Month, Report
from storage.database import create_engine, create_sessions
from storage.flows.library import SqlFlowLibrary
from storage.migrate import migrate
from storage.report_queries import SqlReportSource
from storage.tables import ConversationRow, CustomerRow, IdeaFollowerRow, IdeaRow, table_of
from tests.conftest import SHIPPED_FLOWS

WORDS = [
    "export",
    "csv",
    "dark",
    "mode",
    "invoices",
    "pdf",
    "faster",
    "app",
    "login",
    "sso",
    "calendar",
    "sync",
    "mobile",
    "offline",
    "search",
    "filter",
    "tags",
    "report",
]
FIRST_DAY = datetime(2026, 5, 1, tzinfo=UTC)
REPORTED = Month(2026, 10)


def _rows(count: int) -> dict[type[Any], list[dict[str, Any]]]:
    random.seed(1)
    when = [FIRST_DAY + timedelta(seconds=random.randrange(180 * 86400)) for _ in range(count)]
    numbers = range(1, count + 1)
    return {
        CustomerRow: [
            {
                "platform": "telegram",
                "platform_user_id": str(n),
                "chat_id": str(n),
                "language": "en",
            }
            for n in numbers
        ],
        ConversationRow: [
            {
                "customer_id": n,
                "platform": "telegram",
                "chat_id": str(n),
                "flow_id": "idea",
                "flow_version": 1,
                "step": "end",
                "status": "finished",
                "state": {},
                "created_at": when[n - 1],
                "updated_at": when[n - 1],
            }
            for n in numbers
        ],
        IdeaRow: [
            {
                "customer_id": n,
                "conversation_id": n,
                "title": " ".join(random.sample(WORDS, 3)),
                "description": " ".join(random.sample(WORDS, 8)),
                "language": "en",
                "answers": {},
                "attachments": [],
                "created_at": when[n - 1],
                "updated_at": when[n - 1],
            }
            for n in numbers
        ],
        IdeaFollowerRow: [
            {"idea_id": n, "customer_id": n, "kind": "author", "created_at": when[n - 1]}
            for n in numbers
        ],
    }


async def measure(ideas: int, folder: Path) -> str:
    """One line of figures for ``ideas`` ideas."""
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'report.db'}")
    try:
        await migrate(engine)
        sessions = create_sessions(engine)
        await import_flows(SqlFlowLibrary(sessions), load_flows(SHIPPED_FLOWS))
        async with sessions.begin() as session:
            for row, values in _rows(ideas).items():
                await session.execute(insert(table_of(row)), values)
        began = time.perf_counter()
        data = await SqlReportSource(sessions).gather(REPORTED, timezone="UTC")
        gathered = time.perf_counter() - began
        began = time.perf_counter()
        page = report_html(Report(data))
        drawn = time.perf_counter() - began
    finally:
        await engine.dispose()
    return (
        f"{ideas} ideas ({data.month.ideas_in} in {REPORTED.label}): gather {gathered:.2f} s, "
        f"page {drawn:.2f} s, {len(page) // 1024} KiB"
    )


def main() -> None:
    """Seed, time, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ideas", type=int, default=10_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(asyncio.run(measure(arguments.ideas, Path(folder))))


if __name__ == "__main__":
    main()
