"""Start links: Telegram's ``?start=<flow>[-<source>]`` payload or Slack's ``start <flow>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

# What Telegram lets a deep-link payload hold; anything else cannot have come from a link.
PAYLOAD_LIMIT = 64
_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FLOW_ID = re.compile(r"[a-z0-9_]+")
# What handlers/flows/schema.py lets a flow id be.
_WHOLE_FLOW_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SOURCE = re.compile(r"[a-z0-9_-]+")
# A flow id never holds "-" (handlers/flows/schema.py), so the first "-" of a payload ends
# it, and the source label after it may hold "-" and "_" itself; a payload with no "-" is a
# link with no label, as every link made before labels was.
SOURCE_SEPARATOR = "-"


class BadSource(ValueError):
    """A source label no start link can carry; the message says why in one sentence."""


@dataclass(frozen=True, slots=True)
class StartLink:
    """The flow a start link opens, and the label of where it was put (a poster, a receipt)."""

    flow_id: str
    source: str | None = None

    @property
    def payload(self) -> str:
        """What the link carries after ``?start=``; also what conversations store of it."""
        if self.source is None:
            return self.flow_id
        return f"{self.flow_id}{SOURCE_SEPARATOR}{self.source}"


@dataclass(frozen=True, slots=True)
class LinkFigures:
    """What the conversations one start link began came to."""

    payload: str
    started: int
    finished: int
    ideas: int

    @classmethod
    def others(cls, links: int, *, started: int, finished: int, ideas: int) -> LinkFigures:
        """The links not shown, summed in one line (a payload never holds a space)."""
        return cls(f"{links} other links", started, finished, ideas)


def could_be_flow_id(name: str) -> bool:
    """Whether a flow may have ``name`` as its id; a name that cannot is no flow's."""
    return _WHOLE_FLOW_ID.fullmatch(name) is not None


def parsed_start_link(payload: str) -> StartLink | None:
    """The link a start payload is (folded to lower case); None if no link can carry it."""
    if _LINK_PAYLOAD.fullmatch(payload) is None:
        return None
    flow_id, separator, source = payload.casefold().partition(SOURCE_SEPARATOR)
    if _FLOW_ID.fullmatch(flow_id) is None:
        return None
    if not separator:
        return StartLink(flow_id)
    if _SOURCE.fullmatch(source) is None:
        return None
    return StartLink(flow_id, source)


def start_link(flow_id: str, source: str | None) -> StartLink:
    """The link to ``flow_id`` labelled ``source``; BadSource if no link can carry the label."""
    if source is None:
        return StartLink(flow_id)
    if not source:
        raise BadSource("give the source label at least one character, or leave --source out")
    room = PAYLOAD_LIMIT - len(flow_id) - len(SOURCE_SEPARATOR)
    if len(source) > room:
        # Never echo the label: it may be a whole pasted file.
        raise BadSource(
            f"the source label has {len(source)} characters; a link to flow '{flow_id}' has "
            f"room for at most {room} (Telegram allows {PAYLOAD_LIMIT} in all)"
        )
    # Checked before folding: some letters outside a-z fold into it (the Kelvin sign into k).
    if _SOURCE.fullmatch(source.lower() if source.isascii() else source) is None:
        raise BadSource(
            "the source label may hold only the letters a-z, digits, '_' and '-' "
            "(Telegram allows no others in a link)"
        )
    return StartLink(flow_id, source.lower())


def telegram_link(*, bot_username: str, link: StartLink) -> str:
    """The t.me deep link that opens ``link`` with the bot."""
    return f"https://t.me/{bot_username}?start={link.payload}"
