"""Issues 11 and 12: an erasure or the retention sweep takes the stored vectors of its ideas."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.privacy.desk import RetentionSweep
from storage.dialogue.store import SqlDialogueStore
from storage.privacy.store import SqlErasures
from storage.similar_ideas import SemanticMatching, SimilarIdeas
from storage.tables import (
    ConversationRow,
    IdeaFollowerRow,
    IdeaRow,
    IdeaVectorRow,
    table_of,
)
from storage.types import utc_now
from tests.helpers.privacy import Seeded, seed_customer

_CONVERSATION = table_of(ConversationRow)
_FOLLOWER = table_of(IdeaFollowerRow)
_IDEA = table_of(IdeaRow)
_VECTOR = table_of(IdeaVectorRow)
Sessions = async_sessionmaker[AsyncSession]


class WordsEmbedder:
    """A model double: each word lights one of 64 dimensions, so shared words mean alike."""

    name = "words"
    version = "1"

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return [_vector(text) for text in texts]


def _vector(text: str) -> list[float]:
    values = [0.0] * 64
    for word in text.lower().split():
        values[hashlib.sha256(word.encode()).digest()[0] % 64] += 1.0
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return [value / norm for value in values]


class Wakes:
    def outbox_changed(self) -> None:
        """The sweep's Slack steps are not this test's concern."""


def _similar(embedder: WordsEmbedder) -> SimilarIdeas:
    return SimilarIdeas(SemanticMatching(embedder=embedder, at_least=0.5))


async def _seed(sessions: Sessions, name: str, words: str) -> Seeded:
    return await seed_customer(
        sessions, name=name, words=words, email=f"{name}@example.org", chat_id=name
    )


async def _vectors_of(sessions: Sessions, idea_id: int) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(_VECTOR).where(_VECTOR.c.idea_id == idea_id)
        )
    return int(count or 0)


async def _best(similar: SimilarIdeas, sessions: Sessions, text: str) -> list[int]:
    async with sessions() as session, session.begin():
        return [match.idea_id for match in await similar.search(session, text, at_least=0.3)]


async def _followed_by(sessions: Sessions, seeded: Seeded, other: Seeded) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            _FOLLOWER.insert().values(
                idea_id=seeded.idea_id,
                customer_id=other.customer_id,
                kind="vote",
                created_at=utc_now(),
            )
        )


async def test_an_erased_customers_idea_loses_its_vectors_and_is_not_found_by_meaning(
    sessions: Sessions,
) -> None:
    alice = await _seed(sessions, "alice", "purple elephant dashboard")
    bob = await _seed(sessions, "bob", "turquoise giraffe export")
    similar = _similar(WordsEmbedder())
    assert await SqlDialogueStore(sessions, similar).backfill_vectors() == 2
    assert await _best(similar, sessions, "purple elephant dashboard") == [alice.idea_id]

    outcome = await SqlErasures(sessions).erase_customer(
        customer_id=alice.customer_id, requested_by="cli:operator"
    )

    assert outcome is not None
    assert outcome.removed["idea_vectors"] == 1
    assert await _vectors_of(sessions, alice.idea_id) == 0
    assert await _vectors_of(sessions, bob.idea_id) == 1
    # This process had the vector in memory: the new erasure makes it start over.
    assert await _best(similar, sessions, "purple elephant dashboard") == []
    assert alice.idea_id not in similar.vectors
    assert bob.idea_id in similar.vectors


async def test_a_kept_idea_is_embedded_again_from_its_new_text_and_an_emptied_one_not_at_all(
    sessions: Sessions,
) -> None:
    alice = await _seed(sessions, "alice", "purple elephant dashboard")
    carol = await _seed(sessions, "carol", "orange walrus calendar")
    bob = await _seed(sessions, "bob", "turquoise giraffe export")
    await _followed_by(sessions, alice, bob)
    await _followed_by(sessions, carol, bob)
    async with sessions() as session, session.begin():
        await session.execute(
            update(_IDEA).where(_IDEA.c.id == alice.idea_id).values(staff_title="Dashboard colours")
        )
    embedder = WordsEmbedder()
    similar = _similar(embedder)
    assert await SqlDialogueStore(sessions, similar).backfill_vectors() == 3

    for seeded in (alice, carol):
        await SqlErasures(sessions).erase_customer(
            customer_id=seeded.customer_id, requested_by="cli:operator"
        )
    embedder.texts.clear()

    # Found at once by its kept title, from a vector of that title alone.
    assert await _best(similar, sessions, "dashboard colours") == [alice.idea_id]
    assert embedder.texts[0] == "Dashboard colours"
    # The placeholder says nothing a new idea could be like: no vector, now or later.
    assert await SqlDialogueStore(sessions, similar).backfill_vectors() == 0
    assert await _vectors_of(sessions, carol.idea_id) == 0
    assert carol.idea_id not in similar.vectors
    assert not any("walrus" in text or "elephant" in text for text in embedder.texts)


async def test_the_retention_sweep_drops_the_vectors_of_the_ideas_it_empties(
    sessions: Sessions,
) -> None:
    old = await _seed(sessions, "old", "purple elephant dashboard")
    young = await _seed(sessions, "young", "turquoise giraffe export")
    now = utc_now()
    async with sessions() as session, session.begin():
        await session.execute(
            update(_CONVERSATION)
            .where(_CONVERSATION.c.id == old.conversation_id)
            .values(status="finished", updated_at=now - timedelta(days=31))
        )
    assert await SqlDialogueStore(sessions, _similar(WordsEmbedder())).backfill_vectors() == 2

    sweep = RetentionSweep(erasures=SqlErasures(sessions), days=30, outbox_signal=Wakes())
    outcome = await sweep.tick(now)

    assert outcome is not None
    assert outcome.removed["idea_vectors"] == 1
    assert await _vectors_of(sessions, old.idea_id) == 0
    assert await _vectors_of(sessions, young.idea_id) == 1
