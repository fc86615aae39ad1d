"""Search: latency p50/p95 by index kind and size, recall@10 of approximate search, hybrid cost.

At every size the vectors are synthetic and clustered (``vectors``; embedding
a million passages is days of CPU here) and each query vector is given, so
the numbers are the index's alone; the query embedding is timed apart, with
the real model, as is the whole ``Pipeline.search`` on the seeds. Exact
search (``flat``) gives the ground truth; each approximate kind reports its
recall@10 against it and its speed-up. Latency is one query at a time
through ``ann.search``, as the pipeline searches. The ``flat, faiss threads``
row is the same exact search on FAISS's default OpenMP threads, which
``ann.search`` no longer uses. Hybrid (dense + BM25, fused) is timed over
generated Russian passages at the sizes where BM25 fits in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import numpy as np

from bench import machine
from bench.common import BenchContext, gold_questions, seeds_pipeline
from bench.contract import Result, Section, Target
from bench.markdown import fmt, get, size, table
from bench.vectors import SyntheticSpace

HYBRID_MAX = 100_000  # BM25 in Python over more passages than this is minutes to build
SWEEP = (1, 2, 4, 8, 16, 32, 64, 128, 256)
K = 10


def _latencies(search: Callable[[Any], Any], queries: Iterable[Any]) -> list[float]:
    """Milliseconds of ``search(q)`` for each query (a vector or a text), one at a time."""
    out = []
    for q in queries:
        started = time.perf_counter()
        search(q)
        out.append((time.perf_counter() - started) * 1000)
    return out


def recall_at_k(truth: np.ndarray, found: np.ndarray) -> float:
    """Mean share of the exact top-k found by the approximate top-k."""
    if not len(truth):
        return 0.0
    hits = [len(set(t[t >= 0]) & set(f[f >= 0])) / max(1, int((t >= 0).sum()))
            for t, f in zip(truth, found, strict=True)]  # fmt: skip
    return float(np.mean(hits))


def _approx_rows(index: Any, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    from rag.index import ann

    rows, ms = [], []
    for q in queries:
        started = time.perf_counter()
        _, r = ann.search(index, q, K)
        ms.append((time.perf_counter() - started) * 1000)
        rows.append(r)
    return np.vstack(rows), ms


def _row(kind: str, build_s: float, ms: list[float], recall: float, flat_p50: float | None,
         nbytes: int, params: str = "") -> dict[str, Any]:  # fmt: skip
    pct = machine.percentiles(ms)
    speedup = machine.ratio(flat_p50, pct["p50"])
    return {
        "kind": kind, "params": params, "build_s": round(build_s, 2), "p50_ms": pct["p50"],
        "p95_ms": pct["p95"], "recall@10": round(recall, 4),
        "speedup": None if speedup is None else round(speedup, 2), "bytes": nbytes,
    }  # fmt: skip


def _index_bytes(index: Any) -> int:
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def _nprobe_sweep(ivf: Any, queries: np.ndarray, truth: np.ndarray) -> list[dict[str, Any]]:
    """Recall@10 and latency of ``ivf`` at each nprobe of ``SWEEP`` (up to its nlist);
    its own nprobe is put back after."""
    configured, sweep = ivf.nprobe, []
    for nprobe in [p for p in SWEEP if p <= ivf.nlist]:
        ivf.nprobe = nprobe
        found, ms = _approx_rows(ivf, queries)
        pct = machine.percentiles(ms)
        sweep.append({"nprobe": nprobe, "recall@10": round(recall_at_k(truth, found), 4),
                      "p50_ms": pct["p50"], "p95_ms": pct["p95"]})  # fmt: skip
    ivf.nprobe = configured
    return sweep


def search_size(ctx: BenchContext, n: int) -> dict[str, Any]:
    import faiss

    from rag.index import ann

    d = ctx.config.embedding.dimension
    space = SyntheticSpace(n, d, seed=ctx.seed)
    queries = space.queries(ctx.search_queries)
    few = queries[: max(20, len(queries) // 4)] if n >= 1_000_000 else queries
    out: dict[str, Any] = {"n": n, "kind_chosen": ann.choose_kind(n), "rows": []}
    out["vectors"] = space.describe()

    vectors = space.rows(0, n)  # once: generating 1M rows takes a minute on 2 cores
    with machine.timer() as t:
        flat = ann.build(vectors, "flat")
    flat_build = t["s"]
    _, truth = flat.search(queries, K)  # ground truth: batched exact search
    flat_ms = _latencies(lambda q: ann.search(flat, q, K), few)
    flat_p50 = machine.percentiles(flat_ms)["p50"]
    flat_bytes = n * d * 4
    out["rows"].append(_row("flat", flat_build, flat_ms, 1.0, flat_p50, flat_bytes))
    threaded = _latencies(lambda q: flat.search(q.reshape(1, -1), K), few)
    row = _row("flat", flat_build, threaded, 1.0, flat_p50, flat_bytes,
               f"faiss threads={faiss.omp_get_max_threads()}")  # fmt: skip
    out["rows"].append(row)
    flat = None  # free its memory before the next index

    # IVF as ann builds it (k-means on an evenly spaced sample), then an nprobe sweep.
    with machine.timer() as t:
        ivf = ann.build(vectors, "ivf")
    nlist = ivf.nlist
    found, ms = _approx_rows(ivf, queries)
    out["rows"].append(_row("ivf", t["s"], ms, recall_at_k(truth, found), flat_p50,
                            _index_bytes(ivf), f"nlist={nlist} nprobe={ivf.nprobe}"))  # fmt: skip
    configured = ivf.nprobe
    out["ivf_sweep"] = sweep = _nprobe_sweep(ivf, queries, truth)
    out["rows"].append(_ivf_sq8(vectors, nlist, configured, queries, truth, flat_p50))
    enough = [s["nprobe"] for s in sweep if s["recall@10"] >= 0.95]
    out["ivf_min_nprobe_for_0.95"] = min(enough) if enough else None

    if n <= ctx.hnsw_max:
        with machine.timer() as t:
            hnsw = ann.build(vectors, "hnsw")
        found, ms = _approx_rows(hnsw, queries)
        params = f"M={ann.HNSW_M} efSearch={ann.HNSW_EF_SEARCH}"
        recall = recall_at_k(truth, found)
        out["rows"].append(_row("hnsw", t["s"], ms, recall, flat_p50, _index_bytes(hnsw), params))
        hnsw = None
    else:
        out["hnsw"] = f"not built above {ctx.hnsw_max} passages (minutes per 100k on 2 cores)"
    if n <= HYBRID_MAX:
        chosen = ivf if out["kind_chosen"] == "ivf" else ann.build(vectors, "flat")
        out["hybrid"] = hybrid_cost(ctx, space, chosen)
    del ivf, vectors
    return out


def _ivf_sq8(vectors: np.ndarray, nlist: int, nprobe: int, queries: np.ndarray,
             truth: np.ndarray, flat_p50: float | None) -> dict[str, Any]:  # fmt: skip
    """The same IVF with 8-bit scalar-quantised vectors: a quarter of the memory, lossy rows.

    Not a kind the pipeline builds (its vectors live only in the FAISS index, so a
    lossy index would lose them); measured as the next step if memory runs short.
    """
    import faiss

    from rag.index import ann

    d = vectors.shape[1]
    with machine.timer() as t:
        index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(d), d, nlist, faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT, False,
        )  # fmt: skip
        step = max(1, len(vectors) // (nlist * ann.IVF_TRAIN_PER_LIST))
        index.train(np.ascontiguousarray(vectors[::step]))
        index.add(vectors)
        index.nprobe = nprobe
    found, ms = _approx_rows(index, queries)
    return _row("ivf-sq8", t["s"], ms, recall_at_k(truth, found), flat_p50,
                _index_bytes(index), f"nlist={nlist} nprobe={nprobe} (not used)")  # fmt: skip


class _GivenVectors:
    """An embedder stand-in whose query vectors are given (the search alone is timed)."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors, self.i = vectors, 0

    def embed_query(self, text: str) -> np.ndarray:
        self.i += 1
        return np.asarray(self.vectors[(self.i - 1) % len(self.vectors)])


