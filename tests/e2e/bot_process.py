"""Starts the real ``ideabot run`` process for end-to-end tests, and kills it as ops would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from tests.waiting import eventually


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class BotProcess:
    """One ``python -m bot run`` child process with its own environment and log file."""

    def __init__(self, *, environment: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.environment = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            **environment,
        }
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start the bot and wait until its HTTP server answers /healthz."""
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=self.environment,
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
        )
        log.close()

        # One client for the whole wait: a new one per poll builds an SSL context each time,
        # CPU taken from the bot that is starting on the same two cores.
        async with httpx.AsyncClient(timeout=1) as client:

            async def healthy() -> bool:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"ideabot exited early:\n{self.log()}")
                try:
                    return (await client.get(f"{self.url}/healthz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(healthy, timeout=30, what="ideabot answering /healthz")

    def kill_hard(self) -> None:
        """kill -9: no cleanup, no goodbye, as a crash or an OOM kill would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        """Ask politely (SIGTERM) and wait; kill if it does not stop in time."""
        if self.process is None:
            return 0
        if self.process.returncode is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    async def wait_exit(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def outbox_settled(sqlite_url: str) -> None:
    """Wait until the bot has recorded every outbox row as sent or failed."""
    import sqlite3

    path = sqlite_url.split("///", 1)[1]

    async def settled() -> bool:
        with sqlite3.connect(path) as connection:
            (pending,) = connection.execute(
                "select count(*) from outbox where state = 'pending'"
            ).fetchone()
        return bool(pending == 0)

    await eventually(settled, what="the outbox settling")
