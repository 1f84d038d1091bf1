"""The plain values of the staff side: the room, the card, what goes to a thread, what staff do."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from handlers.flows.engine import IdeaDraft
from handlers.messages import Attachment, ConversationKey


@dataclass(frozen=True, slots=True)
class StaffRoom:
    """Where staff work: one channel of one platform; each conversation gets a thread there."""

    platform: str
    chat_id: str

    def destination(self, conversation_id: int) -> str:
        """The outbox destination of one conversation's thread (its own send order)."""
        return f"staff:{conversation_id}"

    @property
    def top_level(self) -> str:
        """The outbox destination of posts at the room's top level (digests)."""
        return "staff:room"


class HandOffReason(StrEnum):
    """Why a conversation went to staff."""

    IDEA_RECORDED = "idea_recorded"
    CUSTOMER_ASKED = "customer_asked"
    FLOW_ASKED = "flow_asked"


@dataclass(frozen=True, slots=True)
class CardAnswer:
    """One question of the flow and the customer's answer, as staff read it."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class CardCandidate:
    """An open idea that may be the same as the card's: staff may merge the card's into it."""

    idea_id: int
    title: str
    followers: int

    def to_json(self) -> list[Any]:
        """As the card keeps it."""
        return [self.idea_id, self.title, self.followers]

    @classmethod
    def from_json(cls, data: list[Any]) -> CardCandidate:
        """A candidate from what ``to_json`` wrote."""
        idea_id, title, followers = data
        return cls(int(idea_id), str(title), int(followers))


@dataclass(frozen=True, slots=True)
class StaffCard:
    """What staff see at the top of a conversation's thread; re-rendered on every change."""

    conversation_id: int
    customer_name: str
    platform: str
    language: str
    reason: HandOffReason
    title: str = ""
    answers: tuple[CardAnswer, ...] = ()
    idea_id: int | None = None
    idea_status: str = ""
    assignee: str = ""
    closed_by: str = ""
    internal_only: bool = False
    tags: tuple[str, ...] = ()
    # The title staff gave the idea (``/ideas title``); shown above the customer's own words.
    staff_title: str = ""
    # Open ideas that may be the same, found when the idea was recorded; kept, so that every
    # re-rendering shows the same ones.
    similar: tuple[CardCandidate, ...] = ()

    @property
    def closed(self) -> bool:
        """True once staff (or the customer) closed the conversation."""
        return bool(self.closed_by)

    def to_json(self) -> dict[str, Any]:
        """The card as JSON-ready data, for the database and the outbox."""
        return {
            "conversation_id": self.conversation_id,
            "customer_name": self.customer_name,
            "platform": self.platform,
            "language": self.language,
            "reason": self.reason.value,
            "title": self.title,
            "answers": [[answer.question, answer.answer] for answer in self.answers],
            "idea_id": self.idea_id,
            "idea_status": self.idea_status,
            "assignee": self.assignee,
            "closed_by": self.closed_by,
            "internal_only": self.internal_only,
            "tags": list(self.tags),
            "staff_title": self.staff_title,
            "similar": [candidate.to_json() for candidate in self.similar],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StaffCard:
        """A card from what ``to_json`` wrote."""
        return cls(
            conversation_id=int(data["conversation_id"]),
            customer_name=data.get("customer_name", ""),
            platform=data.get("platform", ""),
            language=data.get("language", ""),
            reason=HandOffReason(data.get("reason", HandOffReason.CUSTOMER_ASKED)),
            title=data.get("title", ""),
            answers=tuple(CardAnswer(q, a) for q, a in data.get("answers", [])),
            idea_id=data.get("idea_id"),
            idea_status=data.get("idea_status", ""),
            assignee=data.get("assignee", ""),
            closed_by=data.get("closed_by", ""),
            internal_only=bool(data.get("internal_only", False)),
            tags=tuple(data.get("tags", [])),
            staff_title=data.get("staff_title", ""),
            # Cards stored before candidates were found have none.
            similar=tuple(CardCandidate.from_json(entry) for entry in data.get("similar", [])),
        )

    def with_idea(
        self, idea_id: int, draft: IdeaDraft, similar: tuple[CardCandidate, ...] = ()
    ) -> StaffCard:
        """The card showing a recorded idea, and the open ideas that may be the same."""
        return replace(
            self,
            idea_id=idea_id,
            idea_status="new",
            title=draft.title,
            answers=answers_of(draft.answers),
            similar=similar,
        )


def answers_of(answers: dict[str, dict[str, Any]]) -> tuple[CardAnswer, ...]:
    """The card lines of a draft's answers: the question, and the label or words given."""
    lines = []
    for entry in answers.values():
        value = entry.get("label", entry.get("value"))
        if value is None:
            shown = "(skipped)"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        else:
            shown = str(value)
        if entry.get("more"):
            shown = f"{shown}\n{entry['more']}"
        lines.append(CardAnswer(str(entry.get("question", "")), shown))
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class PostCard:
    """Open a conversation's thread: post its card at the top level of the staff room."""

    card: StaffCard


@dataclass(frozen=True, slots=True)
class UpdateCard:
    """Show a changed card in place of the old one."""

    card: StaffCard


@dataclass(frozen=True, slots=True)
class ThreadPost:
    """A message in the conversation's thread, from the customer (``author``) or the bot."""

    text: str
    author: str = ""
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class StaffNotice:
    """A message in the thread that only one staff member sees."""

    user_id: str
    text: str


StaffAction = PostCard | UpdateCard | ThreadPost | StaffNotice


@dataclass(frozen=True, slots=True)
class PostDigest:
    """Post a digest at the top level of the staff room (its data; the platform renders it)."""

    digest: Any


@dataclass(frozen=True, slots=True)
class PostRoomFile:
    """Post a file at the top level of the staff room (a digest's chart)."""

    attachment: Attachment


# What goes to the staff room's top level rather than into a conversation's thread.
RoomAction = PostDigest | PostRoomFile


def thread_posts(
    text: str, *, author: str, attachments: tuple[Attachment, ...] = ()
) -> list[ThreadPost]:
    """The posts that show a message in a thread: its words, then one post per file.

    One file per post, so that a retried upload never repeats the words or other files.
    """
    posts = [ThreadPost(text, author=author)] if text.strip() else []
    described = [attachment.describe() for attachment in attachments if not attachment.is_file]
    if described:
        posts.append(ThreadPost("\n".join(described), author=author))
    posts.extend(
        ThreadPost("", author=author, attachments=(attachment,))
        for attachment in attachments
        if attachment.is_file
    )
    return posts


@dataclass(frozen=True, slots=True)
class StaffMessage:
    """Something a person posted, edited or deleted in the staff room."""

    external_id: str
    thread_ref: str
    message_ref: str
    user_id: str
    user_name: str
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    edited: bool = False
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class StaffDirectMessage:
    """A configured staff member wrote to the bot directly, where customers do."""

    external_id: str
    chat: ConversationKey


class CardActionKind(StrEnum):
    """The buttons on a card."""

    ASSIGN = "assign"
    CLOSE = "close"
    REOPEN = "reopen"
    INTERNAL_ONLY = "internal_only"


@dataclass(frozen=True, slots=True)
class CardAction:
    """A staff member pressed a button on a conversation's card."""

    external_id: str
    conversation_id: int
    kind: CardActionKind
    user_id: str
    user_name: str
