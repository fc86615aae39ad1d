"""Segments on disk: one folder per segment, written once, never changed.

Layout of a segment folder (``seg-*``; an index of format 2 had one such
folder, ``gen-*``, which reads as a segment)::

    vectors.faiss      FAISS inner-product index (row i <-> line i of chunks.jsonl)
    chunks.jsonl       one chunk per line (JSON, no pickle)
    lexical.jsonl      the chunk's normalised term counts, for BM25 (row i <-> chunk i)
    documents.jsonl    the cleaned articles (for showing a passage in context)

A segment is written under a temporary name, fsynced and renamed into place;
it becomes part of the index only when a manifest naming it is committed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError
from rag.index import ann
from rag.index.data import Segment
from rag.index.files import fsync, fsync_dir, read_jsonl, unique_name, write_jsonl
from rag.index.lexical import BM25
from rag.types import Chunk, Document

REBUILD_HINT = "run `rag index build` to rebuild it"


def write(index_dir: Path, segment: Segment) -> str:
    """Write ``segment`` into ``index_dir`` under a new name (returned and set on it)."""
    name = unique_name("seg")
    staging = Path(tempfile.mkdtemp(dir=index_dir, prefix=".staging-"))
    try:
        ann.write(segment.ann_index, staging / "vectors.faiss")
        write_jsonl(staging / "chunks.jsonl", (asdict(c) for c in segment.chunks))
        write_jsonl(staging / "documents.jsonl", (asdict(d) for d in segment.documents.values()))
        write_jsonl(staging / "lexical.jsonl", segment.lexical.rows)
        ids = [k for k in segment.documents if k in segment.signatures]
        if ids:
            np.save(staging / "minhash.npy", np.vstack([segment.signatures[k] for k in ids]))
            (staging / "minhash-ids.json").write_text(json.dumps(ids, ensure_ascii=False), "utf-8")
        for f in staging.iterdir():
            fsync(f)
        staging.rename(index_dir / name)
        fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    segment.name, segment.home = name, index_dir
    return name


def read(index_dir: Path, name: str, kind: str, dimension: int, rows: int | None) -> Segment:
    """Read one segment; a missing or damaged one is an ``IndexCorruptError`` with the fix."""
    folder = index_dir / name
    try:
        documents = {d["doc_id"]: _document(d) for d in read_jsonl(folder / "documents.jsonl")}
        chunks = [Chunk(**c) for c in read_jsonl(folder / "chunks.jsonl")]
        index = ann.read(folder / "vectors.faiss")
        lexical = BM25(read_jsonl(folder / "lexical.jsonl"))
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(
            f"index segment {name} in {index_dir} is corrupt ({exc}); {REBUILD_HINT}"
        ) from None
    counts = {index.ntotal, len(lexical), len(chunks)} | ({rows} if rows is not None else set())
    if len(counts) != 1 or index.d != dimension:
        raise IndexCorruptError(
            f"index segment {name} in {index_dir} is corrupt ({index.ntotal} vectors of "
            f"dimension {index.d} for {len(chunks)} chunks); {REBUILD_HINT}"
        )
    return Segment(
        documents, chunks, index, kind, lexical, name, index_dir, read_signatures(index_dir, name)
    )


def read_signatures(index_dir: Path, name: str) -> dict[str, np.ndarray]:
    """The MinHash signatures of a segment's documents ({} for a segment without them)."""
    folder = index_dir / name
    try:
        ids = json.loads((folder / "minhash-ids.json").read_text(encoding="utf-8"))
        sigs = np.load(folder / "minhash.npy", allow_pickle=False)
    except (OSError, ValueError):
        return {}
    if len(ids) != len(sigs):
        return {}
    return {k: sigs[i] for i, k in enumerate(ids)}


def _document(row: dict[str, Any]) -> Document:
    return Document(
        **{**row, "copies": tuple(row.get("copies", ())), "pages": tuple(row.get("pages", ()))}
    )
