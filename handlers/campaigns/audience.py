"""Who a campaign invites: a filter over customers who allowed contact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def printable(text: str) -> str:
    """``text`` with each control character written as its escape (``\\x1b``), the rest as is."""
    return "".join(
        character if character.isprintable() else character.encode("unicode_escape").decode()
        for character in text
    )


@dataclass(frozen=True, slots=True)
class Audience:
    """Customers to invite; every given filter must hold (empty ones do not filter)."""

    platforms: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    # Nothing from them (no conversation moved) for at least this many days.
    inactive_days: int | None = None
    # They follow (wrote, or said "me too" to) one of these ideas.
    follows: tuple[int, ...] = ()
    # They follow an idea with one of these tags.
    tags: tuple[str, ...] = ()
    # They follow an idea that shipped (is done): ask what should come next.
    shipped: bool = False

    def to_json(self) -> dict[str, Any]:
        """The filter as stored with its campaign."""
        return {
            "platforms": list(self.platforms),
            "languages": list(self.languages),
            "inactive_days": self.inactive_days,
            "follows": list(self.follows),
            "tags": list(self.tags),
            "shipped": self.shipped,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Audience:
        """The filter a campaign stored."""
        return cls(
            platforms=tuple(value.get("platforms", ())),
            languages=tuple(value.get("languages", ())),
            inactive_days=value.get("inactive_days"),
            follows=tuple(int(idea) for idea in value.get("follows", ())),
            tags=tuple(value.get("tags", ())),
            shipped=bool(value.get("shipped", False)),
        )

    def describe(self) -> str:
        """The filter in a few words, for `campaigns list` and `preview`."""
        parts = [
            f"platform {'/'.join(self.platforms)}" if self.platforms else "",
            f"language {'/'.join(self.languages)}" if self.languages else "",
            f"silent {self.inactive_days}+ days" if self.inactive_days else "",
            f"follow idea {'/'.join(map(str, self.follows))}" if self.follows else "",
            f"tag {'/'.join(self.tags)}" if self.tags else "",
            "their idea shipped" if self.shipped else "",
        ]
        return ", ".join(part for part in parts if part) or "everyone who allows contact"
