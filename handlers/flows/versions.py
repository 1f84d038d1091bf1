"""What a push, publish or roll-back of a flow means for its versions, decided without storage."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from handlers.flows.schema import FlowDefinition


class FlowAction(StrEnum):
    """The kinds of change the audit trail records."""

    IMPORT = "import"
    PUSH = "push"
    DRAFT = "draft"
    PUBLISH = "publish"
    ROLLBACK = "rollback"
    DISCARD = "discard"


# The live version an admin saw when nothing was live yet (versions start at 1).
NOTHING_LIVE = 0
# The largest version number the database's integer column holds (PostgreSQL's int4); a larger
# one names no version, and SQLite would overflow comparing it.
LARGEST_VERSION = 2**31 - 1


@dataclass(frozen=True, slots=True)
class FlowChange:
    """One entry of a flow's audit trail: who did what, when, from which version to which."""

    flow_id: str
    action: FlowAction
    actor: str
    at: datetime
    from_version: int | None
    to_version: int | None
    draft_id: int | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class StoredFlow:
    """A stored version of a flow, with where it came from and who stored it when."""

    definition: FlowDefinition
    source: str
    created_by: str
    created_at: datetime
    live: bool


@dataclass(frozen=True, slots=True)
class FlowDraft:
    """A flow that is stored but not published, and the live version it was made against."""

    draft_id: int
    definition: FlowDefinition
    source: str
    created_by: str
    created_at: datetime
    based_on: int | None


@dataclass(frozen=True, slots=True)
class FlowSummary:
    """A flow at a glance: its live version, who made it live and when, what else is kept."""

    flow_id: str
    name: str
    live_version: int
    published_by: str
    published_at: datetime
    versions: int
    drafts: int


@dataclass(frozen=True, slots=True)
class Published:
    """What a push or publish did: the live version now, and whether it is new."""

    flow_id: str
    version: int
    previous: int | None
    changed: bool


class FlowLibraryError(Exception):
    """A flow change that cannot be made; the message is one sentence for the admin."""


class UnknownFlow(FlowLibraryError):
    """No flow of that name is stored."""

    def __init__(self, flow_id: str) -> None:
        super().__init__(f"there is no flow '{flow_id}' (`ideabot flows list` shows them)")


class UnknownVersion(FlowLibraryError):
    """The flow has no such version."""

    def __init__(self, flow_id: str, version: int) -> None:
        super().__init__(f"flow '{flow_id}' has no version {version}")


class UnknownDraft(FlowLibraryError):
    """The flow has no such draft."""

    def __init__(self, flow_id: str, draft_id: int) -> None:
        super().__init__(f"flow '{flow_id}' has no draft {draft_id}")


class NothingToRollBackTo(FlowLibraryError):
    """The live version is the flow's first, so there is no earlier one."""

    def __init__(self, flow_id: str, live: int) -> None:
        super().__init__(
            f"flow '{flow_id}' has nothing to roll back to: version {live} is its first"
        )


class ChangedMeanwhile(FlowLibraryError):
    """Someone else changed the flow between reading and writing; nothing was changed."""

    def __init__(self, flow_id: str) -> None:
        self.flow_id = flow_id
        super().__init__(
            f"flow '{flow_id}' was changed by someone else just now, so nothing was changed; "
            "look at `ideabot flows history` and try again"
        )


def next_version(versions: Collection[int]) -> int:
    """The number the next published version gets: one more than any stored."""
    return max(versions, default=0) + 1


def needs_import(*, checksum: str, live: str | None, last_imported: str | None) -> bool:
    """Whether a file from the flows folder becomes a new live version.

    Only a file that differs from the live version and from what the folder gave last time:
    an unchanged file must not undo what an admin published or rolled back since.
    """
    return checksum != live and checksum != last_imported


def rollback_target(flow_id: str, *, live: int, versions: Collection[int], to: int | None) -> int:
    """The version a roll-back makes live: ``to``, or else the one before the live version."""
    if to is not None:
        if to not in versions:
            raise UnknownVersion(flow_id, to)
        return to
    earlier = [version for version in versions if version < live]
    if not earlier:
        raise NothingToRollBackTo(flow_id, live)
    return max(earlier)
