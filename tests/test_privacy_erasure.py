"""Issue 11: an erasure leaves nothing of the customer in the database, and queues Slack's part."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import ConversationKey, OutgoingMessage
from handlers.ports import Direction, TranscriptEntry
from handlers.privacy.rules import ERASED_TITLE
from handlers.staff.room import CardCandidate, StaffCard, UpdateCard
from storage.dialogue.store import SqlDialogueStore
from storage.outbox.deliveries import (
    DeleteSlackFile,
    DeleteSlackMessage,
    PostErasureReport,
    RewriteRoomDigest,
    RewriteSlackMessage,
    read_delivery,
)
from storage.outbox.store import SentReceipt, SqlOutboxStore
from storage.privacy.records import SqlCustomerRecords
from storage.privacy.store import SqlErasures
from storage.tables import (
    ErasureRow,
    IdeaFollowerRow,
    IdeaRow,
    OutboxRow,
    PlatformEventRow,
    table_of,
)
from storage.types import utc_now
from tests.helpers.privacy import (
    ROOM,
    Seeded,
    database_text,
    post_digest,
    seed_customer,
    send_everything,
)

_IDEA = table_of(IdeaRow)
_FOLLOWER = table_of(IdeaFollowerRow)
_OUTBOX = table_of(OutboxRow)
_ERASURE = table_of(ErasureRow)
ADMIN = "UADMIN1"


async def _alice(sessions: async_sessionmaker[AsyncSession]) -> Seeded:
    return await seed_customer(
        sessions,
        name="Alice Wonderland",
        words="purple elephant dashboard",
        email="alice@example.org",
        chat_id="777001234",
    )


async def _bob(sessions: async_sessionmaker[AsyncSession]) -> Seeded:
    return await seed_customer(
        sessions,
        name="Bob Builder",
        words="turquoise giraffe export",
        email="bob@example.org",
        chat_id="888005678",
    )


def _traces(seeded: Seeded) -> list[str]:
    return [seeded.name, seeded.words, seeded.email, seeded.chat_id, seeded.file_id]


async def _follow(
    sessions: async_sessionmaker[AsyncSession], idea_id: int, customer_id: int
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            insert(_FOLLOWER).values(
                idea_id=idea_id, customer_id=customer_id, kind="vote", created_at=utc_now()
            )
        )


async def _erase(sessions: async_sessionmaker[AsyncSession], seeded: Seeded):  # type: ignore[no-untyped-def]
    outcome = await SqlErasures(sessions, admins=[ADMIN]).erase_customer(
        customer_id=seeded.customer_id, requested_by="cli:operator"
    )
    assert outcome is not None
    return outcome


async def test_an_erased_customer_leaves_no_words_name_email_or_ids(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await post_digest(sessions, alice)
    await send_everything(sessions)
    before = await database_text(sessions)
    assert all(trace in before for trace in _traces(alice))

    await _erase(sessions, alice)

    after = await database_text(sessions)
    assert [trace for trace in _traces(alice) if trace in after] == []
    # Another customer's data is left alone.
    assert all(trace in after for trace in _traces(bob))


async def test_the_audit_entry_says_what_went_and_holds_no_personal_data(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sessions)
    await send_everything(sessions)
    outcome = await _erase(sessions, alice)
    async with sessions() as session:
        entry = (await session.execute(select(_ERASURE))).one()
    assert entry.requested_by == "cli:operator"
    assert entry.kind == "customer"
    assert entry.removed["messages"] == 3
    assert entry.removed["ideas_removed"] == 1
    assert entry.removed["unsent_messages_dropped"] == 1
    assert outcome.could_not == tuple(entry.could_not)
    assert len(entry.could_not) == 2  # the staff reply and the internal note
    assert not any(trace in str(tuple(entry)) for trace in _traces(alice))


async def test_an_idea_only_they_had_is_removed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sessions)
    await _erase(sessions, alice)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(_IDEA)) == 0


async def test_an_idea_others_follow_stays_with_a_placeholder_and_its_count(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await _follow(sessions, alice.idea_id, bob.customer_id)
    await _erase(sessions, alice)
    async with sessions() as session:
        idea = (await session.execute(select(_IDEA).where(_IDEA.c.id == alice.idea_id))).one()
        followers = await session.scalar(
            select(func.count()).where(_FOLLOWER.c.idea_id == alice.idea_id)
        )
    assert (idea.title, idea.description, idea.email, idea.answers) == (ERASED_TITLE, "", None, {})
    assert idea.attachments == []
    assert followers == 2


async def test_an_idea_others_follow_keeps_the_staff_written_title(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await _follow(sessions, alice.idea_id, bob.customer_id)
    async with sessions() as session, session.begin():
        await session.execute(
            update(_IDEA).where(_IDEA.c.id == alice.idea_id).values(staff_title="Dashboard colours")
        )
    await _erase(sessions, alice)
    async with sessions() as session:
        title = await session.scalar(select(_IDEA.c.title).where(_IDEA.c.id == alice.idea_id))
    assert title == "Dashboard colours"


async def test_their_vote_on_another_idea_stays_only_as_a_count(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await _follow(sessions, bob.idea_id, alice.customer_id)
    await _erase(sessions, alice)
    async with sessions() as session:
        followers = await session.scalar(
            select(func.count()).where(_FOLLOWER.c.idea_id == bob.idea_id)
        )
        bob_idea = (await session.execute(select(_IDEA).where(_IDEA.c.id == bob.idea_id))).one()
    assert followers == 2
    assert bob_idea.title == bob.words
    found = await SqlCustomerRecords(sessions).find_customers(text="erased", limit=10)
    assert found == []


async def test_a_customer_who_writes_again_after_erasure_starts_fresh(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sessions)
    await _erase(sessions, alice)
    key = ConversationKey(platform="telegram", chat_id=alice.chat_id, user_id=alice.chat_id)
    async with SqlDialogueStore(sessions).transaction() as transaction:
        again = await transaction.customer_for(key=key, display_name=alice.name, language="en")
    assert again.id != alice.customer_id
    assert not again.has_history


async def test_erasing_twice_or_an_unknown_id_finds_no_customer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sessions)
    await _erase(sessions, alice)
    erasures = SqlErasures(sessions)
    assert await erasures.erase_customer(customer_id=alice.customer_id, requested_by="x") is None
    assert await erasures.erase_customer(customer_id=999_999, requested_by="x") is None


async def _steps(
    sessions: async_sessionmaker[AsyncSession], erasure_id: int
) -> list[tuple[str, object]]:
    async with sessions() as session:
        rows = await session.execute(
            select(_OUTBOX.c.chat_id, _OUTBOX.c.action, _OUTBOX.c.payload)
            .where(_OUTBOX.c.destination == f"erasure:{erasure_id}")
            .order_by(_OUTBOX.c.id)
        )
        return [(row.chat_id, read_delivery(row.action, row.payload)) for row in rows]


async def test_every_slack_post_with_their_words_gets_a_delete_or_rewrite_then_the_report(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await post_digest(sessions, alice)
    sent = dict((item.id, (item, ref)) for item, ref in await send_everything(sessions))
    bob_refs = [
        ref for item, ref in sent.values() if item.destination == f"staff:{bob.conversation_id}"
    ]
    refs = {
        item.delivery.action + ("_file" if getattr(item.delivery, "attachments", ()) else ""): ref
        for item, ref in sent.values()
        if item.destination in (f"staff:{alice.conversation_id}", "staff:room")
    }
    outcome = await _erase(sessions, alice)

    steps = await _steps(sessions, outcome.erasure_id)
    kinds = [(channel, type(step).__name__) for channel, step in steps]
    assert kinds == [
        (ROOM.chat_id, "RewriteSlackMessage"),
        (ROOM.chat_id, "DeleteSlackMessage"),
        (ROOM.chat_id, "DeleteSlackFile"),
        (ROOM.chat_id, "RewriteRoomDigest"),
        (ROOM.chat_id, "PostErasureReport"),
        (ADMIN, "PostErasureReport"),
    ]
    card, post, upload, digest, in_thread, to_admin = (step for _, step in steps)
    assert isinstance(card, RewriteSlackMessage)
    assert card.message_ref == refs["post_card"]
    assert isinstance(post, DeleteSlackMessage)
    assert post.message_ref == refs["thread_post"]
    assert isinstance(upload, DeleteSlackFile)
    assert upload.file_id == refs["thread_post_file"]
    assert isinstance(digest, RewriteRoomDigest)
    assert digest.message_ref == refs["post_digest"]
    assert digest.digest.new_ideas == []
    assert digest.digest.waiting == []
    assert isinstance(in_thread, PostErasureReport)
    assert in_thread.thread_ref == refs["post_card"]
    assert isinstance(to_admin, PostErasureReport)
    assert to_admin.thread_ref == ""
    assert alice.staff_ts.replace(".", "") in in_thread.text
    assert outcome.remote_steps == 6
    assert not any(trace in str(steps) for trace in _traces(alice))
    # Bob's thread is not touched.
    assert bob_refs
    assert not any(ref in str(steps) for ref in bob_refs)


async def test_the_erasure_is_pending_until_its_last_step_is_done(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sessions)
    await send_everything(sessions)
    outcome = await _erase(sessions, alice)
    erasures = SqlErasures(sessions)
    (pending,) = await erasures.pending_erasures()
    assert (pending.erasure_id, pending.steps_left) == (outcome.erasure_id, outcome.remote_steps)

    outbox = SqlOutboxStore(sessions)
    while items := await outbox.claim_due(platforms=["slack"], limit=100, lease_seconds=60):
        await outbox.record_sent([SentReceipt(item, "", utc_now()) for item in items])
    assert await erasures.pending_erasures() == []
    async with sessions() as session:
        steps_left = await session.scalar(
            select(func.count()).where(_OUTBOX.c.destination.like("erasure:%"))
        )
    assert steps_left == 0


async def _send_telegram(sessions: async_sessionmaker[AsyncSession]) -> None:
    outbox = SqlOutboxStore(sessions)
    while items := await outbox.claim_due(platforms=["telegram"], limit=100, lease_seconds=60):
        await outbox.record_sent([SentReceipt(item, "1", utc_now()) for item in items])


async def test_the_export_has_their_news_and_linked_ideas_and_nothing_of_another_customer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await _follow(sessions, bob.idea_id, alice.customer_id)
    key = ConversationKey(platform="telegram", chat_id=alice.chat_id, user_id=alice.chat_id)
    other = ConversationKey(platform="telegram", chat_id=bob.chat_id, user_id=bob.chat_id)
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.enqueue_news(
            [(key, OutgoingMessage("Your idea is planned")), (other, OutgoingMessage("Bob's news"))]
        )
    await _send_telegram(sessions)

    exported = await SqlCustomerRecords(sessions).export_customer(customer_id=alice.customer_id)

    assert exported is not None
    assert [news["text"] for news in exported["news"]] == ["Your idea is planned"]
    assert exported["linked_ideas"] == [
        {
            "id": bob.idea_id,
            "title": bob.words,
            "status": "new",
            "link": "vote",
            "since": exported["linked_ideas"][0]["since"],
        }
    ]
    text = str(exported)
    assert alice.words in text
    assert "Bob's news" not in text
    assert not any(trace in text for trace in (bob.name, bob.email, bob.chat_id, bob.file_id))
    assert "is nice" not in text


async def test_a_message_under_way_during_the_erasure_is_recorded_as_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sessions)
    outbox = SqlOutboxStore(sessions)
    (under_way,) = await outbox.claim_due(platforms=["telegram"], limit=10, lease_seconds=60)
    await _erase(sessions, alice)
    # The send ends after the erasure: its receipt finds no row and sets nothing off.
    await outbox.record_sent([SentReceipt(under_way, "5", utc_now())])
    async with sessions() as session:
        left = await session.scalar(
            select(func.count()).where(_OUTBOX.c.destination.not_like("erasure:%"))
        )
    assert left == 0
    assert alice.chat_id not in await database_text(sessions)


async def test_a_slack_customer_loses_the_bots_messages_in_their_dm_and_their_stored_events(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = ConversationKey(platform="slack", chat_id="D0CUSTOMER", user_id="U0CUSTOMER")
    async with SqlDialogueStore(sessions).transaction() as transaction:
        customer = await transaction.customer_for(key=key, display_name="Sol", language="en")
        await transaction.enqueue(key=key, actions=[OutgoingMessage("What is your idea, Sol?")])
    ((_, ts),) = await send_everything(sessions)
    async with sessions() as session, session.begin():
        await session.execute(
            insert(table_of(PlatformEventRow)).values(
                platform="slack",
                external_id="Ev1",
                ordering_key="D0CUSTOMER:",
                payload={"event": {"text": "my secret idea", "user": "U0CUSTOMER"}},
            )
        )

    outcome = await SqlErasures(sessions).erase_customer(
        customer_id=customer.id, requested_by="slack:U0ADMIN"
    )

    assert outcome is not None
    steps = await _steps(sessions, outcome.erasure_id)
    assert steps == [
        ("D0CUSTOMER", DeleteSlackMessage(erasure_id=outcome.erasure_id, message_ref=ts))
    ]
    text = await database_text(sessions)
    assert not any(trace in text for trace in ("U0CUSTOMER", "Sol", "secret idea"))
    # Once its steps are done, the erasure's outbox rows go too: they named the DM channel.
    await send_everything(sessions)
    assert "D0CUSTOMER" not in await database_text(sessions)


async def test_an_erased_idea_is_no_longer_offered_as_the_same(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await _follow(sessions, alice.idea_id, bob.customer_id)
    store = SqlDialogueStore(sessions)
    async with store.transaction() as transaction:
        before = await transaction.similar_idea(text=alice.words, at_least=0.3)
    await _erase(sessions, alice)
    async with store.transaction() as transaction:
        after = await transaction.similar_idea(text=alice.words, at_least=0.3)
    assert before == (alice.idea_id, alice.words)
    assert after is None


async def test_erasing_an_author_leaves_their_words_in_no_followers_news_or_transcript(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Review R2 of issue 11: Bob's "me too" offer and status news quoted Alice's title, in
    Bob's transcript and Bob's outbox, and stayed after Alice's erasure."""
    alice, bob = await _alice(sessions), await _bob(sessions)
    await _follow(sessions, alice.idea_id, bob.customer_id)
    bob_key = ConversationKey(platform="telegram", chat_id=bob.chat_id, user_id=bob.chat_id)
    offer = f"Thank you! Someone has suggested something like it already: «{alice.words}»."
    news = f"Good news: your idea “{alice.words}” is planned."
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.record_message(
            TranscriptEntry(
                conversation_id=bob.conversation_id,
                customer_id=bob.customer_id,
                direction=Direction.OUTBOUND,
                text=offer,
            )
        )
        await transaction.enqueue(key=bob_key, actions=[OutgoingMessage(offer)])
    await _send_telegram(sessions)
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.enqueue(key=bob_key, actions=[OutgoingMessage(news)])

    await _erase(sessions, alice)

    dump = await database_text(sessions)
    assert alice.words not in dump
    assert f"Someone has suggested something like it already: «{ERASED_TITLE}»." in dump
    assert f"Good news: your idea “{ERASED_TITLE}” is planned." in dump


