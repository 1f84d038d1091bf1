"""Reads ``/ideabot campaigns …``: each verb as a typed value, or one sentence on what is wrong."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from bot.slack.commands import MAX_IDEA_ID
from handlers.campaigns.audience import Audience
from handlers.ideas.status import normalize_tag

CAMPAIGNS_SUBCOMMAND = "campaigns"
USAGE = (
    "Usage: `/ideabot campaigns list`, `preview NAME` (who it would invite now; nothing is "
    "sent), `create NAME --flow FLOW --text en=TEXT [--text nb=TEXT] [--schedule RULE] "
    "[--platform telegram|slack] [--language L] [--inactive-days N] [--follows IDEA] [--tag T] "
    "[--shipped]`, `start NAME` (asks to confirm), `pause NAME`, `resume NAME`, `stats NAME`. "
    "A schedule is `now` (the default), `daily 10:00`, `weekly mon 10:00` or "
    "`monthly 1 mon 10:00`."
)
# Slack sends at most a few thousand characters; a forged request could send more.
MAX_COMMAND_CHARACTERS = 4000
# Each repeatable filter (--platform, --language, --follows, --tag) takes at most this many.
MAX_VALUES = 20
MAX_INACTIVE_DAYS = 36_500
PLATFORMS = ("telegram", "slack")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
# A quoted part is one word (so "--tag" inside it is text); curly quotes count as quotes.
_WORD = re.compile(r'"([^"]*)"|(\S+)')
_OPTION = re.compile(r"--[a-z-]+")


# What is typed is quoted back in an answer, cut to this many characters.
QUOTED_CHARACTERS = 40


def _quoted(word: str) -> str:
    shown = word if len(word) <= QUOTED_CHARACTERS else word[: QUOTED_CHARACTERS - 1] + "…"
    return f"“{shown}”"


class CampaignWordsError(ValueError):
    """The words are no campaign command; the message is one sentence for the person."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"{problem}; nothing was changed (`/ideabot campaigns help` shows how to write it)."
        )


@dataclass(frozen=True, slots=True)
class ListCampaigns:
    """``campaigns`` or ``campaigns list``: every campaign with its state."""


@dataclass(frozen=True, slots=True)
class ShowUsage:
    """``campaigns help``, or a verb that is not one."""


@dataclass(frozen=True, slots=True)
class PreviewCampaign:
    """``campaigns preview NAME``: who it would invite now; nothing is sent."""

    name: str


@dataclass(frozen=True, slots=True)
class CreateCampaign:
    """``campaigns create NAME --flow FLOW --text LANG=TEXT …``: the CLI's options in one line."""

    name: str
    flow_id: str
    texts: dict[str, str]
    audience: Audience
    schedule: str = "now"


@dataclass(frozen=True, slots=True)
class AskToStart:
    """``campaigns start NAME``: the confirmation with its Yes button, if a start would go."""

    name: str


@dataclass(frozen=True, slots=True)
class PauseCampaign:
    """``campaigns pause NAME``."""

    name: str


@dataclass(frozen=True, slots=True)
class ResumeCampaign:
    """``campaigns resume NAME``."""

    name: str


@dataclass(frozen=True, slots=True)
class CampaignStats:
    """``campaigns stats NAME``: the figures per language, as text and as a chart."""

    name: str


CampaignCommand = (
    ListCampaigns
    | ShowUsage
    | PreviewCampaign
    | CreateCampaign
    | AskToStart
    | PauseCampaign
    | ResumeCampaign
    | CampaignStats
)


@dataclass(frozen=True, slots=True)
class _Word:
    """One word of the command; a quoted one is never an option."""

    text: str
    quoted: bool = False

    @property
    def option(self) -> str | None:
        """The option this word names (``--flow``), or None for a value."""
        return None if self.quoted or _OPTION.fullmatch(self.text) is None else self.text


def _words(text: str) -> list[_Word]:
    """The command's words; a part in quotes, straight or curly, is one word."""
    plain = text.replace("\u201c", '"').replace("\u201d", '"')
    return [
        _Word(match.group(1), quoted=True) if match.group(2) is None else _Word(match.group(2))
        for match in _WORD.finditer(plain)
    ]


