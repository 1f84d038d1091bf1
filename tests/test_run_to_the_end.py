"""The process of ``ideabot run`` ends even when a task swallows the last cancel."""

from __future__ import annotations

import subprocess
import sys

LEAVES_A_STUBBORN_TASK = """
import asyncio
import logging

from bot import shutdown
from bot.shutdown import run_to_the_end

shutdown.CLEANUP_GRACE_SECONDS = 0.2
logging.basicConfig(level=logging.INFO)
kept = []


async def stubborn() -> None:
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass


async def main() -> None:
    kept.append(asyncio.create_task(stubborn(), name="stubborn"))
    await asyncio.sleep(0)


run_to_the_end(main())
print("ended")
"""


def test_a_task_that_swallows_the_cancel_does_not_keep_the_process_up() -> None:
    # asyncio.run would wait for this task for ever: the timeout is the test's failure.
    done = subprocess.run(
        [sys.executable, "-c", LEAVES_A_STUBBORN_TASK],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ended"
    assert "ending with 1 task(s) still running: stubborn" in done.stderr
