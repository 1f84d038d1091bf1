"""The digest as text: Slack's mrkdwn for the staff channel, plain for the terminal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.funnel_text import share, short_question
from handlers.ideas.digest import Digest, DigestFlow, DigestIdea, charted
from handlers.ideas.status import IdeaStatus, StatusLabels


def _plain(text: str) -> str:
    return text


def _label(status: str, labels: StatusLabels) -> str:
    try:
        return labels.label(IdeaStatus(status), "en")
    except ValueError:
        return status


def _day(moment: str) -> str:
    return datetime.fromisoformat(moment).strftime("%d %b %Y")


def flow_line(flow: DigestFlow) -> str:
    """One live flow in a line: "idea v3: 62% finish; most leave at 'How often…' (18%)"."""
    line = f"{flow.flow_id} v{flow.version}: "
    if not flow.started:
        return line + "no conversations started"
    line += f"{share(flow.finished, flow.started)} finish"
    if flow.most_left:
        question = short_question(flow.most_left_at, 12)
        line += f"; most leave at '{question}' ({share(flow.most_left, flow.started)})"
    return line


def _chart_note(flows: list[DigestFlow], escape: Callable[[str], str]) -> list[str]:
    """Which flows the chart shows, when it cannot show every flow that had conversations."""
    shown = charted(flows)
    if len(shown) == sum(1 for flow in flows if flow.started):
        return []
    names = ", ".join(escape(flow.flow_id) for flow in shown)
    return [f"• the chart shows the {len(shown)} where the fewest finish: {names}"]


def digest_text(
    digest: Digest,
    labels: StatusLabels,
    *,
    escape: Callable[[str], str] = _plain,
    bold: str = "",
) -> str:
    """The digest's text; ``escape`` makes customer words safe, ``bold`` marks headings."""

    def heading(text: str) -> str:
        return f"{bold}{text}{bold}"

    def idea_line(idea: DigestIdea) -> str:
        return (
            f"• #{idea.id} {escape(idea.title)} ({_label(idea.status, labels)}, "
            f"{idea.linked} asked)"
        )

    lines = [heading(f"Ideas digest, {_day(digest.since)} – {_day(digest.until)}")]
    lines += ["", heading(f"New ideas: {len(digest.new_ideas)}")]
    lines += [idea_line(idea) for idea in digest.new_ideas] or ["• none"]
    lines += ["", heading("Most requested")]
    lines += [idea_line(idea) for idea in digest.most_requested] or ["• none yet"]
    lines += ["", heading(f"Status changes: {len(digest.status_changes)}")]
    lines += [
        f"• #{change.idea_id} {escape(change.title)}: {_label(change.from_status, labels)} → "
        f"{_label(change.to_status, labels)} ({escape(change.by)})"
        for change in digest.status_changes
    ] or ["• none"]
    lines += ["", heading("Themes")]
    lines += [f"• {escape(title)}: {count} similar ideas" for title, count in digest.themes] or [
        "• no groups of similar ideas yet"
    ]
    if digest.tags:
        lines.append("• by tag: " + ", ".join(f"#{escape(t)} {n}" for t, n in digest.tags))
    if digest.duplicates:
        lines += ["", heading("Likely duplicates")]
        lines += [
            f"• #{pair.first_id} {escape(pair.first_title)} ↔ "
            f"#{pair.second_id} {escape(pair.second_title)}"
            for pair in digest.duplicates
        ]
        lines.append("• to merge one into the other: `/ideas merge ID into ID`")
    lines += ["", heading(f"Waiting for a reply: {len(digest.waiting)}")]
    for waiting in digest.waiting:
        where = ""
        if waiting.thread_ref:
            stamp = waiting.thread_ref.replace(".", "")
            link = f"https://slack.com/archives/{waiting.thread_channel}/p{stamp}"
            where = f" · <{link}|thread>" if bold else f" · {link}"
        lines.append(f"• {escape(waiting.customer_name)} since {_day(waiting.since)}{where}")
    if not digest.waiting:
        lines.append("• nobody")
    if digest.flows:
        lines += ["", heading("Flows, last 30 days")]
        lines += [f"• {escape(flow_line(flow))}" for flow in digest.flows]
        lines += _chart_note(digest.flows, escape)
    return "\n".join(lines)
