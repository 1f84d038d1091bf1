"""A flow version's funnel as text: a table for the terminal, the figures beside a chart."""

from __future__ import annotations

from handlers.flows.funnel import FlowFunnel, StepFigures
from handlers.flows.links import LinkFigures

QUESTION_WIDTH = 34


def share(part: int, whole: int) -> str:
    """``part`` as a whole percentage of ``whole`` ("-" when there is no whole)."""
    return f"{part / whole:.0%}" if whole else "-"


def duration(seconds: float | None) -> str:
    """A median time the way people say it: 45s, 3m 05s, 2h 10m."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def short_question(question: str, width: int) -> str:
    """The question cut at a word to fit ``width`` characters, with an ellipsis if cut."""
    if len(question) <= width:
        return question
    cut = question[: width - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def _step_line(number: int, step: StepFigures) -> str:
    return (
        f"{number:>2}. {step.step_id:<14} {short_question(step.question, QUESTION_WIDTH):<34} "
        f"{step.reached:>8} {step.answered:>8} {step.left:>6} {duration(step.median_seconds):>8}"
    )


def funnel_text(funnel: FlowFunnel) -> str:
    """The funnel as a plain-text table, with the answers of choice, yes/no and rating steps."""
    since = f" since {funnel.since:%Y-%m-%d}" if funnel.since is not None else ""
    lines = [
        f"flow '{funnel.flow_id}' version {funnel.version}{since}: {funnel.started} started, "
        f"{funnel.finished} finished ({share(funnel.finished, funnel.started)}), "
        f"{funnel.left} left, {funnel.in_progress} in progress, "
        f"{funnel.handed_to_staff} handed to staff",
        f"    {'step':<14} {'question':<34} {'reached':>8} {'answered':>8} {'left':>6} "
        f"{'median':>8}",
    ]
    lines += [_step_line(number, step) for number, step in enumerate(funnel.steps, start=1)]
    for step in funnel.steps:
        if step.answers:
            given = ", ".join(f"{label} {count}" for label, count in step.answers)
            lines.append(f"answers to {step.step_id}: {given}")
    return "\n".join(lines)


def link_lines(figures: list[LinkFigures], *, heading: bool) -> list[str]:
    """Each start link's figures as a table: started, finished, ideas recorded."""
    width = max(len("link"), *(len(link.payload) for link in figures))
    lines = ["from start links:"] if heading else []
    lines.append(f"{'link':<{width}} {'started':>8} {'finished':>8} {'ideas':>6}")
    lines.extend(
        f"{link.payload:<{width}} {link.started:>8} {link.finished:>8} {link.ideas:>6}"
        for link in figures
    )
    return lines
