"""Staff move ideas along; every customer linked to an idea hears of it in their language."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from handlers.ideas.status import (
    ERASED_TITLE,
    IdeaFollower,
    IdeaStatus,
    IdeaSummary,
    MergeChange,
    StatusChange,
    StatusLabels,
    TagChange,
    TitleChange,
    normalize_tag,
)
from handlers.messages import ConversationKey, OutgoingMessage
from handlers.ports import (
    CustomerOutbox,
    IdeaChanges,
    Inbox,
    OutboxSignal,
    StaffOutbox,
    StaffThreads,
    Store,
)
from handlers.staff.room import StaffCard, StaffNotice, StaffRoom, ThreadPost, UpdateCard
from handlers.texts import Text, text

logger = logging.getLogger(__name__)

# Where idea changes come from, for the inbox: a click, a command, the command line.
STAFF_EVENTS = "staff"
# What the database keeps of a staff title (idea.staff_title).
STAFF_TITLE_LENGTH = 256

_STATUS_TEXTS = {
    IdeaStatus.DRAFT: Text.IDEA_NEW,
    IdeaStatus.NEW: Text.IDEA_NEW,
    IdeaStatus.UNDER_REVIEW: Text.IDEA_UNDER_REVIEW,
    IdeaStatus.PLANNED: Text.IDEA_PLANNED,
    IdeaStatus.IN_PROGRESS: Text.IDEA_IN_PROGRESS,
    IdeaStatus.DONE: Text.IDEA_DONE,
    IdeaStatus.DECLINED: Text.IDEA_DECLINED,
    IdeaStatus.DUPLICATE: Text.IDEA_DUPLICATE,
}

# Ideas a card's Merge button no longer merges into: decided, merged or only drafted since.
_NOT_OPEN = frozenset(
    {IdeaStatus.DRAFT, IdeaStatus.DONE, IdeaStatus.DECLINED, IdeaStatus.DUPLICATE}
)


class ChangeOutcome(StrEnum):
    """What became of a status change."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    REFUSED = "refused"
    WORDS_ERASED = "words_erased"


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """How a status change went and how many customers will hear of it."""

    outcome: ChangeOutcome
    notified: int = 0
    idea: IdeaSummary | None = None


def news_for(
    follower: IdeaFollower, idea: IdeaSummary, status: IdeaStatus | None, message: str
) -> OutgoingMessage:
    """What one linked customer is told: the change (or the team's words), and how to stop."""
    language = follower.language
    if status is None:
        headline = text(Text.IDEA_UPDATE_FROM_TEAM, language, title=idea.title)
    else:
        headline = text(_STATUS_TEXTS[status], language, title=idea.title)
    parts = [headline, message.strip(), text(Text.HOW_TO_STOP_UPDATES, language)]
    return OutgoingMessage("\n\n".join(part for part in parts if part))


class IdeaDeskTransaction(Inbox, IdeaChanges, StaffThreads, CustomerOutbox, StaffOutbox, Protocol):
    """What one change to an idea reads and writes, committed together."""


