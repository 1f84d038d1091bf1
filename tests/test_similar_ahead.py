"""The model is asked before a turn's transaction opens (issue 12): a slow one blocks no turn.

With SQLite every turn's transaction takes the one write lock, so a model asked inside a turn
stops every other customer's turn until it answers. The embeddings double on loopback is held
to stand for a slow model.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.text_limits import utf16_units
from bot.embeddings.openai import OpenAIEmbedder
from handlers.dialogue.dialogue import Dialogue
from handlers.flows.loader import LoadedFlow
from handlers.messages import ConversationKey, TextLimit
from storage.dialogue.store import SqlDialogueStore
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.outbox.store import SqlOutboxStore
from storage.similar_ideas import SemanticMatching, SimilarIdeas
from tests.doubles.embeddings_api import API_KEY, EmbeddingsServer, embeddings_server
from tests.helpers.dialogue import CountingSignal, Customer, texts
from tests.helpers.ideas import seed_ideas
from tests.waiting import eventually

Sessions = async_sessionmaker[AsyncSession]
BACKLOG = [
    "A dark mode for the mobile app",
    "Export my transactions to a spreadsheet",
    "Let me pay with gift cards",
]
QUESTION = (
    "Thank you! Someone has suggested something like it already: «A dark mode for the "
    "mobile app». Is your idea the same?"
)
# Far below any busy timeout, far above a turn that waits for nothing.
TURN_SECONDS = 5.0


@pytest.fixture
async def server() -> AsyncIterator[EmbeddingsServer]:
    async with embeddings_server() as served:
        yield served


async def _customers(
    sessions: Sessions, flows: list[LoadedFlow], server: EmbeddingsServer
) -> AsyncIterator[tuple[Customer, Customer, SqlDialogueStore]]:
    await seed_ideas(sessions, BACKLOG)
    await SqlFlowLibrary(sessions).import_files(flows, actor="file")
    async with httpx.AsyncClient(timeout=30) as client:
        embedder = OpenAIEmbedder(
            url=server.url,
            model="words-64",
            api_key=API_KEY,
            client=client,
            batch_size=16,
            backoff_base_seconds=0.01,
            backoff_cap_seconds=0.02,
        )
        store = SqlDialogueStore(
            sessions, SimilarIdeas(SemanticMatching(embedder=embedder, at_least=0.6))
        )
        dialogue = Dialogue(
            store=store,
            flows=await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea"),
            outbox_signal=CountingSignal(),
            message_limits={"telegram": TextLimit(4096, measure=utf16_units)},
            similar_at_least=0.3,
        )
        outbox = SqlOutboxStore(sessions)
        other = ConversationKey(platform="telegram", chat_id="77", user_id="77")
        # Message ids are per chat on Telegram, but the inbox takes them as the events' ids.
        ola = Customer(dialogue=dialogue, outbox=outbox, key=other, ids=itertools.count(1000))
        yield Customer(dialogue=dialogue, outbox=outbox), ola, store


@pytest.fixture
async def customers(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow], server: EmbeddingsServer
) -> AsyncIterator[tuple[Customer, Customer, SqlDialogueStore]]:
    async for made in _customers(sqlite_sessions, shipped_flows, server):
        yield made


async def _up_to_the_last_answer(
    customer: Customer, idea: str = "The mobile app needs a dark mode"
) -> None:
    await customer.say("/start")
    await customer.say(idea)
    await customer.say("Reading in bed hurts")
    await customer.press("Every week")
    await customer.press("4")


async def test_a_slow_model_does_not_hold_another_customers_turn_on_sqlite(
    customers: tuple[Customer, Customer, SqlDialogueStore], server: EmbeddingsServer
) -> None:
    kari, ola, store = customers
    await store.backfill_vectors()
    await _up_to_the_last_answer(kari)
    server.answering.clear()
    last_answer = asyncio.create_task(kari.press("No"))
    await eventually(lambda: _is_waiting(server), what="Kari's turn asking the model")

    # Kari's turn waits for the model; Ola's turn must not wait for Kari's.
    replies = await asyncio.wait_for(ola.say("/start"), timeout=TURN_SECONDS)
    assert replies, "Ola got no answer"
    assert not last_answer.done()

    server.answering.set()
    assert texts(await asyncio.wait_for(last_answer, timeout=TURN_SECONDS)) == [QUESTION]


async def _is_waiting(server: EmbeddingsServer) -> bool:
    return server.waiting > 0


async def test_a_model_that_fails_ahead_of_the_turn_leaves_the_lexical_method(
    customers: tuple[Customer, Customer, SqlDialogueStore],
    server: EmbeddingsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kari, _, store = customers
    await store.backfill_vectors()
    await _up_to_the_last_answer(kari)
    server.failing_with = 500
    with caplog.at_level(logging.WARNING):
        replies = await kari.press("No")
    assert texts(replies) == [QUESTION]
    assert "using the lexical method" in caplog.text
    assert API_KEY not in caplog.text


async def test_an_idea_recorded_in_a_turn_is_embedded_ahead_of_the_next(
    customers: tuple[Customer, Customer, SqlDialogueStore], server: EmbeddingsServer
) -> None:
    kari, ola, store = customers
    await store.backfill_vectors()
    await _up_to_the_last_answer(kari, "Offline maps for hiking trips in the mountains")
    assert "Thank you" in texts(await kari.press("No"))[0]
    before = len(server.requests)
    await _up_to_the_last_answer(ola, "Offline maps for hiking trips in the mountains please")
    replies = texts(await ola.press("No"))
    assert "«Offline maps for hiking trips in the mountains»" in replies[0]
    # Ola's text and Kari's idea, recorded since, in one request before Ola's transaction.
    (asked,) = server.requests[before:]
    assert len(asked) == 2
    assert asked[1].startswith("Offline maps for hiking trips in the mountains")
