"""An index in memory: immutable segments, and the documents deleted from them.

A segment is what one write added: some documents, their chunks, a FAISS
index over their vectors and their BM25 term counts. It never changes once
written; removing or replacing a document marks it deleted in the segment that
holds it (a tombstone in the manifest), and compaction merges segments into
one, dropping the deleted rows.

``IndexData`` is a view over the segments. Its rows are the live chunks of all
segments, in segment order, numbered from 0: exactly the rows of the one
segment that compaction would write, so a search over the segments returns what
a search over the compacted index returns (dense: each segment's FAISS index
searched and the hits merged by score; lexical: BM25 with the statistics of all
live rows, ``SegmentedBM25``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.index import ann
from rag.index.lexical import BM25, SegmentedBM25, term_counts
from rag.types import Chunk, Document, Hit


@dataclass(frozen=True)
class IndexSettings:
    """What the vectors depend on; an index is only usable under the same settings."""

    embedding_model_id: str
    embedding_sha256: str
    dimension: int
    chunk_size: int
    chunk_overlap: int

    def mismatch(self, other: IndexSettings) -> str | None:
        for name, mine in asdict(self).items():
            theirs = getattr(other, name)
            if mine != theirs:
                return f"{name} is {theirs!r} in the index but {mine!r} in the config"
        return None


def lexical_row(chunk: Chunk, doc: Document | None) -> dict[str, int]:
    """A chunk's terms for BM25, with its article's title and date (metadata is searchable)."""
    meta = f"{chunk.title} {doc.date or ''}" if doc else chunk.title
    return term_counts(f"{meta}\n{chunk.text}")


@dataclass(eq=False)
class Segment:
    """Documents, chunks (row i), a FAISS index and BM25 rows written together.

    ``name`` is its folder once written (``home`` the index folder it is in);
    ``None`` while it exists only in memory.
    """

    documents: dict[str, Document]
    chunks: list[Chunk]
    ann_index: Any
    kind: str
    lexical: BM25
    name: str | None = None
    home: Path | None = None
    # doc_id -> MinHash signature (near-duplicate detection at the next ingest)
    signatures: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.chunks)

    @classmethod
    def create(
        cls,
        dimension: int,
        docs: Sequence[Document],
        chunks: Sequence[Chunk],
        vectors: Any,
        signatures: dict[str, np.ndarray] | None = None,
    ) -> Segment:
        documents = {d.doc_id: d for d in docs}
        kind = ann.choose_kind(len(chunks))
        index = ann.build(np.asarray(vectors, np.float32).reshape(-1, dimension), kind)
        lexical = BM25([lexical_row(c, documents.get(c.doc_id)) for c in chunks])
        return cls(documents, list(chunks), index, kind, lexical, signatures=dict(signatures or {}))

    @classmethod
    def streamed(
        cls,
        dimension: int,
        docs: Sequence[Document],
        chunks: Sequence[Chunk],
        batches: Callable[[], Iterator[np.ndarray]],
        signatures: dict[str, np.ndarray] | None = None,
    ) -> Segment:
        """``create`` with the vectors of ``chunks`` arriving in batches (from a checkpoint)."""
        documents = {d.doc_id: d for d in docs}
        kind = ann.choose_kind(len(chunks))
        index = ann.build_streaming(dimension, len(chunks), kind, batches)
        lexical = BM25([lexical_row(c, documents.get(c.doc_id)) for c in chunks])
        return cls(documents, list(chunks), index, kind, lexical, signatures=dict(signatures or {}))

    def vectors(self, rows: Any = None) -> np.ndarray:
        out = ann.vectors(self.ann_index, len(self.chunks), self.ann_index.d)
        return out if rows is None else out[rows]


def merge(dimension: int, parts: Sequence[tuple[Segment, frozenset[str]]]) -> Segment:
    """One segment holding the live rows of ``parts`` (segment, deleted doc_ids), in order.

    Vectors are added segment by segment, so memory holds the new index and one
    segment's vectors, not all of them twice.
    """
    live = [(s, np.flatnonzero([c.doc_id not in dead for c in s.chunks])) for s, dead in parts]
    n = sum(len(rows) for _, rows in live)
    documents = {k: d for s, dead in parts for k, d in s.documents.items() if k not in dead}
    chunks = [s.chunks[i] for s, rows in live for i in rows]
    lexical = BM25([s.lexical.rows[i] for s, rows in live for i in rows])
    signatures = {k: v for s, _ in parts for k, v in s.signatures.items() if k in documents}
    kind = ann.choose_kind(n)

    def batches() -> Iterator[np.ndarray]:
        for s, rows in live:
            if len(rows):
                yield s.vectors(rows)

    index = ann.build_streaming(dimension, n, kind, batches)
    return Segment(documents, chunks, index, kind, lexical, signatures=signatures)


class IndexData:
    """The index as a reader sees it: segments, minus what was deleted from them.

    ``IndexData(settings, documents, chunks, ann_index, kind, lexical)`` makes a
    one-segment index in memory (what the bench and tests build directly);
    ``IndexData(settings, segments=..., deleted=...)`` the general view.
    Changes return a new ``IndexData``; ``store.save`` persists one.
    """

    def __init__(
        self,
        settings: IndexSettings,
        documents: dict[str, Document] | None = None,
        chunks: Sequence[Chunk] | None = None,
        ann_index: Any = None,
        kind: str = "flat",
        lexical: BM25 | None = None,
        *,
        segments: Sequence[Segment] | None = None,
        deleted: Sequence[frozenset[str]] | None = None,
    ) -> None:
        self.settings = settings
        if segments is None:
            documents, chunks = dict(documents or {}), list(chunks or [])
            segments = []
            if documents or chunks:
                if ann_index is None:
                    zeros = np.zeros((0, settings.dimension), np.float32)
                    ann_index = ann.build(zeros, kind)
                if lexical is None:
                    lexical = BM25([lexical_row(c, documents.get(c.doc_id)) for c in chunks])
                segments = [Segment(documents, chunks, ann_index, kind, lexical)]
        self.segments: tuple[Segment, ...] = tuple(segments)
        self.deleted: tuple[frozenset[str], ...] = tuple(
            deleted if deleted is not None else [frozenset()] * len(self.segments)
        )
        assert len(self.deleted) == len(self.segments)
        self.documents: dict[str, Document] = {}
        self._live: list[np.ndarray] = []  # per segment: its live local rows
        self._to_live: list[np.ndarray] = []  # per segment: local row -> live row (-1)
        self.chunks: list[Chunk] = []
        start = 0
        for seg, dead in zip(self.segments, self.deleted, strict=True):
            self.documents.update({k: d for k, d in seg.documents.items() if k not in dead})
            mask = np.fromiter((c.doc_id not in dead for c in seg.chunks), bool, len(seg))
            rows = np.flatnonzero(mask)
            to_live = np.full(len(seg), -1, dtype=np.int64)
            to_live[rows] = np.arange(start, start + len(rows))
            self._live.append(rows)
            self._to_live.append(to_live)
            self.chunks.extend(seg.chunks[i] for i in rows)
            start += len(rows)
        self._segment_of = np.repeat(
            np.arange(len(self.segments)), [len(r) for r in self._live]
        ).astype(np.int64)
        self._local_of = (
            np.concatenate(self._live).astype(np.int64) if self._live else np.zeros(0, np.int64)
        )
        self.lexical = SegmentedBM25(
            [
                (s.lexical, to_live >= 0)
                for s, to_live in zip(self.segments, self._to_live, strict=True)
            ]
        )
        self._rows: dict[str, int] | None = None
        self.copies: dict[str, str] = {}  # a folded near-duplicate's doc_id -> the kept one

        self.copy_entries: dict[str, dict[str, Any]] = {}  # the manifest's records of them

    def with_copies(self, entries: dict[str, dict[str, Any]]) -> IndexData:
        """The same index, its documents listing their folded copies (the manifest's
        ``copies``: doc_id -> {"of": kept doc_id, "sha256", "title"})."""
        entries = {c: e for c, e in entries.items() if e["of"] in self.documents}
        by_kept: dict[str, list[str]] = {}
        for copy, entry in sorted(entries.items()):
            by_kept.setdefault(entry["of"], []).append(copy)
        for kept, ids in by_kept.items():
            self.documents[kept] = replace(self.documents[kept], copies=tuple(ids))
        self.copies = {c: e["of"] for c, e in entries.items()}
        self.copy_entries = entries
        return self

    # -- reading --------------------------------------------------------
    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def kind(self) -> str:
        """The kind of the largest segment's FAISS index ("flat" when empty)."""
        if not self.segments:
            return "flat"
        return max(self.segments, key=len).kind

    def search(self, query: np.ndarray, k: int) -> list[Hit]:
        """Dense search: the ``k`` chunks nearest to ``query`` by cosine similarity."""
        return [Hit(self.chunks[r], s) for r, s in self.dense_rows(query, k)]

    def dense_rows(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Each segment searched for ``k`` live rows (more by its deleted rows), merged."""
        if not self.chunks or k <= 0:
            return []
        found: list[tuple[float, int]] = []
        for seg, live, to_live in zip(self.segments, self._live, self._to_live, strict=True):
            if not len(live):
                continue
            want = min(len(seg), k + len(seg) - len(live))
            scores, rows = ann.search(seg.ann_index, query, want)
            found += [
                (float(s), int(to_live[r])) for s, r in zip(scores, rows, strict=True) if r >= 0
            ]
        found = [(s, r) for s, r in found if r >= 0]
        found.sort(key=lambda x: (-x[0], x[1]))
        return [(r, s) for s, r in found[:k]]

    def lexical_rows(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.lexical.search(query, k)

    def similarity(self, query: np.ndarray, rows: Sequence[int]) -> list[float]:
        """Cosine similarity of ``query`` to the given rows (exact, from stored vectors)."""
        if not rows:
            return []
        vecs = np.vstack(
            [
                self.segments[self._segment_of[r]].ann_index.reconstruct(int(self._local_of[r]))
                for r in rows
            ]
        )
        return [float(x) for x in vecs @ np.asarray(query, np.float32)]

    def rows_of(self, chunk_ids: Sequence[str]) -> list[int]:
        if self._rows is None:
            self._rows = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        return [self._rows[c] for c in chunk_ids]

    def vectors(self) -> np.ndarray:
        """The live rows' vectors, in row order."""
        parts = [
            s.vectors(rows) for s, rows in zip(self.segments, self._live, strict=True) if len(rows)
        ]
        if not parts:
            return np.zeros((0, self.settings.dimension), dtype=np.float32)
        return np.vstack(parts)

    def n_deleted_rows(self) -> int:
        return sum(len(s) for s in self.segments) - len(self.chunks)

    # -- changing -------------------------------------------------------
    def with_documents(
        self, docs: Sequence[Document], chunks: Sequence[Chunk], vectors: np.ndarray
    ) -> IndexData:
        """Add documents as a new segment (replacing any with the same doc_id)."""
        new = Segment.create(self.settings.dimension, docs, chunks, vectors)
        return self.with_segment(new)

    def with_segment(self, segment: Segment) -> IndexData:
        base = self.without(segment.documents.keys() & self.documents.keys())
        return IndexData(
            self.settings,
            segments=[*base.segments, segment],
            deleted=[*base.deleted, frozenset()],
        ).with_copies(self.copy_entries)

    def without(self, doc_ids: set[str] | Sequence[str] | Any) -> IndexData:
        """Mark documents deleted; a segment left with no live document is dropped."""
        doc_ids = set(doc_ids)
        if not doc_ids:
            return self
        segments, deleted = [], []
        for seg, dead in zip(self.segments, self.deleted, strict=True):
            dead = frozenset(dead | (doc_ids & seg.documents.keys()))
            if seg.documents.keys() - dead:
                segments.append(seg)
                deleted.append(dead)
        entries = {c: e for c, e in self.copy_entries.items() if c not in doc_ids}
        return IndexData(self.settings, segments=segments, deleted=deleted).with_copies(entries)

    def compacted(self, keep: int = 0) -> IndexData:
        """Segments after the first ``keep`` merged into one, deleted rows dropped."""
        head = list(zip(self.segments[:keep], self.deleted[:keep], strict=True))
        tail = list(zip(self.segments[keep:], self.deleted[keep:], strict=True))
        if not tail:
            return self
        merged = merge(self.settings.dimension, tail)
        segments = [s for s, _ in head] + ([merged] if merged.documents else [])
        deleted = [d for _, d in head] + ([frozenset()] if merged.documents else [])
        return IndexData(self.settings, segments=segments, deleted=deleted).with_copies(
            self.copy_entries
        )
