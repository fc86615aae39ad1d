"""Deterministic stand-ins for the models (unit layer only)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from rag.embed.base import Embedder, Kind
from rag.generate.base import Generator, Message
from rag.types import Chunk, Hit

WORD = re.compile(r"\w+")


class FakeEmbedder(Embedder):
    """Bag of words hashed into ``dimension`` buckets: the vector of "a b a" has
    2 in bucket(a) and 1 in bucket(b), so scores can be computed by hand."""

    model_id = "fake/bag-of-words"

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.calls: list[tuple[Kind, int]] = []

    @staticmethod
    def bucket(word: str, dimension: int) -> int:
        return int(hashlib.md5(word.lower().encode()).hexdigest(), 16) % dimension

    def encode(
        self,
        texts: Sequence[str],
        kind: Kind,
        titles: Sequence[str] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        self.calls.append((kind, len(texts)))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text):
                out[row, self.bucket(word, self.dimension)] += 1.0
        return out


class FakeGenerator(Generator):
    """Yields queued replies piece by piece and records the messages it got."""

    model_id = "fake/queue"

    def __init__(self, *replies: str | Sequence[str]) -> None:
        self.replies = list(replies)
        self.seen: list[list[Message]] = []

    def queue(self, *replies: str | Sequence[str]) -> None:
        self.replies.extend(replies)

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        self.seen.append(list(messages))
        reply = self.replies.pop(0) if self.replies else "NO_ANSWER"
        pieces = (
            [reply[i : i + 3] for i in range(0, len(reply), 3)] if isinstance(reply, str) else reply
        )
        yield from pieces


def use_extractive_fallback(pipeline: Any) -> None:
    """Switch a pipeline to the extractive fallback (the default is to abstain)."""
    from dataclasses import replace

    g = replace(pipeline.config.generation, fallback="extractive")
    pipeline.config = replace(pipeline.config, generation=g)


def sentence_hits(*texts: str, doc: str = "a.txt", title: str = "Статья") -> list[Hit]:
    """Sentences of one article as hits, one after another (the evidence checks' input)."""
    out, start = [], 0
    for t in texts:
        out.append(Hit(Chunk(f"{doc}:{start}", doc, title, t, start, start + len(t)), 1.0))
        start += len(t) + 1
    return out
