"""Waits at start for a database or platform that cannot be reached yet, with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.backoff import doubled
from bot.problems import Problem

logger = logging.getLogger(__name__)

Result = TypeVar("Result")


async def until_reachable(
    attempt: Callable[[], Awaitable[Result]],
    *,
    describe: Callable[[BaseException], Problem | None],
    first_delay: float = 1.0,
    max_delay: float = 30.0,
) -> Result:
    """Run ``attempt`` until it succeeds; retry only problems that waiting may fix."""
    retries = 0
    while True:
        delay = doubled(retries, base=first_delay, cap=max_delay)
        try:
            return await attempt()
        except Exception as error:
            problem = describe(error)
            if problem is None or not problem.passing:
                raise
            # A service manager may start ideabot before the network or the database is up.
            logger.warning("%s; trying again in %.0f s", problem.reason, delay)
        await asyncio.sleep(delay)
        retries += 1
