"""Runs ``ideabot run``'s services and stops them cleanly on SIGTERM or SIGINT, in bounded time."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# After a forced stop cancels the services, how long their cleanup (recording receipts,
# giving claims back) may take before the process goes on without it.
CLEANUP_GRACE_SECONDS = 2.0


def _nothing_under_way() -> str:
    return ""


@dataclass(frozen=True, slots=True)
class Service:
    """A long-lived part of ``ideabot run``: how to run it, and how to ask it to finish."""

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    # Take no new work and return once the work under way is done. None: the service has
    # no work of its own to finish, so a stop cancels it.
    stop: Callable[[], None] | None
    # What a forced stop abandons, in a few words ("2 send(s) under way"); "" for nothing.
    under_way: Callable[[], str] = field(default=_nothing_under_way)


class StopForced(Exception):
    """The stop ran out of time, or a second signal came: work under way was abandoned."""


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """How the services ended: what a forced stop abandoned, and a service's crash, if any."""

    abandoned: list[str]
    crash: BaseException | None


class StopSignals:
    """SIGTERM and SIGINT, handled in the event loop: the first asks to stop, a second forces it."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.forced = asyncio.Event()
        self.first: signal.Signals | None = None

    def install(self) -> None:
        """Take over SIGTERM and SIGINT for this event loop."""
        loop = asyncio.get_running_loop()
        for stop_signal in STOP_SIGNALS:
            loop.add_signal_handler(stop_signal, self._received, stop_signal)

    def remove(self) -> None:
        """Give SIGTERM and SIGINT back to their defaults."""
        loop = asyncio.get_running_loop()
        for stop_signal in STOP_SIGNALS:
            loop.remove_signal_handler(stop_signal)

    def _received(self, stop_signal: signal.Signals) -> None:
        if self.requested.is_set():
            logger.warning("%s again: stopping now", stop_signal.name)
            self.forced.set()
            return
        self.first = stop_signal
        self.requested.set()


async def supervise(
    services: Sequence[Service], *, signals: StopSignals, grace_seconds: float
) -> StopOutcome:
    """Run ``services`` until a stop signal or until one of them ends; then stop them all.

    A stop asks every service to finish its work under way, and waits up to ``grace_seconds``
    seconds (or until a second signal) before it cancels what is still running.
    """
    tasks = {asyncio.create_task(service.run(), name=service.name): service for service in services}
    requested = asyncio.create_task(signals.requested.wait())
    try:
        done, _ = await asyncio.wait([*tasks, requested], return_when=asyncio.FIRST_COMPLETED)
        crash = _first_crash(task for task in done if task in tasks)
        why = signals.first.name if signals.first is not None else _ended(done, tasks)
        logger.info(
            "ideabot is stopping (%s): no new work; finishing what is under way, at most %g s",
            why,
            grace_seconds,
        )
        for task, service in tasks.items():
            if task.done():
                continue
            if service.stop is None:
                task.cancel()
            else:
                service.stop()
        abandoned = await _finish(tasks, forced=signals.forced, grace_seconds=grace_seconds)
        return StopOutcome(abandoned=abandoned, crash=crash or _first_crash(tasks))
    finally:
        requested.cancel()
        # Only when supervise itself is cancelled are services still running here.
        for task in tasks:
            task.cancel()
        await asyncio.wait([*tasks, requested], timeout=CLEANUP_GRACE_SECONDS)


async def _finish(
    tasks: dict[asyncio.Task[None], Service], *, forced: asyncio.Event, grace_seconds: float
) -> list[str]:
    """Wait for the services to end; past ``grace_seconds`` or when forced, cancel the rest."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_seconds
    second_signal = asyncio.create_task(forced.wait())
    pending = {task for task in tasks if not task.done()}
    try:
        while pending and not second_signal.done() and (left := deadline - loop.time()) > 0:
            await asyncio.wait(
                [*pending, second_signal], timeout=left, return_when=asyncio.FIRST_COMPLETED
            )
            pending = {task for task in pending if not task.done()}
    finally:
        second_signal.cancel()
    if not pending:
        return []
    abandoned = []
    for task in pending:
        service = tasks[task]
        under_way = service.under_way()
        abandoned.append(f"{service.name} ({under_way})" if under_way else service.name)
        task.cancel()
    why = "a second signal came" if forced.is_set() else f"not done in {grace_seconds:g} s"
    logger.warning("stopping now (%s); abandoned: %s", why, ", ".join(sorted(abandoned)))
    _, still = await asyncio.wait(pending, timeout=CLEANUP_GRACE_SECONDS)
    if still:
        logger.error("left without cleaning up: %s", ", ".join(tasks[task].name for task in still))
    return abandoned


def _first_crash(tasks: Iterable[asyncio.Task[Any]]) -> BaseException | None:
    for task in tasks:
        if task.done() and not task.cancelled() and (error := task.exception()) is not None:
            return error
    return None


def _ended(done: set[asyncio.Task[Any]], tasks: dict[asyncio.Task[None], Service]) -> str:
    names = sorted(tasks[task].name for task in done if task in tasks)
    return f"{', '.join(names)} ended"
