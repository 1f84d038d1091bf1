"""An idea's life: its statuses, their names for people, and a change of status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

# An idea others follow keeps this in place of its author's words, if staff gave no title.
ERASED_TITLE = "(the author's words were erased)"


class IdeaStatus(StrEnum):
    """Where an idea stands, from new to done (or declined, or a duplicate)."""

    # The answers of a customer who stopped halfway, kept for staff (see a flow's reminder).
    DRAFT = "draft"
    NEW = "new"
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DECLINED = "declined"
    DUPLICATE = "duplicate"


DEFAULT_LABELS: dict[IdeaStatus, dict[str, str]] = {
    IdeaStatus.DRAFT: {"en": "Draft", "nb": "Utkast"},
    IdeaStatus.NEW: {"en": "New", "nb": "Ny"},
    IdeaStatus.UNDER_REVIEW: {"en": "Under review", "nb": "Under vurdering"},
    IdeaStatus.PLANNED: {"en": "Planned", "nb": "Planlagt"},
    IdeaStatus.IN_PROGRESS: {"en": "In progress", "nb": "Under arbeid"},
    IdeaStatus.DONE: {"en": "Done", "nb": "Ferdig"},
    IdeaStatus.DECLINED: {"en": "Declined", "nb": "Avslått"},
    IdeaStatus.DUPLICATE: {"en": "Duplicate", "nb": "Duplikat"},
}


@dataclass(frozen=True, slots=True)
class StatusLabels:
    """What each status is called, per language (configurable; English and Norwegian ship)."""

    labels: Mapping[IdeaStatus, Mapping[str, str]]

    @classmethod
    def default(cls) -> StatusLabels:
        """The shipped labels."""
        return cls(DEFAULT_LABELS)

    def label(self, status: IdeaStatus, language: str) -> str:
        """The status's name in ``language``, else in English, else its code."""
        names = self.labels.get(status, {})
        return names.get(language) or names.get("en") or status.value


def parse_status(words: str, labels: StatusLabels) -> IdeaStatus | None:
    """The status that ``words`` name: a code (``in_progress``) or a label in any language."""
    folded = words.strip().casefold().replace("-", " ").replace("_", " ")
    for status in IdeaStatus:
        names = {status.value.replace("_", " ")}
        names.update(name.casefold() for name in labels.labels.get(status, {}).values())
        if folded in names:
            return status
    return None


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A staff member moves an idea to a status (None: keeps it), with words for its customers."""

    external_id: str
    idea_id: int
    status: IdeaStatus | None
    changed_by: str
    message: str = ""

    def new_status(self, current: IdeaStatus) -> IdeaStatus:
        """The status the idea ends up with."""
        return self.status if self.status is not None else current


TAG_LENGTH = 64


def normalize_tag(word: str) -> str:
    """A tag as stored: lower case, no leading #, words joined by -."""
    return "-".join(word.strip().lstrip("#").casefold().split())[:TAG_LENGTH]


@dataclass(frozen=True, slots=True)
class TagChange:
    """A staff member adds tags to an idea or takes them off."""

    external_id: str
    idea_id: int
    changed_by: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TitleChange:
    """Staff give an idea a title of their own (empty: take it back); it outlives an erasure."""

    external_id: str
    idea_id: int
    changed_by: str
    title: str


@dataclass(frozen=True, slots=True)
class MergeChange:
    """Staff merge a duplicate into its original (or, with ``undo``, take a merge back)."""

    external_id: str
    duplicate_id: int
    changed_by: str
    original_id: int | None = None
    undo: bool = False
    # A click on a card: who to tell, alone, why it changed nothing; and the original was
    # offered as open, so one decided or merged since is refused rather than merged into.
    clicked_by: str = ""
    # A typed `/ideas merge`: who to tell, alone, why it changed nothing.
    asked_by: str = ""


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A merge as stored: what the duplicate was, and who moved to the original."""

    duplicate_id: int
    original_id: int
    from_status: IdeaStatus
    moved: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class IdeaFollower:
    """A customer linked to an idea (its author, or a "me too"), and how to reach them."""

    customer_id: int
    platform: str
    chat_id: str
    user_id: str
    language: str
    wants_updates: bool


@dataclass(frozen=True, slots=True)
class IdeaSummary:
    """An idea as a status change needs it."""

    id: int
    title: str
    status: IdeaStatus
    conversation_id: int
