"""The parts of an erasure's transaction: each removes one kind of data, noting Slack's part."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from handlers.ideas.digest import Digest
from handlers.ports import ConversationStatus, Direction, Farewell
from handlers.privacy.rules import (
    digest_without,
    erased_card_text,
    kept_title,
    report_text,
    staff_message_link,
    without_titles,
)
from storage.outbox.deliveries import (
    DeleteSlackFile,
    DeleteSlackMessage,
    Delivery,
    ErasureStep,
    PostErasureReport,
    PostInThread,
    PostRoomDigest,
    RewriteRoomDigest,
    RewriteSlackMessage,
    SendDataExport,
    SendMessage,
    UnreadableDelivery,
    action_of,
    read_delivery,
    stored,
)
from storage.outbox.rows import LIVE, outbox_row
from storage.tables import (
    CampaignInvitationRow,
    ConversationRow,
    DeadLetterRow,
    ErasureRow,
    IdeaFollowerRow,
    IdeaMergeRow,
    IdeaRow,
    IdeaStatusChangeRow,
    IdeaTagRow,
    IdeaVectorRow,
    InboxRow,
    MessageRow,
    OutboxRow,
    OutboxState,
    PlatformEventRow,
    SimilarDecisionRow,
    StaffThreadRow,
    table_of,
)

_CONVERSATION = table_of(ConversationRow)
_INVITATION = table_of(CampaignInvitationRow)
_DEAD_LETTER = table_of(DeadLetterRow)
_ERASURE = table_of(ErasureRow)
_FOLLOWER = table_of(IdeaFollowerRow)
_IDEA = table_of(IdeaRow)
_INBOX = table_of(InboxRow)
_MERGE = table_of(IdeaMergeRow)
_MESSAGE = table_of(MessageRow)
_OUTBOX = table_of(OutboxRow)
_DATA_EXPORT = action_of(SendDataExport)
_DIGEST = action_of(PostRoomDigest)
_SEND = action_of(SendMessage)
# The rows whose sent message is a post of its own in Slack, to delete.
_POSTS = (action_of(PostInThread), _SEND, _DATA_EXPORT)
_EVENT = table_of(PlatformEventRow)
_STATUS_CHANGE = table_of(IdeaStatusChangeRow)
_TAG = table_of(IdeaTagRow)
_THREAD = table_of(StaffThreadRow)
_VECTOR = table_of(IdeaVectorRow)
_DECISION = table_of(SimilarDecisionRow)
SLACK = "slack"
UNDER_WAY = (ConversationStatus.ACTIVE.value, ConversationStatus.WITH_STAFF.value)


def erasure_destination(erasure_id: int) -> str:
    """The outbox destination of one erasure's Slack steps: they go in order, the report last."""
    return f"erasure:{erasure_id}"


@dataclass
class Cleanup:
    """What one erasure has done so far, and what it leaves for Slack."""

    erasure_id: int
    kind: str
    now: datetime
    removed: Counter[str] = field(default_factory=Counter)
    # (channel, step), in the order they are to be done.
    steps: list[tuple[str, ErasureStep]] = field(default_factory=list)
    # Slack links of staff messages a bot token cannot delete.
    links: list[str] = field(default_factory=list)
    # (channel, thread ts) of each staff thread that gets the report.
    threads: list[tuple[str, str]] = field(default_factory=list)
    conversations: set[int] = field(default_factory=set)
    removed_ideas: set[int] = field(default_factory=set)
    renamed_ideas: dict[int, str] = field(default_factory=dict)
    old_titles: dict[str, str | None] = field(default_factory=dict)


async def start(session: AsyncSession, *, kind: str, requested_by: str, now: datetime) -> Cleanup:
    """The erasure's audit row, first, for its id."""
    erasure_id = (
        await session.execute(
            insert(_ERASURE)
            .values(
                kind=kind,
                requested_by=requested_by[:128],
                requested_at=now,
                removed={},
                could_not=[],
                remote_steps=0,
            )
            .returning(_ERASURE.c.id)
        )
    ).scalar_one()
    return Cleanup(erasure_id=erasure_id, kind=kind, now=now)


