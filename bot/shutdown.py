"""Runs ``ideabot run``'s services and stops them cleanly on SIGTERM or SIGINT, in bounded time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
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


def run_to_the_end(main: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, except that tasks left at the end get CLEANUP_GRACE_SECONDS, not for ever."""
    # asyncio.run cancels the tasks left over and waits for them without a bound, so a
    # service left without cleaning up (it swallowed the cancel) would keep the process up.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        try:
            loop.run_until_complete(_cancel_leftovers())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


async def _cancel_leftovers() -> None:
    """Cancel every other task, and wait for them at most CLEANUP_GRACE_SECONDS."""
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    if not leftovers:
        return
    _, still = await asyncio.wait(leftovers, timeout=CLEANUP_GRACE_SECONDS)
    if still:
        logger.error(
            "ending with %d task(s) still running: %s",
            len(still),
            ", ".join(sorted(task.get_name() for task in still)),
        )


async def supervise(
    services: Sequence[Service], *, signals: StopSignals, grace_seconds: float
) -> StopOutcome:
    """Run ``services`` in one task group until a signal or one ends; then stop all, in bounds."""
    supervision = _Supervision(signals=signals, grace_seconds=grace_seconds)
    async with asyncio.TaskGroup() as group:
        for service in services:
            supervision.start(service, group=group)
        relay = group.create_task(supervision.relay_signals(), name="stop-signals")
        group.create_task(supervision.stop_all(relay=relay), name="stopper")
    return supervision.outcome()


class _Supervision:
    """One run of the services: the stop event, and what their stop left behind."""

    def __init__(self, *, signals: StopSignals, grace_seconds: float) -> None:
        self._signals = signals
        self._grace_seconds = grace_seconds
        self._tasks: dict[asyncio.Task[None], Service] = {}
        # Set by the first signal, or by a service that ends: every service is then stopped.
        self._stop = asyncio.Event()
        # Set once every service has ended, or by a second signal: the grace time is over.
        self._done_waiting = asyncio.Event()
        self._crashes: list[BaseException] = []
        self._abandoned: list[str] = []
        # The services' own tasks, held here so that one left running is not collected.
        self._work_tasks: set[asyncio.Task[None]] = set()

    def start(self, service: Service, *, group: asyncio.TaskGroup) -> None:
        """Run ``service`` in ``group``; its end or crash sets the stop event, nothing more."""
        task = group.create_task(self._run(service), name=service.name)
        self._tasks[task] = service
        task.add_done_callback(self._ended)

    async def relay_signals(self) -> None:
        """The first signal sets the stop event; a second one ends the wait for the services."""
        await self._signals.requested.wait()
        self._stop.set()
        await self._signals.forced.wait()
        self._done_waiting.set()

    async def stop_all(self, *, relay: asyncio.Task[None]) -> None:
        """On the stop event, ask every service to finish; past the bound, cancel the rest."""
        try:
            await self._stop.wait()
            self._ask_to_stop()
            if self._pending():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._grace_seconds):
                        await self._done_waiting.wait()
            await self._abandon(self._pending())
        finally:
            relay.cancel()

    def outcome(self) -> StopOutcome:
        """What the stop abandoned, and the first crash, once the group has ended."""
        return StopOutcome(
            abandoned=self._abandoned, crash=self._crashes[0] if self._crashes else None
        )

    async def _run(self, service: Service) -> None:
        """Run the service as a task of its own, so that a cancel waits for it only so long."""
        work = asyncio.create_task(self._work(service), name=f"{service.name} (work)")
        self._work_tasks.add(work)
        work.add_done_callback(self._work_tasks.discard)
        try:
            await asyncio.wait([work])
        except asyncio.CancelledError:
            await self._cancel_within_grace(service, work)
            raise

    async def _work(self, service: Service) -> None:
        try:
            await service.run()
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            # Recorded, not raised: raising would make the group cancel the others at once.
            # SystemExit too (uvicorn exits when its port is taken): serve() raises it after
            # the others have stopped cleanly.
            self._crashes.append(error)

    async def _cancel_within_grace(self, service: Service, work: asyncio.Task[None]) -> None:
        """Cancel the service and give its cleanup CLEANUP_GRACE_SECONDS; then go on without it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLEANUP_GRACE_SECONDS
        while not work.done() and loop.time() < deadline:
            # Each cancel that reaches here (the stop's, then the group's) is passed on.
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([work], timeout=deadline - loop.time())
        if not work.done():
            # It swallowed the cancel: it keeps running, unwatched, until the process ends.
            logger.error("left without cleaning up: %s", service.name)

    def _ended(self, _task: asyncio.Task[None]) -> None:
        self._stop.set()
        if not self._pending():
            self._done_waiting.set()

    def _pending(self) -> list[asyncio.Task[None]]:
        return [task for task in self._tasks if not task.done()]

    def _ask_to_stop(self) -> None:
        """Log why the stop began, and ask each service still running to finish."""
        ended = sorted(service.name for task, service in self._tasks.items() if task.done())
        first = self._signals.first
        why = first.name if first is not None else f"{', '.join(ended)} ended"
        logger.info(
            "ideabot is stopping (%s): no new work; finishing what is under way, at most %g s",
            why,
            self._grace_seconds,
        )
        for task in self._pending():
            service = self._tasks[task]
            if service.stop is None:
                task.cancel()
                continue
            try:
                service.stop()
            except Exception:
                logger.exception("%s could not be asked to stop; cancelling it", service.name)
                task.cancel()

    async def _abandon(self, pending: list[asyncio.Task[None]]) -> None:
        """Cancel the services still running, naming what they leave undone."""
        if not pending:
            return
        for task in pending:
            service = self._tasks[task]
            under_way = service.under_way()
            self._abandoned.append(f"{service.name} ({under_way})" if under_way else service.name)
            task.cancel()
        forced = self._signals.forced.is_set()
        why = "a second signal came" if forced else f"not done in {self._grace_seconds:g} s"
        logger.warning("stopping now (%s); abandoned: %s", why, ", ".join(sorted(self._abandoned)))
        # Each service's task waits for its cleanup at most CLEANUP_GRACE_SECONDS.
        await asyncio.wait(pending)
