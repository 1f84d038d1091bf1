"""The flow a start link names: Telegram's ``?start=<flow>`` payload or Slack's ``start <flow>``."""

from __future__ import annotations

import re

# What Telegram lets a deep-link payload hold; anything else cannot have come from a link.
_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def linked_flow_id(payload: str) -> str | None:
    """The flow id a start payload names (ids are lower case); None if it cannot be one."""
    if _LINK_PAYLOAD.fullmatch(payload) is None:
        return None
    return payload.casefold()
