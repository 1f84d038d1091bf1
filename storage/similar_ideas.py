"""Open ideas kept ready for "is yours the same as …?": a lexical index and stored vectors.

Only a cache: any process builds it from the database, and catches up before each lookup
with ideas recorded, reopened or closed since (by any process). Vectors are stored in
``idea_vector`` with the model's name and version, so a restart reads them instead of
embedding every idea again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ideas.similarity import Match, SimilarityIndex
from handlers.ideas.status import IdeaStatus
from handlers.ideas.vectors import VectorIndex
from handlers.ports import EmbeddingUnavailable, IdeaEmbedder
from storage.tables import IdeaRow, IdeaVectorRow, table_of
from storage.types import utc_now
from storage.upsert import insert_if_absent

logger = logging.getLogger(__name__)

_IDEA = table_of(IdeaRow)
_VECTOR = table_of(IdeaVectorRow)
# Ideas a new one may be the same as: not drafts, duplicates, or decided ones.
OPEN_STATUSES = (
    IdeaStatus.NEW.value,
    IdeaStatus.UNDER_REVIEW.value,
    IdeaStatus.PLANNED.value,
    IdeaStatus.IN_PROGRESS.value,
)
# Another process's transaction may commit a change stamped a little before our last look;
# looking back this far again catches it (a turn's transaction lasts well under a second).
_OVERLAP = timedelta(seconds=60)
# How many candidates each method brings before they are blended and checked.
_CANDIDATES = 20
# At most this many ideas are embedded during a lookup; more wait for the background backfill.
_EMBED_AT_ONCE = 64


@dataclass(frozen=True, slots=True)
class SemanticMatching:
    """How vectors take part: the model, and the cosine an idea must reach to be offered."""

    embedder: IdeaEmbedder
    at_least: float


def idea_text(title: str, description: str) -> str:
    """The text an idea is compared by."""
    return f"{title} {description}".strip()


def _to_bytes(vector: Sequence[float]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


class SimilarIdeas:
    """The open ideas' lexical index and, with a model configured, their vectors."""

    def __init__(self, semantic: SemanticMatching | None = None) -> None:
        self.index = SimilarityIndex()
        self.vectors = VectorIndex()
        self.semantic = semantic
        # The lexical index cannot forget an idea cheaply; lookups skip those closed since.
        self._open: set[int] = set()
        self._changed: dict[int, datetime] = {}
        # A lookup and the start's warm-up may catch up at once; one reads, the other waits.
        self._catching_up = asyncio.Lock()
        self._since: datetime | None = None

    async def catch_up(self, session: AsyncSession, *, embed_missing: bool = True) -> None:
        """Take in the ideas changed since the last look: new and reopened ones, closed ones."""
        async with self._catching_up:
            await self._catch_up(session, embed_missing=embed_missing)

    async def _catch_up(self, session: AsyncSession, *, embed_missing: bool) -> None:
        now = utc_now()
        query = select(
            _IDEA.c.id, _IDEA.c.title, _IDEA.c.description, _IDEA.c.status, _IDEA.c.updated_at
        )
        if self._since is not None:
            query = query.where(_IDEA.c.updated_at >= self._since - _OVERLAP)
        found = (await session.execute(query.order_by(_IDEA.c.id))).all()
        first_look = self._since is None
        self._since = now
        # The overlap brings back rows already taken in; only those changed again count.
        rows = [row for row in found if self._changed.get(row.id) != row.updated_at]
        self._changed.update((row.id, row.updated_at) for row in rows)
        opened = [row for row in rows if row.status in OPEN_STATUSES]
        for row in opened:
            self.index.add(row.id, idea_text(row.title, row.description))
            self._open.add(row.id)
        for row in rows:
            if row.status not in OPEN_STATUSES:
                self._open.discard(row.id)
                self.vectors.remove(row.id)
        if self.semantic is None:
            return
        if first_look:
            await self._load_stored(session)
        elif opened:
            await self._load_stored(session, only=[row.id for row in opened])
        missing = [(row.id, idea_text(row.title, row.description)) for row in opened]
        missing = [(idea_id, text) for idea_id, text in missing if idea_id not in self.vectors]
        # A few new or reopened ideas are embedded here, so they are found at once; many (a
        # first start with a new model) are left to the backfill, not to a customer's turn.
        if not embed_missing:
            return
        if 0 < len(missing) <= _EMBED_AT_ONCE:
            await self._embed_and_store(session, missing)
        elif missing:
            logger.info("similar ideas: %s ideas wait for the backfill's vectors", len(missing))

    async def _load_stored(self, session: AsyncSession, only: list[int] | None = None) -> None:
        assert self.semantic is not None
        embedder = self.semantic.embedder
        query = (
            select(_VECTOR.c.idea_id, _VECTOR.c.vector)
            .join(_IDEA, _IDEA.c.id == _VECTOR.c.idea_id)
            .where(_VECTOR.c.model == embedder.name)
            .where(_VECTOR.c.version == embedder.version)
            .where(_IDEA.c.status.in_(OPEN_STATUSES))
        )
        if only is not None:
            query = query.where(_VECTOR.c.idea_id.in_(only))
        rows = (await session.execute(query)).all()
        if rows:
            blobs = b"".join(row.vector for row in rows)
            matrix = np.frombuffer(blobs, dtype="<f4").reshape(len(rows), -1).astype(np.float32)
            self.vectors.put_many([row.idea_id for row in rows], matrix)

    async def _embed_and_store(self, session: AsyncSession, ideas: list[tuple[int, str]]) -> None:
        assert self.semantic is not None
        vectors = await self.semantic.embedder.embed([text for _, text in ideas])
        await self.store(session, ideas, vectors)

    async def store(
        self, session: AsyncSession, ideas: list[tuple[int, str]], vectors: list[list[float]]
    ) -> None:
        """Keep the ideas' vectors, in the database and here."""
        assert self.semantic is not None
        embedder = self.semantic.embedder
        for (idea_id, _), vector in zip(ideas, vectors, strict=True):
            await insert_if_absent(
                session,
                IdeaVectorRow,
                conflict=["idea_id", "model", "version"],
                values={
                    "idea_id": idea_id,
                    "model": embedder.name,
                    "version": embedder.version,
                    "dimensions": len(vector),
                    "vector": _to_bytes(vector),
                    "created_at": utc_now(),
                },
                returning="idea_id",
            )
            self.vectors.put(idea_id, vector)

    async def without_vectors(self, session: AsyncSession, *, batch: int) -> list[tuple[int, str]]:
        """Up to ``batch`` open ideas the configured model has no stored vector of."""
        if self.semantic is None:
            return []
        embedder = self.semantic.embedder
        rows = await session.execute(
            select(_IDEA.c.id, _IDEA.c.title, _IDEA.c.description)
            .outerjoin(
                _VECTOR,
                and_(
                    _VECTOR.c.idea_id == _IDEA.c.id,
                    _VECTOR.c.model == embedder.name,
                    _VECTOR.c.version == embedder.version,
                ),
            )
            .where(_VECTOR.c.idea_id.is_(None))
            .where(_IDEA.c.status.in_(OPEN_STATUSES))
            .order_by(_IDEA.c.id)
            .limit(batch)
        )
        return [(row.id, idea_text(row.title, row.description)) for row in rows]

    async def search(self, session: AsyncSession, text: str, *, at_least: float) -> list[Match]:
        """Open ideas most like ``text``, best first; ``at_least`` is the lexical threshold."""
        try:
            await self.catch_up(session)
            if self.semantic is not None:
                return await self._search_semantic(text)
        except EmbeddingUnavailable as error:
            # Asking nothing would hide a likely duplicate; the lexical method still can.
            logger.warning("similar ideas: %s; using the lexical method for now", error)
        return self._lexical(text, at_least=at_least)[:5]

    def _lexical(self, text: str, *, at_least: float = 0.0) -> list[Match]:
        found = self.index.search(text, limit=_CANDIDATES, at_least=at_least)
        return [match for match in found if match.idea_id in self._open]

    async def _search_semantic(self, text: str) -> list[Match]:
        assert self.semantic is not None
        (vector,) = await self.semantic.embedder.embed([text])
        # No blend with the lexical score: on the TUNE part it only made the model worse
        # (docs/benchmarks.md).
        return self.vectors.search(vector, limit=5, at_least=self.semantic.at_least)