async def test_a_slack_followers_news_quoting_the_title_is_rewritten_in_slack_too(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sessions)
    follower = ConversationKey(platform="slack", chat_id="DFOLLOWER", user_id="UFOLLOWER")
    news = f"Good news: your idea “{alice.words}” is planned."
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.enqueue(key=follower, actions=[OutgoingMessage(news)])
    sent = await send_everything(sessions)
    (ref,) = [ref for item, ref in sent if item.chat_id == "DFOLLOWER"]

    outcome = await _erase(sessions, alice)

    rewritten = f"Good news: your idea “{ERASED_TITLE}” is planned."
    steps = await _steps(sessions, outcome.erasure_id)
    assert (
        "DFOLLOWER",
        RewriteSlackMessage(erasure_id=outcome.erasure_id, message_ref=ref, text=rewritten),
    ) in steps


async def _list_as_candidate(
    sessions: async_sessionmaker[AsyncSession], card_of: Seeded, candidate: Seeded
) -> None:
    """``card_of``'s card names ``candidate``'s idea as possibly the same, stored and queued."""
    store = SqlDialogueStore(sessions)
    async with store.transaction() as transaction:
        thread = await transaction.thread_of(conversation_id=card_of.conversation_id)
        assert thread is not None
        listed = CardCandidate(candidate.idea_id, candidate.words, 1)
        card = replace(thread.card, idea_id=card_of.idea_id, similar=(listed,))
        await transaction.save_card(card)
        await transaction.enqueue_to_staff(
            room=ROOM, conversation_id=card_of.conversation_id, actions=[UpdateCard(card)]
        )


