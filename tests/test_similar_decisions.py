"""Issue 12: merges, undos and customers' answers are labelled pairs the bot learns from."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.embeddings.openai import OpenAIEmbedder
from handlers.ideas.confidence import OfferSettings
from handlers.privacy.desk import RetentionSweep
from storage.dialogue.ideas import offered_idea
from storage.dialogue.store import SqlDialogueStore
from storage.privacy.store import SqlErasures
from storage.similar_decisions import record_decision, stored_calibration
from storage.similar_ideas import SemanticMatching, SimilarIdeas
from storage.tables import ConversationRow, SimilarDecisionRow, table_of
from storage.types import utc_now
from tests.doubles.embeddings_api import API_KEY, embeddings_server
from tests.helpers.privacy import Seeded, seed_customer
from tests.test_erasure_vectors import Wakes, WordsEmbedder

_DECISION = table_of(SimilarDecisionRow)
_CONVERSATION = table_of(ConversationRow)
Sessions = async_sessionmaker[AsyncSession]
# Far below any busy timeout, far above a click that waits for nothing.
CLICK_SECONDS = 5.0


async def _seed(sessions: Sessions, name: str, words: str) -> Seeded:
    return await seed_customer(
        sessions, name=name, words=words, email=f"{name}@example.org", chat_id=name
    )


async def _decisions(sessions: Sessions) -> list[tuple[int, str, bool, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                _DECISION.c.idea_id, _DECISION.c.text, _DECISION.c.same, _DECISION.c.source
            ).order_by(_DECISION.c.id)
        )
        return [(row.idea_id, row.text, row.same, row.source) for row in rows]


async def _merge(sessions: Sessions, similar: SimilarIdeas, duplicate: int, original: int) -> None:
    async with SqlDialogueStore(sessions, similar).transaction() as transaction:
        first = await transaction.idea_for_update(idea_id=duplicate)
        second = await transaction.idea_for_update(idea_id=original)
        assert first is not None
        assert second is not None
        await transaction.merge_ideas(duplicate=first, original=second, merged_by="Anne")


async def _offered(sessions: Sessions, similar: SimilarIdeas, text: str) -> int | None:
    async with sessions() as session, session.begin():
        offer = await offered_idea(session, similar, text=text, at_least=0.3)
    return None if offer is None else offer.idea_id


async def test_a_merge_and_its_undo_are_stored_as_a_pair_with_its_score(
    sessions: Sessions,
) -> None:
    original = await _seed(sessions, "kari", "dark mode for the app")
    duplicate = await _seed(sessions, "ola", "night theme please")
    similar = SimilarIdeas()

    await _merge(sessions, similar, duplicate.idea_id, original.idea_id)
    async with SqlDialogueStore(sessions, similar).transaction() as transaction:
        await transaction.undo_merge(duplicate_id=duplicate.idea_id)

    words = "night theme please night theme please in detail"
    assert await _decisions(sessions) == [
        (original.idea_id, words, True, "merge"),
        (original.idea_id, words, False, "unmerge"),
    ]
    async with sessions() as session:
        methods = (await session.execute(select(_DECISION.c.method))).scalars().all()
    assert methods == ["lexical", "lexical"]


async def test_a_merged_wording_becomes_a_face_of_the_original_and_an_undo_takes_it_back(
    sessions: Sessions,
) -> None:
    original = await _seed(sessions, "kari", "purple elephant dashboard")
    await _seed(sessions, "siri", "turquoise giraffe export")
    duplicate = await _seed(sessions, "ola", "violet pachyderm overview")
    # A model double where only shared words count: the wordings share none.
    similar = SimilarIdeas(SemanticMatching(embedder=WordsEmbedder(), at_least=0.9))
    asked = "violet pachyderm overview violet pachyderm overview in detail"
    assert await _offered(sessions, similar, asked) == duplicate.idea_id

    await _merge(sessions, similar, duplicate.idea_id, original.idea_id)

    # The duplicate is closed; its words now find the original, through the confirmed face.
    assert await _offered(sessions, similar, asked) == original.idea_id
    async with SqlDialogueStore(sessions, similar).transaction() as transaction:
        await transaction.undo_merge(duplicate_id=duplicate.idea_id)
    assert await _offered(sessions, similar, asked) == duplicate.idea_id


async def test_a_customers_no_stops_that_exact_pair_being_offered_again(
    sessions: Sessions,
) -> None:
    kari = await _seed(sessions, "kari", "dark mode for the app")
    similar = SimilarIdeas()
    asked = "Dark mode for the app at night"
    assert await _offered(sessions, similar, asked) == kari.idea_id

    async with SqlDialogueStore(sessions, similar).transaction() as transaction:
        await transaction.not_the_same(
            idea_id=kari.idea_id,
            customer_id=kari.customer_id,
            conversation_id=kari.conversation_id,
            text=asked,
        )

    assert await _offered(sessions, similar, asked) is None
    assert await _offered(sessions, similar, "  dark MODE for the app at night ") is None
    assert await _offered(sessions, similar, "dark mode for the app, in the evening") == (
        kari.idea_id
    )
    assert await _decisions(sessions) == [(kari.idea_id, asked, False, "customer_no")]


async def test_enough_decisions_calibrate_the_threshold_every_process_reads(
    sessions: Sessions,
) -> None:
    kari = await _seed(sessions, "kari", "dark mode for the app")
    similar = SimilarIdeas(offers=OfferSettings(margin=0.0, floor=0.1, least=20))
    wordings = [
        ("dark mode for the app", True),
        ("dark mode for the app please", True),
        ("a dark mode in the app", True),
        ("dark mode", True),
        ("the app dark mode", True),
        ("export invoices", False),
        ("print receipts", False),
        ("mode of payment", False),
        ("app crashes on start", False),
        ("dark chocolate", False),
    ]
    async with sessions() as session, session.begin():
        for text, same in wordings * 2:
            await record_decision(
                session,
                similar,
                idea_id=kari.idea_id,
                text=text,
                same=same,
                source="merge" if same else "unmerge",
                customer_id=None,
                conversation_id=None,
            )
    async with sessions() as session:
        calibration = await stored_calibration(session, method="lexical")
    assert calibration is not None
    assert calibration.calibrated
    assert (calibration.decisions, calibration.same) == (20, 10)
    assert 0.1 <= calibration.threshold <= 0.9


async def test_an_erasure_takes_the_words_of_the_customers_decisions_but_keeps_the_verdict(
    sessions: Sessions,
) -> None:
    original = await _seed(sessions, "kari", "purple elephant dashboard")
    duplicate = await _seed(sessions, "ola", "violet pachyderm overview")
    similar = SimilarIdeas(SemanticMatching(embedder=WordsEmbedder(), at_least=0.9))
    await _merge(sessions, similar, duplicate.idea_id, original.idea_id)
    asked = "violet pachyderm overview violet pachyderm overview in detail"
    assert await _offered(sessions, similar, asked) == original.idea_id

    outcome = await SqlErasures(sessions).erase_customer(
        customer_id=duplicate.customer_id, requested_by="cli:operator"
    )

    assert outcome is not None
    assert outcome.removed["similar_decisions_anonymised"] == 1
    async with sessions() as session:
        row = (await session.execute(select(_DECISION))).one()
    assert (row.text, row.vector, row.customer_id, row.conversation_id) == ("", None, None, None)
    assert (row.same, row.idea_id) == (True, original.idea_id)
    # Nothing of the erased words is found any more, in this process either.
    assert await _offered(sessions, similar, asked) is None


async def test_the_retention_sweep_takes_the_words_of_decisions_from_old_conversations(
    sessions: Sessions,
) -> None:
    original = await _seed(sessions, "kari", "purple elephant dashboard")
    old = await _seed(sessions, "ola", "violet pachyderm overview")
    await _merge(sessions, SimilarIdeas(), old.idea_id, original.idea_id)
    now = utc_now()
    async with sessions() as session, session.begin():
        await session.execute(
            update(_CONVERSATION)
            .where(_CONVERSATION.c.id == old.conversation_id)
            .values(status="finished", updated_at=now - timedelta(days=31))
        )

    sweep = RetentionSweep(erasures=SqlErasures(sessions), days=30, outbox_signal=Wakes())
    outcome = await sweep.tick(now)

    assert outcome is not None
    assert outcome.removed["similar_decisions_anonymised"] == 1
    assert await _decisions(sessions) == [(original.idea_id, "", True, "merge")]


async def test_a_merge_click_scores_by_stored_vectors_without_waiting_on_the_model(
    sessions: Sessions,
) -> None:
    original = await _seed(sessions, "kari", "dark mode for the app")
    duplicate = await _seed(sessions, "ola", "dark theme for the app")
    async with embeddings_server() as server, httpx.AsyncClient(timeout=30) as client:
        embedder = OpenAIEmbedder(url=server.url, model="words-64", api_key=API_KEY, client=client)
        similar = SimilarIdeas(SemanticMatching(embedder=embedder, at_least=0.5))
        assert await SqlDialogueStore(sessions, similar).backfill_vectors() == 2
        # The model stops answering: a merge that asked it would wait for it.
        server.answering.clear()
        await asyncio.wait_for(
            _merge(sessions, similar, duplicate.idea_id, original.idea_id), timeout=CLICK_SECONDS
        )
        assert server.waiting == 0
        server.answering.set()
    async with sessions() as session:
        (method, score), *_ = (
            await session.execute(select(_DECISION.c.method, _DECISION.c.score))
        ).all()
    assert method == "openai:words-64"
    assert 0.5 < score < 1.0


async def test_a_merge_click_without_stored_vectors_is_scored_lexically_without_the_model(
    sessions: Sessions,
) -> None:
    original = await _seed(sessions, "kari", "dark mode for the app")
    duplicate = await _seed(sessions, "ola", "dark theme for the app")
    async with embeddings_server() as server, httpx.AsyncClient(timeout=30) as client:
        embedder = OpenAIEmbedder(url=server.url, model="words-64", api_key=API_KEY, client=client)
        similar = SimilarIdeas(SemanticMatching(embedder=embedder, at_least=0.5))
        server.answering.clear()
        await asyncio.wait_for(
            _merge(sessions, similar, duplicate.idea_id, original.idea_id), timeout=CLICK_SECONDS
        )
        server.answering.set()
        assert server.texts_embedded == 0
    async with sessions() as session:
        methods = (await session.execute(select(_DECISION.c.method))).scalars().all()
    assert methods == ["lexical"]
