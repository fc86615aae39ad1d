"""Retrievers by name: dense (FAISS), lexical (BM25) and hybrid (both, fused).

Hybrid fuses the two rankings by reciprocal rank (RRF, k=60): robust without
score calibration, and the dense side still carries questions in English over
Russian text, where BM25 finds nothing. Every returned hit carries its cosine
similarity to the question (computed exactly for lexical-only hits), so the
refusal gate and the UI read the same, comparable score whatever the mode.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.embed.base import Embedder
from rag.index.store import IndexData
from rag.types import Hit

RRF_K = 60


def _dense(index: IndexData, query: str, qvec: np.ndarray, k: int) -> list[int]:
    return [r for r, _ in index.dense_rows(qvec, k)]


def _lexical(index: IndexData, query: str, qvec: np.ndarray, k: int) -> list[int]:
    return [r for r, _ in index.lexical_rows(query, k)]


def _hybrid(index: IndexData, query: str, qvec: np.ndarray, k: int) -> list[int]:
    depth = max(20, 4 * k)
    fused: dict[int, float] = {}
    for ranking in (_dense(index, query, qvec, depth), _lexical(index, query, qvec, depth)):
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused, key=lambda r: (-fused[r], r))[:k]


MODES: dict[str, Callable[[IndexData, str, np.ndarray, int], list[int]]] = {
    "dense": _dense,
    "lexical": _lexical,
    "hybrid": _hybrid,
}


class Retriever:
    def __init__(self, embedder: Embedder, index: IndexData, mode: str = "hybrid") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; one of {sorted(MODES)}")
        self.embedder = embedder
        self.index = index
        self.mode = mode

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best passages; with ``allowed`` (a mask over rows, from metadata
        filters) only those, searching deeper until ``k`` of them are found."""
        qvec = self.embedder.embed_query(query)
        search = MODES[self.mode]
        if allowed is None:
            rows = search(self.index, query, qvec, k)
        else:
            n_ok = int(allowed.sum())
            depth = max(4 * k, 50)
            rows = []
            while n_ok:
                rows = [r for r in search(self.index, query, qvec, depth) if allowed[r]][:k]
                if len(rows) >= min(k, n_ok) or depth >= len(self.index):
                    break
                depth *= 4
        scores = self.index.similarity(qvec, rows)
        return [Hit(self.index.chunks[r], s) for r, s in zip(rows, scores, strict=True)]