class IdeaDesk:
    """Changes ideas' statuses and tells their customers; one transaction per change."""

    def __init__(
        self,
        *,
        store: Store[IdeaDeskTransaction],
        outbox_signal: OutboxSignal,
        labels: StatusLabels,
        staff_room: StaffRoom | None,
    ) -> None:
        self._store = store
        self._outbox_signal = outbox_signal
        self._labels = labels
        self._staff_room = staff_room

    async def change_status(self, change: StatusChange) -> ChangeResult:
        """Move the idea, keep the change, tell every linked customer who wants news."""
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=STAFF_EVENTS, external_id=change.external_id
            ):
                return ChangeResult(ChangeOutcome.DUPLICATE)
            idea = await transaction.idea_for_update(idea_id=change.idea_id)
            if idea is None:
                return ChangeResult(ChangeOutcome.NOT_FOUND)
            status = change.new_status(idea.status)
            moved = status is not idea.status
            if not moved and not change.message.strip():
                return ChangeResult(ChangeOutcome.UNCHANGED, idea=idea)
            followers = await transaction.idea_followers(idea_id=idea.id)
            news = [
                (
                    _key(follower),
                    news_for(follower, idea, status if moved else None, change.message),
                )
                for follower in followers
                if follower.wants_updates
            ]
            await transaction.record_status_change(idea=idea, change=change, notified=len(news))
            await transaction.enqueue_news(news)
            await self._show_on_card(transaction, idea, change, status, len(news))
        self._outbox_signal.outbox_changed()
        logger.info(
            "idea %s: %s → %s, %s customer(s) to tell",
            idea.id,
            idea.status.value,
            status.value,
            len(news),
        )
        return ChangeResult(ChangeOutcome.CHANGED, notified=len(news), idea=idea)

    async def change_tags(self, change: TagChange) -> ChangeResult:
        """Tag an idea or take tags off; the card shows its tags."""
        add = tuple(sorted({normalize_tag(tag) for tag in change.add} - {""}))
        remove = tuple(sorted({normalize_tag(tag) for tag in change.remove} - {""}))
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=STAFF_EVENTS, external_id=change.external_id
            ):
                return ChangeResult(ChangeOutcome.DUPLICATE)
            idea = await transaction.idea_for_update(idea_id=change.idea_id)
            if idea is None:
                return ChangeResult(ChangeOutcome.NOT_FOUND)
            tags = await transaction.change_tags(idea_id=idea.id, add=add, remove=remove)
            said = []
            if add:
                said.append("tagged it " + " ".join(f"#{tag}" for tag in add))
            if remove:
                said.append("took off " + " ".join(f"#{tag}" for tag in remove))
            await self._on_card(
                transaction,
                idea,
                lambda card: replace(card, tags=tags),
                f"{change.changed_by} {' and '.join(said) or 'changed no tags'}.",
            )
        self._outbox_signal.outbox_changed()
        return ChangeResult(ChangeOutcome.CHANGED, idea=idea)

    async def change_title(self, change: TitleChange) -> ChangeResult:
        """Give the idea staff's own title, shown on its card and in digests."""
        title = " ".join(change.title.split())[:STAFF_TITLE_LENGTH]
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=STAFF_EVENTS, external_id=change.external_id
            ):
                return ChangeResult(ChangeOutcome.DUPLICATE)
            idea = await transaction.idea_for_update(idea_id=change.idea_id)
            if idea is None:
                return ChangeResult(ChangeOutcome.NOT_FOUND)
            await transaction.set_staff_title(idea_id=idea.id, title=title or None)
            said = f"titled this idea “{title}”" if title else "took back the staff title"
            await self._on_card(
                transaction,
                idea,
                lambda card: replace(card, staff_title=title),
                f"{change.changed_by} {said}.",
            )
        self._outbox_signal.outbox_changed()
        return ChangeResult(ChangeOutcome.CHANGED, idea=idea)

    async def merge(self, change: MergeChange) -> ChangeResult:
        """Merge a duplicate into its original (its customers move and are told), or undo it."""
        async with self._store.transaction() as transaction:
            result = await self._merge(transaction, change)
            if (change.clicked_by or change.asked_by) and result.outcome not in (
                ChangeOutcome.CHANGED,
                ChangeOutcome.DUPLICATE,
            ):
                await self._tell_why_unchanged(transaction, change, result)
        if result.outcome is not ChangeOutcome.DUPLICATE:
            self._outbox_signal.outbox_changed()
        return result

    async def _tell_why_unchanged(
        self, transaction: IdeaDeskTransaction, change: MergeChange, result: ChangeResult
    ) -> None:
        """Say, to the one who clicked or typed it, why their merge changed nothing."""
        if result.idea is None or self._staff_room is None:
            return  # a replayed click was answered the first time; an unknown idea has no thread
        if result.outcome is ChangeOutcome.REFUSED:
            words = f"Idea #{change.original_id} is no longer open, so nothing was merged into it."
        elif result.outcome is ChangeOutcome.WORDS_ERASED:
            words = (
                f"Idea #{change.original_id} keeps no words since its author's data was erased, "
                "so nothing was merged into it."
            )
        elif result.outcome is ChangeOutcome.NOT_FOUND:
            words = f"There is no idea #{change.original_id} any more, so nothing was merged."
        elif change.undo:
            words = f"Idea #{result.idea.id} is not merged into another idea now."
        else:
            words = f"Idea #{result.idea.id} is already merged or was not changed."
        await transaction.enqueue_to_staff(
            room=self._staff_room,
            conversation_id=result.idea.conversation_id,
            actions=[StaffNotice(user_id=change.clicked_by or change.asked_by, text=words)],
        )

    async def _merge(self, transaction: IdeaDeskTransaction, change: MergeChange) -> ChangeResult:
        if not await transaction.claim_inbound(
            platform=STAFF_EVENTS, external_id=change.external_id
        ):
            return ChangeResult(ChangeOutcome.DUPLICATE)
        duplicate = await transaction.idea_for_update(idea_id=change.duplicate_id)
        if duplicate is None:
            return ChangeResult(ChangeOutcome.NOT_FOUND)
        if change.undo:
            return await self._undo_merge(transaction, duplicate, change)
        if change.original_id is None or change.original_id == duplicate.id:
            return ChangeResult(ChangeOutcome.UNCHANGED, idea=duplicate)
        original = await transaction.idea_for_update(idea_id=change.original_id)
        if original is None:
            return ChangeResult(ChangeOutcome.NOT_FOUND, idea=duplicate)
        if duplicate.status is IdeaStatus.DUPLICATE:
            return ChangeResult(ChangeOutcome.UNCHANGED, idea=duplicate)
        if change.clicked_by and original.status in _NOT_OPEN:
            return ChangeResult(ChangeOutcome.REFUSED, idea=duplicate)
        if original.status is IdeaStatus.DUPLICATE:
            # Also by command: A into B into A is a cycle, its customers left on a closed idea.
            return ChangeResult(ChangeOutcome.UNCHANGED, idea=duplicate)
        if original.title == ERASED_TITLE:
            # Its customers would be told they joined "(the author's words were erased)".
            return ChangeResult(ChangeOutcome.WORDS_ERASED, idea=duplicate)
        followers = await transaction.idea_followers(idea_id=duplicate.id)
        news = [
            (
                _key(follower),
                news_for(follower, duplicate, IdeaStatus.DUPLICATE, f"→ «{original.title}»"),
            )
            for follower in followers
            if follower.wants_updates
        ]
        record = await transaction.merge_ideas(
            duplicate=duplicate, original=original, merged_by=change.changed_by
        )
        await transaction.enqueue_news(news)
        await self._on_card(
            transaction,
            duplicate,
            lambda card: replace(card, idea_status=IdeaStatus.DUPLICATE.value),
            f"{change.changed_by} merged this idea into #{original.id}; "
            f"{len(news)} customer(s) were told.",
        )
        await self._on_card(
            transaction,
            original,
            lambda card: card,
            f"{change.changed_by} merged #{duplicate.id} into this idea; "
            f"{len(record.moved)} customer(s) joined it.",
        )
        return ChangeResult(ChangeOutcome.CHANGED, notified=len(news), idea=duplicate)

    async def _undo_merge(
        self, transaction: IdeaDeskTransaction, duplicate: IdeaSummary, change: MergeChange
    ) -> ChangeResult:
        if duplicate.status is not IdeaStatus.DUPLICATE:
            # Reopened by hand since (a stale card's Undo): its merge is over, nothing to take back.
            return ChangeResult(ChangeOutcome.UNCHANGED, idea=duplicate)
        record = await transaction.undo_merge(duplicate_id=duplicate.id)
        if record is None:
            return ChangeResult(ChangeOutcome.UNCHANGED, idea=duplicate)
        note = (
            f"{change.changed_by} took back the merge into #{record.original_id}; "
            f"its customers are linked to this idea again."
        )
        await self._on_card(
            transaction,
            duplicate,
            lambda card: replace(card, idea_status=record.from_status.value),
            note,
        )
        return ChangeResult(ChangeOutcome.CHANGED, idea=duplicate)

    async def _show_on_card(
        self,
        transaction: IdeaDeskTransaction,
        idea: IdeaSummary,
        change: StatusChange,
        status: IdeaStatus,
        notified: int,
    ) -> None:
        words = change.message.strip()
        if status is idea.status:
            note = f"{change.changed_by} sent an update: “{words}”; {notified} customer(s) get it."
        else:
            label = self._labels.label(status, "en")
            said = f" with the message: “{words}”" if words else ""
            note = (
                f"{change.changed_by} set the status to {label}{said}; "
                f"{notified} customer(s) will be told."
            )
        await self._on_card(
            transaction, idea, lambda card: replace(card, idea_status=status.value), note
        )

    async def _on_card(
        self,
        transaction: IdeaDeskTransaction,
        idea: IdeaSummary,
        change: Callable[[StaffCard], StaffCard],
        note: str,
    ) -> None:
        """Show a change on the idea's card (if it has a staff thread) and say it in the thread."""
        if self._staff_room is None:
            return
        thread = await transaction.thread_of(conversation_id=idea.conversation_id)
        if thread is None:
            return
        card = change(thread.card)
        await transaction.save_card(card)
        await transaction.enqueue_to_staff(
            room=self._staff_room,
            conversation_id=idea.conversation_id,
            actions=[UpdateCard(card), ThreadPost(note)],
        )


def _key(follower: IdeaFollower) -> ConversationKey:
    return ConversationKey(
        platform=follower.platform, chat_id=follower.chat_id, user_id=follower.user_id
    )
