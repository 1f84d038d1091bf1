"""A funnel chart as a file: which flow, versions and period, drawn only when it is delivered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.messages import Attachment, AttachmentKind

# The "platform" a chart lives on: ideabot draws it from the database when it is sent.
CHART_PLATFORM = "ideabot"
_FUNNEL = "funnel"


@dataclass(frozen=True, slots=True)
class FunnelChart:
    """The funnel chart of one flow's versions (two: side by side), and the figures beside it."""

    flow_id: str
    versions: tuple[int, ...]
    since: datetime | None = None
    # Whether the figures come as text beside the picture (the digest has its own lines).
    with_figures: bool = True

    def attachment(self) -> Attachment:
        """The chart as a file an outbox row can carry: a reference, not the picture."""
        numbers = "-".join(f"v{version}" for version in self.versions)
        return Attachment(
            kind=AttachmentKind.PHOTO,
            platform=CHART_PLATFORM,
            file_id=f"{_FUNNEL}:{self.flow_id}:{numbers}",
            file_name=f"{self.flow_id}-{numbers}-funnel.png",
            mime_type="image/png",
            details={
                "chart": _FUNNEL,
                "flow_id": self.flow_id,
                "versions": list(self.versions),
                "since": self.since.isoformat() if self.since is not None else None,
                "with_figures": self.with_figures,
            },
        )

    @classmethod
    def of(cls, attachment: Attachment) -> FunnelChart:
        """The chart an attachment names; ValueError if it names none."""
        details = attachment.details
        if attachment.platform != CHART_PLATFORM or details.get("chart") != _FUNNEL:
            raise ValueError("not a funnel chart")
        flow_id = details.get("flow_id")
        versions = details.get("versions")
        since = details.get("since")
        if not isinstance(flow_id, str) or not flow_id or not isinstance(versions, list):
            raise ValueError("a funnel chart names no flow or versions")
        if not versions or not all(type(version) is int for version in versions):
            raise ValueError("a funnel chart's versions are not numbers")
        return cls(
            flow_id=flow_id,
            versions=tuple(versions),
            since=datetime.fromisoformat(since) if isinstance(since, str) else None,
            with_figures=bool(details.get("with_figures", True)),
        )
