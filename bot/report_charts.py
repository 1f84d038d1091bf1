"""The report's charts on matplotlib's own canvases: SVG for the page, PNG for Slack."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from handlers.ideas.report import CHART_TITLES, Chart, Report, Wait
from handlers.ideas.status import StatusLabels

BAR_COLOUR = "#2171b5"
MONTH_COLOUR = "#cb181d"
SECOND_COLOUR = "#fd8d3c"
WIDTH_INCHES = 7.0
HEIGHT_INCHES = 3.2
DPI = 100
# Long names are cut so the labels leave room for the bars.
LABEL_LENGTH = 30
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.DOTALL)
_NAMESPACE = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def _label(text: str) -> str:
    cut = text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"
    # A "$" would start matplotlib's math notation, and a tag like "$\\frac" would not draw.
    return cut.replace("$", r"\$")


def _bars(axes: Axes, labels: list[str], values: Sequence[float], *, last_marked: bool) -> None:
    colours = [BAR_COLOUR] * len(values)
    if last_marked and colours:
        colours[-1] = MONTH_COLOUR
    axes.bar(range(len(values)), values, color=colours)
    axes.set_xticks(range(len(labels)), labels, fontsize=8)
    for position, value in enumerate(values):
        axes.annotate(f"{value:g}", (position, value), ha="center", va="bottom", fontsize=8)
    axes.set_ylim(0, (max(values, default=0) or 1) * 1.2)


def _horizontal(axes: Axes, labels: list[str], values: Sequence[float], *, percent: bool) -> None:
    rows = list(range(len(values)))
    axes.barh(rows, values, color=BAR_COLOUR)
    axes.set_yticks(rows, [_label(label) for label in labels], fontsize=8)
    axes.invert_yaxis()
    # Shares are drawn against the whole (100%), counts against the largest.
    widest = 1.0 if percent else max(values, default=0) or 1
    axes.set_xlim(0, widest * 1.25)
    if percent:
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    for row, value in enumerate(values):
        shown = f"{value:.0%}" if percent else f"{value:g}"
        axes.text(value + widest * 0.02, row, shown, va="center", fontsize=8)


def _waits(axes: Axes, report: Report) -> None:
    months = [figures.month.short for figures in report.months]
    series = (
        ("first staff reply", BAR_COLOUR, [Wait.of(m.first_reply_seconds) for m in report.months]),
        ("news of their idea", SECOND_COLOUR, [Wait.of(m.news_seconds) for m in report.months]),
    )
    for name, colour, waits in series:
        for which, style in (("median", "-"), ("p90", "--")):
            values = [
                wait.median_seconds if which == "median" else wait.p90_seconds for wait in waits
            ]
            axes.plot(
                months,
                [value / 3600 if value is not None else float("nan") for value in values],
                style,
                marker="o",
                color=colour,
                label=f"{name}, {which}",
            )
    axes.set_ylabel("hours", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=7)


def _ideas(axes: Axes, report: Report) -> None:
    months = [figures.month.short for figures in report.months]
    _bars(axes, months, [figures.ideas_in for figures in report.months], last_marked=True)


def _tags(axes: Axes, report: Report) -> None:
    tags = report.data.tags
    _horizontal(axes, [tag for tag, _ in tags], [count for _, count in tags], percent=False)


def _standing(axes: Axes, report: Report) -> None:
    labels = StatusLabels.default()
    standing = report.data.standing
    names = [labels.label(status, "en") for status, _ in standing]
    _horizontal(axes, names, [count for _, count in standing], percent=False)


def _heard_back(axes: Axes, report: Report) -> None:
    months = [figures.month.short for figures in report.months]
    heard = [figures.customers_heard_back for figures in report.months]
    _bars(axes, months, heard, last_marked=True)


def _campaigns(axes: Axes, report: Report) -> None:
    lines = report.data.campaigns
    rates = [line.response_rate for line in lines]
    _horizontal(axes, [line.name for line in lines], rates, percent=True)


def _flows(axes: Axes, report: Report) -> None:
    shown = [flow for flow in report.data.flows if flow.started]
    names = [f"{flow.flow_id} v{flow.version}" for flow in shown]
    _horizontal(axes, names, [flow.completion for flow in shown], percent=True)


_DRAWN_BY: dict[Chart, Callable[[Axes, Report], None]] = {
    Chart.IDEAS: _ideas,
    Chart.TAGS: _tags,
    Chart.STANDING: _standing,
    Chart.WAITS: _waits,
    Chart.HEARD_BACK: _heard_back,
    Chart.CAMPAIGNS: _campaigns,
    Chart.FLOWS: _flows,
}


def draw(report: Report, chart: Chart) -> Figure:
    """The chart as a matplotlib figure, on no canvas yet."""
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    axes = figure.subplots()
    _DRAWN_BY[chart](axes, report)
    axes.set_title(CHART_TITLES[chart], fontsize=10)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    return figure


def chart_png(report: Report, chart: Chart) -> bytes:
    """The chart as a PNG, for Slack."""
    figure = draw(report, chart)
    # The Agg canvas draws without pyplot, so no figure outlives the call.
    FigureCanvasAgg(figure)
    png = io.BytesIO()
    figure.savefig(png, format="png")
    return png.getvalue()


def chart_svg(report: Report, chart: Chart) -> str:
    """The chart as an inline SVG element, text drawn as paths so no font is fetched."""
    figure = draw(report, chart)
    FigureCanvasSVG(figure)
    svg = io.StringIO()
    figure.savefig(svg, format="svg", metadata={"Date": None})
    text = svg.getvalue()
    # Inline in HTML the prolog, DOCTYPE and namespaces have no place (the HTML parser knows
    # svg and xlink), and the metadata names matplotlib's web site: the page names no address.
    text = _METADATA.sub("", text[text.index("<svg") :])
    return _NAMESPACE.sub("", text)


def svg_ids_unique(svg: str, prefix: str) -> str:
    """The SVG with its ids (and references to them) prefixed, so several can share a page."""
    return re.sub(r'(id="|href="#|url\(#)', lambda found: f"{found.group(1)}{prefix}", svg)
