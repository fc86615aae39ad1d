"""Embedding backends, chosen by name from a registry."""

from __future__ import annotations

from collections.abc import Callable

from rag.config import Config
from rag.embed.base import Embedder, normalise
from rag.embed.device import resolve_device


def _sentence_transformers(config: Config) -> Embedder:
    from rag.embed.sentence_transformer import SentenceTransformerEmbedder

    e = config.embedding
    return SentenceTransformerEmbedder(
        config.embedding_path,
        e.model_id,
        dimension=e.dimension,
        batch_size=e.batch_size,
        max_seq_length=e.max_seq_length,
        threads=config.threads,
        device=e.device,
    )


BACKENDS: dict[str, Callable[[Config], Embedder]] = {
    "sentence-transformers": _sentence_transformers,
}


def make_embedder(config: Config) -> Embedder:
    try:
        factory = BACKENDS[config.embedding.backend]
    except KeyError:
        raise ValueError(
            f"unknown embedding backend {config.embedding.backend!r}; one of {sorted(BACKENDS)}"
        ) from None
    return factory(config)


__all__ = ["BACKENDS", "Embedder", "make_embedder", "normalise", "resolve_device"]