async def forget_conversations(
    session: AsyncSession, cleanup: Cleanup, conversation_ids: Collection[int]
) -> None:
    """Transcripts, answers and staff threads of these conversations; their Slack posts noted."""
    if not conversation_ids:
        return
    ids = list(conversation_ids)
    cleanup.conversations.update(ids)
    threads = (
        await session.execute(select(_THREAD).where(_THREAD.c.conversation_id.in_(ids)))
    ).all()
    for thread in threads:
        await _forget_thread(session, cleanup, thread)
    cleanup.removed["messages"] += await _count_deleted(
        session, delete(_MESSAGE).where(_MESSAGE.c.conversation_id.in_(ids))
    )
    await session.execute(delete(_THREAD).where(_THREAD.c.conversation_id.in_(ids)))
    await session.execute(
        update(_CONVERSATION)
        .where(_CONVERSATION.c.id.in_(ids))
        .where(_CONVERSATION.c.status.in_(UNDER_WAY))
        # Else a reminder would still come for a conversation nobody owns any more.
        .values(status=ConversationStatus.CLOSED.value)
    )
    await session.execute(
        update(_CONVERSATION)
        .where(_CONVERSATION.c.id.in_(ids))
        .values(state={}, chat_id="", forgotten_at=cleanup.now)
    )
    cleanup.removed["conversations"] += len(ids)


async def _forget_thread(session: AsyncSession, cleanup: Cleanup, thread: Any) -> None:
    """One staff thread: the card rewritten, bot posts and uploads deleted, staff's listed."""
    room, ref = thread.room_chat_id, thread.thread_ref
    staff_posts = await session.execute(
        select(_MESSAGE.c.platform_message_id)
        .where(_MESSAGE.c.conversation_id == thread.conversation_id)
        .where(_MESSAGE.c.direction.in_([Direction.STAFF.value, Direction.NOTE.value]))
        .where(_MESSAGE.c.platform_message_id != "")
        .order_by(_MESSAGE.c.id)
    )
    cleanup.links.extend(
        staff_message_link(channel=room, ts=ts, thread_ts=ref) for ts in staff_posts.scalars()
    )
    if ref:
        cleanup.steps.append(
            (
                room,
                RewriteSlackMessage(
                    erasure_id=cleanup.erasure_id,
                    message_ref=ref,
                    text=erased_card_text(cleanup.erasure_id, thread.conversation_id),
                ),
            )
        )
        cleanup.threads.append((room, ref))
        cleanup.removed["slack_events"] += await _count_deleted(
            session, delete(_EVENT).where(_EVENT.c.ordering_key == f"{room}:{ref}")
        )
        await session.execute(
            delete(_DEAD_LETTER).where(_DEAD_LETTER.c.ordering_key == f"{room}:{ref}")
        )
    await drop_outbox(session, cleanup, [f"staff:{thread.conversation_id}"])


async def drop_outbox(session: AsyncSession, cleanup: Cleanup, destinations: list[str]) -> None:
    """Delete the destinations' outbox rows: unsent ones are dropped, sent ones noted for Slack."""
    rows = await session.execute(
        select(_OUTBOX).where(_OUTBOX.c.destination.in_(destinations)).order_by(_OUTBOX.c.id)
    )
    for row in rows:
        if row.state == OutboxState.PENDING.value:
            cleanup.removed["unsent_messages_dropped"] += 1
        elif row.state == OutboxState.SENT.value and row.platform == SLACK:
            _note_slack_post(cleanup, row)
    cleanup.removed["outbox_rows"] += await _count_deleted(
        session, delete(_OUTBOX).where(_OUTBOX.c.destination.in_(destinations))
    )


def _note_slack_post(cleanup: Cleanup, row: Any) -> None:
    """The step that removes what a sent row put in Slack, if it put anything there to remove."""
    ref = row.platform_message_id
    # Cards are rewritten by their thread; edits, reactions and ephemeral notices hold no post.
    if not ref or row.action not in _POSTS:
        return
    erasure_id = cleanup.erasure_id
    # A file of their data sent to a Slack customer is an upload to their DM: it goes too.
    if row.action == _DATA_EXPORT or (row.payload or {}).get("attachments"):
        cleanup.steps.append((row.chat_id, DeleteSlackFile(erasure_id=erasure_id, file_id=ref)))
    else:
        cleanup.steps.append(
            (row.chat_id, DeleteSlackMessage(erasure_id=erasure_id, message_ref=ref))
        )


async def clear_ideas(
    session: AsyncSession, cleanup: Cleanup, idea_ids: Collection[int], *, author_id: int | None
) -> None:
    """Ideas lose their author's words; with ``author_id``, one nobody else follows goes."""
    if not idea_ids:
        return
    ideas = await session.execute(
        select(_IDEA.c.id, _IDEA.c.title, _IDEA.c.staff_title).where(_IDEA.c.id.in_(list(idea_ids)))
    )
    for idea in ideas.all():
        # Vectors are made of the author's words too: every model's go, with the text.
        cleanup.removed["idea_vectors"] += await _count_deleted(
            session, delete(_VECTOR).where(_VECTOR.c.idea_id == idea.id)
        )
        if author_id is not None and not await _followed_by_others(session, idea.id, author_id):
            await _remove_idea(session, idea.id)
            cleanup.removed_ideas.add(idea.id)
            cleanup.old_titles[idea.title] = None
            cleanup.removed["ideas_removed"] += 1
            continue
        title = kept_title(idea.staff_title)
        await session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == idea.id)
            .values(
                title=title,
                description="",
                problem=None,
                frequency=None,
                importance=None,
                may_contact=None,
                email=None,
                answers={},
                attachments=[],
                updated_at=cleanup.now,
            )
        )
        cleanup.renamed_ideas[idea.id] = title
        cleanup.old_titles[idea.title] = title
        cleanup.removed["ideas_emptied"] += 1
    await _unquote_titles(session, cleanup)


