"""The embedder contract: one required method, ``encode``; the rest derives from it.

Vectors leave an embedder L2-normalised (float32), once, here: the index is an
inner-product index, and inner product equals cosine similarity on normalised
vectors. A zero vector stays zero instead of becoming NaN.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from rag.types import Chunk

# "word": a single word or short name, compared with another language's words
# (an English question's "Dane" with a Russian sentence's "датчанин")
Kind = Literal["query", "document", "word"]


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0  # guard the zero vector
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class Embedder(ABC):
    model_id: str
    dimension: int

    @abstractmethod
    def encode(
        self,
        texts: Sequence[str],
        kind: Kind,
        titles: Sequence[str] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Raw vectors for ``texts`` (one row each); ``titles`` only for documents."""

    def embed_query(self, text: str) -> np.ndarray:
        """One normalised query vector, shape ``(dimension,)``."""
        return normalise(self.encode([text], "query"))[0]

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        """Normalised vectors of single words, shape ``(len(words), dimension)``."""
        if not words:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return normalise(self.encode(list(words), "word"))

    def embed_chunks(self, chunks: Sequence[Chunk], progress: bool = False) -> np.ndarray:
        """Normalised passage vectors, shape ``(len(chunks), dimension)``."""
        if not chunks:
            return np.zeros((0, self.dimension), dtype=np.float32)
        raw = self.encode(
            [c.text for c in chunks], "document", [c.title for c in chunks], progress=progress
        )
        return normalise(raw)


class SharedEmbedder(Embedder):
    """Another embedder, shared with the questions a process answers: each ``batch``
    texts are encoded under ``lock`` (the model lock), so an index write that embeds
    thousands of passages outside that lock keeps a question waiting one batch at
    most, and the model is loaded once, under the lock, by whoever needs it first."""

    def __init__(
        self, get: Callable[[], Embedder], lock: Any, model_id: str, dimension: int, batch: int
    ) -> None:
        self._get, self._lock, self._batch = get, lock, max(1, batch)
        self.model_id, self.dimension = model_id, dimension

    def encode(self, texts: Sequence[str], kind: Kind, titles: Sequence[str] | None = None,
               progress: bool = False) -> np.ndarray:  # fmt: skip
        parts = []
        for lo in range(0, len(texts), self._batch):
            hi = lo + self._batch
            with self._lock:
                parts.append(self._get().encode(texts[lo:hi], kind, titles and titles[lo:hi]))
        if not parts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate(parts)
