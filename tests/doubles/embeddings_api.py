"""An OpenAI-compatible embeddings server on loopback, with deterministic vectors.

It speaks the wire format of ``POST /v1/embeddings`` (``{"model", "input"}`` in,
``{"object": "list", "data": [{"index", "embedding"}], ...}`` out). A text's vector counts
its words hashed into a few dimensions, so texts sharing words are close. Scripted answers
(429, 500) come first when queued, as a busy or broken server gives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections import deque
from collections.abc import AsyncIterator
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
        return JSONResponse(
            {
                "object": "list",
                "model": body["model"],
                "data": [
                    {"object": "embedding", "index": index, "embedding": word_vector(text)}
                    for index, text in enumerate(texts)
                ],
                "usage": {"prompt_tokens": 0, "total_tokens": 0},
            }
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"])])


@contextlib.asynccontextmanager
async def embeddings_server(port: int = 0) -> AsyncIterator[EmbeddingsServer]:
    """An embeddings double served on 127.0.0.1 for as long as the block runs."""
    server = EmbeddingsServer()
    server.answering.set()
    async with serving(server.app(), port=port) as bound:
        server.port = bound
        yield server
