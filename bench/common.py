"""What every section shares: the run's settings, the gold set, the seeds index.

Retrieval quality is scored the way ``rag eval`` scores it: a chunk is
relevant when it contains a supporting span of the question
(:func:`rag.eval.metrics.supports_in`), unanswerable questions are left out,
and the metrics are :func:`rag.eval.metrics.retrieval_metrics` (``Hit@5``,
``MRR@10``) over the top 10 of an exact search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import PROJECT_ROOT, Config
from rag.types import Chunk

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)


@dataclass(frozen=True)
class BenchContext:
    """One run's settings, handed to every section (picklable: sections run in a subprocess)."""

    config: Config
    work_dir: Path
    quick: bool = False
    seed: int = 0
    sizes: tuple[int, ...] = FULL_SIZES
    build_articles: int = 20  # generated articles embedded for the build ratio
    add_index_size: int = 100_000  # passages in the index one article is added to
    embed_options: tuple[str, ...] = ()  # empty: the section's default for the mode
    gold_limit: int | None = None  # answerable gold questions for hit@5/MRR (None: all)
    answer_questions: int = 8
    search_queries: int = 200
    hnsw_max: int = 100_000  # HNSW is built only up to this size (slow to build)
    seeds_dir: Path = PROJECT_ROOT / "seeds"
    archive_dir: Path = PROJECT_ROOT / "bench" / "archive"  # the archive section's scale sets
    archive_answer_every: int = 3  # archive section: every Nth gold question answered (0: none)
    archive_build_articles: int = 60  # build section: real archive articles for the ratio
    gold_path: Path = PROJECT_ROOT / "eval" / "gold" / "queries.jsonl"


def quick_context(config: Config, work_dir: Path, **changes: Any) -> BenchContext:
    """Small sizes: the whole bench in a few minutes (what the tests run)."""
    base = BenchContext(
        config,
        work_dir,
        quick=True,
        sizes=QUICK_SIZES,
        build_articles=3,
        add_index_size=5_000,
        gold_limit=20,
        answer_questions=2,
        search_queries=50,
        hnsw_max=QUICK_SIZES[0],
    )
    return replace(base, **changes)


def with_index_dir(config: Config, index_dir: Path) -> Config:
    return replace(config, paths=replace(config.paths, index_dir=index_dir))


# -- gold set -------------------------------------------------------------------
def gold_questions(ctx: BenchContext, answerable: bool = True) -> list[Any]:
    from rag.eval.runner import load_gold

    questions = [q for q in load_gold(ctx.gold_path) if q.answerable or not answerable]
    return questions[: ctx.gold_limit] if ctx.gold_limit else questions


def qrels(questions: Sequence[Any], chunks: Sequence[Chunk]) -> dict[str, dict[str, int]]:
    """``{qid: {chunk_id: 1}}`` for the chunks that contain a support of the question."""
    from rag.eval.metrics import supports_in

    out = {}
    for q in questions:
        supports = [s.text for s in q.supports]
        out[q.id] = {c.chunk_id: 1 for c in chunks if supports_in(c.text, supports)}
    return out


def retrieval_quality(
    doc_vectors: np.ndarray,
    query_vectors: np.ndarray,
    chunks: Sequence[Chunk],
    questions: Sequence[Any],
    k: int = 10,
) -> dict[str, float]:
    """Hit@1/Hit@5/MRR@10 of exact inner-product search (vectors normalised)."""
    from rag.eval.metrics import retrieval_metrics

    scores = np.asarray(query_vectors, np.float32) @ np.asarray(doc_vectors, np.float32).T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    results = {
        q.id: [chunks[i].chunk_id for i in row] for q, row in zip(questions, top, strict=True)
    }
    metrics = retrieval_metrics(qrels(questions, chunks), results)
    return {key: round(metrics[key], 4) for key in ("Hit@1", "Hit@5", "MRR@10")}


def truncate(vectors: np.ndarray, dimension: int) -> np.ndarray:
    """Matryoshka: the first ``dimension`` components, normalised again."""
    from rag.embed.base import normalise

    return normalise(np.asarray(vectors)[:, :dimension])


# -- the seeds, chunked and indexed ----------------------------------------------
def seed_chunks(ctx: BenchContext) -> tuple[list[Any], list[Chunk]]:
    from rag.ingest.chunk import chunk
    from rag.ingest.load import load_paths

    docs, _ = load_paths([ctx.seeds_dir])
    c = ctx.config.chunking
    return docs, [x for d in docs for x in chunk(d, c.chunk_size, c.chunk_overlap)]


def seeds_index_dir(ctx: BenchContext) -> Path:
    return ctx.work_dir / "seeds-index"


def save_seeds_index(ctx: BenchContext, docs: Sequence[Any], chunks: Sequence[Chunk],
                     vectors: np.ndarray) -> None:  # fmt: skip
    """Store the default embedder's seed vectors as an index, for the later sections."""
    from rag.index import store
    from rag.pipeline import Pipeline

    settings = Pipeline(ctx.config).settings
    data = store.IndexData(settings).with_documents(docs, chunks, vectors)
    store.save(seeds_index_dir(ctx), data)


def seeds_pipeline(ctx: BenchContext, embedder: Any = None, generator: Any = None) -> Any:
    """A Pipeline over an index of the seeds in the work folder (built if not there yet)."""
    from rag.index import store
    from rag.pipeline import Pipeline

    pipeline = Pipeline(with_index_dir(ctx.config, seeds_index_dir(ctx)), embedder, generator)
    if not store.exists(seeds_index_dir(ctx)):
        pipeline.build([ctx.seeds_dir])
    return pipeline