async def _unquote_titles(session: AsyncSession, cleanup: Cleanup) -> None:
    """Other customers' messages that quote an old title (offers, news) get the kept one."""
    titles = {old: new for old, new in cleanup.old_titles.items() if old.strip() and old != new}
    if not titles:
        return
    quoting = await session.execute(
        select(_MESSAGE.c.id, _MESSAGE.c.text)
        .where(_MESSAGE.c.direction == Direction.OUTBOUND.value)
        .where(or_(*(_MESSAGE.c.text.contains(old, autoescape=True) for old in titles)))
    )
    for message in quoting.all():
        await session.execute(
            update(_MESSAGE)
            .where(_MESSAGE.c.id == message.id)
            .values(text=without_titles(message.text, titles))
        )
        cleanup.removed["quotes_rewritten"] += 1
    # The payload is JSON, whose escapes a LIKE would miss: each message is read instead.
    sends = await session.execute(
        select(_OUTBOX)
        .where(_OUTBOX.c.action == _SEND)
        .where(_OUTBOX.c.state.in_([OutboxState.PENDING.value, OutboxState.SENT.value]))
    )
    for row in sends.all():
        with contextlib.suppress(UnreadableDelivery):
            delivery = read_delivery(_SEND, row.payload)
            assert isinstance(delivery, SendMessage)
            rewritten = delivery.model_copy(update={"text": without_titles(delivery.text, titles)})
            if rewritten != delivery:
                await _rewrite_send(session, cleanup, row, rewritten)


async def _rewrite_send(
    session: AsyncSession, cleanup: Cleanup, row: Any, rewritten: SendMessage
) -> None:
    """One message's new words in the outbox and, if it is a post in Slack, there too."""
    await session.execute(
        update(_OUTBOX).where(_OUTBOX.c.id == row.id).values(payload=stored(rewritten))
    )
    cleanup.removed["quotes_rewritten"] += 1
    if row.state == OutboxState.SENT.value and row.platform == SLACK and row.platform_message_id:
        step = RewriteSlackMessage(
            erasure_id=cleanup.erasure_id, message_ref=row.platform_message_id, text=rewritten.text
        )
        cleanup.steps.append((row.chat_id, step))


async def _followed_by_others(session: AsyncSession, idea_id: int, author_id: int) -> bool:
    others = await session.scalar(
        select(func.count())
        .select_from(_FOLLOWER)
        .where(_FOLLOWER.c.idea_id == idea_id)
        .where(_FOLLOWER.c.customer_id != author_id)
    )
    return bool(others)


async def _remove_idea(session: AsyncSession, idea_id: int) -> None:
    """An idea and what hangs on it; ideas that named it as their original no longer do."""
    await session.execute(
        update(_IDEA).where(_IDEA.c.duplicate_of == idea_id).values(duplicate_of=None)
    )
    await session.execute(
        delete(_MERGE).where(or_(_MERGE.c.duplicate_id == idea_id, _MERGE.c.original_id == idea_id))
    )
    for table in (_FOLLOWER, _TAG, _STATUS_CHANGE, _DECISION):
        await session.execute(delete(table).where(table.c.idea_id == idea_id))
    await session.execute(delete(_IDEA).where(_IDEA.c.id == idea_id))


async def forget_decisions(
    session: AsyncSession,
    cleanup: Cleanup,
    *,
    conversation_ids: Collection[int],
    customer_id: int | None = None,
) -> None:
    """Similar-idea decisions lose the words (and their vector) these customers or chats gave.

    The score and the verdict stay, anonymous, so the calibrated threshold keeps its evidence.
    """
    whose: ColumnElement[bool] = _DECISION.c.conversation_id.in_(list(conversation_ids))
    if customer_id is not None:
        whose = or_(whose, _DECISION.c.customer_id == customer_id)
    cleanup.removed["similar_decisions_anonymised"] += await _count_deleted(
        session,
        update(_DECISION)
        .where(whose)
        .values(text="", vector=None, vector_model="", customer_id=None, conversation_id=None),
    )


