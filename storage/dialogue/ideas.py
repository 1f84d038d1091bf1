"""The idea side of a turn's transaction: recording, statuses, tags, votes, merges, news."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.flows.engine import IdeaDraft, lookup_text
from handlers.ideas.confidence import confident_offer
from handlers.ideas.status import (
    IdeaFollower,
    IdeaStatus,
    IdeaSummary,
    MergeRecord,
    StatusChange,
)
from handlers.messages import ConversationKey, OutgoingMessage
from handlers.ports import EmbeddingNeeded
from handlers.staff.room import CardCandidate
from storage.outbox.actions import customer_delivery
from storage.outbox.rows import BULK, outbox_row
from storage.similar_candidates import staff_candidates
from storage.similar_decisions import DecisionSource, offer_rule, record_decision
from storage.similar_ideas import OPEN_STATUSES, SimilarIdeas, idea_text
from storage.tables import (
    CustomerRow,
    ErasureRow,
    IdeaFollowerRow,
    IdeaMergeRow,
    IdeaRow,
    IdeaStatusChangeRow,
    IdeaTagRow,
    OutboxRow,
    table_of,
)
from storage.types import utc_now
from storage.upsert import insert_if_absent

_CUSTOMER = table_of(CustomerRow)
_IDEA = table_of(IdeaRow)
_OUTBOX = table_of(OutboxRow)
_FOLLOWER = table_of(IdeaFollowerRow)
_STATUS_CHANGE = table_of(IdeaStatusChangeRow)
_TAG = table_of(IdeaTagRow)
_MERGE = table_of(IdeaMergeRow)
_ERASURE = table_of(ErasureRow)
# How many of the best the offer rule sees: the best, and the rivals its margin is over.
_OFFER_RANKED = 5


@dataclass(frozen=True, slots=True)
class OfferedIdea:
    """The open idea a customer is asked about, and how alike it scored."""

    idea_id: int
    title: str
    score: float


async def offered_idea(
    session: AsyncSession, similar: SimilarIdeas, *, text: str, at_least: float
) -> OfferedIdea | None:
    """The open idea the dialogue asks about for ``text``, if the match is sure enough.

    ``at_least`` is the lexical method's configured threshold (a model has its own); once
    the stored decisions calibrate the method, theirs is used (handlers/ideas/confidence.py).
    """
    found = await similar.lookup(session, text, at_least=None, limit=_OFFER_RANKED)
    if not found.matches:
        return None
    configured = at_least
    if similar.semantic is not None and found.method == similar.method:
        configured = similar.semantic.at_least
    rule = await offer_rule(session, similar, method=found.method, configured=configured)
    # The index may still hold ideas merged or decided since; only open ones are offered.
    rows = await session.execute(
        select(_IDEA.c.id, _IDEA.c.title)
        .where(_IDEA.c.id.in_([match.idea_id for match in found.matches]))
        .where(_IDEA.c.status.in_(OPEN_STATUSES))
    )
    titles = {row.id: row.title for row in rows}
    ranked = [match for match in found.matches if match.idea_id in titles]
    offer = confident_offer(ranked, rule)
    if offer is None or similar.faces.blocked(text=text, idea_id=offer.idea_id):
        return None
    return OfferedIdea(offer.idea_id, titles[offer.idea_id], offer.score)


class IdeaTransactionPart:
    """The idea methods of the turn's transaction (mixed into SqlDialogueTransaction)."""

    _session: AsyncSession
    _similar: SimilarIdeas
    _used_ahead: set[str]

    def _asked_ahead(self, text: str) -> None:
        """Make sure the model was asked for ``text`` before this transaction began."""
        if self._similar.needs_ahead(text):
            # Asking now would hold the transaction open (on SQLite, every turn's) meanwhile.
            raise EmbeddingNeeded([text])
        self._used_ahead.add(text)

    async def record_idea(
        self,
        *,
        customer_id: int,
        conversation_id: int,
        language: str,
        draft: IdeaDraft,
        status: str = "new",
    ) -> int:
        """Store the idea a flow recorded (or a draft of one)."""
        now = utc_now()
        inserted = await self._session.execute(
            insert(_IDEA)
            .values(
                customer_id=customer_id,
                conversation_id=conversation_id,
                title=draft.title[:256],
                description=draft.description,
                problem=draft.problem,
                frequency=draft.frequency,
                importance=draft.importance,
                may_contact=draft.may_contact,
                email=draft.email,
                answers=draft.answers,
                attachments=[attachment.to_json() for attachment in draft.attachments],
                status=status,
                language=language,
                created_at=now,
                updated_at=now,
            )
            .returning(_IDEA.c.id)
        )
        idea_id: int = inserted.scalar_one()
        await self._session.execute(
            insert(_FOLLOWER).values(
                idea_id=idea_id, customer_id=customer_id, kind="author", created_at=now
            )
        )
        return idea_id

    async def similar_idea(self, *, text: str, at_least: float) -> tuple[int, str] | None:
        """The open idea most like ``text``, by the configured method."""
        self._asked_ahead(text)
        offered = await offered_idea(self._session, self._similar, text=text, at_least=at_least)
        return None if offered is None else (offered.idea_id, offered.title)

    async def similar_candidates(
        self, *, idea_id: int, text: str, limit: int = 5
    ) -> tuple[CardCandidate, ...]:
        """Up to ``limit`` open ideas most like ``text``, best first, ``idea_id`` left out."""
        self._asked_ahead(text)
        found, _ = await staff_candidates(
            self._session, self._similar, text=text, limit=limit, excluding=idea_id
        )
        return tuple(scored.candidate for scored in found)

    async def join_idea(
        self,
        *,
        idea_id: int,
        customer_id: int,
        conversation_id: int,
        language: str,
        draft: IdeaDraft,
    ) -> None:
        """Keep the answers as a duplicate of ``idea_id`` and count the customer's vote."""
        kept = await self.record_idea(
            customer_id=customer_id,
            conversation_id=conversation_id,
            language=language,
            draft=draft,
            status=IdeaStatus.DUPLICATE.value,
        )
        await self._session.execute(
            update(_IDEA).where(_IDEA.c.id == kept).values(duplicate_of=idea_id)
        )
        await insert_if_absent(
            self._session,
            IdeaFollowerRow,
            conflict=["idea_id", "customer_id"],
            values={
                "idea_id": idea_id,
                "customer_id": customer_id,
                "kind": "vote",
                "created_at": utc_now(),
            },
            returning="idea_id",
        )
        await record_decision(
            self._session,
            self._similar,
            idea_id=idea_id,
            text=lookup_text(draft.title, draft.description),
            same=True,
            source=DecisionSource.CUSTOMER_YES,
            customer_id=customer_id,
            conversation_id=conversation_id,
        )

    async def not_the_same(
        self, *, idea_id: int, customer_id: int, conversation_id: int, text: str
    ) -> None:
        """The customer said their idea (``text``) is not ``idea_id``: keep it as a decision."""
        await record_decision(
            self._session,
            self._similar,
            idea_id=idea_id,
            text=text,
            same=False,
            source=DecisionSource.CUSTOMER_NO,
            customer_id=customer_id,
            conversation_id=conversation_id,
        )

    async def set_wants_updates(self, *, customer_id: int, wants_updates: bool) -> None:
        """Remember whether the customer wants news about ideas."""
        await self._session.execute(
            update(_CUSTOMER)
            .where(_CUSTOMER.c.id == customer_id)
            .values(wants_updates=wants_updates, updated_at=utc_now())
        )

    async def idea_for_update(self, *, idea_id: int) -> IdeaSummary | None:
        """The idea, locked for this transaction."""
        row = (
            await self._session.execute(
                select(_IDEA.c.id, _IDEA.c.title, _IDEA.c.status, _IDEA.c.conversation_id)
                .where(_IDEA.c.id == idea_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            return None
        return IdeaSummary(
            id=row.id,
            title=row.title,
            status=IdeaStatus(row.status),
            conversation_id=row.conversation_id,
        )

    async def record_status_change(
        self, *, idea: IdeaSummary, change: StatusChange, notified: int
    ) -> None:
        """Move the idea to its new status and keep the change in its history."""
        now = utc_now()
        await self._session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == idea.id)
            .values(status=change.new_status(idea.status).value, updated_at=now)
        )
        await self._session.execute(
            insert(_STATUS_CHANGE).values(
                idea_id=idea.id,
                from_status=idea.status.value,
                to_status=change.new_status(idea.status).value,
                message=change.message,
                changed_by=change.changed_by[:256],
                notified=notified,
                created_at=now,
            )
        )

    async def set_staff_title(self, *, idea_id: int, title: str | None) -> None:
        """Keep the title staff gave the idea (None: none)."""
        await self._session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == idea_id)
            .values(staff_title=title[:256] if title else None, updated_at=utc_now())
        )

    async def change_tags(
        self, *, idea_id: int, add: tuple[str, ...], remove: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Add and take off tags; the idea's tags afterwards, sorted."""
        if remove:
            await self._session.execute(
                delete(_TAG).where(_TAG.c.idea_id == idea_id).where(_TAG.c.tag.in_(remove))
            )
        for tag in add:
            await insert_if_absent(
                self._session,
                IdeaTagRow,
                conflict=["idea_id", "tag"],
                values={"idea_id": idea_id, "tag": tag, "created_at": utc_now()},
                returning="tag",
            )
        tags = await self._session.execute(
            select(_TAG.c.tag).where(_TAG.c.idea_id == idea_id).order_by(_TAG.c.tag)
        )
        return tuple(tags.scalars())

    async def merge_ideas(
        self, *, duplicate: IdeaSummary, original: IdeaSummary, merged_by: str
    ) -> MergeRecord:
        """Move the duplicate's customers to the original and remember what moved."""
        now = utc_now()
        linked = set(
            (
                await self._session.execute(
                    select(_FOLLOWER.c.customer_id).where(_FOLLOWER.c.idea_id == original.id)
                )
            ).scalars()
        )
        theirs = list(
            (
                await self._session.execute(
                    select(_FOLLOWER.c.customer_id).where(_FOLLOWER.c.idea_id == duplicate.id)
                )
            ).scalars()
        )
        moved = [customer_id for customer_id in theirs if customer_id not in linked]
        if moved:
            await self._session.execute(
                insert(_FOLLOWER),
                [
                    {"idea_id": original.id, "customer_id": c, "kind": "vote", "created_at": now}
                    for c in moved
                ],
            )
        await self._session.execute(delete(_FOLLOWER).where(_FOLLOWER.c.idea_id == duplicate.id))
        await self._session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == duplicate.id)
            .values(status=IdeaStatus.DUPLICATE.value, duplicate_of=original.id, updated_at=now)
        )
        await self._session.execute(
            insert(_MERGE).values(
                duplicate_id=duplicate.id,
                original_id=original.id,
                from_status=duplicate.status.value,
                moved={"moved": moved, "linked": theirs},
                merged_by=merged_by[:256],
                created_at=now,
            )
        )
        await self._decide_on_merge(duplicate.id, original.id, same=True)
        return MergeRecord(duplicate.id, original.id, duplicate.status, tuple(moved))

    async def _decide_on_merge(self, duplicate_id: int, original_id: int, *, same: bool) -> None:
        """A merge says the duplicate's words are the original's; its undo says they are not."""
        row = (
            await self._session.execute(
                select(
                    _IDEA.c.title,
                    _IDEA.c.description,
                    _IDEA.c.customer_id,
                    _IDEA.c.conversation_id,
                ).where(_IDEA.c.id == duplicate_id)
            )
        ).one()
        await record_decision(
            self._session,
            self._similar,
            idea_id=original_id,
            text=idea_text(row.title, row.description),
            same=same,
            source=DecisionSource.MERGE if same else DecisionSource.UNMERGE,
            customer_id=row.customer_id,
            conversation_id=row.conversation_id,
            text_idea_id=duplicate_id,
        )

    async def undo_merge(self, *, duplicate_id: int) -> MergeRecord | None:
        """Put the customers and the status back as they were before the last merge."""
        row = (
            await self._session.execute(
                select(_MERGE)
                .where(_MERGE.c.duplicate_id == duplicate_id)
                .where(_MERGE.c.undone_at.is_(None))
                .order_by(_MERGE.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        now = utc_now()
        merged = list(row.moved.get("moved", []))
        # Everyone linked to the duplicate before comes back to it; those the merge brought
        # to the original leave it again (those who were there already stay).
        await self._session.execute(
            delete(_FOLLOWER)
            .where(_FOLLOWER.c.idea_id == row.original_id)
            .where(_FOLLOWER.c.customer_id.in_(merged))
        )
        author = (
            await self._session.execute(
                select(_IDEA.c.customer_id).where(_IDEA.c.id == duplicate_id)
            )
        ).scalar_one()
        back = set(row.moved.get("linked", [])) | {author}
        await self._session.execute(
            insert(_FOLLOWER),
            [
                {
                    "idea_id": duplicate_id,
                    "customer_id": customer_id,
                    "kind": "author" if customer_id == author else "vote",
                    "created_at": now,
                }
                for customer_id in sorted(back)
            ],
        )
        await self._session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == duplicate_id)
            .values(status=row.from_status, duplicate_of=None, updated_at=now)
        )
        await self._session.execute(
            update(_MERGE).where(_MERGE.c.id == row.id).values(undone_at=now)
        )
        await self._decide_on_merge(duplicate_id, row.original_id, same=False)
        return MergeRecord(
            duplicate_id, row.original_id, IdeaStatus(row.from_status), tuple(merged)
        )

    async def idea_followers(self, *, idea_id: int) -> list[IdeaFollower]:
        """Every customer linked to the idea, with how to reach them."""
        rows = await self._session.execute(
            select(
                _CUSTOMER.c.id,
                _CUSTOMER.c.platform,
                _CUSTOMER.c.chat_id,
                _CUSTOMER.c.platform_user_id,
                _CUSTOMER.c.language,
                _CUSTOMER.c.wants_updates,
                _CUSTOMER.c.unreachable,
            )
            .join(_FOLLOWER, _FOLLOWER.c.customer_id == _CUSTOMER.c.id)
            .where(_FOLLOWER.c.idea_id == idea_id)
            .order_by(_FOLLOWER.c.created_at, _CUSTOMER.c.id)
        )
        return [
            IdeaFollower(
                customer_id=row.id,
                platform=row.platform,
                chat_id=row.chat_id,
                user_id=row.platform_user_id,
                language=row.language,
                wants_updates=bool(row.wants_updates) and not row.unreachable,
            )
            for row in rows
        ]

    async def enqueue_news(self, messages: list[tuple[ConversationKey, OutgoingMessage]]) -> None:
        """Queue one message to each of many customers, behind live conversations."""
        if not messages:
            return
        now = utc_now()
        rows = [
            outbox_row(
                destination=key.destination,
                platform=key.platform,
                chat_id=key.chat_id,
                delivery=customer_delivery(message),
                priority=BULK,
                now=now,
            )
            for key, message in messages
        ]
        await self._session.execute(insert(_OUTBOX), rows)
