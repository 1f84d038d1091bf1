"""Customers through the default flow against the Bot API double, next to a bare PTB echo bot.

Run: `make bench` (or `python -m bench.telegram_throughput --customers 50`).
Prints messages per second and p50/p99 reply latency for both, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.process_cpu import cpu_seconds
from tests.doubles.telegram_bot_api import Customer, SentMessage, TelegramBotApiDouble
from tests.e2e.bot_process import BotProcess

Turn = Callable[[TelegramBotApiDouble, Customer, SentMessage | None], Awaitable[None]]


@dataclass
class Result:
    """What one run measured."""

    name: str
    replies: int
    seconds: float
    latencies: list[float]
    api_calls: int
    # CPU seconds the bot process used in the round (0 when not measured)
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.replies / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.name:<22} {self.replies:>6} replies in {self.seconds:6.2f} s = "
            f"{self.per_second:7.1f} msg/s   p50 {self.percentile(0.5) * 1000:6.1f} ms   "
            f"p99 {self.percentile(0.99) * 1000:6.1f} ms   "
            f"{self.api_calls / self.replies:.2f} API calls per reply (getUpdates excluded)"
            + (
                f"   {self.cpu_seconds / self.replies * 1000:.2f} ms CPU per reply"
                if self.cpu_seconds
                else ""
            )
        )


def _text(text: str) -> Turn:
    async def turn(api: TelegramBotApiDouble, customer: Customer, _: SentMessage | None) -> None:
        await api.send_text(customer, text)

    return turn


def _press(label: str) -> Turn:
    async def turn(api: TelegramBotApiDouble, customer: Customer, last: SentMessage | None) -> None:
        assert last is not None
        await api.press(customer, last, label)

    return turn


DEFAULT_FLOW: list[Turn] = [
    _text("/start"),
    _text("A dark mode for the mobile app, please, for reading in the evening"),
    _text("My eyes hurt when I read in bed at night"),
    _press("Every day"),
    _text("4"),
    _press("No"),
]
ECHO: list[Turn] = [_text(f"echo message number {n}") for n in range(len(DEFAULT_FLOW))]


async def _customer(
    api: TelegramBotApiDouble, customer: Customer, turns: list[Turn], latencies: list[float]
) -> None:
    last: SentMessage | None = None
    for number, turn in enumerate(turns, start=1):
        started = api.clock()
        await turn(api, customer, last)
        messages = await api.wait_for_messages(customer, number, timeout=120)
        last = messages[number - 1]
        latencies.append(last.at - started)


async def measure(
    name: str,
    api: TelegramBotApiDouble,
    turns: list[Turn],
    customers: int,
    first_id: int,
    *,
    pid: int | None = None,
) -> Result:
    """Run every customer through ``turns`` at once and time it (and process ``pid``'s CPU)."""
    latencies: list[float] = []
    people = [Customer(user_id=first_id + n, first_name=f"C{n}") for n in range(customers)]
    calls_before = sum(call.method != "getUpdates" for call in api.calls)
    cpu_before = cpu_seconds(pid) if pid is not None else 0.0
    started = time.monotonic()
    await asyncio.gather(*(_customer(api, person, turns, latencies) for person in people))
    seconds = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu_before if pid is not None else 0.0
    calls = sum(call.method != "getUpdates" for call in api.calls) - calls_before
    return Result(name, len(latencies), seconds, latencies, calls, cpu)


async def _echo_bot(api: TelegramBotApiDouble, log: Path) -> asyncio.subprocess.Process:
    handle = log.open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.echo_bot",
        env={**os.environ, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_BASE_URL": api.base_url},
        stdout=handle,
        stderr=handle,
    )
    handle.close()
    await api.wait_until(lambda: any(c.method == "getUpdates" for c in api.calls), timeout=30)
    return process


async def run(customers: int, rounds: int, database_url: str | None) -> tuple[Result, Result]:
    """Both bots up on their own doubles; rounds alternate between them; medians win."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        ideabot_api, echo_api = TelegramBotApiDouble(), TelegramBotApiDouble()
        async with ideabot_api.running(), echo_api.running():
            bot = BotProcess(
                environment={
                    "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{work / 'bench.db'}",
                    "TELEGRAM_BOT_TOKEN": ideabot_api.token,
                    "TELEGRAM_API_BASE_URL": ideabot_api.base_url,
                    "TELEGRAM_POLL_TIMEOUT_SECONDS": "1",
                    # The double has no limits; Telegram's pacing is not what is measured here.
                    "TELEGRAM_CHAT_RATE_PER_SECOND": "1000",
                    "TELEGRAM_CHAT_BURST": "100",
                    "TELEGRAM_GLOBAL_RATE_PER_SECOND": "100000",
                    "LOG_LEVEL": "WARNING",
                },
                log_path=work / "ideabot.log",
            )
            await bot.start()
            echo_process = await _echo_bot(echo_api, work / "echo.log")
            try:
                await measure("warm-up", ideabot_api, DEFAULT_FLOW[:2], 10, 900_000)
                await measure("warm-up", echo_api, ECHO[:2], 10, 900_000)
                ideabot_rounds, echo_rounds = [], []
                assert bot.process is not None
                for number in range(rounds):
                    first_id = 1 + number * customers
                    ideabot_rounds.append(
                        await measure(
                            "ideabot (full flow)",
                            ideabot_api,
                            DEFAULT_FLOW,
                            customers,
                            first_id,
                            pid=bot.process.pid,
                        )
                    )
                    echo_rounds.append(
                        await measure(
                            "PTB echo bot",
                            echo_api,
                            ECHO,
                            customers,
                            first_id,
                            pid=echo_process.pid,
                        )
                    )
            finally:
                await bot.stop()
                echo_process.terminate()
                await echo_process.wait()
    for ideabot_round, echo_round in zip(ideabot_rounds, echo_rounds, strict=True):
        print(
            f"  round: ideabot {ideabot_round.per_second:7.1f} msg/s, "
            f"{ideabot_round.cpu_seconds / ideabot_round.replies * 1000:.2f} ms CPU/reply; "
            f"echo {echo_round.per_second:7.1f} msg/s"
        )
    return _median(ideabot_rounds), _median(echo_rounds)


def _median(results: list[Result]) -> Result:
    """The round with the median throughput."""
    return sorted(results, key=lambda result: result.per_second)[len(results) // 2]


def main() -> None:
    """Parse arguments, run both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    arguments = parser.parse_args()
    ideabot, echo = asyncio.run(run(arguments.customers, arguments.rounds, arguments.database_url))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"customers: {arguments.customers}, {len(DEFAULT_FLOW)} messages each; "
        f"median of {arguments.rounds} alternating rounds"
    )
    print(ideabot.line())
    print(echo.line())
    print(f"ratio (ideabot / echo throughput): {ideabot.per_second / echo.per_second:.2f}")
    median_ratio = statistics.median(ideabot.latencies) / statistics.median(echo.latencies)
    print(f"median latency ratio (ideabot / echo): {median_ratio:.2f}")


if __name__ == "__main__":
    main()
