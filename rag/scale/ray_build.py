"""The distributed build: ``rag index build --engine ray``.

A ``RayEngine`` is the writer's ``BuildEngine`` (``rag.index.engine``) on a Ray
cluster. The steps are the local build's functions, run elsewhere:

- load: a Ray Data map over the files, each row through ``load_item`` (read, decode,
  clean) and ``chunk`` (content-hash ids), so the chunks come back with the Documents;
- embed: a Ray Data ``map_batches`` over the passages still to embed, with
  ``EmbedBatch``, a callable class that loads the embedder once per actor, in a pool of
  ``scale.embed_actors`` actors (each with a GPU where the cluster has them).

The vectors come back to this process shard by shard, where the one index writer
commits each to its checkpoint and then the segment and the manifest, exactly as a
local build does: a killed distributed build, run again, embeds only what no shard
holds, and articles already in the index are not sent at all.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Config
from rag.index.engine import Shard
from rag.ingest.chunk import chunk as chunk_document
from rag.ingest.load import LoadProblem, load_item, load_paths
from rag.types import Chunk, Document


def load_row(row: dict[str, Any], chunk_size: int, chunk_overlap: int) -> dict[str, Any]:
    """One file (a Ray Data row: ``i``, ``path``, ``root``) to its Document and chunks,
    or its LoadProblem, as JSON (plain columns travel anywhere)."""
    result = load_item(Path(row["path"]), Path(row["root"]))
    if isinstance(result, LoadProblem):
        return {"i": row["i"], "problem": json.dumps(asdict(result)), "doc": "", "chunks": ""}
    chunks = chunk_document(result, chunk_size, chunk_overlap)
    payload = json.dumps([asdict(c) for c in chunks], ensure_ascii=False)
    doc = json.dumps(asdict(result), ensure_ascii=False)
    return {"i": row["i"], "problem": "", "doc": doc, "chunks": payload}


def from_row(row: dict[str, Any]) -> tuple[Document | LoadProblem, list[Chunk]]:
    if row["problem"]:
        return LoadProblem(**json.loads(row["problem"])), []
    doc = json.loads(row["doc"])
    doc["copies"] = tuple(doc.get("copies") or ())
    doc["pages"] = tuple(doc.get("pages") or ())
    return Document(**doc), [Chunk(**c) for c in json.loads(row["chunks"])]


class EmbedBatch:
    """Ray Data batch inference: the embedder loads once per actor (``__init__``);
    each call embeds one batch of passages (columns ``i``, ``title``, ``text``) into
    normalised vectors (column ``vector``), the local embedder's ``embed_chunks``."""

    def __init__(self, config: Config) -> None:
        from rag.embed import make_embedder
        from rag.models import verify_models

        verify_models(config, ("embedding",))
        self.embedder = make_embedder(config)
        self.embedder.embed_query("warm-up")  # load the model now, not in the first batch

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        chunks = [
            Chunk("", "", str(title), str(text), 0, 0)
            for title, text in zip(batch["title"], batch["text"], strict=True)
        ]
        return {"i": np.asarray(batch["i"]), "vector": self.embedder.embed_chunks(chunks)}


class RayEngine:
    """The build's load, chunk and embed steps on the Ray cluster ``ray`` is connected
    to (``rag.scale.connect``)."""

    def __init__(self, config: Config, ray: Any, progress: bool = False) -> None:
        self.config = config
        self.ray = ray
        self.actors = max(1, config.scale.embed_actors)
        self._chunks: dict[tuple[str, str], list[Chunk]] = {}  # (doc_id, sha256) -> chunks
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = progress
        context.print_on_execution_start = progress

    # -- load ---------------------------------------------------------------------
    def load(self, paths: Sequence[Path]) -> tuple[list[Document], list[LoadProblem]]:
        return load_paths(paths, self._load_many)

    def _load_many(self, items: Sequence[tuple[Path, Path]]) -> list[Document | LoadProblem]:
        if not items:
            return []
        rows = [{"i": i, "path": str(p), "root": str(r)} for i, (p, r) in enumerate(items)]
        c = self.config.chunking
        ds = self.ray.data.from_items(rows, override_num_blocks=min(len(rows), 64))
        ds = ds.map(
            load_row,
            fn_kwargs={"chunk_size": c.chunk_size, "chunk_overlap": c.chunk_overlap},
            num_cpus=self.config.scale.load_cpus,
        )
        out: list[Document | LoadProblem | None] = [None] * len(items)
        for row in ds.iter_rows():
            result, chunks = from_row(row)
            out[int(row["i"])] = result
            if isinstance(result, Document):
                self._chunks[(result.doc_id, result.sha256)] = chunks
        if any(r is None for r in out):
            raise RuntimeError("the distributed load lost some files")
        return [r for r in out if r is not None]

    # -- chunk ----------------------------------------------------------------------
    def chunk(self, document: Document) -> list[Chunk]:
        """The chunks the workers made while loading (the local function otherwise)."""
        found = self._chunks.get((document.doc_id, document.sha256))
        if found is not None:
            return found
        c = self.config.chunking
        return chunk_document(document, c.chunk_size, c.chunk_overlap)

    # -- embed ----------------------------------------------------------------------
    def embed(self, chunks: Sequence[Chunk], step: int) -> Iterator[Shard]:
        if not chunks:
            return
        s = self.config.scale
        rows = [{"i": i, "title": c.title, "text": c.text} for i, c in enumerate(chunks)]
        gpus = float(self.ray.cluster_resources().get("GPU", 0.0))
        threads = max(1, int(s.embed_cpus))
        actor_config = replace(
            self.config, generation=replace(self.config.generation, n_threads=threads)
        )
        ds = self.ray.data.from_items(rows, override_num_blocks=math.ceil(len(rows) / step))
        ds = ds.map_batches(
            EmbedBatch,
            fn_constructor_kwargs={"config": actor_config},
            batch_size=step,
            batch_format="numpy",
            compute=self.ray.data.ActorPoolStrategy(size=self.actors),
            num_cpus=s.embed_cpus,
            num_gpus=min(1.0, gpus / self.actors) if gpus else 0,
        )
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            index = [int(i) for i in batch["i"]]
            yield [chunks[i] for i in index], np.asarray(batch["vector"], dtype=np.float32)


def run(pipeline: Any, paths: Sequence[Path], replace_all: bool, address: str | None) -> Any:
    """``pipeline.build`` (or ``add``) with a RayEngine, on the cluster ``address`` names
    (else the config's, else $RAY_ADDRESS, else a local Ray); progress on stderr."""
    from rag.scale import connect

    with connect(pipeline.config.scale, address) as ray:
        engine = RayEngine(pipeline.config, ray, progress=True)
        write = pipeline.build if replace_all else pipeline.add
        return write(paths, progress=True, engine=engine)
