"""The report as one self-contained HTML page: inline SVG charts, inline CSS, nothing fetched."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from html import escape

from bot.report_charts import chart_svg, svg_ids_unique
from handlers.ideas.report import CHART_TITLES, Chart, Report, Wait, hours
from handlers.ideas.status import IdeaStatus, StatusLabels

# The browser may load nothing but the page itself: images only from data: URIs, no scripts.
CONTENT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font-family: sans-serif; color: #111; background: #fff; max-width: 60rem;
       margin: 1.5rem auto; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.5rem; text-align: left; }
td.number, th.number { text-align: right; }
figure.chart { margin: 0.5rem 0; } figure.chart svg { max-width: 100%; height: auto; }
blockquote { margin: 0.3rem 0 0.8rem 1rem; font-style: italic; overflow-wrap: anywhere; }
pre.summary { white-space: pre-wrap; background: #f4f4f4; padding: 0.5rem; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  section, figure.chart, table { break-inside: avoid; }
  pre.summary { background: none; border: 1px solid #bbb; }
}
"""


def _table(headings: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    def cell(tag: str, value: object) -> str:
        numeric = isinstance(value, int | float)
        kind = ' class="number"' if numeric else ""
        return f"<{tag}{kind}>{escape(str(value))}</{tag}>"

    head = "".join(f"<th>{escape(heading)}</th>" for heading in headings)
    body = "".join("<tr>" + "".join(cell("td", value) for value in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(report: Report, chart: Chart) -> str:
    if chart not in report.charts:
        return ""
    svg = svg_ids_unique(chart_svg(report, chart), f"{chart.value}-")
    title = escape(CHART_TITLES[chart])
    return (
        f'<figure class="chart" id="chart-{chart.value}" role="img" aria-label="{title}">'
        f"{svg}</figure>"
    )


def _ideas(report: Report) -> str:
    data = report.data
    tags = (
        _table(("Tag", "Ideas"), data.tags)
        if data.tags
        else "<p>No idea of the month has a tag.</p>"
    )
    themes = (
        _table(("Theme (its most asked idea)", "Ideas"), data.themes)
        if data.themes
        else "<p>No two ideas of the month are alike enough to make a theme.</p>"
    )
    trend = _table(
        ("Month", "Ideas in", "Conversations started"),
        ((m.month.label, m.ideas_in, m.conversations_started) for m in report.months),
    )
    return (
        f"<section><h2>Ideas in</h2>{_figure(report, Chart.IDEAS)}{trend}"
        f"<h3>By tag</h3>{_figure(report, Chart.TAGS)}{tags}<h3>By theme</h3>{themes}</section>"
    )


def _most_asked(report: Report) -> str:
    asked = report.data.most_asked
    if not asked:
        return "<section><h2>Most asked for</h2><p>No idea was asked for this month.</p></section>"
    labels = StatusLabels.default()
    items = "".join(
        f"<li><strong>{escape(idea.title)}</strong> — {escape(_status(labels, idea.status))}; "
        f"{idea.asked_in_month} asked this month, {idea.followers} in all"
        + (f"<blockquote>“{escape(idea.quote)}”</blockquote>" if idea.quote else "")
        + "</li>"
        for idea in asked
    )
    return f"<section><h2>Most asked for</h2><ol>{items}</ol></section>"


def _status(labels: StatusLabels, status: str) -> str:
    try:
        return labels.label(IdeaStatus(status), "en")
    except ValueError:
        return status


def _standing(report: Report) -> str:
    labels = StatusLabels.default()
    table = _table(
        ("Status", "Ideas"),
        ((labels.label(status, "en"), count) for status, count in report.data.standing),
    )
    last_day = report.month.end(report.timezone) - timedelta(days=1)
    return (
        f"<section><h2>Where ideas stand at the end of {escape(last_day.date().isoformat())}"
        f"</h2>{_figure(report, Chart.STANDING)}{table}</section>"
    )


def _wait_row(name: str, wait: Wait) -> tuple[str, int, str, str]:
    return (name, wait.count, hours(wait.median_seconds), hours(wait.p90_seconds))


def _waits(report: Report) -> str:
    figures = report.data.month
    table = _table(
        ("Waiting for", "Waits", "Median", "90th percentile"),
        (
            _wait_row("a first staff reply", report.first_reply),
            _wait_row("news of their idea", report.news),
        ),
    )
    heard = _table(
        ("Month", "Customers who heard back"),
        ((m.month.label, m.customers_heard_back) for m in report.months),
    )
    return (
        f"<section><h2>How long customers wait</h2>{_figure(report, Chart.WAITS)}{table}"
        f"<p>{figures.first_reply_missing} conversation(s) handed to staff this month have no "
        f"staff reply yet.</p></section><section><h2>Customers who heard back</h2>"
        f"{_figure(report, Chart.HEARD_BACK)}{heard}</section>"
    )


def _campaigns(report: Report) -> str:
    lines = report.data.campaigns
    if not lines:
        return (
            "<section><h2>Campaigns</h2><p>No campaign sent invitations this month.</p></section>"
        )
    table = _table(
        (
            "Campaign",
            "Invited",
            "Delivered",
            "Started",
            "Finished",
            "Ideas",
            "Opted out",
            "Response",
        ),
        (
            (
                line.name,
                line.invited,
                line.delivered,
                line.started,
                line.finished,
                line.ideas,
                line.opted_out,
                f"{line.response_rate:.0%}",
            )
            for line in lines
        ),
    )
    return f"<section><h2>Campaigns</h2>{_figure(report, Chart.CAMPAIGNS)}{table}</section>"


def _flows(report: Report) -> str:
    flows = report.data.flows
    if not flows:
        return "<section><h2>Flows</h2><p>No conversation started this month.</p></section>"
    table = _table(
        ("Flow", "Started", "Finished", "Handed to staff", "Completion"),
        (
            (
                f"{flow.flow_id} v{flow.version}",
                flow.started,
                flow.finished,
                flow.handed_to_staff,
                f"{flow.completion:.0%}",
            )
            for flow in flows
        ),
    )
    return f"<section><h2>Flows' completion</h2>{_figure(report, Chart.FLOWS)}{table}</section>"


def report_html(report: Report) -> str:
    """The whole page."""
    title = escape(f"ideabot report — {report.month.label}")
    sections = (
        _ideas(report),
        _most_asked(report),
        _standing(report),
        _waits(report),
        _campaigns(report),
        _flows(report),
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f"<h1>{title}</h1>"
        f"<p>Times in {escape(report.timezone)}; figures read from ideabot's database. "
        "What each figure means: docs/operations.md, “The report”.</p>"
        f'<pre class="summary">{escape(report.summary())}</pre>'
        + "".join(sections)
        + "</body></html>\n"
    )
