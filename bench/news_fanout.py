"""News about one idea to 10,000 linked customers, against a Bot API double that refuses
more than Telegram's rate: counts the 429s (the target is none) and how long it takes.

Run: .venv/bin/python -m bench.news_fanout [--customers 10000] [--rate 300]
The double's limit is the rate plus a tenth; the figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.process_cpu import cpu_seconds
from tests.doubles.telegram_bot_api import Customer, TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess
from tests.helpers.idea_status import ideabot_cli, link_followers
from tests.helpers.slack_staff import finish_flow_on_telegram


async def run(customers: int, rate: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        database_url = f"sqlite+aiosqlite:///{directory}/fanout.db"
        double = TelegramBotApiDouble()
        double.global_limit_per_second = int(rate * 1.1)
        async with double.running():
            bot = BotProcess(
                environment={
                    "DATABASE_URL": database_url,
                    "TELEGRAM_BOT_TOKEN": double.token,
                    "TELEGRAM_API_BASE_URL": double.base_url,
                    "TELEGRAM_POLL_TIMEOUT_SECONDS": "1",
                    "TELEGRAM_GLOBAL_RATE_PER_SECOND": str(rate),
                    "LOG_LEVEL": "WARNING",
                },
                log_path=Path(directory) / "bot.log",
            )
            await bot.start()
            try:
                await finish_flow_on_telegram(double, Customer(user_id=1, first_name="Kari"))
                await link_followers(
                    database_url,
                    1,
                    [
                        {
                            "platform": "telegram",
                            "platform_user_id": str(100_000 + n),
                            "chat_id": str(100_000 + n),
                            "display_name": f"Follower {n}",
                            "language": "nb" if n % 2 else "en",
                        }
                        for n in range(customers)
                    ],
                )
                before = len(double.sent)
                assert bot.process is not None
                cpu_before = cpu_seconds(bot.process.pid)
                started = time.perf_counter()
                await ideabot_cli(database_url, "ideas", "status", "1", "planned")
                await double.wait_until(
                    lambda: len(double.sent) >= before + customers + 1,
                    timeout=customers / rate * 3 + 60,
                )
                seconds = time.perf_counter() - started
                cpu = cpu_seconds(bot.process.pid) - cpu_before
            finally:
                await bot.stop()
        told = len(double.sent) - before
        print(
            f"{told} customers told in {seconds:.1f} s ({told / seconds:.0f}/s at a pacing of "
            f"{rate}/s); 429s from the double: {double.refused_for_flooding}; "
            f"bot CPU {cpu:.1f} s = {cpu / told * 1000:.2f} ms per message"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=300)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.customers, arguments.rate))


if __name__ == "__main__":
    main()