def hybrid_cost(ctx: BenchContext, space: SyntheticSpace, index: Any) -> dict[str, Any]:
    """Dense vs hybrid ``Retriever.search`` over generated passages (vectors given)."""
    from bench.corpus import generate_passages, seed_sentences
    from rag.index import ann, store
    from rag.pipeline import Pipeline
    from rag.retrieve.hybrid import Retriever
    from rag.types import Chunk

    n = space.n
    texts = generate_passages(seed_sentences([ctx.seeds_dir]), n, seed=ctx.seed)
    chunks = [Chunk(f"{i:09d}:0", f"gen/{i // 8:06d}.txt", "", t, 0, len(t))
              for i, t in enumerate(texts)]  # fmt: skip
    kind = ann.choose_kind(n)
    with machine.timer() as t:
        data = store.IndexData(Pipeline(ctx.config).settings, {}, chunks, index, kind)
    questions = [q.text for q in gold_questions(ctx)] or ["Байконур"]
    qvecs = space.queries(len(questions))
    out: dict[str, Any] = {"passages": n, "bm25_build_s": round(t["s"], 2)}
    for mode in ("dense", "lexical", "hybrid"):
        retriever = Retriever(_GivenVectors(qvecs), data, mode)  # type: ignore[arg-type]
        ms = _latencies(partial(_search5, retriever), questions)
        out[f"{mode}_ms"] = machine.percentiles(ms)
    dense, hybrid = out["dense_ms"]["p50"], out["hybrid_ms"]["p50"]
    out["hybrid_overhead_ms"] = None if None in (dense, hybrid) else round(hybrid - dense, 3)
    return out


