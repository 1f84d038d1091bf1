"""A campaign's figures as a PNG chart: each measure's bars side by side, one per language."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from handlers.campaigns.campaign import CampaignFigures

MEASURES = (
    ("invited", "invited"),
    ("delivered", "delivered"),
    ("started", "started"),
    ("finished", "finished"),
    ("ideas", "ideas recorded"),
    ("opted_out", "opted out"),
)
# One colour per language, in the order of their codes.
LANGUAGE_COLOURS = ("#2171b5", "#6baed6", "#08519c", "#9ecae1", "#4292c6", "#c6dbef")
WIDTH_INCHES = 8.0
HEIGHT_INCHES = 4.5
DPI = 100


def campaign_chart_png(title: str, figures: Sequence[CampaignFigures]) -> bytes:
    """A PNG of the campaign's six measures, a bar per language with its count on top."""
    if not figures:
        raise ValueError("a campaign chart needs the figures of at least one language")
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    # The Agg canvas draws without pyplot, so no figure outlives the call.
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    width = 0.8 / len(figures)
    highest = max(getattr(row, field) for row in figures for field, _ in MEASURES) or 1
    for number, row in enumerate(figures):
        places = [measure + (number - (len(figures) - 1) / 2) * width for measure in range(6)]
        counts = [getattr(row, field) for field, _ in MEASURES]
        bars = axes.bar(
            places,
            counts,
            width=width,
            color=LANGUAGE_COLOURS[number % len(LANGUAGE_COLOURS)],
            label=row.language,
        )
        axes.bar_label(bars, fontsize=8, padding=2)
    axes.set_xticks(range(6), [label for _, label in MEASURES], fontsize=9)
    axes.set_ylim(0, highest * 1.2)
    axes.set_ylabel("customers")
    axes.set_title(title, fontsize=11)
    axes.legend(title="language", fontsize=8, title_fontsize=8, loc="upper right")
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png")
    return png.getvalue()
