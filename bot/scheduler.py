"""Runs periodic work (reminders) in ``ideabot run``; what is due lives in the database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)


async def run_every(seconds: float, job: Callable[[], Awaitable[object]], *, name: str) -> None:
    """Run ``job`` now and then every ``seconds`` until cancelled; an error waits for the next."""
    while True:
        try:
            await job()
        except (SQLAlchemyError, OSError) as error:
            logger.error(
                "%s: the database is away (%s); trying again later", name, type(error).__name__
            )
        except Exception:
            logger.exception("%s failed; trying again later", name)
        await asyncio.sleep(seconds)