def _search5(retriever: Any, query: str) -> Any:
    return retriever.search(query, 5)


def pipeline_search(ctx: BenchContext) -> dict[str, Any]:
    """The real thing on the seeds: query embedding, then ``Pipeline.search`` by mode."""
    from dataclasses import replace

    pipeline = seeds_pipeline(ctx)
    questions = [q.text for q in gold_questions(ctx)]
    with machine.timer() as t:
        pipeline.embedder.embed_query("warm-up")
    out: dict[str, Any] = {"passages": len(pipeline.index), "model_load_s": round(t["s"], 2)}
    embed_ms = _latencies(pipeline.embedder.embed_query, questions)
    out["query_embedding_ms"] = machine.percentiles(embed_ms)
    for mode in ("dense", "hybrid"):
        config = replace(pipeline.config, retrieval=replace(pipeline.config.retrieval, mode=mode))
        pipeline.config = config
        ms = _latencies(lambda q: pipeline.search(q, 5), questions)
        out[f"{mode}_search_ms"] = machine.percentiles(ms)
    return out


def run(ctx: BenchContext) -> dict[str, Any]:
    out: dict[str, Any] = {
        "vectors": SyntheticSpace(0, ctx.config.embedding.dimension, seed=ctx.seed).describe(),
        "queries": ctx.search_queries,
        "sizes": [search_size(ctx, n) for n in ctx.sizes],
        "pipeline": pipeline_search(ctx),
        "peak_rss_mb": machine.peak_rss_mb(),
    }
    return out


# -- the report ------------------------------------------------------------------
SYNTHETIC = (
    "synthetic clustered vectors (bench/vectors.py): n/200 (at least 64) overlapping topics "
    "in a 96-dim subspace of 768 dims, normalised"
)
TARGET_SEARCH_MS = 20.0
TARGET_RECALL = 0.95


