"""The staff's ``/ideas`` command: what it says, or how to say it right."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.idea_status import IdeaStatus, StatusLabels, parse_status

IDEAS_COMMAND = "/ideas"
USAGE = (
    "Usage: `/ideas status ID STATUS [message to the customers]`, for example "
    "`/ideas status 12 planned We start in May`, or `/ideas update ID message` to tell every "
    "customer of the idea something without changing its status. Statuses: {statuses}."
)


@dataclass(frozen=True, slots=True)
class SetStatus:
    """``/ideas status ID STATUS [message]``, or ``/ideas update ID message`` (status None)."""

    idea_id: int
    status: IdeaStatus | None
    message: str


def usage(labels: StatusLabels) -> str:
    """How to use the command, with the statuses' names."""
    names = ", ".join(labels.label(status, "en").lower() for status in IdeaStatus)
    return USAGE.format(statuses=names)


def parse_ideas_command(words: str, labels: StatusLabels) -> SetStatus | str:
    """The command in ``words``, or a line saying what is wrong and how to write it."""
    parts = words.split()
    verb = parts[0].casefold() if parts else ""
    if len(parts) < 3 or verb not in ("status", "update"):
        return usage(labels)
    number = parts[1].lstrip("#")
    if not number.isdigit():
        return f"“{parts[1]}” is not an idea number. " + usage(labels)
    if verb == "update":
        return SetStatus(idea_id=int(number), status=None, message=" ".join(parts[2:]))
    # A status may take up to three words ("under review"); the rest is the message.
    for length in (3, 2, 1):
        status = parse_status(" ".join(parts[2 : 2 + length]), labels)
        if status is not None:
            message = " ".join(parts[2 + length :])
            return SetStatus(idea_id=int(number), status=status, message=message)
    return f"“{parts[2]}” is not a status. " + usage(labels)
