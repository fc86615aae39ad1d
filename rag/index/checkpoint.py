"""Checkpoints of a build in progress: vector shards on disk, so a killed build resumes.

Layout of ``index/.checkpoint/``::

    settings.json       the IndexSettings the vectors were made under
    shard-000001.npy    float32 vectors of a batch of passages (no pickle)
    shard-000001.json   the batch's keys, row i <-> row i of the .npy; written last,
                        so a shard without its .json was never committed and is ignored

A key is ``doc_id`` and ``chunk_id`` (the chunk id hashes the article's text),
so a resumed build reuses a vector only for the same passage of the same,
unchanged article. The checkpoint is invisible to readers: the committed index
changes only when the build commits its manifest, after which the checkpoint
is removed. Vectors are read back memory-mapped, a batch at a time, so a build
never holds all its vectors twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.data import IndexSettings
from rag.index.files import fsync, fsync_dir, write_json_atomic
from rag.types import Chunk


def key(chunk: Chunk) -> str:
    return f"{chunk.doc_id}\0{chunk.chunk_id}"


class Checkpoint:
    def __init__(self, folder: Path, settings: IndexSettings) -> None:
        self.folder = folder
        self.settings = settings
        self.rows: dict[str, tuple[int, int]] = {}  # key -> (shard, row)
        self._shards: dict[int, Any] = {}
        self._next = 1
        if not self._matches():
            self.clear()
        self._read()

    def _matches(self) -> bool:
        try:
            saved = json.loads((self.folder / "settings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return bool(saved == asdict(self.settings))

    def _read(self) -> None:
        if not self.folder.is_dir():
            return
        for meta in sorted(self.folder.glob("shard-*.json")):
            number = int(meta.stem.split("-")[1])
            self._next = max(self._next, number + 1)
            try:
                keys = json.loads(meta.read_text(encoding="utf-8"))["keys"]
                vectors = np.load(meta.with_suffix(".npy"), mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, KeyError):
                continue  # a damaged shard is embedded again
            if vectors.shape != (len(keys), self.settings.dimension):
                continue
            self._shards[number] = vectors
            for row, k in enumerate(keys):
                self.rows[k] = (number, row)

    def __contains__(self, chunk: Chunk) -> bool:
        return key(chunk) in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Commit one shard: the vectors first, then the keys that make it count."""
        if not chunks:
            return
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True)
            write_json_atomic(self.folder / "settings.json", asdict(self.settings))
        number = self._next
        self._next += 1
        base = self.folder / f"shard-{number:06d}"
        tmp = self.folder / f".shard-{number:06d}.{os.getpid()}.npy"
        np.save(tmp, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        fsync(tmp)
        os.replace(tmp, base.with_suffix(".npy"))
        write_json_atomic(base.with_suffix(".json"), {"keys": [key(c) for c in chunks]})
        fsync_dir(self.folder)
        self._shards[number] = np.load(base.with_suffix(".npy"), mmap_mode="r")
        for row, c in enumerate(chunks):
            self.rows[key(c)] = (number, row)

    def batches(self, chunks: Sequence[Chunk], size: int = 4096) -> Iterator[np.ndarray]:
        """The vectors of ``chunks`` (all in the checkpoint), in order, ``size`` at a time."""
        for lo in range(0, len(chunks), size):
            where = [self.rows[key(c)] for c in chunks[lo : lo + size]]
            yield np.vstack([self._shards[s][r] for s, r in where]).astype(np.float32)

    def clear(self) -> None:
        self._shards.clear()
        self.rows.clear()
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.folder)
