"""Runs periodic work (reminders, the digest) in ``ideabot run``; what is due is in the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)


async def run_every(
    seconds: float,
    job: Callable[[], Awaitable[object]],
    *,
    name: str,
    stopping: asyncio.Event,
) -> None:
    """Run ``job`` now and then every ``seconds`` until ``stopping`` is set; an error waits."""
    while not stopping.is_set():
        try:
            await job()
        except (SQLAlchemyError, OSError) as error:
            logger.error(
                "%s: the database is away (%s); trying again later", name, type(error).__name__
            )
        except Exception:
            logger.exception("%s failed; trying again later", name)
        # A stop ends the wait, never a job under way: its transaction finishes first.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stopping.wait()
