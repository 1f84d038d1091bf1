"""Wordings the team confirmed as an open idea's ("faces"), and pairs it said are not alike.

A staff merge or a customer's "yes, the same" teaches that the other text says what the
idea says: that text gets its own lexical entry and vector, and a match on it counts as a
match on the idea. An undo or a customer's "no" stops that exact pair being offered again.
The latest decision on a pair wins. Like the rest of ``SimilarIdeas``, only a cache of
``similar_decision``, caught up before each lookup; an erasure makes it start over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ideas.similarity import Match, SimilarityIndex
from handlers.ideas.vectors import Vector, VectorIndex
from handlers.ports import IdeaEmbedder
from storage.tables import SimilarDecisionRow, table_of

logger = logging.getLogger(__name__)

_DECISION = table_of(SimilarDecisionRow)
# At most this many faces are embedded in one catch-up; the rest in the next ones.
_EMBED_AT_ONCE = 64


def pair_key(text: str) -> str:
    """A wording as pairs are told apart: case and spacing do not make another pair."""
    return " ".join(text.casefold().split())


def model_of(embedder: IdeaEmbedder) -> str:
    """The model a stored face vector was made by, as ``similar_decision.vector_model``."""
    return f"{embedder.name} {embedder.version}"[:400]


class Faces:
    """Confirmed wordings of ideas, found like ideas, and the pairs never to offer again."""

    def __init__(self) -> None:
        self.index = SimilarityIndex()
        self.vectors = VectorIndex()
        self._idea_of: dict[int, int] = {}
        self._active: set[int] = set()
        self._latest: dict[tuple[int, str], int] = {}
        self._blocked: set[tuple[int, str]] = set()
        self._seen = 0
        self._waiting: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._active)

    async def catch_up(
        self, session: AsyncSession, embedder: IdeaEmbedder | None, *, embed_missing: bool
    ) -> None:
        """Take in the decisions stored since the last look (by any process)."""
        rows = (
            await session.execute(
                select(
                    _DECISION.c.id,
                    _DECISION.c.idea_id,
                    _DECISION.c.text,
                    _DECISION.c.same,
                    _DECISION.c.vector_model,
                    _DECISION.c.vector,
                )
                .where(_DECISION.c.id > self._seen)
                .order_by(_DECISION.c.id)
            )
        ).all()
        for row in rows:
            self._seen = row.id
            self._take_in(row, embedder)
        if embedder is not None and embed_missing and self._waiting:
            await self._embed(session, embedder)

    def _take_in(self, row: Any, embedder: IdeaEmbedder | None) -> None:
        if not row.text:
            return  # an erased author's words: nothing to learn from any more
        pair = (row.idea_id, pair_key(row.text))
        previous = self._latest.get(pair)
        if previous is not None:
            self._active.discard(previous)
            self._waiting.pop(previous, None)
        self._latest[pair] = row.id
        if not row.same:
            self._blocked.add(pair)
            return
        self._blocked.discard(pair)
        self.index.add(row.id, row.text)
        self._idea_of[row.id] = row.idea_id
        self._active.add(row.id)
        if embedder is None:
            return
        if row.vector is not None and row.vector_model == model_of(embedder):
            self.vectors.put(row.id, np.frombuffer(row.vector, dtype="<f4"))
        else:
            self._waiting[row.id] = row.text

    async def _embed(self, session: AsyncSession, embedder: IdeaEmbedder) -> None:
        chosen = list(self._waiting.items())[:_EMBED_AT_ONCE]
        vectors = await embedder.embed([text for _, text in chosen])
        for (face, _), vector in zip(chosen, vectors, strict=True):
            self.put_vector(face, vector)
            await session.execute(
                update(_DECISION)
                .where(_DECISION.c.id == face)
                .values(
                    vector_model=model_of(embedder),
                    vector=np.asarray(vector, dtype="<f4").tobytes(),
                )
            )

    def put_vector(self, face: int, vector: Vector) -> None:
        """Keep a face's vector (made now or read back)."""
        self._waiting.pop(face, None)
        if face in self._active:
            self.vectors.put(face, vector)

    def blocked(self, *, text: str, idea_id: int) -> bool:
        """True if the latest decision on this exact pair said it is not the same."""
        return (idea_id, pair_key(text)) in self._blocked

    def lexical(self, text: str, *, limit: int) -> list[Match]:
        """The ideas whose confirmed wordings are most like ``text``, by the lexical method."""
        return self._as_ideas(self.index.search(text, limit=limit * 4))

    def semantic(self, vector: Vector, *, limit: int) -> list[Match]:
        """The ideas whose confirmed wordings' vectors are closest to ``vector``."""
        return self._as_ideas(self.vectors.search(vector, limit=limit * 4))

    def _as_ideas(self, found: Iterable[Match]) -> list[Match]:
        # The indexes key a face by its decision's id; a match counts for the face's idea.
        return [
            Match(self._idea_of[face.idea_id], face.score, through_face=True)
            for face in found
            if face.idea_id in self._active and face.score > 0
        ]


def with_faces(own: list[Match], faces: list[Match], *, limit: int) -> list[Match]:
    """One ranking of ideas from their own texts and their faces: each idea at its best."""
    best: dict[int, Match] = {}
    for match in [*own, *faces]:
        kept = best.get(match.idea_id)
        if kept is None or match.score > kept.score:
            best[match.idea_id] = match
    return sorted(best.values(), key=lambda match: (-match.score, match.idea_id))[:limit]