_Parser = Callable[[list[_Word]], CampaignCommand]


def _one_name(verb: str, rest: list[_Word]) -> str:
    if not rest:
        raise CampaignWordsError(f"Name the campaign: `/ideabot campaigns {verb} NAME`")
    if len(rest) > 1:
        raise CampaignWordsError(f"Give one campaign name: `/ideabot campaigns {verb} NAME`")
    return rest[0].text


def _named(command: Callable[[str], CampaignCommand], verb: str) -> _Parser:
    def parse(rest: list[_Word]) -> CampaignCommand:
        """The command, once the words after the verb are one name."""
        return command(_one_name(verb, rest))

    return parse


@dataclass
class _Options:
    """What ``create`` read so far."""

    flow: str | None = None
    schedule: str | None = None
    texts: dict[str, str] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    follows: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    inactive_days: int | None = None
    shipped: bool = False


def _language(code: str, option: str) -> str:
    language = code.strip().casefold()
    if _LANGUAGE.fullmatch(language) is None:
        raise CampaignWordsError(
            f"{_quoted(code)} is no language code for {option}: "
            "use two or three letters, such as en"
        )
    return language


def _text(value: str, options: _Options) -> None:
    code, equals, words = value.partition("=")
    if not equals:
        raise CampaignWordsError(f"{_quoted(value)} is no text: write --text LANGUAGE=TEXT")
    language = _language(code, "--text")
    if language in options.texts:
        raise CampaignWordsError(f"--text {language}= is given twice")
    # Its length is the core's to check (LONGEST_INVITATION), the same for every door.
    options.texts[language] = words.strip()


def _once(value: object, option: str) -> None:
    if value is not None:
        raise CampaignWordsError(f"{option} is given twice")


def _added(values: list[str] | list[int], option: str) -> None:
    if len(values) >= MAX_VALUES:
        raise CampaignWordsError(f"{option} is given more than {MAX_VALUES} times")


def _platform(value: str, options: _Options) -> None:
    _added(options.platforms, "--platform")
    platform = value.casefold()
    if platform not in PLATFORMS:
        raise CampaignWordsError(f"{_quoted(value)} is no platform: use telegram or slack")
    options.platforms.append(platform)


def _number(word: str, digits: int) -> bool:
    """ASCII digits, few enough that int() is cheap (a forged request may send thousands)."""
    return word.isascii() and word.isdigit() and len(word) <= digits


def _follows(value: str, options: _Options) -> None:
    _added(options.follows, "--follows")
    number = value.lstrip("#")
    if not _number(number, len(str(MAX_IDEA_ID))) or not 0 < int(number) <= MAX_IDEA_ID:
        raise CampaignWordsError(f"{_quoted(value)} is no idea number for --follows")
    options.follows.append(int(number))


def _inactive_days(value: str, options: _Options) -> None:
    _once(options.inactive_days, "--inactive-days")
    if not _number(value, len(str(MAX_INACTIVE_DAYS))) or not 0 < int(value) <= MAX_INACTIVE_DAYS:
        raise CampaignWordsError(
            f"{_quoted(value)} is no number of days for --inactive-days: write one such as 90"
        )
    options.inactive_days = int(value)


def _flow(value: str, options: _Options) -> None:
    _once(options.flow, "--flow")
    options.flow = value


def _schedule(value: str, options: _Options) -> None:
    _once(options.schedule, "--schedule")
    options.schedule = value


def _language_filter(value: str, options: _Options) -> None:
    _added(options.languages, "--language")
    options.languages.append(_language(value, "--language"))


def _tag(value: str, options: _Options) -> None:
    _added(options.tags, "--tag")
    options.tags.append(normalize_tag(value))


_Reader = Callable[[str, _Options], None]
# Options whose value is one word.
_ONE_WORD: Final[Mapping[str, _Reader]] = MappingProxyType(
    {
        "--flow": _flow,
        "--platform": _platform,
        "--language": _language_filter,
        "--inactive-days": _inactive_days,
        "--follows": _follows,
        "--tag": _tag,
    }
)
# Options whose value runs to the next option: a text or a schedule has spaces.
_SEVERAL_WORDS: Final[Mapping[str, _Reader]] = MappingProxyType(
    {"--text": _text, "--schedule": _schedule}
)
_FLAGS = frozenset({"--shipped"})
_KNOWN = frozenset(_ONE_WORD) | frozenset(_SEVERAL_WORDS) | _FLAGS


