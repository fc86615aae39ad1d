"""Where a build's heavy steps run: the contract the index writer calls, and the
local engine (this process). ``rag.scale.ray_build.RayEngine`` runs the same steps
on a Ray cluster; the writer, its checkpoint and its manifest stay on this machine.

Three steps, each with the local build's functions:

- ``load(paths)``: files -> cleaned Documents and LoadProblems (``rag.ingest.load``);
- ``chunk(doc)``: a Document's chunks (``rag.ingest.chunk``; content-hash ids);
- ``embed(chunks, step)``: the passages' vectors, as (chunks, vectors) shards of about
  ``step`` passages, in any order; the writer commits each shard to its checkpoint as
  it arrives, so a killed build resumes from the shards that came back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.embed.base import Embedder
from rag.ingest.load import LoadProblem, load_paths
from rag.types import Chunk, Document

Shard = tuple[list[Chunk], np.ndarray]


class BuildEngine(Protocol):
    def load(self, paths: Sequence[Path]) -> tuple[list[Document], list[LoadProblem]]: ...

    def chunk(self, document: Document) -> list[Chunk]: ...

    def embed(self, chunks: Sequence[Chunk], step: int) -> Iterator[Shard]: ...


class LocalEngine:
    """Everything in this process, one shard at a time."""

    def __init__(
        self, embedder: Callable[[], Embedder], chunk: Callable[[Document], list[Chunk]]
    ) -> None:
        self._embedder = embedder
        self._chunk = chunk

    def load(self, paths: Sequence[Path]) -> tuple[list[Document], list[LoadProblem]]:
        return load_paths(paths)

    def chunk(self, document: Document) -> list[Chunk]:
        return self._chunk(document)

    def embed(self, chunks: Sequence[Chunk], step: int) -> Iterator[Shard]:
        for lo in range(0, len(chunks), step):
            batch = list(chunks[lo : lo + step])
            yield batch, self._embedder().embed_chunks(batch)
