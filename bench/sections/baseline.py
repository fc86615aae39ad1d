"""Baseline: the same embedder and FAISS through LangChain's community FAISS vector store.

That is what a user would otherwise pick. Both sides read the same files
with the same loader and chunker (timed into both), and the model does the
same work: LangChain's ``Embeddings`` adapter feeds EmbeddingGemma the very
strings the pipeline does (document prompt with the title, batch size), so
the build ratio is the frameworks' difference, not the model's. Query
latency is compared with the vector given (the index alone) and with the
question's text (embedding included), on the built corpus and on synthetic
vectors at the sizes where LangChain's in-memory docstore is reasonable; on
those LangChain uses exact search, the pipeline the kind it chooses by size.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import machine
from bench.common import BenchContext, gold_questions, with_index_dir
from bench.contract import Result, Section
from bench.embedders import gemma_inputs
from bench.markdown import get, size, table

LANGCHAIN_MAX = 100_000


def _langchain() -> tuple[Any, Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "langchain-community is being sunset"
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy
        from langchain_core.embeddings import Embeddings
    return FAISS, DistanceStrategy, Embeddings


def adapter(embedder: Any) -> Any:
    """A LangChain ``Embeddings`` over the pipeline's embedder (same model, same inputs)."""
    _, _, embeddings_base = _langchain()

    class SameModel(embeddings_base):  # type: ignore[misc, valid-type]
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            # ``texts`` are already "title: ... | text: ..." (see ``build_langchain``).
            model = getattr(embedder, "model", None)
            if model is not None and hasattr(model, "encode_document"):
                out = model.encode(texts, prompt="", batch_size=embedder.batch_size)
            else:
                out = embedder.encode(texts, "document")
            return np.asarray(out, np.float32).tolist()

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in embedder.embed_query(text)]

    return SameModel()


def build_langchain(paths: Sequence[Path], embedder: Any, folder: Path, config: Any) -> Any:
    from rag.ingest.chunk import chunk
    from rag.ingest.load import load_paths

    faiss_store, strategy, _ = _langchain()
    docs, _ = load_paths(paths)
    c = config.chunking
    chunks = [x for d in docs for x in chunk(d, c.chunk_size, c.chunk_overlap)]
    texts = gemma_inputs([x.text for x in chunks], "document", [x.title for x in chunks])
    metadatas = [{"doc_id": x.doc_id, "chunk_id": x.chunk_id} for x in chunks]
    store = faiss_store.from_texts(
        texts, adapter(embedder), metadatas, distance_strategy=strategy.MAX_INNER_PRODUCT
    )
    store.save_local(str(folder))
    return store


def _ms(fn: Any, items: Sequence[Any] | np.ndarray) -> dict[str, float | None]:
    out = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return machine.percentiles(out)


def compare_build(ctx: BenchContext, name: str, paths: Sequence[Path], embedder: Any) -> dict:
    from rag.pipeline import Pipeline

    pipeline = Pipeline(with_index_dir(ctx.config, ctx.work_dir / f"baseline-{name}"), embedder)
    with machine.timer() as t:
        pipeline.build(list(paths))
    ours_s = t["s"]
    folder = ctx.work_dir / f"baseline-{name}-langchain"
    with machine.timer() as t:
        lc = build_langchain(paths, embedder, folder, ctx.config)
    lc_s = t["s"]
    questions = [q.text for q in gold_questions(ctx)]
    qvecs = [pipeline.embedder.embed_query(q) for q in questions]
    index = pipeline.index
    same = [
        [h.chunk.chunk_id for h in index.search(v, 5)]
        == [d.metadata["chunk_id"] for d in lc.similarity_search_by_vector(list(map(float, v)), 5)]
        for v in qvecs
    ]
    manifest_dir = pipeline.config.index_dir
    n = len(index)
    return {
        "corpus": name,
        "passages": n,
        "ours_build_s": round(ours_s, 3),
        "langchain_build_s": round(lc_s, 3),
        "build_ratio": round(machine.ratio(lc_s, ours_s) or 0.0, 3),
        "ours_passages_per_s": round(n / ours_s, 3),
        "langchain_passages_per_s": round(n / lc_s, 3),
        "ours_bytes": machine.folder_bytes(manifest_dir),
        "langchain_bytes": machine.folder_bytes(folder),
        "ours_query_vector_ms": _ms(lambda v: index.search(v, 5), qvecs),
        "langchain_query_vector_ms": _ms(
            lambda v: lc.similarity_search_with_score_by_vector(list(map(float, v)), k=5), qvecs
        ),
        "ours_query_text_ms": _ms(lambda q: pipeline.search(q, 5), questions),
        "langchain_query_text_ms": _ms(
            lambda q: lc.similarity_search_with_score(q, k=5), questions
        ),
        "same_top5": round(float(np.mean(same)), 3) if same else None,
    }


