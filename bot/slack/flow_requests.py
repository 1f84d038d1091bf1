"""What an admin asks of the flows in Slack: an upload, the overview, a button, a try, stats."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.slack.stats_words import StatsQuery
from handlers.messages import Attachment, IncomingMessage

FLOW_ACTION_PREFIX = "flow_admin:"


class FlowButton(StrEnum):
    """The buttons of the flows' messages; each is one action id after FLOW_ACTION_PREFIX."""

    PUBLISH = "publish"
    PUBLISH_CONFIRMED = "publish_confirmed"
    DISCARD = "discard"
    ROLLBACK = "rollback"
    ROLLBACK_CONFIRMED = "rollback_confirmed"
    DOWNLOAD = "download"
    HISTORY = "history"
    STATS = "stats"
    CANCEL = "cancel"
    TRY = "try"


@dataclass(frozen=True, slots=True)
class FlowTarget:
    """Which flow a button is about, the draft if any, and the live version the admin saw."""

    flow_id: str
    draft_id: int | None = None
    seen_live: int | None = None

    def as_value(self) -> str:
        """The button's value: the three fields, colon-separated (flow ids have no colon)."""
        seen = "" if self.seen_live is None else str(self.seen_live)
        return f"{self.flow_id}:{self.draft_id or ''}:{seen}"

    @classmethod
    def from_value(cls, value: str) -> FlowTarget:
        """The target a button's value names; ValueError if it names none."""
        flow_id, draft, live = value.split(":")
        if not flow_id:
            raise ValueError("the button names no flow")
        return cls(
            flow_id=flow_id,
            draft_id=int(draft) if draft else None,
            seen_live=int(live) if live else None,
        )


@dataclass(frozen=True, slots=True)
class FlowUpload:
    """An admin uploaded a flow file to their direct message with the app."""

    external_id: str
    channel: str
    user_id: str
    file: Attachment


@dataclass(frozen=True, slots=True)
class FlowOverview:
    """An admin typed ``/ideabot flows`` in their direct message with the app."""

    external_id: str
    channel: str
    user_id: str


@dataclass(frozen=True, slots=True)
class FlowClick:
    """An admin pressed a button of the flows' messages."""

    external_id: str
    channel: str
    user_id: str
    button: FlowButton
    target: FlowTarget


@dataclass(frozen=True, slots=True)
class FlowTry:
    """An admin pressed Try on a draft, or typed ``/ideabot flows try NAME`` (the newest draft)."""

    external_id: str
    channel: str
    user_id: str
    flow_id: str
    draft_id: int | None
    # The admin's Slack locale: the trial speaks the language a customer with it would get.
    language_code: str


@dataclass(frozen=True, slots=True)
class AdminWords:
    """An admin's words or command in their DM (a trial's, if one runs), or a trial's click."""

    message: IncomingMessage


@dataclass(frozen=True, slots=True)
class FlowRefused:
    """Someone who is no admin asked for the flows; they get one sentence and nothing else."""

    external_id: str
    channel: str
    user_id: str


@dataclass(frozen=True, slots=True)
class FlowStatsAsked:
    """An admin asked for a flow's funnel: the Stats button, or ``/ideabot flows stats``."""

    external_id: str
    channel: str
    user_id: str
    query: StatsQuery


@dataclass(frozen=True, slots=True)
class FlowNotUnderstood:
    """An admin's button or command could not be read; they get ``answer`` and nothing else."""

    external_id: str
    channel: str
    user_id: str
    answer: str


FlowRequest = (
    FlowUpload
    | FlowOverview
    | FlowClick
    | FlowTry
    | FlowRefused
    | FlowStatsAsked
    | FlowNotUnderstood
)
