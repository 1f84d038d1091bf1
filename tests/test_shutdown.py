"""The supervisor: a stop lets services finish their work, bounded in time; a crash stops all."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest

from bot.shutdown import Service, StopSignals, supervise
from tests.waiting import eventually


@dataclass
class Worker:
    """A service that, when asked to stop, finishes the one job it has under way."""

    name: str
    job_done: asyncio.Event = field(default_factory=asyncio.Event)
    stop_asked: asyncio.Event = field(default_factory=asyncio.Event)
    finished: bool = False
    cancelled: bool = False

    async def run(self) -> None:
        try:
            await self.stop_asked.wait()
            await self.job_done.wait()
            self.finished = True
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    def service(self) -> Service:
        return Service(
            self.name, self.run, stop=self.stop_asked.set, under_way=lambda: "1 job under way"
        )


async def test_a_stop_waits_for_the_work_under_way() -> None:
    signals = StopSignals()
    worker = Worker("worker")
    worker.job_done.set()
    signals.requested.set()
    outcome = await supervise([worker.service()], signals=signals, grace_seconds=10)
    assert (outcome.abandoned, outcome.crash) == ([], None)
    assert worker.finished
    assert not worker.cancelled


async def test_a_crash_stops_the_others_cleanly_and_is_reported() -> None:
    async def crash() -> None:
        raise RuntimeError("broken")

    worker = Worker("worker")
    worker.job_done.set()
    outcome = await supervise(
        [Service("crasher", crash, stop=None), worker.service()],
        signals=StopSignals(),
        grace_seconds=10,
    )
    assert isinstance(outcome.crash, RuntimeError)
    assert outcome.abandoned == []
    assert worker.finished


async def test_past_the_bound_the_work_is_abandoned_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signals = StopSignals()
    stuck = Worker("stuck")  # its job never finishes
    signals.requested.set()
    outcome = await supervise([stuck.service()], signals=signals, grace_seconds=0.2)
    assert outcome.abandoned == ["stuck (1 job under way)"]
    assert stuck.cancelled
    assert "(not done in 0.2 s); abandoned: stuck (1 job under way)" in caplog.text


async def test_a_second_signal_does_not_wait_for_the_bound() -> None:
    signals = StopSignals()
    stuck = Worker("stuck")
    signals.requested.set()
    running = asyncio.create_task(supervise([stuck.service()], signals=signals, grace_seconds=60))
    await stuck.stop_asked.wait()
    signals.forced.set()
    outcome = await asyncio.wait_for(running, 5)
    assert outcome.abandoned == ["stuck (1 job under way)"]


async def test_a_service_without_work_of_its_own_is_cancelled_not_abandoned() -> None:
    signals = StopSignals()
    listening = asyncio.Event()

    async def listen() -> None:
        listening.set()
        await asyncio.Event().wait()

    running = asyncio.create_task(
        supervise([Service("listener", listen, stop=None)], signals=signals, grace_seconds=10)
    )
    await listening.wait()
    signals.requested.set()
    outcome = await asyncio.wait_for(running, 5)
    assert (outcome.abandoned, outcome.crash) == ([], None)


async def test_a_service_that_ends_stops_the_others_and_is_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.shutdown")

    async def once() -> None:
        return None

    worker = Worker("worker")
    worker.job_done.set()
    outcome = await supervise(
        [Service("once", once, stop=None), worker.service()],
        signals=StopSignals(),
        grace_seconds=10,
    )
    assert (outcome.abandoned, outcome.crash) == ([], None)
    assert worker.finished
    assert "ideabot is stopping (once ended)" in caplog.text


async def test_a_crash_during_the_stop_leaves_the_others_their_work() -> None:
    signals = StopSignals()
    asked = asyncio.Event()

    async def crash_when_asked() -> None:
        await asked.wait()
        raise RuntimeError("broken while stopping")

    worker = Worker("worker")
    running = asyncio.create_task(
        supervise(
            [Service("crasher", crash_when_asked, stop=asked.set), worker.service()],
            signals=signals,
            grace_seconds=10,
        )
    )
    signals.requested.set()
    await worker.stop_asked.wait()

    async def crashed() -> bool:
        return not any(task.get_name() == "crasher" for task in asyncio.all_tasks())

    await eventually(crashed, what="the crasher to end")
    # A task group left to itself would have cancelled the worker at the crash.
    worker.job_done.set()
    outcome = await asyncio.wait_for(running, 5)
    assert isinstance(outcome.crash, RuntimeError)
    assert outcome.abandoned == []
    assert worker.finished
    assert not worker.cancelled


async def test_a_stop_that_raises_is_logged_and_the_others_are_still_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signals = StopSignals()
    started = asyncio.Event()

    async def serve_for_ever() -> None:
        started.set()
        await asyncio.Event().wait()

    def broken_stop() -> None:
        raise RuntimeError("cannot stop")

    worker = Worker("worker")
    worker.job_done.set()
    running = asyncio.create_task(
        supervise(
            [Service("broken", serve_for_ever, stop=broken_stop), worker.service()],
            signals=signals,
            grace_seconds=10,
        )
    )
    await started.wait()
    signals.requested.set()
    outcome = await asyncio.wait_for(running, 5)
    assert (outcome.abandoned, outcome.crash) == ([], None)
    assert worker.finished
    assert not worker.cancelled
    assert "broken could not be asked to stop" in caplog.text


async def test_a_service_that_exits_is_a_crash_and_the_others_stop_cleanly() -> None:
    async def port_taken() -> None:
        raise SystemExit(3)  # what uvicorn does when its port is taken

    worker = Worker("worker")
    worker.job_done.set()
    outcome = await supervise(
        [Service("http", port_taken, stop=None), worker.service()],
        signals=StopSignals(),
        grace_seconds=10,
    )
    assert isinstance(outcome.crash, SystemExit)
    assert outcome.crash.code == 3
    assert worker.finished
    assert not worker.cancelled


class Stubborn:
    """A service that swallows every cancel, and ends only when the test lets it."""

    def __init__(self) -> None:
        self.cancels = 0
        self.running = asyncio.Event()
        self.released = asyncio.Event()

    async def run(self) -> None:
        self.running.set()
        while not self.released.is_set():
            try:
                await self.released.wait()
            except asyncio.CancelledError:
                self.cancels += 1

    async def release(self) -> None:
        """Let it end, so that the test's event loop can close."""
        self.released.set()

        async def ended() -> bool:
            return not any(task.get_name() == "stubborn (work)" for task in asyncio.all_tasks())

        await eventually(ended, what="the stubborn service to end")


async def test_a_service_that_swallows_the_cancel_is_left_in_bounded_time(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.shutdown.CLEANUP_GRACE_SECONDS", 0.1)
    signals = StopSignals()
    stubborn = Stubborn()
    running = asyncio.create_task(
        supervise(
            [Service("stubborn", stubborn.run, stop=None)], signals=signals, grace_seconds=0.1
        )
    )
    await stubborn.running.wait()
    signals.requested.set()
    outcome = await asyncio.wait_for(running, 5)
    await stubborn.release()
    assert outcome.crash is None
    assert stubborn.cancels >= 1
    assert "left without cleaning up: stubborn" in caplog.text


async def test_a_cancelled_supervise_ends_in_bounded_time_too(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.shutdown.CLEANUP_GRACE_SECONDS", 0.1)
    stubborn = Stubborn()
    running = asyncio.create_task(
        supervise(
            [Service("stubborn", stubborn.run, stop=None)],
            signals=StopSignals(),
            grace_seconds=10,
        )
    )
    await stubborn.running.wait()
    running.cancel()
    done, _ = await asyncio.wait([running], timeout=5)
    await stubborn.release()
    assert done == {running}
    assert running.cancelled()
    assert "left without cleaning up: stubborn" in caplog.text
