"""Funnels as a PNG chart: one panel per flow version, side by side, in rows of three."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from handlers.flows.funnel import FlowFunnel

REACHED_COLOUR = "#c6dbef"
ANSWERED_COLOUR = "#2171b5"
LEFT_COLOUR = "#cb181d"
# Long questions are cut so the labels leave room for the bars.
LABEL_LENGTH = 32
PANEL_WIDTH_INCHES = 6.4
ROW_HEIGHT_INCHES = 0.45
DPI = 100
# Panels per row: a digest's several flows wrap into rows rather than one wide strip.
COLUMNS = 3


def _label(text: str) -> str:
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"


def _draw(axes: Axes, funnel: FlowFunnel) -> None:
    labels = ["started"] + [_label(step.question) for step in funnel.steps] + ["finished"]
    reached = [funnel.started] + [step.reached for step in funnel.steps] + [funnel.finished]
    answered = [funnel.started] + [step.answered for step in funnel.steps] + [funnel.finished]
    rows = list(range(len(labels)))
    axes.barh(rows, reached, color=REACHED_COLOUR, label="reached")
    axes.barh(rows, answered, height=0.5, color=ANSWERED_COLOUR, label="answered")
    widest = max(reached, default=0) or 1
    for row, step in enumerate(funnel.steps, start=1):
        if step.left:
            axes.text(
                step.reached + widest * 0.02,
                row,
                f"{step.left} left",
                va="center",
                color=LEFT_COLOUR,
                fontsize=8,
            )
    axes.set_yticks(rows, labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, widest * 1.25)
    axes.set_xlabel("conversations")
    share = f"{funnel.finish_share:.0%} finish" if funnel.started else "no conversations"
    axes.set_title(f"{funnel.flow_id} v{funnel.version}: {share}", fontsize=10)
    axes.legend(loc="lower right", fontsize=7)


def funnel_chart_png(funnels: Sequence[FlowFunnel]) -> bytes:
    """A PNG of the funnels, one panel each, left to right in rows of at most three."""
    if not funnels:
        raise ValueError("a funnel chart needs at least one funnel")
    columns = min(len(funnels), COLUMNS)
    grid_rows = -(-len(funnels) // columns)
    rows = max(len(funnel.steps) for funnel in funnels) + 2
    figure = Figure(
        figsize=(PANEL_WIDTH_INCHES * columns, (1.2 + ROW_HEIGHT_INCHES * rows) * grid_rows),
        dpi=DPI,
    )
    # The Agg canvas draws without pyplot, so no figure outlives the call.
    FigureCanvasAgg(figure)
    panels = figure.subplots(grid_rows, columns, squeeze=False).flatten()
    for axes, funnel in zip(panels, funnels, strict=False):
        _draw(axes, funnel)
    for unused in panels[len(funnels) :]:
        unused.set_visible(False)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png")
    return png.getvalue()
