"""Open ideas kept ready for "is yours the same as …?": a lexical index and stored vectors.

Only a cache: any process builds it from the database, and catches up before each lookup
with ideas recorded, reopened or closed since (by any process). Vectors are stored in
``idea_vector`` with the model's name and version, so a restart reads them instead of
embedding every idea again. An erasure (in any process) makes it start over, so nothing of
an erased idea's words stays in it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, func, not_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ideas.confidence import OfferSettings
from handlers.ideas.similarity import Match, SimilarityIndex
from handlers.ideas.status import IdeaStatus
from handlers.ideas.vectors import VectorIndex
from handlers.ports import EmbeddingUnavailable, IdeaEmbedder
from handlers.privacy.rules import ERASED_TITLE
from storage.similar_faces import Faces, with_faces
from storage.tables import ErasureRow, IdeaRow, IdeaVectorRow, table_of
from storage.types import utc_now
from storage.upsert import insert_if_absent

logger = logging.getLogger(__name__)

_IDEA = table_of(IdeaRow)
_VECTOR = table_of(IdeaVectorRow)
_ERASURE = table_of(ErasureRow)
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
# Texts embedded ahead of turns still under way; more means turns that never came (a crash).
_AHEAD_KEPT = 256


LEXICAL = "lexical"
# What answered when the configured model could not.
FALLBACK = "lexical (the model did not answer)"


@dataclass(frozen=True, slots=True)
class Lookup:
    """The open ideas a lookup found, best first, and the method that found them."""

    method: str
    matches: list[Match]


@dataclass(slots=True)
class _Ahead:
    """A text's vector asked for before a turn (None: the model did not answer), and its turns."""

    vector: Sequence[float] | None
    turns: int


@dataclass(frozen=True, slots=True)
class SemanticMatching:
    """How vectors take part: the model, and the cosine an idea must reach to be offered."""

    embedder: IdeaEmbedder
    at_least: float


def idea_text(title: str, description: str) -> str:
    """The text an idea is compared by."""
    return f"{title} {description}".strip()


def _emptied(title: str, description: str) -> bool:
    """An idea an erasure kept only for its followers: it says nothing a new idea could be like."""
    return title == ERASED_TITLE and not description


# The same rule in SQL, for the backfill: an emptied idea gets no vector.
_NOT_EMPTIED = not_(and_(_IDEA.c.title == ERASED_TITLE, _IDEA.c.description == ""))


def _created(row: Any) -> datetime:
    return row.created_at  # type: ignore[no-any-return]


