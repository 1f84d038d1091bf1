"""The staff's ``/ideas`` command: what it says, or how to say it right."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from bot.slack.format import escape
from handlers.ideas.status import IdeaStatus, StatusLabels, normalize_tag, parse_status

# Idea ids are PostgreSQL integers (int4).
MAX_IDEA_ID = 2**31 - 1
IDEAS_COMMAND = "/ideas"
USAGE = (
    "Usage: `/ideas search WORDS`, `/ideas list [STATUS] [#tag]`, `/ideas top [#tag]`, "
    "`/ideas digest`, `/ideas tag ID tag… [-tag…]`, `/ideas merge ID into ID`, "
    "`/ideas unmerge ID`, `/ideas title ID New title` (staff's own title for an idea), "
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
class Retitle:
    """``/ideas title ID New title``: the title staff give an idea; ``-`` takes it back."""

    idea_id: int
    title: str


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


IdeasCommand = SetStatus | Tagging | Search | AskDigest | Merge | Retitle


def usage(labels: StatusLabels) -> str:
    """How to use the command, with the statuses' names."""
    names = ", ".join(labels.label(status, "en").lower() for status in IdeaStatus)
    return USAGE.format(statuses=names)


_Parser = Callable[[list[str], StatusLabels], IdeasCommand | str]
_IdeaParser = Callable[[int, list[str], StatusLabels], IdeasCommand | str]


def _words_and_tag(rest: list[str]) -> tuple[list[str], str | None]:
    """The words of a search, and its first ``#tag`` if any."""
    tags = [word for word in rest if word.startswith("#")]
    words = [word for word in rest if not word.startswith("#")]
    return words, normalize_tag(tags[0]) if tags else None


def _parse_search(rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas search WORDS [#tag]``."""
    words, tag = _words_and_tag(rest)
    return Search(text=" ".join(words), tag=tag) if words else usage(labels)


def _parse_top(rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas top [#tag]``."""
    return Search(top=True, tag=_words_and_tag(rest)[1])


def _parse_list(rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas list [STATUS] [#tag]``."""
    words, tag = _words_and_tag(rest)
    status = parse_status(" ".join(words), labels) if words else None
    if words and status is None:
        return f"“{' '.join(words)}” is not a status. " + usage(labels)
    return Search(status=status, tag=tag)


def _parse_digest(rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas digest``."""
    return AskDigest()


def _idea_numbers(rest: list[str], count: int) -> list[int] | None:
    """Exactly ``count`` idea numbers (``into`` between them is allowed), or None."""
    numbers = [word.lstrip("#") for word in rest if word.casefold() != "into"]
    if not all(_idea_number(number) for number in numbers) or len(numbers) != count:
        return None
    return [int(number) for number in numbers]


def _parse_merge(rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas merge DUPLICATE into ORIGINAL``."""
    numbers = _idea_numbers(rest, 2)
    if numbers is None:
        return usage(labels)
    return Merge(duplicate_id=numbers[0], original_id=numbers[1])


def _parse_unmerge(rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas unmerge DUPLICATE``."""
    numbers = _idea_numbers(rest, 1)
    if numbers is None:
        return usage(labels)
    return Merge(duplicate_id=numbers[0], original_id=None)


def _about_an_idea(parse: _IdeaParser) -> _Parser:
    """``parse`` for words that must start with an idea's number and say more after it."""

    def parse_words(rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
        """The idea's number checked first, then ``parse`` for the words after it."""
        if len(rest) < 2:
            return usage(labels)
        number = rest[0].lstrip("#")
        if not _idea_number(number):
            return f"“{rest[0]}” is not an idea number. " + usage(labels)
        return parse(int(number), rest[1:], labels)

    return parse_words


def _parse_update(idea_id: int, rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas update ID message``."""
    return SetStatus(idea_id=idea_id, status=None, message=" ".join(rest))


def _parse_tag(idea_id: int, rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas tag ID tag… [-tag…]``."""
    add = tuple(normalize_tag(tag) for tag in rest if not tag.startswith("-"))
    remove = tuple(normalize_tag(tag[1:]) for tag in rest if tag.startswith("-"))
    return Tagging(idea_id=idea_id, add=add, remove=remove)


def _parse_title(idea_id: int, rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas title ID New title`` (or ``-`` to take the staff title back)."""
    title = " ".join(rest)
    return Retitle(idea_id=idea_id, title="" if title == "-" else title)


def _parse_status(idea_id: int, rest: list[str], labels: StatusLabels) -> IdeasCommand | str:
    """``/ideas status ID STATUS [message]``."""
    # A status may take up to three words ("under review"); the rest is the message.
    for length in (3, 2, 1):
        status = parse_status(" ".join(rest[:length]), labels)
        if status is not None:
            return SetStatus(idea_id=idea_id, status=status, message=" ".join(rest[length:]))
    return f"“{rest[0]}” is not a status. " + usage(labels)


# Each verb's parser; any other verb gets the usage, as a mistyped verb needs it.
_PARSERS: Final[Mapping[str, _Parser]] = MappingProxyType(
    {
        "search": _parse_search,
        "list": _parse_list,
        "top": _parse_top,
        "digest": _parse_digest,
        "merge": _parse_merge,
        "unmerge": _parse_unmerge,
        "status": _about_an_idea(_parse_status),
        "update": _about_an_idea(_parse_update),
        "tag": _about_an_idea(_parse_tag),
        "title": _about_an_idea(_parse_title),
    }
)


def parse_ideas_command(words: str, labels: StatusLabels) -> IdeasCommand | str:
    """The command in ``words``, or a line saying what is wrong and how to write it."""
    parts = words.split()
    parse = _PARSERS.get(parts[0].casefold()) if parts else None
    return parse(parts[1:], labels) if parse is not None else usage(labels)


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