async def scrub_digests(session: AsyncSession, cleanup: Cleanup) -> None:
    """Digests that named what was erased, rewritten in the outbox and, once sent, in Slack."""
    if not (cleanup.conversations or cleanup.removed_ideas or cleanup.renamed_ideas):
        return
    rows = await session.execute(
        select(
            _OUTBOX.c.id,
            _OUTBOX.c.payload,
            _OUTBOX.c.state,
            _OUTBOX.c.chat_id,
            _OUTBOX.c.platform_message_id,
        ).where(_OUTBOX.c.action == _DIGEST)
    )
    for row in rows.all():
        with contextlib.suppress(UnreadableDelivery):
            delivery = read_delivery(_DIGEST, row.payload)
            assert isinstance(delivery, PostRoomDigest)
            cleaned = _cleaned(cleanup, delivery.digest)
            if cleaned is None:
                continue
            await session.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id == row.id)
                .values(payload=stored(PostRoomDigest(digest=cleaned)))
            )
            cleanup.removed["digests_rewritten"] += 1
            if row.state == OutboxState.SENT.value and row.platform_message_id:
                cleanup.steps.append(
                    (
                        row.chat_id,
                        RewriteRoomDigest(
                            erasure_id=cleanup.erasure_id,
                            message_ref=row.platform_message_id,
                            digest=cleaned,
                        ),
                    )
                )


def _cleaned(cleanup: Cleanup, digest: Digest) -> Digest | None:
    return digest_without(
        digest,
        removed_ideas=cleanup.removed_ideas,
        renamed_ideas=cleanup.renamed_ideas,
        conversations=cleanup.conversations,
        old_titles=cleanup.old_titles,
    )


async def forget_arrivals(
    session: AsyncSession, cleanup: Cleanup, *, platform: str, chat_id: str
) -> None:
    """What came in from a chat: Telegram inbox ids name it; events and dead letters hold it."""
    if not chat_id:
        return
    if platform == "telegram":
        cleanup.removed["inbox_rows"] += await _count_deleted(
            session,
            delete(_INBOX)
            .where(_INBOX.c.platform == platform)
            .where(_INBOX.c.external_id.contains(f":{chat_id}:", autoescape=True)),
        )
    for table in (_EVENT, _DEAD_LETTER):
        cleanup.removed["events_and_dead_letters"] += await _count_deleted(
            session,
            delete(table)
            .where(table.c.platform == platform)
            .where(
                or_(
                    table.c.ordering_key == chat_id,
                    table.c.ordering_key.startswith(f"{chat_id}:", autoescape=True),
                )
            ),
        )


async def unlink_invitations(session: AsyncSession, customer_id: int) -> None:
    """Their invitations stay as anonymous counts, no longer pointing at an outbox row."""
    # The outbox rows went with their chat. A dangling number could name a later row (SQLite
    # hands out the highest number again), which a pause would drop or a tick count as sent.
    await session.execute(
        update(_INVITATION).where(_INVITATION.c.customer_id == customer_id).values(outbox_id=None)
    )


async def finish(
    session: AsyncSession,
    cleanup: Cleanup,
    *,
    admins: Collection[str],
    farewell: Farewell | None = None,
) -> int:
    """Queue the farewell, the Slack steps and the report, and complete the audit row; how many."""
    steps = list(cleanup.steps)
    if steps or cleanup.threads:
        text = report_text(
            cleanup.erasure_id, kind=cleanup.kind, removed=cleanup.removed, links=cleanup.links
        )
        report = PostErasureReport(erasure_id=cleanup.erasure_id, text=text)
        steps.extend(
            (room, report.model_copy(update={"thread_ref": ref})) for room, ref in cleanup.threads
        )
        steps.extend((admin, report) for admin in admins)
    rows: list[tuple[str, str, Delivery]] = [(SLACK, channel, step) for channel, step in steps]
    if farewell is not None:
        # Queued by the erasure, so said only after it commits; after Slack's deletes and
        # rewrites (one that fails for good does not hold it back), so "done" is true.
        told = (farewell.platform, farewell.chat_id, SendMessage(text=farewell.text))
        rows.insert(len(cleanup.steps), told)
    if rows:
        await session.execute(
            insert(_OUTBOX),
            [
                outbox_row(
                    destination=erasure_destination(cleanup.erasure_id),
                    platform=platform,
                    chat_id=channel,
                    delivery=step,
                    priority=LIVE,
                    now=cleanup.now,
                )
                for platform, channel, step in rows
            ],
        )
    await session.execute(
        update(_ERASURE)
        .where(_ERASURE.c.id == cleanup.erasure_id)
        .values(
            removed={name: count for name, count in cleanup.removed.items() if count},
            could_not=cleanup.links,
            remote_steps=len(rows),
            finished_at=None if rows else cleanup.now,
        )
    )
    return len(rows)


async def _count_deleted(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