def _value_of(option: str, rest: list[_Word], start: int) -> tuple[str, int]:
    """The value of ``option`` at ``rest[start:]`` and where the next option starts."""
    if option in _ONE_WORD:
        if start >= len(rest) or rest[start].option in _KNOWN:
            raise CampaignWordsError(f"{option} needs a value")
        return rest[start].text, start + 1
    end = start
    while end < len(rest) and rest[end].option not in _KNOWN:
        end += 1
    if end == start:
        raise CampaignWordsError(f"{option} needs a value")
    return " ".join(word.text for word in rest[start:end]), end


def _read_options(rest: list[_Word]) -> _Options:
    options = _Options()
    position = 0
    while position < len(rest):
        word = rest[position]
        if word.option is None:
            raise CampaignWordsError(
                f"{_quoted(word.text)} is not understood here: options start with --"
            )
        if word.option in _FLAGS:
            if options.shipped:
                raise CampaignWordsError(f"{word.option} is given twice")
            options.shipped = True
            position += 1
            continue
        reader = _ONE_WORD.get(word.option) or _SEVERAL_WORDS.get(word.option)
        if reader is None:
            raise CampaignWordsError(f"{_quoted(word.option)} is not an option of create")
        value, position = _value_of(word.option, rest, position + 1)
        reader(value, options)
    return options


def _parse_create(rest: list[_Word]) -> CampaignCommand:
    if not rest or rest[0].option is not None:
        raise CampaignWordsError(
            "Name the campaign first: `/ideabot campaigns create NAME --flow FLOW --text en=TEXT`"
        )
    options = _read_options(rest[1:])
    if options.flow is None:
        raise CampaignWordsError("create needs --flow FLOW, the live flow its Start button opens")
    return CreateCampaign(
        name=rest[0].text,
        flow_id=options.flow,
        texts=options.texts,
        audience=Audience(
            platforms=tuple(dict.fromkeys(options.platforms)),
            languages=tuple(dict.fromkeys(options.languages)),
            inactive_days=options.inactive_days,
            follows=tuple(dict.fromkeys(options.follows)),
            tags=tuple(dict.fromkeys(options.tags)),
            shipped=options.shipped,
        ),
        schedule=options.schedule or "now",
    )


def _parse_list(rest: list[_Word]) -> CampaignCommand:
    if rest:
        raise CampaignWordsError("list takes no more words")
    return ListCampaigns()


_PARSERS: Final[Mapping[str, _Parser]] = MappingProxyType(
    {
        "list": _parse_list,
        "help": lambda rest: ShowUsage(),
        "preview": _named(PreviewCampaign, "preview"),
        "create": _parse_create,
        "start": _named(AskToStart, "start"),
        "pause": _named(PauseCampaign, "pause"),
        "resume": _named(ResumeCampaign, "resume"),
        "stats": _named(CampaignStats, "stats"),
    }
)


def is_campaigns_command(text: str) -> bool:
    """True if ``/ideabot TEXT`` is about campaigns (its first word is ``campaigns``)."""
    words = text.split(maxsplit=1)
    return bool(words) and words[0].casefold() == CAMPAIGNS_SUBCOMMAND


def parse_campaigns_command(text: str) -> CampaignCommand:
    """The command in ``campaigns …`` words; CampaignWordsError with one sentence if none."""
    if len(text) > MAX_COMMAND_CHARACTERS:
        raise CampaignWordsError(
            f"that command is {len(text)} characters long; keep it to {MAX_COMMAND_CHARACTERS}"
        )
    words = _words(text)
    if not words or words[0].text.casefold() != CAMPAIGNS_SUBCOMMAND:
        return ShowUsage()
    if len(words) == 1:
        return ListCampaigns()
    parse = _PARSERS.get(words[1].text.casefold())
    return ShowUsage() if parse is None else parse(words[2:])
