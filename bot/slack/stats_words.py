"""Reads ``/ideabot flows stats NAME [--version N] [--since DATE] [--compare A B]``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers.flows.versions import LARGEST_VERSION

STATS_SUBCOMMAND = "stats"
STATS_USAGE = "/ideabot flows stats NAME [--version N] [--since YYYY-MM-DD] [--compare A B]"


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """Which funnels an admin asked for: a flow's versions (None: the live one), since when."""

    flow_id: str
    versions: tuple[int | None, ...] = (None,)
    since: datetime | None = None


class StatsWordsError(ValueError):
    """The words were not a stats request; the message is one sentence, with the usage."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}; type it as {STATS_USAGE}")


def _number(word: str | None, option: str) -> int:
    if word is None or not word.isdecimal() or not 1 <= int(word) <= LARGEST_VERSION:
        raise StatsWordsError(f"{option} needs a version number such as 2")
    return int(word)


def _day(word: str | None) -> datetime:
    try:
        return datetime.strptime(word or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise StatsWordsError("--since needs a day such as 2026-03-01") from None


def _options(words: Iterator[str], found: dict[str, object]) -> list[str]:
    """Read the options into ``found``; the other words, in order."""
    rest: list[str] = []
    for word in words:
        if word in found:
            raise StatsWordsError(f"{word} is given twice")
        match word:
            case "--version":
                found[word] = _number(next(words, None), word)
            case "--since":
                found[word] = _day(next(words, None))
            case "--compare":
                found[word] = (_number(next(words, None), word), _number(next(words, None), word))
            case _ if word.startswith("-"):
                raise StatsWordsError(f"{word} is not an option of stats")
            case _:
                rest.append(word)
    return rest


def stats_query(words: Sequence[str]) -> StatsQuery:
    """The funnels the words after ``stats`` ask for; StatsWordsError if they ask for none."""
    found: dict[str, object] = {}
    names = _options(iter(words), found)
    if len(names) != 1:
        raise StatsWordsError("name one flow")
    if "--version" in found and "--compare" in found:
        raise StatsWordsError("give either --version or --compare")
    versions: tuple[int | None, ...] = (None,)
    if isinstance(version := found.get("--version"), int):
        versions = (version,)
    if isinstance(compared := found.get("--compare"), tuple):
        versions = compared
    since = found.get("--since")
    return StatsQuery(
        flow_id=names[0], versions=versions, since=since if isinstance(since, datetime) else None
    )
