"""Any OpenAI-compatible ``/v1/embeddings`` endpoint: Ollama, text-embeddings-inference, a cloud."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Sequence
from typing import Any

import httpx

from bot.backoff import doubled
from handlers.ports import EmbeddingUnavailable

logger = logging.getLogger(__name__)

# Worth another try: the server is busy (429) or failed on its side (5xx).
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A vector of 3,072 floats in JSON is some 70 KB; an answer beyond this per text is no answer.
_BYTES_PER_TEXT = 256 * 1024


class OpenAIEmbedder:
    """Embeds ideas by POSTing batches to ``{url}/embeddings``, retrying busy answers."""

    def __init__(
        self,
        *,
        url: str,
        model: str,
        api_key: str | None,
        client: httpx.AsyncClient,
        batch_size: int = 64,
        attempts: int = 4,
        timeout_seconds: float = 10.0,
        backoff_base_seconds: float = 0.5,
        backoff_cap_seconds: float = 8.0,
    ) -> None:
        self.name = f"openai:{model}"
        address = httpx.URL(url)
        # Logged and stored without what may carry a secret (user:password@, a ?key=).
        self._shown = str(address.copy_with(username=None, password=None, query=None))
        # The endpoint does not say which weights serve the model; its address stands for them.
        self.version = self._shown
        # Into the path, not after the query: an ?api-version=... stays a query.
        self._url = address.copy_with(path=address.path.rstrip("/") + "/embeddings")
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client
        self._batch_size = batch_size
        self._attempts = attempts
        # httpx's timeout is per read: a server that drips a byte a second would never time out.
        self._timeout = timeout_seconds
        # The first answer's size: a server that changes it would mix vectors no cosine compares.
        self._dimensions: int | None = None
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in batches of ``batch_size``."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._embed_batch(list(texts[start : start + self._batch_size])))
        return vectors

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        why = ""
        tries = 0
        for attempt in range(self._attempts):
            tries = attempt + 1
            if attempt:
                await asyncio.sleep(
                    doubled(attempt - 1, base=self._backoff_base, cap=self._backoff_cap)
                )
            try:
                async with asyncio.timeout(self._timeout):
                    status, body = await self._post(texts)
            except (httpx.HTTPError, TimeoutError) as error:
                why = type(error).__name__
                continue
            if status in _RETRY_STATUSES:
                why = f"HTTP {status}"
                continue
            if status != 200:
                # 400/401/404: a wrong model, key or address; another try cannot help.
                why = f"HTTP {status}"
                break
            return self._same_size(_vectors_of(body, expected=len(texts)))
        logger.warning(
            "embeddings endpoint %s (model %s) gave up after %s: %s",
            self._shown,
            self._model,
            "1 try" if tries == 1 else f"{tries} tries",
            why,
        )
        raise EmbeddingUnavailable(f"{self._shown}: {why}")

    async def _post(self, texts: list[str]) -> tuple[int, bytes]:
        """The answer's status and body, read no further than a batch's answer can be long."""
        request = {"model": self._model, "input": texts}
        most = _BYTES_PER_TEXT * len(texts)
        async with self._client.stream(
            "POST", self._url, json=request, headers=self._headers
        ) as response:
            if response.status_code != 200:
                return response.status_code, b""
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > most:
                    raise EmbeddingUnavailable(f"{self._shown}: an answer over {most} bytes")
            return response.status_code, bytes(body)

    def _same_size(self, vectors: list[list[float]]) -> list[list[float]]:
        """The vectors, if they have the size every earlier answer had."""
        size = len(vectors[0]) if vectors else self._dimensions
        if self._dimensions is None:
            self._dimensions = size
        elif size != self._dimensions:
            raise EmbeddingUnavailable(
                f"{self._shown}: vectors of {size} dimensions after ones of {self._dimensions}"
            )
        return vectors


def _vectors_of(body: bytes, *, expected: int) -> list[list[float]]:
    try:
        items: list[dict[str, Any]] = json.loads(body)["data"]
        ordered = sorted(items, key=lambda item: int(item["index"]))
        indexes = [int(item["index"]) for item in ordered]
        vectors = [[float(value) for value in item["embedding"]] for item in ordered]
    except (ValueError, KeyError, TypeError) as error:
        raise EmbeddingUnavailable(f"not an embeddings answer ({type(error).__name__})") from error
    if len(vectors) != expected:
        raise EmbeddingUnavailable(f"{len(vectors)} vectors for {expected} texts")
    if indexes != list(range(expected)):
        raise EmbeddingUnavailable("an embeddings answer with missing or repeated indexes")
    if len({len(vector) for vector in vectors}) > 1 or any(not vector for vector in vectors):
        raise EmbeddingUnavailable("an embeddings answer with vectors of different sizes")
    if not all(math.isfinite(value) for vector in vectors for value in vector):
        # NaN would make every cosine NaN: the idea could never be found again.
        raise EmbeddingUnavailable("an embeddings answer with NaN or infinite values")
    return vectors
