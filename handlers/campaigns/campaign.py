"""A campaign as the core sees it, and the respect every invitation is bound by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from handlers.campaigns.audience import Audience


class CampaignState(StrEnum):
    """Where a campaign stands: written, inviting, held, or through."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"


class CampaignProblem(ValueError):
    """A campaign command that cannot be done; the message says why in one sentence."""


@dataclass(frozen=True, slots=True)
class NewCampaign:
    """What `campaigns create` stores."""

    name: str
    flow_id: str
    texts: dict[str, str]
    audience: Audience
    schedule: str
    created_by: str


@dataclass(frozen=True, slots=True)
class Campaign:
    """A stored campaign."""

    id: int
    name: str
    flow_id: str
    texts: dict[str, str]
    audience: Audience
    schedule: str
    state: CampaignState
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Respect:
    """Limits no campaign passes: one invitation per customer per cap, none at night."""

    cap_days: int
    quiet_from: time
    quiet_until: time
    zone: ZoneInfo

    def is_quiet(self, now: datetime) -> bool:
        """True at night in the installation's time zone: invitations wait for the morning."""
        local = now.astimezone(self.zone).time()
        if self.quiet_from == self.quiet_until:
            return False
        if self.quiet_from < self.quiet_until:
            return self.quiet_from <= local < self.quiet_until
        return local >= self.quiet_from or local < self.quiet_until


@dataclass(frozen=True, slots=True)
class CampaignClash:
    """A running campaign that invites some of the customers another one would."""

    name: str
    shared: int


@dataclass(frozen=True, slots=True)
class AudienceSize:
    """How many customers a campaign would invite now, per language, and a few of them."""

    total: int
    by_language: dict[str, int]
    # (customer number, platform, language): never names, which a preview need not show.
    sample: list[tuple[int, str, str]]


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    """What one campaign's invitations in one language came to."""

    language: str
    invited: int = 0
    delivered: int = 0
    started: int = 0
    finished: int = 0
    ideas: int = 0
    opted_out: int = 0