async def _bobs_cards(sessions: async_sessionmaker[AsyncSession], bob: Seeded) -> list[StaffCard]:
    """Bob's stored card, then every card of his queued in the outbox, in order."""
    async with SqlDialogueStore(sessions).transaction() as transaction:
        thread = await transaction.thread_of(conversation_id=bob.conversation_id)
    assert thread is not None
    async with sessions() as session:
        rows = await session.execute(
            select(_OUTBOX.c.action, _OUTBOX.c.payload)
            .where(_OUTBOX.c.destination == f"staff:{bob.conversation_id}")
            .where(_OUTBOX.c.action.in_(["post_card", "update_card"]))
            .order_by(_OUTBOX.c.id)
        )
        queued = [read_delivery(row.action, row.payload) for row in rows]
    return [thread.card] + [delivery.card for delivery in queued]  # type: ignore[union-attr]


async def test_another_cards_candidate_of_an_erased_idea_goes_from_the_card_and_slack(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await _list_as_candidate(sessions, bob, alice)
    await _erase(sessions, alice)
    stored, *queued = await _bobs_cards(sessions, bob)
    assert stored.similar == ()
    # The card as first posted, the update that listed Alice's idea, and the erasure's update.
    assert [card.similar for card in queued] == [(), (), ()]
    assert alice.words not in await database_text(sessions)


async def test_another_cards_candidate_of_a_followed_idea_shows_the_kept_title(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice, bob = await _alice(sessions), await _bob(sessions)
    await _follow(sessions, alice.idea_id, bob.customer_id)
    await _list_as_candidate(sessions, bob, alice)
    await _erase(sessions, alice)
    stored, *queued = await _bobs_cards(sessions, bob)
    assert stored.similar == (CardCandidate(alice.idea_id, ERASED_TITLE, 1),)
    assert queued[-1].similar == stored.similar
    assert alice.words not in await database_text(sessions)