def compare_search(ctx: BenchContext, n: int) -> dict[str, Any]:
    """Query latency with the vector given: LangChain's exact store vs the pipeline's index."""
    from bench.corpus import generate_passages, seed_sentences
    from bench.vectors import SyntheticSpace
    from rag.index import ann, store
    from rag.pipeline import Pipeline
    from rag.types import Chunk

    faiss_store, strategy, _ = _langchain()
    space = SyntheticSpace(n, ctx.config.embedding.dimension, seed=ctx.seed)
    vectors = space.rows(0, n)
    texts = generate_passages(seed_sentences([ctx.seeds_dir]), n, seed=ctx.seed)
    queries = space.queries(ctx.search_queries)
    with machine.timer() as t:
        lc = faiss_store.from_embeddings(
            list(zip(texts, vectors, strict=True)), adapter(None),  # rows, not lists: memory
            distance_strategy=strategy.MAX_INNER_PRODUCT,
        )  # fmt: skip
    lc_build = t["s"]
    kind = ann.choose_kind(n)
    with machine.timer() as t:
        chunks = [Chunk(f"{i:09d}:0", "gen", "", x, 0, len(x)) for i, x in enumerate(texts)]
        data = store.IndexData(
            Pipeline(ctx.config).settings, {}, chunks, ann.build(vectors, kind), kind
        )
    ours_build = t["s"]
    del vectors
    ours = _ms(lambda v: data.search(v, 5), queries)
    theirs = _ms(lambda v: lc.similarity_search_with_score_by_vector(v.tolist(), k=5), queries)
    return {
        "n": n, "vectors": "synthetic", "ours_kind": kind,
        "ours_build_s": round(ours_build, 2), "langchain_build_s": round(lc_build, 2),
        "ours_query_vector_ms": ours, "langchain_query_vector_ms": theirs,
        "speedup_p50": None if None in (ours["p50"], theirs["p50"])
        else round(theirs["p50"] / ours["p50"], 2),  # type: ignore[operator]
    }  # fmt: skip


def run(ctx: BenchContext, embedder: Any = None) -> dict[str, Any]:
    from bench.corpus import generate_articles, seed_sentences, write_corpus
    from rag.embed import make_embedder

    embedder = embedder or make_embedder(ctx.config)
    embedder.embed_query("warm-up")
    articles = generate_articles(seed_sentences([ctx.seeds_dir]), ctx.build_articles, ctx.seed)
    folder = ctx.work_dir / "generated-baseline"
    write_corpus(folder, articles)
    corpora: list[tuple[str, list[Path]]] = [(f"generated-{len(articles)}", [folder])]
    if not ctx.quick:
        corpora.insert(0, ("seeds", [ctx.seeds_dir]))
    return {
        "builds": [compare_build(ctx, name, paths, embedder) for name, paths in corpora],
        "search": [compare_search(ctx, n) for n in ctx.sizes if n <= LANGCHAIN_MAX],
        "peak_rss_mb": machine.peak_rss_mb(),
    }


# -- the report ------------------------------------------------------------------
def render(b: Result) -> list[str]:
    rows = [
        [x["corpus"], x["passages"], x["ours_build_s"], x["langchain_build_s"], x["build_ratio"],
         get(x, "ours_query_vector_ms", "p50"), get(x, "langchain_query_vector_ms", "p50"),
         get(x, "ours_query_text_ms", "p50"), get(x, "langchain_query_text_ms", "p50"),
         size(x["ours_bytes"]), size(x["langchain_bytes"]), x["same_top5"]]
        for x in b.get("builds", [])
    ]  # fmt: skip
    out = table(["corpus", "passages", "ours build s", "LangChain build s", "LangChain / ours",
                 "ours query p50 ms (vector)", "LangChain p50 ms (vector)",
                 "ours query p50 ms (text)", "LangChain p50 ms (text)", "ours on disk",
                 "LangChain on disk", "same top-5"], rows)  # fmt: skip
    search = [
        [x["n"], x["ours_kind"], x["ours_build_s"], x["langchain_build_s"],
         get(x, "ours_query_vector_ms", "p50"), get(x, "langchain_query_vector_ms", "p50"),
         x["speedup_p50"]]
        for x in b.get("search", [])
    ]  # fmt: skip
    if search:
        out += ["", "Search with synthetic vectors (vector given; LangChain's store is exact):", ""]
        out += table(["passages", "ours index", "ours build s", "LangChain build s",
                      "ours p50 ms", "LangChain p50 ms", "LangChain / ours"], search)  # fmt: skip
    return out


SECTION = Section("baseline", "Baseline: LangChain community FAISS, same model", run, render)
