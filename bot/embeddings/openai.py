"""Any OpenAI-compatible ``/v1/embeddings`` endpoint: Ollama, text-embeddings-inference, a cloud."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from bot.backoff import doubled
from handlers.ports import EmbeddingUnavailable

logger = logging.getLogger(__name__)

# Worth another try: the server is busy (429) or failed on its side (5xx).
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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
        backoff_base_seconds: float = 0.5,
        backoff_cap_seconds: float = 8.0,
    ) -> None:
        self.name = f"openai:{model}"
        address = httpx.URL(url)
        # Logged and stored without what may carry a secret (user:password@, a ?key=).
        self._shown = str(address.copy_with(username=None, password=None, query=None))
        # The endpoint does not say which weights serve the model; its address stands for them.
        self.version = self._shown
        self._url = url.rstrip("/") + "/embeddings"
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client
        self._batch_size = batch_size
        self._attempts = attempts
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
                response = await self._client.post(
                    self._url,
                    json={"model": self._model, "input": texts},
                    headers=self._headers,
                )
            except httpx.HTTPError as error:
                why = type(error).__name__
                continue
            if response.status_code in _RETRY_STATUSES:
                why = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                # 400/401/404: a wrong model, key or address; another try cannot help.
                why = f"HTTP {response.status_code}"
                break
            return _vectors_of(response, expected=len(texts))
        logger.warning(
            "embeddings endpoint %s (model %s) gave up after %s: %s",
            self._shown,
            self._model,
            "1 try" if tries == 1 else f"{tries} tries",
            why,
        )
        raise EmbeddingUnavailable(f"{self._shown}: {why}")


def _vectors_of(response: httpx.Response, *, expected: int) -> list[list[float]]:
    try:
        items: list[dict[str, Any]] = response.json()["data"]
        ordered = sorted(items, key=lambda item: int(item["index"]))
        vectors = [[float(value) for value in item["embedding"]] for item in ordered]
    except (ValueError, KeyError, TypeError) as error:
        raise EmbeddingUnavailable(f"not an embeddings answer ({type(error).__name__})") from error
    if len(vectors) != expected:
        raise EmbeddingUnavailable(f"{len(vectors)} vectors for {expected} texts")
    return vectors
