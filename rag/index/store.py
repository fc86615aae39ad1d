"""The index on disk: a FAISS file, a chunk store and a manifest, committed atomically.

Layout of ``index/``::

    manifest.json          the commit point: settings, versions, documents, generation
    gen-000007/
        vectors.faiss      FAISS inner-product index (row i <-> line i of chunks.jsonl)
        chunks.jsonl       one chunk per line (JSON, no pickle)
        lexical.jsonl      the chunk's normalised term counts, for BM25 (row i <-> chunk i)
        documents.jsonl    the cleaned articles (for showing a passage in context)
    .lock                  held by a writer

A write builds a new ``gen-*`` folder under a temporary name, fsyncs it,
renames it into place and only then replaces ``manifest.json`` (``os.replace``
is atomic). A build killed at any point leaves the previous manifest pointing
at the previous, complete generation.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError, IndexMissingError, LockedError
from rag.index import ann
from rag.index.lexical import BM25, term_counts
from rag.types import Chunk, Document, Hit

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
REBUILD_HINT = "run `rag index build` to rebuild it"


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


@dataclass
class IndexData:
    """An index in memory. Changes return a new ``IndexData``; ``save`` persists one."""

    settings: IndexSettings
    documents: dict[str, Document] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    ann_index: Any = None  # a faiss index with len(chunks) rows
    kind: str = "flat"
    lexical: BM25 | None = None  # BM25 over the same rows
    _rows: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.ann_index is None:
            self.ann_index = ann.build(
                np.zeros((0, self.settings.dimension), np.float32), self.kind
            )
        if self.lexical is None:
            self.lexical = BM25([lexical_row(c, self.documents.get(c.doc_id)) for c in self.chunks])

    # -- reading --------------------------------------------------------
    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, query: np.ndarray, k: int) -> list[Hit]:
        """Dense search: the ``k`` chunks nearest to ``query`` by cosine similarity."""
        return [Hit(self.chunks[r], s) for r, s in self.dense_rows(query, k)]

    def dense_rows(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks or k <= 0:
            return []
        scores, rows = ann.search(self.ann_index, query, min(k, len(self.chunks)))
        return [(int(r), float(s)) for s, r in zip(scores, rows, strict=True) if r >= 0]

    def lexical_rows(self, query: str, k: int) -> list[tuple[int, float]]:
        assert self.lexical is not None
        return self.lexical.search(query, k)

    def similarity(self, query: np.ndarray, rows: Sequence[int]) -> list[float]:
        """Cosine similarity of ``query`` to the given rows (exact, from stored vectors)."""
        if not rows:
            return []
        vecs = np.vstack([self.ann_index.reconstruct(int(r)) for r in rows])
        return [float(x) for x in vecs @ np.asarray(query, np.float32)]

    def rows_of(self, chunk_ids: Sequence[str]) -> list[int]:
        if self._rows is None:
            self._rows = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        return [self._rows[c] for c in chunk_ids]

    def vectors(self) -> np.ndarray:
        return ann.vectors(self.ann_index, len(self.chunks), self.settings.dimension)

    # -- changing -------------------------------------------------------
    def with_documents(
        self, docs: Sequence[Document], chunks: Sequence[Chunk], vectors: np.ndarray
    ) -> IndexData:
        """Add documents (replacing any with the same doc_id); other vectors are reused."""
        replaced = {d.doc_id for d in docs}
        base = self.without(replaced) if replaced & self.documents.keys() else self
        documents = dict(base.documents)
        documents.update({d.doc_id: d for d in docs})
        all_chunks = [*base.chunks, *chunks]
        index = ann.extend(base.ann_index, vectors)
        kind = ann.choose_kind(len(all_chunks)) if len(all_chunks) else base.kind
        if kind != base.kind:
            index = ann.build(np.vstack([base.vectors(), vectors]), kind)
        assert base.lexical is not None
        lexical = base.lexical.extended([lexical_row(c, documents[c.doc_id]) for c in chunks])
        return IndexData(self.settings, documents, all_chunks, index, kind, lexical)

    def without(self, doc_ids: set[str] | Sequence[str]) -> IndexData:
        doc_ids = set(doc_ids)
        keep = [i for i, c in enumerate(self.chunks) if c.doc_id not in doc_ids]
        vectors = self.vectors()[keep] if keep else np.zeros((0, self.settings.dimension))
        kind = ann.choose_kind(len(keep))
        assert self.lexical is not None
        return IndexData(
            self.settings,
            {k: v for k, v in self.documents.items() if k not in doc_ids},
            [self.chunks[i] for i in keep],
            ann.build(np.asarray(vectors, np.float32), kind),
            kind,
            self.lexical.subset(keep),
        )


def lexical_row(chunk: Chunk, doc: Document | None) -> dict[str, int]:
    """A chunk's terms for BM25, with its article's title and date (metadata is searchable)."""
    meta = f"{chunk.title} {doc.date or ''}" if doc else chunk.title
    return term_counts(f"{meta}\n{chunk.text}")


# -- on disk ------------------------------------------------------------


def library_versions() -> dict[str, str]:
    names = (
        "faiss-cpu", "sentence-transformers", "transformers", "torch",
        "langchain-text-splitters", "llama_cpp_python", "numpy",
    )  # fmt: skip
    out = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def corpus_sha256(documents: dict[str, Document]) -> str:
    digest = hashlib.sha256()
    for doc_id in sorted(documents):
        digest.update(f"{doc_id}\0{documents[doc_id].sha256}\n".encode())
    return digest.hexdigest()


def exists(index_dir: Path) -> bool:
    return (index_dir / MANIFEST).is_file()


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexMissingError(
            f"no index at {index_dir}; run `rag index build` (default corpus: seeds/)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown format {manifest.get('format')!r}")
        return dict(manifest)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"index manifest {path} is unreadable ({exc}); {REBUILD_HINT}"
        ) from None


def load(index_dir: Path, expected: IndexSettings | None = None) -> IndexData:
    """Read the committed generation; refuse one built under other settings."""
    manifest = read_manifest(index_dir)
    try:
        settings = IndexSettings(**manifest["settings"])
    except (KeyError, TypeError) as exc:
        raise IndexCorruptError(f"index manifest lacks settings ({exc}); {REBUILD_HINT}") from None
    if expected is not None and (problem := expected.mismatch(settings)):
        raise IndexCorruptError(
            f"the index at {index_dir} does not match the configured models: {problem}; "
            f"{REBUILD_HINT}"
        )
    gen = index_dir / str(manifest.get("generation", ""))
    try:
        documents = {d["doc_id"]: Document(**d) for d in _read_jsonl(gen / "documents.jsonl")}
        chunks = [Chunk(**c) for c in _read_jsonl(gen / "chunks.jsonl")]
        index = ann.read(gen / "vectors.faiss")
        lexical = BM25(_read_jsonl(gen / "lexical.jsonl"))
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(
            f"index at {index_dir} is corrupt ({exc}); {REBUILD_HINT}"
        ) from None
    if index.ntotal != len(chunks) or len(lexical) != len(chunks) or index.d != settings.dimension:
        raise IndexCorruptError(
            f"index at {index_dir} is corrupt ({index.ntotal} vectors of dimension {index.d} "
            f"for {len(chunks)} chunks); {REBUILD_HINT}"
        )
    kind = manifest.get("index_type", "flat")
    return IndexData(settings, documents, chunks, index, kind, lexical)


def save(index_dir: Path, data: IndexData) -> dict[str, Any]:
    """Write a new generation and commit it by replacing the manifest."""
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        previous = read_manifest(index_dir).get("generation")
    except (IndexMissingError, IndexCorruptError):
        previous = None  # nothing usable to keep
    name = f"gen-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
    staging = Path(tempfile.mkdtemp(dir=index_dir, prefix=".staging-"))
    try:
        ann.write(data.ann_index, staging / "vectors.faiss")
        _write_jsonl(staging / "chunks.jsonl", (asdict(c) for c in data.chunks))
        _write_jsonl(staging / "documents.jsonl", (asdict(d) for d in data.documents.values()))
        assert data.lexical is not None
        _write_jsonl(staging / "lexical.jsonl", data.lexical.rows)
        for f in staging.iterdir():
            _fsync(f)
        staging.rename(index_dir / name)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    counts = {doc_id: 0 for doc_id in data.documents}
    for c in data.chunks:
        counts[c.doc_id] += 1
    manifest = {
        "format": FORMAT_VERSION,
        "generation": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": asdict(data.settings),
        "index_type": data.kind,
        "n_documents": len(data.documents),
        "n_chunks": len(data.chunks),
        "corpus_sha256": corpus_sha256(data.documents),
        "libraries": library_versions(),
        "documents": {
            d.doc_id: {"sha256": d.sha256, "title": d.title, "chunks": counts[d.doc_id]}
            for d in data.documents.values()
        },
    }
    tmp = index_dir / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, index_dir / MANIFEST)  # the commit point
    _fsync_dir(index_dir)
    _collect_garbage(index_dir, keep={name, previous or name})
    return manifest


def _collect_garbage(index_dir: Path, keep: set[str]) -> None:
    """Remove old generations and leftovers of interrupted writes.

    The previous generation is kept one round, so a reader that loaded the old
    manifest a moment ago can still open its files.
    """
    for path in index_dir.iterdir():
        stale = path.name.startswith(("gen-", ".staging-")) and path.name not in keep
        if stale and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f".{MANIFEST}.") and path.name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                path.unlink()


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time; a second gets a clear message instead of waiting silently."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise LockedError(
                f"the index at {index_dir} is being written by {holder}; try again when it ends"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write_jsonl(path: Path, rows: Any) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)
