"""Writing the index: build, add, remove and compact, one writer at a time.

The write paths never load the other segments: an add chunks and embeds only
the new articles (through the checkpoint, so a killed build resumes), folds
near-duplicates against the signatures stored with the segments, writes one
segment and commits a manifest; a remove commits a manifest with tombstones.
Compaction (``rag index compact``, or by itself past ``index.max_segments``
segments or ``index.max_deleted_share`` deleted rows) is the only rewrite.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.embed.base import Embedder
from rag.errors import BadInputError, IndexCorruptError, IndexMissingError
from rag.index import segments as segment_files
from rag.index import store
from rag.index.checkpoint import Checkpoint, key
from rag.index.data import IndexData, IndexSettings, Segment
from rag.index.engine import BuildEngine, LocalEngine
from rag.ingest.load import LoadProblem
from rag.types import Chunk, Document


@dataclass(frozen=True)
class IndexReport:
    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    problems: tuple[LoadProblem, ...]
    n_documents: int
    n_chunks: int
    seconds: float  # wall time of the whole operation
    folded: tuple[str, ...] = ()  # near-duplicates stored as copies of an indexed article
    embedded: int = 0  # passages embedded by this write (not reused from a checkpoint)
    reused: int = 0  # passages whose vectors a killed build had committed to its checkpoint


class IndexWriter:
    """One write to ``config.index_dir``. ``loaded`` is the index in memory the caller
    had (reused to check a build's segments), or the one a build read, or None.
    ``engine`` runs loading, chunking and embedding (default: this process)."""

    def __init__(
        self,
        config: Config,
        settings: IndexSettings,
        embedder: Callable[[], Embedder],
        chunk: Callable[[Document], list[Chunk]],
        loaded: IndexData | None = None,
        engine: BuildEngine | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.index_dir = config.index_dir
        self.engine: BuildEngine = engine or LocalEngine(embedder, chunk)
        self.loaded = loaded
        self.written: list[Segment] = []  # segments this write added (in memory already)
        self.embedded = self.reused = 0  # passages embedded / taken from the checkpoint

    # -- the operations -----------------------------------------------------------
    def update(self, paths: Sequence[Path], replace_all: bool, progress: bool) -> IndexReport:
        started = time.perf_counter()
        docs, problems = self.engine.load(paths)
        if not docs:
            where = ", ".join(str(p) for p in paths)
            why = "; ".join(f"{Path(p.path).name}: {p.reason}" for p in problems[:3])
            raise BadInputError(f"no readable articles in {where}" + (f" ({why})" if why else ""))
        with store.writer_lock(self.index_dir):
            base = self._base_manifest(rebuild=replace_all)
            known = {**(base or {}).get("copies", {}), **(base or {}).get("documents", {})}
            wanted = {d.doc_id for d in docs}
            gone = sorted(set(known) - wanted) if replace_all else []
            changed = {d.doc_id for d in docs if known.get(d.doc_id, {}).get("sha256") != d.sha256}
            # copies of an article that changes or goes are looked at again
            moving = set(gone) | changed
            orphans = {c for c, e in (base or {}).get("copies", {}).items() if e["of"] in moving}
            redo = changed | orphans
            fresh = [d for d in docs if d.doc_id in redo]
            unchanged = [d.doc_id for d in docs if d.doc_id not in redo]
            kept, copies, sigs = self._fold(fresh, base, moving)
            ckpt = Checkpoint(self.index_dir / store.CHECKPOINT, self.settings)
            segment = self._segment(kept, sigs, ckpt, progress) if kept else None
            self.written += [segment] if segment is not None else []
            manifest = base
            if fresh or gone or base is None:
                manifest = store.append(self.index_dir, self.settings, segment, gone, base, copies)
            # committed: the vectors are in the segment now. An add keeps the shards of
            # a killed build it did not use, so that build still resumes.
            used = {key(c) for c in segment.chunks} if segment is not None else set()
            if replace_all or ckpt.rows.keys() <= used:
                ckpt.clear()
            assert manifest is not None
            manifest = self._compact_if_needed(manifest)
        return IndexReport(
            tuple(d.doc_id for d in fresh if d.doc_id not in copies),
            tuple(unchanged),
            tuple(gone),
            tuple(problems),
            manifest["n_documents"],
            manifest["n_chunks"],
            time.perf_counter() - started,
            tuple(sorted(copies)),
            self.embedded,
            self.reused,
        )

    def remove(self, doc_ids: Sequence[str]) -> IndexReport:
        started = time.perf_counter()
        with store.writer_lock(self.index_dir):
            base = store.read_manifest(self.index_dir)
            store.settings_of(base, self.index_dir, self.settings)
            known = base["documents"].keys() | base.get("copies", {}).keys()
            unknown = [d for d in doc_ids if d not in known]
            if unknown:
                raise BadInputError(
                    f"not in the index: {', '.join(unknown)} (see `rag index status`)"
                )
            manifest = self._compact_if_needed(
                store.append(self.index_dir, self.settings, None, doc_ids, base)
            )
        return IndexReport(
            (), (), tuple(doc_ids), (), manifest["n_documents"], manifest["n_chunks"],
            time.perf_counter() - started,
        )  # fmt: skip

    def compact(self) -> dict[str, Any]:
        with store.writer_lock(self.index_dir):
            before = store.read_manifest(self.index_dir)
            after = store.compact(self.index_dir, self.settings)
        return {"before": before, "after": after}

    # -- steps --------------------------------------------------------------------
    def _base_manifest(self, rebuild: bool) -> dict[str, Any] | None:
        """The manifest to update (None: start empty); for a full build, an unusable
        index (a bad manifest or a corrupt segment) is started afresh."""
        try:
            manifest = store.read_manifest(self.index_dir)
            store.settings_of(manifest, self.index_dir, self.settings)
            if rebuild:  # every segment must read back, or the build would keep a broken one
                self.loaded = store.load(self.index_dir, self.settings, reuse=self.loaded)
            return manifest
        except IndexMissingError:
            return None
        except IndexCorruptError:
            if rebuild:
                self.loaded = None
                return None
            raise

    def _fold(
        self, docs: Sequence[Document], base: dict[str, Any] | None, moving: set[str]
    ) -> tuple[list[Document], dict[str, dict[str, Any]], dict[str, Any]]:
        """Near-duplicates of indexed articles (or of each other) among ``docs``: the
        articles to index, the copies' manifest records, and the kept ones' signatures."""
        from rag.ingest import dedup

        if not docs:
            return [], {}, {}
        sigs = dedup.signatures_of(docs)
        threshold = self.config.index.near_duplicate_threshold
        if threshold <= 0:
            return list(docs), {}, sigs
        known = dedup.NearDuplicates(threshold)
        live = (base or {}).get("documents", {})
        for meta in (base or {}).get("segments", []):
            for doc_id, sig in segment_files.read_signatures(self.index_dir, meta["name"]).items():
                entry = live.get(doc_id)
                if entry and entry["segment"] == meta["name"] and doc_id not in moving:
                    known.add(doc_id, sig)
        kept, copies = dedup.fold(docs, sigs, known)
        by_id = {d.doc_id: d for d in docs}
        records = {
            c: {"of": k, "sha256": by_id[c].sha256, "title": by_id[c].title}
            for c, k in copies.items()
        }
        return kept, records, {d.doc_id: sigs[d.doc_id] for d in kept}

    def _segment(
        self,
        docs: Sequence[Document],
        signatures: dict[str, Any],
        ckpt: Checkpoint,
        progress: bool,
    ) -> Segment:
        """Embed ``docs`` through the checkpoint (resuming a killed build), as a segment."""
        chunks = [c for d in docs for c in self.engine.chunk(d)]
        todo = [c for c in chunks if c not in ckpt]
        self.reused += len(chunks) - len(todo)
        step = max(1, self.config.index.checkpoint_passages)
        with _progress(len(chunks), len(chunks) - len(todo), progress) as bar:
            for batch, vectors in self.engine.embed(todo, step):
                ckpt.add(batch, vectors)
                self.embedded += len(batch)
                bar.update(len(batch))
        if missing := sum(1 for c in todo if c not in ckpt):
            raise RuntimeError(f"the embedding step returned no vector for {missing} passages")
        return Segment.streamed(
            self.settings.dimension, docs, chunks, lambda: ckpt.batches(chunks), signatures
        )

    def _compact_if_needed(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Merge segments when they pile up or hold many deleted rows (config.index)."""
        c = self.config.index
        keep = store.compaction_plan(manifest, c.max_segments, c.max_deleted_share)
        if keep is None:
            return manifest
        return store.compact(self.index_dir, self.settings, keep)


@contextlib.contextmanager
def _progress(total: int, done: int, show: bool) -> Iterator[Any]:
    """A progress bar over passages with rate and ETA (tqdm), starting at ``done``; on a
    terminal only (JSON output and logs stay clean)."""
    from tqdm import tqdm

    show = show and total > done and sys.stderr.isatty()
    bar = tqdm(total=total, initial=done, unit="passage", desc="embedding", file=sys.stderr,
               disable=not show, smoothing=0.05, dynamic_ncols=True)  # fmt: skip
    try:
        yield bar
    finally:
        bar.close()
