"""Lookup by stored vectors among 100,000 open ideas, on SQLite and PostgreSQL (target p95 < 50 ms).

    python -m bench.similarity_vectors [--ideas 100000] [--postgres postgresql://...]

The ideas and their 384-dimension vectors are written straight into a fresh database; a
start (the first lookup) reads the vectors into the matrix, and each later lookup is what a
customer's turn does: catch up with changed ideas, embed the text, search. The embedder
here is a hash, so the figures are the storage and matrix part; the model's own time per text
is in docs/benchmarks.md. A start embeds nothing: the stored vectors are used.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import numpy as np
import numpy.typing as npt
from sqlalchemy import insert, text

from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from storage.similar_ideas import SemanticMatching, SimilarIdeas
from storage.tables import ConversationRow, CustomerRow, IdeaRow, IdeaVectorRow, table_of
from storage.types import utc_now

DIMENSIONS = 384


class HashEmbedder:
    """A stand-in model: a text's vector from its hash, counted."""

    name = "bench-hash"
    version = "1"

    def __init__(self) -> None:
        self.texts = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One pseudo-random vector per text."""
        self.texts += len(texts)
        return [_vector(text).tolist() for text in texts]


def _vector(text: str) -> npt.NDArray[np.float32]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIMENSIONS).astype("<f4")


async def _fill(url: str, ideas: int) -> None:
    engine = create_engine(url)
    await migrate(engine)
    # Ideas recorded over past months: none of them changed in the last minute.
    now = utc_now() - timedelta(days=1)
    async with engine.begin() as connection:
        await connection.execute(
            insert(table_of(CustomerRow)).values(
                id=1,
                platform="telegram",
                platform_user_id="1",
                chat_id="1",
                display_name="Bench",
                language="en",
                created_at=now,
                updated_at=now,
            )
        )
        await connection.execute(
            insert(table_of(ConversationRow)).values(
                id=1,
                customer_id=1,
                platform="telegram",
                chat_id="1",
                flow_id="idea",
                flow_version=1,
                step="end",
                status="finished",
                state={},
                created_at=now,
                updated_at=now,
            )
        )
    for start in range(0, ideas, 5_000):
        numbers = range(start + 1, min(ideas, start + 5_000) + 1)
        async with engine.begin() as connection:
            await connection.execute(
                insert(table_of(IdeaRow)),
                [
                    {
                        "id": n,
                        "customer_id": 1,
                        "conversation_id": 1,
                        "title": f"idea {n}",
                        "description": "",
                        "answers": {},
                        "attachments": [],
                        "status": "new",
                        "language": "en",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in numbers
                ],
            )
            await connection.execute(
                insert(table_of(IdeaVectorRow)),
                [
                    {
                        "idea_id": n,
                        "model": HashEmbedder.name,
                        "version": HashEmbedder.version,
                        "dimensions": DIMENSIONS,
                        "vector": _vector(f"idea {n}").tobytes(),
                        "created_at": now,
                    }
                    for n in numbers
                ],
            )
    # A running database has statistics (PostgreSQL's autovacuum analyzes a table within a
    # minute of a bulk load); without them the planner reads all 100,000 ideas per catch-up.
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    await engine.dispose()


async def _measure(name: str, url: str, ideas: int, lookups: int) -> None:
    started = time.perf_counter()
    await _fill(url, ideas)
    filled = time.perf_counter() - started
    engine = create_engine(url)
    sessions = create_sessions(engine)
    embedder = HashEmbedder()
    similar = SimilarIdeas(SemanticMatching(embedder=embedder, at_least=0.0))
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await similar.catch_up(session)
    loaded = time.perf_counter() - started
    timings = []
    for number in range(lookups):
        start = time.perf_counter()
        async with sessions() as session, session.begin():
            await similar.search(session, f"a customer's idea number {number}", at_least=0.3)
        timings.append((time.perf_counter() - start) * 1000)
    await engine.dispose()
    products = []
    for number in range(lookups):
        vector = _vector(f"a customer's idea number {number}")
        start = time.perf_counter()
        similar.vectors.search(vector, limit=5)
        products.append((time.perf_counter() - start) * 1000)
    products.sort()
    timings.sort()
    print(
        f"{name}: {ideas} ideas written in {filled:.0f} s; start read {len(similar.vectors)} "
        f"stored vectors in {loaded:.1f} s ({similar.vectors.memory_bytes / 1e6:.0f} MB vectors, "
        f"{embedder.texts - lookups} texts embedded at start); lookup over {lookups}: median "
        f"{statistics.median(timings):.1f} ms, p95 {timings[int(0.95 * len(timings))]:.1f} ms, "
        f"max {timings[-1]:.1f} ms; of which the matrix product alone: median "
        f"{statistics.median(products):.1f} ms, p95 {products[int(0.95 * len(products))]:.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ideas", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await _measure("SQLite", url, arguments.ideas, arguments.lookups)
    name = f"ideabot_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(arguments.postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = arguments.postgres.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+asyncpg://"
        )
        await _measure("PostgreSQL", f"{base}/{name}", arguments.ideas, arguments.lookups)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