def targets(s: Result) -> list[Target]:
    """p50 of the chosen index at the largest size; its recall when it is approximate."""
    out: list[Target] = []
    largest = (get(s, "sizes") or [None])[-1]
    chosen = largest and next(
        (r for r in largest["rows"] if r["kind"] == largest["kind_chosen"]), None
    )
    if not chosen:
        return out
    out.append({
        "target": f"search p50 < {TARGET_SEARCH_MS:.0f} ms at the largest size (vector given)",
        "measured": f"{fmt(chosen['p50_ms'])} ms at {fmt(largest['n'])} "
        f"({' '.join(filter(None, (chosen['kind'], chosen['params'])))})",
        "met": chosen["p50_ms"] is not None and chosen["p50_ms"] < TARGET_SEARCH_MS,
    })  # fmt: skip
    if chosen["kind"] != "flat":
        out.append({
            "target": f"approximate index recall@10 >= {TARGET_RECALL}",
            "measured": fmt(chosen["recall@10"], 3),
            "met": chosen["recall@10"] >= TARGET_RECALL,
        })  # fmt: skip
    return out


def render(s: Result) -> list[str]:
    rows = [
        [size_row["n"], r["kind"] + (" (chosen)" if r["kind"] == size_row["kind_chosen"]
                                     and not r["params"].startswith("faiss") else ""),
         r["params"], r["build_s"], r["p50_ms"], r["p95_ms"], r["recall@10"], r["speedup"],
         size(r["bytes"])]
        for size_row in s.get("sizes", []) for r in size_row["rows"]
    ]  # fmt: skip
    out = [
        f"Vectors: {SYNTHETIC}; {s.get('queries')} query vectors given, one at a time.",
        "",
        *table(["passages", "index", "params", "build s", "p50 ms", "p95 ms", "recall@10",
                "speed-up vs flat", "size"], rows),
        "",
    ]  # fmt: skip
    for size_row in s.get("sizes", []):
        sweep = ", ".join(
            f"{x['nprobe']}: {x['recall@10']:.3f} / {fmt(x['p50_ms'])} ms"
            for x in size_row.get("ivf_sweep", [])
        )
        out.append(
            f"- IVF nprobe sweep at {fmt(size_row['n'])} (recall@10 / p50): {sweep}; smallest "
            f"nprobe with recall >= 0.95: {fmt(size_row.get('ivf_min_nprobe_for_0.95'))}."
        )
    hybrid = [
        [h["passages"], h["bm25_build_s"], h["dense_ms"]["p50"], h["lexical_ms"]["p50"],
         h["hybrid_ms"]["p50"], h["hybrid_ms"]["p95"], h["hybrid_overhead_ms"]]
        for h in (x.get("hybrid") for x in s.get("sizes", [])) if h
    ]  # fmt: skip
    if hybrid:
        out += ["", "Hybrid (Retriever.search over generated passages, query vector given):", ""]
        out += table(["passages", "BM25 build s", "dense p50 ms", "lexical p50 ms",
                      "hybrid p50 ms", "hybrid p95 ms", "hybrid overhead ms"], hybrid)  # fmt: skip
    p = s.get("pipeline")
    if p:
        out += [
            "",
            f"Real model on the seeds ({p['passages']} passages): query embedding "
            f"p50 {fmt(get(p, 'query_embedding_ms', 'p50'))} ms / p95 "
            f"{fmt(get(p, 'query_embedding_ms', 'p95'))} ms; Pipeline.search (embedding "
            f"included) dense p50 {fmt(get(p, 'dense_search_ms', 'p50'))} ms, hybrid p50 "
            f"{fmt(get(p, 'hybrid_search_ms', 'p50'))} ms.",
        ]
    return out


SECTION = Section("search", "Search", run, render, targets)
