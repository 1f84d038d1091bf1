"""Which similarity method the settings ask for, and what is left when it cannot be had."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from bot.embeddings.local import LocalEmbedder, local_model_missing
from bot.embeddings.openai import OpenAIEmbedder
from bot.settings import Settings, SimilarityMethod
from handlers.ideas.confidence import OfferSettings
from storage.similar_ideas import SemanticMatching, SimilarIdeas

logger = logging.getLogger(__name__)

# What ``ideabot status`` says when SIMILAR_IDEAS_METHOD=auto chose for the operator.
AUTO_WITH_MODEL = "auto: the embeddings extra is installed"
AUTO_WITHOUT_MODEL = "auto: the embeddings extra is not installed"


@dataclass(frozen=True, slots=True)
class SimilarityChoice:
    """The semantic matching to use (None: lexical), and why lexical if one was asked for."""

    semantic: SemanticMatching | None
    fallback_reason: str | None = None
    chosen_because: str | None = None

    @property
    def description(self) -> str:
        """The method in a few words, as ``ideabot status`` says it."""
        if self.semantic is None:
            return f"lexical ({self.fallback_reason})" if self.fallback_reason else "lexical"
        why = f" ({self.chosen_because})" if self.chosen_because else ""
        return f"{self.semantic.embedder.name}{why}"

    def similar_ideas(self, settings: Settings) -> SimilarIdeas:
        """The open ideas' index for this method, with the offer rule's settings for it."""
        return SimilarIdeas(self.semantic, offers=offer_settings(settings, semantic=self.semantic))


def offer_settings(settings: Settings, *, semantic: SemanticMatching | None) -> OfferSettings:
    """How sure a match must be by the method in use: its margin and calibration floor."""
    if semantic is None:
        return OfferSettings(
            margin=settings.similar_idea_margin,
            face_threshold=settings.similar_idea_face_threshold,
            floor=settings.similar_idea_calibration_floor,
            least=settings.similar_idea_calibration_decisions,
        )
    return OfferSettings(
        margin=settings.similar_idea_semantic_margin,
        face_threshold=settings.similar_idea_semantic_face_threshold,
        floor=settings.similar_idea_semantic_calibration_floor,
        least=settings.similar_idea_calibration_decisions,
    )


def choose_similarity(settings: Settings, *, client: httpx.AsyncClient | None) -> SimilarityChoice:
    """The method SIMILAR_IDEAS_METHOD names, or lexical with the reason it cannot be had."""
    if settings.similar_ideas_method is SimilarityMethod.LEXICAL:
        return SimilarityChoice(None)
    if settings.similar_ideas_method is SimilarityMethod.AUTO:
        if local_model_missing() is not None:
            logger.info("similar ideas: lexical method, the embeddings extra is not installed")
            return SimilarityChoice(None, fallback_reason=AUTO_WITHOUT_MODEL)
        return SimilarityChoice(_local_matching(settings), chosen_because=AUTO_WITH_MODEL)
    if settings.similar_ideas_method is SimilarityMethod.LOCAL:
        missing = local_model_missing()
        if missing is not None:
            logger.warning("similar ideas: lexical method, since %s", missing)
            return SimilarityChoice(None, fallback_reason=missing)
        return SimilarityChoice(_local_matching(settings))
    assert settings.embeddings_url is not None  # the settings refuse openai without it
    if client is None:
        return SimilarityChoice(None, fallback_reason="no HTTP client to reach the endpoint")
    key = settings.embeddings_api_key
    embedder = OpenAIEmbedder(
        url=settings.embeddings_url,
        model=settings.embeddings_model,
        api_key=key.get_secret_value() if key is not None else None,
        client=client,
        batch_size=settings.embeddings_batch_size,
        timeout_seconds=settings.embeddings_timeout_seconds,
    )
    return SimilarityChoice(
        SemanticMatching(embedder=embedder, at_least=settings.similar_idea_semantic_threshold)
    )


def _local_matching(settings: Settings) -> SemanticMatching:
    return SemanticMatching(
        embedder=LocalEmbedder(), at_least=settings.similar_idea_semantic_threshold
    )


def embeddings_client(settings: Settings) -> httpx.AsyncClient | None:
    """The HTTP client for EMBEDDINGS_URL, if the openai method is chosen."""
    if settings.similar_ideas_method is not SimilarityMethod.OPENAI:
        return None
    return httpx.AsyncClient(timeout=settings.embeddings_timeout_seconds)


@contextlib.asynccontextmanager
async def configured_similarity(settings: Settings) -> AsyncIterator[SimilarityChoice]:
    """The method the settings choose, with the endpoint's HTTP client open while it is used."""
    async with contextlib.AsyncExitStack() as closing:
        client = embeddings_client(settings)
        if client is not None:
            await closing.enter_async_context(client)
        yield choose_similarity(settings, client=client)