def _to_bytes(vector: Sequence[float]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


class SimilarIdeas:
    """The open ideas' lexical index and, with a model configured, their vectors."""

    def __init__(
        self, semantic: SemanticMatching | None = None, *, offers: OfferSettings | None = None
    ) -> None:
        self.semantic = semantic
        # How sure a match must be before the customer is asked (handlers/ideas/confidence.py).
        self.offers = offers or OfferSettings()
        # A lookup and the start's warm-up may catch up at once; one reads, the other waits.
        self._catching_up = asyncio.Lock()
        self._erasure = 0
        self._ahead: dict[str, _Ahead] = {}
        self._start_over()

    def _start_over(self) -> None:
        """Forget everything taken in; the next look reads all open ideas again."""
        self.index = SimilarityIndex()
        self.vectors = VectorIndex()
        self.faces = Faces()
        # The lexical index cannot forget an idea cheaply; lookups skip those closed since.
        self._open: set[int] = set()
        self._changed: dict[int, datetime] = {}
        self._since: datetime | None = None
        # The last text embedded and its vector: a recorded idea is looked up twice in its turn
        # (the customer's question, then staff's five), and the model is asked once.
        self._last_query: tuple[str, Sequence[float]] | None = None
        # Open ideas seen without a vector while no model could be asked: the next ask takes them.
        self._unembedded: dict[int, str] = {}

    async def catch_up(self, session: AsyncSession, *, embed_missing: bool = True) -> None:
        """Take in the ideas changed since the last look: new and reopened ones, closed ones."""
        async with self._catching_up:
            await self._catch_up(session, embed_missing=embed_missing)

    async def _catch_up(self, session: AsyncSession, *, embed_missing: bool) -> None:
        now = utc_now()
        erasure, found = await self._changed_since(session, self._since)
        if erasure != self._erasure:
            # An erased idea may sit anywhere in the index: only a fresh start forgets it.
            looked_before = self._since is not None
            self._start_over()
            self._erasure = erasure
            if looked_before:
                _, found = await self._changed_since(session, None)
        first_look = self._since is None
        self._since = now
        # The overlap brings back rows already taken in; only those changed again count.
        rows = [row for row in found if self._changed.get(row.id) != row.updated_at]
        self._changed.update((row.id, row.updated_at) for row in rows)
        opened = self._take_in(rows)
        if self.semantic is not None:
            await self._catch_up_vectors(
                session, opened, first_look=first_look, embed_missing=embed_missing
            )
        embedder = None if self.semantic is None else self.semantic.embedder
        await self.faces.catch_up(session, embedder, embed_missing=embed_missing)

    @staticmethod
    async def _changed_since(
        session: AsyncSession, since: datetime | None
    ) -> tuple[int, list[Any]]:
        """The latest erasure's id and the ideas changed since ``since`` (all if None)."""
        # One statement, not two: a lookup's catch-up is one round trip to the database.
        latest = select(func.max(_ERASURE.c.id).label("erasure")).subquery()
        changed = true() if since is None else _IDEA.c.updated_at >= since - _OVERLAP
        rows = (
            await session.execute(
                select(
                    latest.c.erasure,
                    _IDEA.c.id,
                    _IDEA.c.title,
                    _IDEA.c.description,
                    _IDEA.c.status,
                    _IDEA.c.updated_at,
                )
                .select_from(latest.outerjoin(_IDEA, changed))
                .order_by(_IDEA.c.id)
            )
        ).all()
        erasure = (rows[0].erasure if rows else None) or 0
        return erasure, [row for row in rows if row.id is not None]

    def _take_in(self, rows: Sequence[Any]) -> list[Any]:
        """Index the open ones of changed ideas, forget the rest; the open ones."""
        opened = [
            row
            for row in rows
            if row.status in OPEN_STATUSES and not _emptied(row.title, row.description)
        ]
        for row in opened:
            self.index.add(row.id, idea_text(row.title, row.description))
            self._open.add(row.id)
        for idea_id in {row.id for row in rows} - {row.id for row in opened}:
            self._open.discard(idea_id)
            self._unembedded.pop(idea_id, None)
            self.vectors.remove(idea_id)
        return opened

    async def _catch_up_vectors(
        self,
        session: AsyncSession,
        opened: list[Any],
        *,
        first_look: bool,
        embed_missing: bool,
    ) -> None:
        if first_look:
            await self._load_stored(session)
        elif opened:
            await self._load_stored(session, only=[row.id for row in opened])
        missing = [(row.id, idea_text(row.title, row.description)) for row in opened]
        missing = [(idea_id, text) for idea_id, text in missing if idea_id not in self.vectors]
        # A few new or reopened ideas are embedded here (or ahead of the next turn), so they are
        # found at once; many (a first start with a new model) are left to the backfill.
        if len(missing) > _EMBED_AT_ONCE:
            logger.info("similar ideas: %s ideas wait for the backfill's vectors", len(missing))
        elif missing and embed_missing:
            await self._embed_and_store(session, missing)
        else:
            self._unembedded.update(missing)

    async def _load_stored(self, session: AsyncSession, only: list[int] | None = None) -> None:
        assert self.semantic is not None
        embedder = self.semantic.embedder
        query = (
            select(_VECTOR.c.idea_id, _VECTOR.c.vector, _VECTOR.c.created_at)
            .join(_IDEA, _IDEA.c.id == _VECTOR.c.idea_id)
            .where(_VECTOR.c.model == embedder.name)
            .where(_VECTOR.c.version == embedder.version)
            .where(_IDEA.c.status.in_(OPEN_STATUSES))
            .where(_NOT_EMPTIED)
        )
        if only is not None:
            query = query.where(_VECTOR.c.idea_id.in_(only))
        rows = (await session.execute(query)).all()
        if not rows:
            return
        rows = await self._drop_odd_sizes(session, rows)
        blobs = b"".join(row.vector for row in rows)
        matrix = np.frombuffer(blobs, dtype="<f4").reshape(len(rows), -1).astype(np.float32)
        self.vectors.put_many([row.idea_id for row in rows], matrix)

    async def _drop_odd_sizes(self, session: AsyncSession, rows: Sequence[Any]) -> list[Any]:
        """The rows of the size in use; others are deleted, so the backfill embeds them again."""
        assert self.semantic is not None
        # An endpoint may swap the model behind the same name: the newest vector has the size
        # it answers now, unless the index already holds vectors of a size.
        kept_size = self.vectors.dimensions
        size = 4 * kept_size if kept_size is not None else len(max(rows, key=_created).vector)
        odd = [row.idea_id for row in rows if len(row.vector) != size]
        if not odd:
            return list(rows)
        embedder = self.semantic.embedder
        logger.warning(
            "similar ideas: %s stored vectors of %s are not of %s dimensions; embedding them again",
            len(odd),
            embedder.name,
            size // 4,
        )
        await session.execute(
            delete(_VECTOR)
            .where(_VECTOR.c.idea_id.in_(odd))
            .where(_VECTOR.c.model == embedder.name)
            .where(_VECTOR.c.version == embedder.version)
        )
        for idea_id in odd:
            self.vectors.remove(idea_id)
        return [row for row in rows if len(row.vector) == size]

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
            self._unembedded.pop(idea_id, None)

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
            .where(_NOT_EMPTIED)
            .order_by(_IDEA.c.id)
            .limit(batch)
        )
        return [(row.id, idea_text(row.title, row.description)) for row in rows]

    def unembedded(self) -> list[tuple[int, str]]:
        """Open ideas taken in without a vector, to embed with the next text asked ahead."""
        return list(self._unembedded.items())[:_EMBED_AT_ONCE]

    def needs_ahead(self, text: str) -> bool:
        """Whether a turn's lookup of ``text`` needs the model asked before its transaction."""
        return self.semantic is not None and text not in self._ahead

    def hold_ahead(self, texts: Sequence[str], vectors: Sequence[Sequence[float]] | None) -> None:
        """Keep the vectors asked before a turn (None: the model failed) until it ends."""
        for number, text in enumerate(texts):
            held = self._ahead.setdefault(text, _Ahead(None, 0))
            held.turns += 1
            if vectors is not None:
                held.vector = vectors[number]
        while len(self._ahead) > _AHEAD_KEPT:
            del self._ahead[next(iter(self._ahead))]

    def release_ahead(self, texts: Sequence[str]) -> None:
        """A turn that held ``texts`` ended: forget those no other turn holds."""
        for text in texts:
            held = self._ahead.get(text)
            if held is not None:
                held.turns -= 1
                if held.turns <= 0:
                    del self._ahead[text]

    @property
    def method(self) -> str:
        """The configured method's name: the model's, or lexical."""
        return LEXICAL if self.semantic is None else self.semantic.embedder.name

    async def search(self, session: AsyncSession, text: str, *, at_least: float) -> list[Match]:
        """Open ideas most like ``text``, best first; ``at_least`` is the lexical threshold."""
        return (await self.lookup(session, text, at_least=at_least)).matches

    async def lookup(
        self, session: AsyncSession, text: str, *, at_least: float | None, limit: int = 5
    ) -> Lookup:
        """The ``limit`` open ideas most like ``text`` by the configured method, and its name.

        ``at_least`` is the lexical threshold, and with a model the model's own threshold
        applies; None ranks without either (what staff see).
        """
        try:
            # A text asked ahead of a turn: the transaction asks the model nothing more.
            await self.catch_up(session, embed_missing=text not in self._ahead)
            if self.semantic is not None:
                floor = None if at_least is None else self.semantic.at_least
                return Lookup(self.method, await self._search_semantic(text, floor, limit))
        except EmbeddingUnavailable as error:
            # Asking nothing would hide a likely duplicate; the lexical method still can.
            logger.warning("similar ideas: %s; using the lexical method for now", error)
            return Lookup(FALLBACK, self._lexical(text, at_least=at_least, limit=limit))
        return Lookup(LEXICAL, self._lexical(text, at_least=at_least, limit=limit))

    def _lexical(self, text: str, *, at_least: float | None, limit: int) -> list[Match]:
        found = self.index.search(text, limit=max(limit, _CANDIDATES), at_least=at_least or 0.0)
        faces = self.faces.lexical(text, limit=limit)
        return [
            match
            for match in with_faces(found, faces, limit=max(limit, _CANDIDATES))
            if match.idea_id in self._open and match.score >= (at_least or 0.0) and match.score > 0
        ][:limit]

    def held_vector(self, text: str) -> Sequence[float] | None:
        """The vector of ``text`` asked already (ahead of the turn, or its last lookup), if any."""
        ahead = self._ahead.get(text)
        if ahead is not None and ahead.vector is not None:
            return ahead.vector
        if self._last_query is not None and self._last_query[0] == text:
            return self._last_query[1]
        return None

    async def embedding_of(self, text: str) -> Sequence[float]:
        """The configured model's vector of ``text``: asked ahead of the turn, or asked now once."""
        assert self.semantic is not None
        if text in self._ahead:
            ahead = self._ahead[text].vector
            if ahead is None:
                raise EmbeddingUnavailable("the model did not answer before the turn")
            return ahead
        if self._last_query is not None and self._last_query[0] == text:
            return self._last_query[1]
        (vector,) = await self.semantic.embedder.embed([text])
        self._last_query = (text, vector)
        return vector

    async def _search_semantic(self, text: str, at_least: float | None, limit: int) -> list[Match]:
        assert self.semantic is not None
        vector = await self.embedding_of(text)
        # No blend with the lexical score: on the TUNE part it only made the model worse
        # (docs/benchmarks.md).
        floor = -1.0 if at_least is None else at_least
        own = self.vectors.search(vector, limit=limit, at_least=floor)
        faces = [
            match
            for match in self.faces.semantic(vector, limit=limit)
            if match.idea_id in self.vectors and match.score >= floor
        ]
        return with_faces(own, faces, limit=limit)
