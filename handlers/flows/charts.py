"""A funnel chart as a file: which flow versions and period, drawn only when it is delivered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.messages import Attachment, AttachmentKind

# The "platform" a chart lives on: ideabot draws it from the database when it is sent.
CHART_PLATFORM = "ideabot"
_FUNNEL = "funnel"


@dataclass(frozen=True, slots=True)
class ChartPanel:
    """One funnel in a chart: a flow at one of its versions."""

    flow_id: str
    version: int


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _panel(value: Any) -> ChartPanel:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("a funnel chart's panel is not a flow and a version")
    flow_id, version = value
    if not isinstance(flow_id, str) or not flow_id:
        raise ValueError("a funnel chart names no flow")
    if type(version) is not int:
        raise ValueError("a funnel chart's versions are not numbers")
    return ChartPanel(flow_id, version)


@dataclass(frozen=True, slots=True)
class FunnelChart:
    """Funnels side by side (a flow's two versions, a digest's flows), and the figures beside."""

    panels: tuple[ChartPanel, ...]
    since: datetime | None = None
    # The moment the figures are judged at (a digest's end), so a chart drawn later agrees.
    until: datetime | None = None
    # Whether the figures come as text beside the picture (the digest has its own lines).
    with_figures: bool = True

    @classmethod
    def of_flow(
        cls, flow_id: str, versions: tuple[int, ...], *, since: datetime | None = None
    ) -> FunnelChart:
        """The chart of one flow's versions, with its figures."""
        return cls(tuple(ChartPanel(flow_id, version) for version in versions), since=since)

    def attachment(self) -> Attachment:
        """The chart as a file an outbox row can carry: a reference, not the picture."""
        flows = "-".join(dict.fromkeys(panel.flow_id for panel in self.panels))
        numbers = "-".join(f"v{panel.version}" for panel in self.panels)
        name = f"{flows}-{numbers}" if len(self.panels) < 3 else f"{len(self.panels)}-flows"
        return Attachment(
            kind=AttachmentKind.PHOTO,
            platform=CHART_PLATFORM,
            file_id=f"{_FUNNEL}:{name}",
            file_name=f"{name}-funnel.png",
            mime_type="image/png",
            details={
                "chart": _FUNNEL,
                "panels": [[panel.flow_id, panel.version] for panel in self.panels],
                "since": self.since.isoformat() if self.since is not None else None,
                "until": self.until.isoformat() if self.until is not None else None,
                "with_figures": self.with_figures,
            },
        )

    @classmethod
    def of(cls, attachment: Attachment) -> FunnelChart:
        """The chart an attachment names; ValueError if it names none."""
        details = attachment.details
        if attachment.platform != CHART_PLATFORM or details.get("chart") != _FUNNEL:
            raise ValueError("not a funnel chart")
        panels = details.get("panels")
        if not isinstance(panels, list) or not panels:
            raise ValueError("a funnel chart names no flow or versions")
        return cls(
            panels=tuple(_panel(panel) for panel in panels),
            since=_moment(details.get("since")),
            until=_moment(details.get("until")),
            with_figures=bool(details.get("with_figures", True)),
        )
