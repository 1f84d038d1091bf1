"""An embeddings endpoint that answers wrong, slowly or hugely: the client gives up cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bot.embeddings.openai import OpenAIEmbedder
from handlers.ports import EmbeddingUnavailable
from tests.doubles.loopback import serving

Answer = Callable[[list[str]], Response]


def vectors(*rows: list[Any]) -> Response:
    """An embeddings answer whose body is written as given (NaN stays a bare NaN)."""
    data = [
        {"object": "embedding", "index": index, "embedding": row} for index, row in enumerate(rows)
    ]
    return Response(json.dumps({"object": "list", "data": data}), media_type="application/json")


@contextlib.asynccontextmanager
async def endpoint(answer: Answer, *, query: str = "") -> AsyncIterator[OpenAIEmbedder]:
    """An embedder of a loopback server that answers each request with ``answer``."""

    async def embeddings(request: Request) -> Response:
        return answer((await request.json())["input"])

    app = Starlette(routes=[Route("/v1/embeddings", embeddings, methods=["POST"])])
    async with serving(app) as port, httpx.AsyncClient(timeout=5) as client:
        yield OpenAIEmbedder(
            url=f"http://127.0.0.1:{port}/v1{query}",
            model="m",
            api_key="sk-secret-key-for-the-test",
            client=client,
            attempts=2,
            timeout_seconds=0.5,
            backoff_base_seconds=0.01,
            backoff_cap_seconds=0.02,
        )


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (lambda texts: vectors([1.0, float("nan")], [1.0, 0.0]), "NaN or infinite"),
        (lambda texts: vectors([1.0, float("inf")], [1.0, 0.0]), "NaN or infinite"),
        (lambda texts: vectors([1.0, 0.0], [1.0, 0.0, 0.0]), "different sizes"),
        (lambda texts: vectors([], []), "different sizes"),
        (lambda texts: vectors([1.0]), "1 vectors for 2 texts"),
        (lambda texts: vectors([1.0], [1.0], [1.0]), "3 vectors for 2 texts"),
    ],
)
async def test_a_wrong_answer_is_unavailable_not_a_vector(answer: Answer, problem: str) -> None:
    async with endpoint(answer) as embedder:
        with pytest.raises(EmbeddingUnavailable, match=problem):
            await embedder.embed(["dark mode", "pay with vipps"])


async def test_repeated_indexes_are_not_taken_for_an_answer() -> None:
    def answer(texts: list[str]) -> Response:
        data = [{"index": 0, "embedding": [1.0, 0.0]}, {"index": 0, "embedding": [0.0, 1.0]}]
        return Response(json.dumps({"data": data}), media_type="application/json")

    async with endpoint(answer) as embedder:
        with pytest.raises(EmbeddingUnavailable, match="indexes"):
            await embedder.embed(["dark mode", "pay with vipps"])


async def test_vectors_of_another_size_than_before_are_unavailable() -> None:
    sizes = iter([3, 4])
    async with endpoint(lambda texts: vectors([1.0] * next(sizes))) as embedder:
        assert await embedder.embed(["dark mode"]) == [[1.0, 1.0, 1.0]]
        with pytest.raises(EmbeddingUnavailable, match="4 dimensions after ones of 3"):
            await embedder.embed(["pay with vipps"])


async def test_a_server_that_drips_its_answer_gives_up_within_the_timeout() -> None:
    async def drip() -> AsyncIterator[bytes]:
        while True:
            yield b" "
            await asyncio.sleep(0.05)  # the double is slow on purpose; the test waits on nothing

    async with endpoint(lambda texts: StreamingResponse(drip())) as embedder:
        async with asyncio.timeout(10):
            with pytest.raises(EmbeddingUnavailable, match="TimeoutError"):
                await embedder.embed(["dark mode"])


async def test_a_huge_answer_is_not_read_whole() -> None:
    async def flood() -> AsyncIterator[bytes]:
        for _ in range(1000):
            yield b" " * 1_000_000

    async with endpoint(lambda texts: StreamingResponse(flood())) as embedder:
        with pytest.raises(EmbeddingUnavailable, match="an answer over 262144 bytes"):
            await embedder.embed(["dark mode"])


async def test_an_address_with_a_query_keeps_it_as_a_query() -> None:
    async with endpoint(lambda texts: vectors([1.0, 0.0]), query="?api-version=2024") as embedder:
        assert await embedder.embed(["dark mode"]) == [[1.0, 0.0]]
        assert "api-version" not in embedder.version  # what may carry a key is not shown


async def test_the_key_is_in_no_error() -> None:
    async with endpoint(lambda texts: Response("no", status_code=401)) as embedder:
        with pytest.raises(EmbeddingUnavailable) as raised:
            await embedder.embed(["dark mode"])
    assert "sk-secret" not in str(raised.value)
    assert "HTTP 401" in str(raised.value)
