"""The index on disk: immutable segments and one manifest, committed atomically.

Layout of ``index/``::

    manifest.json          the commit point: settings, versions, segments, documents
    seg-20261201.../       one folder per segment (see ``rag.index.segments``)
    .checkpoint/           vectors of a build in progress (see ``rag.index.checkpoint``)
    .lock                  held by a writer

The manifest lists the segments in order, and for each the documents deleted
from it (tombstones). Adding articles writes one new segment and a new
manifest; removing one writes only a manifest; neither rewrites the other
segments. ``compact`` merges segments into one without the deleted rows.

A write puts every new file in place first (fsynced) and only then replaces
``manifest.json`` (``os.replace`` is atomic). A write killed at any point leaves
the previous manifest pointing at its own, complete, unchanged segments.
Folders no manifest names any more are removed one commit later, so a reader
that loaded the previous manifest a moment ago can still open its files.

Format 2 (one ``gen-*`` folder) is read as a one-segment index; the next write
turns it into format 3 without rewriting the folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.errors import IndexCorruptError, IndexMissingError, LockedError
from rag.index import segments as segment_files
from rag.index.data import IndexData, IndexSettings, Segment, lexical_row
from rag.index.files import unique_name, write_json_atomic
from rag.index.segments import REBUILD_HINT
from rag.types import Document

__all__ = [
    "IndexData", "IndexSettings", "Segment", "lexical_row", "load", "save", "append",
    "compact", "compaction_plan", "read_manifest", "exists", "writer_lock", "index_bytes",
]  # fmt: skip

FORMAT_VERSION = 3
READABLE = (2, 3)
MANIFEST = "manifest.json"
CHECKPOINT = ".checkpoint"


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


def corpus_sha256(documents: dict[str, Any]) -> str:
    """A hash of (doc_id, sha256) pairs; ``documents`` maps doc_id to a Document or its entry."""
    digest = hashlib.sha256()
    for doc_id in sorted(documents):
        d = documents[doc_id]
        sha = d.sha256 if isinstance(d, Document) else d["sha256"]
        digest.update(f"{doc_id}\0{sha}\n".encode())
    return digest.hexdigest()


def exists(index_dir: Path) -> bool:
    return (index_dir / MANIFEST).is_file()


# -- the manifest --------------------------------------------------------------
def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The committed manifest, in the format 3 shape (a format 2 one is converted)."""
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexMissingError(
            f"no index at {index_dir}; run `rag index build` (default corpus: seeds/)"
        )
    try:
        manifest = dict(json.loads(path.read_text(encoding="utf-8")))
        if manifest.get("format") not in READABLE:
            raise ValueError(f"unknown format {manifest.get('format')!r}")
        if manifest["format"] == 2:  # one generation folder: one segment, nothing deleted
            gen = manifest["generation"]
            manifest["segments"] = [
                {"name": gen, "rows": manifest["n_chunks"], "kind": manifest["index_type"],
                 "deleted": []}
            ]  # fmt: skip
            for entry in manifest["documents"].values():
                entry["segment"] = gen
        return manifest
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexCorruptError(
            f"index manifest {path} is unreadable ({exc}); {REBUILD_HINT}"
        ) from None


def settings_of(
    manifest: dict[str, Any], index_dir: Path, expected: IndexSettings | None
) -> IndexSettings:
    try:
        settings = IndexSettings(**manifest["settings"])
    except (KeyError, TypeError) as exc:
        raise IndexCorruptError(f"index manifest lacks settings ({exc}); {REBUILD_HINT}") from None
    if expected is not None and (problem := expected.mismatch(settings)):
        raise IndexCorruptError(
            f"the index at {index_dir} does not match the configured models: {problem}; "
            f"{REBUILD_HINT}"
        )
    return settings


