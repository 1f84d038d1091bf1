"""What a platform adds to ``ideabot run``: its long-lived services and its HTTP routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.http.server import Endpoint
from bot.shutdown import Service


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform's part of ``ideabot run``, built and wired, not yet started."""

    # As the start-up line names it: "Telegram".
    name: str
    # How it takes updates, for the same line: "long polling", "Socket Mode", "off".
    mode: str
    services: tuple[Service, ...] = ()
    # POST endpoints by path, served by the one HTTP server.
    routes: Mapping[str, Endpoint] = field(default_factory=dict)

    @classmethod
    def off(cls, name: str) -> Platform:
        """A platform the settings do not configure: nothing to run, nothing to serve."""
        return cls(name=name, mode="off")
