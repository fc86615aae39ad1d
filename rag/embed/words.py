"""Vectors of single words, kept once computed (a word costs ~15 ms on two cores; an
archive's questions meet the same words again)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.embed.base import Embedder


class WordVectors:
    """``words -> normalised vectors`` (one row each), through ``embedder`` once per word;
    the ``size`` most recently used stay (768 floats each: 10,000 are 30 MB)."""

    def __init__(self, embedder: Embedder, size: int = 10_000) -> None:
        self._embedder, self._size = embedder, size
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()

    def __call__(self, words: Sequence[str]) -> np.ndarray:
        new = [w for w in dict.fromkeys(words) if w not in self._kept]
        for word, vector in zip(new, self._embedder.embed_words(new), strict=True):
            self._kept[word] = vector
        rows = []
        for w in words:
            self._kept.move_to_end(w)
            rows.append(self._kept[w])
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
        if not rows:
            return np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return np.stack(rows)
