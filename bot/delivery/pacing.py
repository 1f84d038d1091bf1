"""Paces sends within a platform's limits: a rate per chat and a rate for the whole bot."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    """A token bucket: ``capacity`` sends at once, refilled at ``rate`` per second."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class Pacer:
    """Says how long a send to a chat must wait; takes its tokens once it may go."""

    def __init__(
        self,
        *,
        chat_rate: float,
        chat_burst: int,
        global_rate: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chat_rate = chat_rate
        self._chat_burst = float(chat_burst)
        self._clock = clock
        now = clock()
        # One send at a time, evenly spaced: any second carries at most the rate and one more,
        # with room left for sends that arrive bunched. A second's worth of burst would let
        # twice the rate through, and a fan-out to thousands hit the platform's limit.
        self._global = _Bucket(global_rate, 1.0, 1.0, now)
        self._chats: dict[str, _Bucket] = {}
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (the platform said to slow down)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def paused_for(self) -> float:
        """Seconds left of a pause, or 0."""
        return max(0.0, self._paused_until - self._clock())

    def try_acquire(self, destination: str) -> float:
        """Take a send for ``destination`` and return 0, or return how long to wait first."""
        now = self._clock()
        self._global.refill(now)
        chat = self._chats.get(destination)
        if chat is None:
            chat = _Bucket(self._chat_rate, self._chat_burst, self._chat_burst, now)
            self._chats[destination] = chat
        chat.refill(now)
        wait = max(self._global.wait_time(), chat.wait_time(), self._paused_until - now)
        if wait > 0:
            return wait
        self._global.tokens -= 1
        chat.tokens -= 1
        self._forget_idle_chats(now)
        return 0.0

    def _forget_idle_chats(self, now: float) -> None:
        # A full bucket carries no information, so idle chats cost no memory.
        if len(self._chats) < 1024:
            return
        idle_after = self._chat_burst / self._chat_rate
        for destination, bucket in list(self._chats.items()):
            if now - bucket.updated >= idle_after:
                del self._chats[destination]
