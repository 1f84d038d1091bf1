"""The staff's ``/ideas`` command: what it says, or how to say it right."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.format import escape
from handlers.ideas.status import IdeaStatus, StatusLabels, normalize_tag, parse_status

# Idea ids are PostgreSQL integers (int4).
MAX_IDEA_ID = 2**31 - 1
IDEAS_COMMAND = "/ideas"
USAGE = (
    "Usage: `/ideas search WORDS`, `/ideas list [STATUS] [#tag]`, `/ideas top [#tag]`, "
    "`/ideas digest`, `/ideas tag ID tag… [-tag…]`, `/ideas merge ID into ID`, "
    "`/ideas unmerge ID`, "
    "`/ideas status ID STATUS [message to the customers]` "
    "(for example `/ideas status 12 planned We start in May`), or `/ideas update ID message` "
    "to tell every customer of the idea something. Statuses: {statuses}."
)
LIST_LENGTH = 10


@dataclass(frozen=True, slots=True)
class SetStatus:
    """``/ideas status ID STATUS [message]``, or ``/ideas update ID message`` (status None)."""

    idea_id: int
    status: IdeaStatus | None
    message: str


@dataclass(frozen=True, slots=True)
class Tagging:
    """``/ideas tag ID tag… [-tag…]``."""

    idea_id: int
    add: tuple[str, ...]
    remove: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Search:
    """``/ideas search WORDS``, ``/ideas list [STATUS] [#tag]``, ``/ideas top [#tag]``."""

    text: str | None = None
    status: IdeaStatus | None = None
    tag: str | None = None
    top: bool = False


@dataclass(frozen=True, slots=True)
class Merge:
    """``/ideas merge DUPLICATE into ORIGINAL``, or ``/ideas unmerge DUPLICATE``."""

    duplicate_id: int
    original_id: int | None


@dataclass(frozen=True, slots=True)
class AskDigest:
    """``/ideas digest``."""


IdeasCommand = SetStatus | Tagging | Search | AskDigest | Merge


def usage(labels: StatusLabels) -> str:
    """How to use the command, with the statuses' names."""
    names = ", ".join(labels.label(status, "en").lower() for status in IdeaStatus)
    return USAGE.format(statuses=names)


def _search(verb: str, rest: list[str], labels: StatusLabels) -> Search | str:
    tags = [word for word in rest if word.startswith("#")]
    words = [word for word in rest if not word.startswith("#")]
    tag = normalize_tag(tags[0]) if tags else None
    if verb == "search":
        return Search(text=" ".join(words), tag=tag) if words else usage(labels)
    if verb == "top":
        return Search(top=True, tag=tag)
    status = parse_status(" ".join(words), labels) if words else None
    if words and status is None:
        return f"“{' '.join(words)}” is not a status. " + usage(labels)
    return Search(status=status, tag=tag)


def parse_ideas_command(words: str, labels: StatusLabels) -> IdeasCommand | str:
    """The command in ``words``, or a line saying what is wrong and how to write it."""
    parts = words.split()
    verb = parts[0].casefold() if parts else ""
    if verb in ("search", "list", "top"):
        return _search(verb, parts[1:], labels)
    if verb == "digest":
        return AskDigest()
    if verb in ("merge", "unmerge"):
        numbers = [word.lstrip("#") for word in parts[1:] if word.casefold() != "into"]
        if not all(_idea_number(number) for number in numbers) or len(numbers) != (
            2 if verb == "merge" else 1
        ):
            return usage(labels)
        original = int(numbers[1]) if verb == "merge" else None
        return Merge(duplicate_id=int(numbers[0]), original_id=original)
    if len(parts) < 3 or verb not in ("status", "update", "tag"):
        return usage(labels)
    number = parts[1].lstrip("#")
    if not _idea_number(number):
        return f"“{parts[1]}” is not an idea number. " + usage(labels)
    if verb == "update":
        return SetStatus(idea_id=int(number), status=None, message=" ".join(parts[2:]))
    if verb == "tag":
        add = tuple(normalize_tag(tag) for tag in parts[2:] if not tag.startswith("-"))
        remove = tuple(normalize_tag(tag[1:]) for tag in parts[2:] if tag.startswith("-"))
        return Tagging(idea_id=int(number), add=add, remove=remove)
    # A status may take up to three words ("under review"); the rest is the message.
    for length in (3, 2, 1):
        status = parse_status(" ".join(parts[2 : 2 + length]), labels)
        if status is not None:
            message = " ".join(parts[2 + length :])
            return SetStatus(idea_id=int(number), status=status, message=message)
    return f"“{parts[2]}” is not a status. " + usage(labels)


def search_results(
    ideas: list[dict[str, Any]], labels: StatusLabels, *, limit: int = LIST_LENGTH
) -> str:
    """A short list of ideas for Slack, each with its status, how many asked, and its thread."""
    if not ideas:
        return "No ideas found."
    lines = []
    for idea in ideas[:limit]:
        try:
            status = labels.label(IdeaStatus(idea["status"]), "en")
        except ValueError:
            status = idea["status"]
        tags = "".join(f" #{tag}" for tag in idea["tags"])
        line = (
            f"#{idea['id']} [{status}] {escape(idea['title'])} · "
            f"{len(idea['linked_customers'])} asked{tags}"
        )
        thread = idea.get("thread")
        if thread:
            link = (
                f"https://slack.com/archives/{thread['channel']}/p{thread['ts'].replace('.', '')}"
            )
            line += f" · <{link}|thread>"
        lines.append(line)
    more = len(ideas) - limit
    if more > 0:
        lines.append(f"…and {more} more (`ideabot ideas list` shows all).")
    return "\n".join(lines)


def _idea_number(word: str) -> bool:
    """True if ``word`` can be an idea's number: ids are PostgreSQL integers.

    A larger number failed in the database (and int() refuses over 4300 digits) instead of
    being explained to the person who typed it.
    """
    return word.isdecimal() and len(word) <= len(str(MAX_IDEA_ID)) and int(word) <= MAX_IDEA_ID