def _commit(
    index_dir: Path,
    settings: IndexSettings,
    segments: list[dict[str, Any]],
    documents: dict[str, dict[str, Any]],
    previous: dict[str, Any] | None,
    copies: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write the manifest (the commit point), then remove what no manifest needs."""
    largest = max(segments, key=lambda s: s["rows"], default={"kind": "flat"})
    manifest = {
        "format": FORMAT_VERSION,
        "generation": unique_name("commit"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": asdict(settings),
        "index_type": largest["kind"],
        "n_documents": len(documents),
        "n_chunks": sum(d["chunks"] for d in documents.values()),
        "n_segments": len(segments),
        "n_deleted_rows": sum(s["rows"] for s in segments)
        - sum(d["chunks"] for d in documents.values()),
        "corpus_sha256": corpus_sha256(documents),
        "libraries": library_versions(),
        "n_folded": len(copies or {}),
        "segments": segments,
        "documents": documents,
        "copies": copies or {},
    }
    write_json_atomic(index_dir / MANIFEST, manifest, indent=1)  # the commit point
    keep = {s["name"] for s in segments} | {s["name"] for s in (previous or {}).get("segments", [])}
    _collect_garbage(index_dir, keep)
    return manifest


def _previous(index_dir: Path) -> dict[str, Any] | None:
    try:
        return read_manifest(index_dir)
    except (IndexMissingError, IndexCorruptError):
        return None  # nothing usable to keep


def _collect_garbage(index_dir: Path, keep: set[str]) -> None:
    """Remove segments no manifest names and leftovers of interrupted writes."""
    for path in index_dir.iterdir():
        stale = path.name.startswith(("seg-", "gen-", ".staging-")) and path.name not in keep
        if stale and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f".{MANIFEST}.") and path.name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                path.unlink()


def _document_entry(doc: Document, chunks: int, segment: str) -> dict[str, Any]:
    return {"sha256": doc.sha256, "title": doc.title, "chunks": chunks, "segment": segment}


# -- reading and writing whole indexes -------------------------------------------
def load(
    index_dir: Path,
    expected: IndexSettings | None = None,
    reuse: IndexData | None = None,
    also: Sequence[Segment] = (),
) -> IndexData:
    """Read the committed index; refuse one built under other settings.

    Segments never change, so those already in ``reuse`` (an earlier load of
    the same folder) or in ``also`` (just written) are taken from there instead
    of being read again. A segment
    removed under a reader by two commits in a row is a retry, not an error.
    """
    for attempt in range(3):
        manifest = read_manifest(index_dir)
        settings = settings_of(manifest, index_dir, expected)
        try:
            return _load(index_dir, manifest, settings, [*(reuse.segments if reuse else ()), *also])
        except IndexCorruptError:
            if attempt == 2 or read_manifest(index_dir)["generation"] == manifest["generation"]:
                raise  # the committed index itself is damaged
    raise AssertionError("unreachable")


def _load(
    index_dir: Path, manifest: dict[str, Any], settings: IndexSettings, reuse: Sequence[Segment]
) -> IndexData:
    known = {s.name: s for s in reuse if s.home == index_dir and s.name}
    segments, deleted = [], []
    for meta in manifest["segments"]:
        seg = known.get(meta["name"]) or segment_files.read(
            index_dir, meta["name"], meta.get("kind", "flat"), settings.dimension, meta["rows"]
        )
        segments.append(seg)
        deleted.append(frozenset(meta.get("deleted", ())))
    data = IndexData(settings, segments=segments, deleted=deleted)
    return data.with_copies(manifest.get("copies", {}))


def save(index_dir: Path, data: IndexData) -> dict[str, Any]:
    """Write the segments of ``data`` not yet in ``index_dir``, and commit a manifest of it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = _previous(index_dir)
    metas, documents = [], {}
    for seg, dead in zip(data.segments, data.deleted, strict=True):
        if seg.name is None or seg.home != index_dir or not (index_dir / seg.name).is_dir():
            if seg.name is not None:  # written elsewhere: a copy goes into this folder
                seg = Segment(seg.documents, seg.chunks, seg.ann_index, seg.kind, seg.lexical,
                              signatures=seg.signatures)  # fmt: skip
            segment_files.write(index_dir, seg)
        assert seg.name is not None
        metas.append({"name": seg.name, "rows": len(seg), "kind": seg.kind,
                      "deleted": sorted(dead)})  # fmt: skip
        counts = {k: 0 for k in seg.documents if k not in dead}
        for c in seg.chunks:
            if c.doc_id in counts:
                counts[c.doc_id] += 1
        for doc_id, n in counts.items():
            documents[doc_id] = _document_entry(seg.documents[doc_id], n, seg.name)
    copies = {c: e for c, e in data.copy_entries.items() if e["of"] in documents}
    return _commit(index_dir, data.settings, metas, documents, previous, copies)


def append(
    index_dir: Path,
    settings: IndexSettings,
    segment: Segment | None,
    remove: Iterable[str] = (),
    base: dict[str, Any] | None = None,
    copies: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Commit ``base`` (a manifest; None: an empty index) plus ``segment`` and ``copies``
    (near-duplicates folded into a kept document), minus ``remove``.

    Only the new segment and the manifest are written: the other segments are
    not read. A document in ``segment`` or ``copies`` replaces the one of the
    same doc_id; the copies of a removed or replaced document go with it.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = _previous(index_dir)
    metas = [dict(m) for m in (base or {}).get("segments", [])]
    documents = dict((base or {}).get("documents", {}))
    copies = dict(copies or {})
    gone = set(remove) | (set(segment.documents) if segment is not None else set()) | set(copies)
    kept_copies = {
        c: e for c, e in (base or {}).get("copies", {}).items()
        if c not in gone and e["of"] not in gone
    }  # fmt: skip
    by_name = {m["name"]: m for m in metas}
    for doc_id in gone & documents.keys():
        meta = by_name[documents.pop(doc_id)["segment"]]
        meta["deleted"] = sorted({*meta["deleted"], doc_id})
    live = {d["segment"] for d in documents.values()}
    metas = [m for m in metas if m["name"] in live]  # nothing left alive: dropped
    if segment is not None and segment.documents:
        name = segment_files.write(index_dir, segment)
        metas.append({"name": name, "rows": len(segment), "kind": segment.kind, "deleted": []})
        counts = {k: 0 for k in segment.documents}
        for c in segment.chunks:
            counts[c.doc_id] += 1
        for doc_id, doc in segment.documents.items():
            documents[doc_id] = _document_entry(doc, counts[doc_id], name)
    kept_copies.update({c: e for c, e in copies.items() if e["of"] in documents})
    return _commit(index_dir, settings, metas, documents, previous, kept_copies)


# -- compaction ------------------------------------------------------------------
def compaction_plan(
    manifest: dict[str, Any], max_segments: int, max_deleted_share: float
) -> int | None:
    """How many leading segments a compaction keeps (None: no compaction needed).

    Many deleted rows: everything is rewritten (0). Too many segments: when the
    first segment is the largest (an archive, then what was added to it), the
    ones after it are merged and it stays; otherwise all are merged.
    """
    metas = manifest.get("segments", [])
    rows = sum(m["rows"] for m in metas)
    if rows and (rows - manifest["n_chunks"]) / rows > max_deleted_share:
        return 0
    if len(metas) > max(1, max_segments):
        first_is_largest = metas[0]["rows"] >= max(m["rows"] for m in metas)
        return 1 if first_is_largest else 0
    return None


def compact(index_dir: Path, settings: IndexSettings, keep: int = 0) -> dict[str, Any]:
    """Merge the segments after the first ``keep`` into one, dropping deleted rows."""
    data = load(index_dir, settings)
    return save(index_dir, data.compacted(keep))


def index_bytes(index_dir: Path, manifest: dict[str, Any]) -> int:
    total = 0
    for meta in manifest.get("segments", []):
        folder = index_dir / meta["name"]
        if folder.is_dir():
            total += sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    return total


def summary(index_dir: Path) -> dict[str, Any]:
    """What ``rag index status`` shows of the index on disk (its manifest, its size)."""
    manifest = read_manifest(index_dir)
    return {
        "index_dir": str(index_dir),
        "documents": manifest["documents"],
        "n_documents": manifest["n_documents"],
        "n_chunks": manifest["n_chunks"],
        "index_type": manifest["index_type"],
        "index_bytes": index_bytes(index_dir, manifest),
        "n_segments": len(manifest["segments"]),
        "n_folded": len(manifest.get("copies", {})),
        "copies": manifest.get("copies", {}),
        "n_deleted_rows": sum(m["rows"] for m in manifest["segments"]) - manifest["n_chunks"],
        "format": manifest["format"],
        "created": manifest["created"],
        "embedding_model": manifest["settings"]["embedding_model_id"],
        "dimension": manifest["settings"]["dimension"],
        "libraries": manifest["libraries"],
    }


def stamp(index_dir: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of the manifest, None without one: a commit replaces the
    manifest (a new inode), so a changed stamp means a new index generation."""
    try:
        st = (index_dir / MANIFEST).stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


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
