"""Threads: the default models under OpenMP's active and passive waiting, and on one thread.

torch, FAISS and llama.cpp (built with OpenMP) all run their parallel loops on
libgomp, whose threads spin while they wait for each other by default
(``OMP_WAIT_POLICY`` active). On a machine whose cores are busy with other
work a spinning thread takes the core its partner needs, and every parallel
loop waits a scheduler slice: on this shared 2-core machine that made one
query embedding 20x slower. Each setting runs in its own fresh process
(libgomp reads the variable once, when it loads): the embedder encodes a few
seed passages and queries, the LLM reads a prompt and generates.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from bench import machine
from bench.common import BenchContext, seed_chunks
from bench.contract import Result, Section
from bench.markdown import get, table

SETTINGS = (  # (label, OMP_WAIT_POLICY, threads: 0 = the configured number)
    ("active wait, configured threads", "ACTIVE", 0),
    ("passive wait, configured threads", "PASSIVE", 0),
    ("active wait, 1 thread", "ACTIVE", 1),
)

PASSAGES = 8
QUERIES = ("Сколько спутников группировки SpaceSail на орбите?", "Кто возглавил делегацию?") * 3
GENERATED = 24


def probe(ctx: BenchContext, threads: int) -> dict[str, Any]:
    """In a fresh process: embedder and LLM speed with ``threads`` (0: configured)."""
    from rag.embed import make_embedder
    from rag.generate.llama import LlamaGenerator

    config = ctx.config
    if threads:
        config = replace(config, generation=replace(config.generation, n_threads=threads))
    n = config.threads
    embedder = make_embedder(config)
    _, chunks = seed_chunks(ctx)
    chunks = chunks[:PASSAGES]
    embedder.embed_chunks(chunks[:1])
    with machine.timer() as t:
        embedder.embed_chunks(chunks)
    out: dict[str, Any] = {"threads": n, "passages_per_s": round(len(chunks) / t["s"], 3)}
    ms = []
    for q in QUERIES:
        started = time.perf_counter()
        embedder.embed_query(q)
        ms.append((time.perf_counter() - started) * 1000)
    out["query_ms"] = machine.percentiles(ms)

    g = config.generation
    llm = LlamaGenerator(config.llm_path, g.model_id, g.n_ctx, n, g.temperature).llm
    prompt = llm.tokenize(" ".join(c.text for c in chunks[:3]).encode("utf-8"))
    with machine.timer() as t:
        llm.eval(prompt)
    out["prompt_tokens"] = len(prompt)
    out["prompt_tokens_per_s"] = round(len(prompt) / t["s"], 1)
    llm.reset()
    started = time.perf_counter()
    stamps = []
    for _ in llm.create_completion(
        chunks[0].text[:300], max_tokens=GENERATED, temperature=0.0, stream=True
    ):
        stamps.append(time.perf_counter() - started)
    out["generated_tokens"] = len(stamps)
    if len(stamps) > 1:  # after the first token: generation alone
        out["generation_tokens_per_s"] = round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 1)
    return out


def _in_child(ctx: BenchContext, policy: str, threads: int) -> dict[str, Any]:
    before = os.environ.get("OMP_WAIT_POLICY")
    os.environ["OMP_WAIT_POLICY"] = policy  # the child inherits it at spawn
    try:
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            return pool.submit(probe, ctx, threads).result()
    finally:
        if before is None:
            os.environ.pop("OMP_WAIT_POLICY", None)
        else:
            os.environ["OMP_WAIT_POLICY"] = before


def run(ctx: BenchContext) -> dict[str, Any]:
    rows = []
    for label, policy, threads in SETTINGS:
        try:
            rows.append({"setting": label, "omp_wait_policy": policy,
                         **_in_child(ctx, policy, threads)})  # fmt: skip
        except Exception as exc:
            rows.append({"setting": label, "error": " ".join(str(exc).split())[:300]})
    # The children's peak (the largest of them): this process only waits for them.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"rows": rows, "load_average": machine.load_average(), "peak_rss_mb": round(peak, 1)}


# -- the report ------------------------------------------------------------------
def render(t: Result) -> list[str]:
    rows = []
    for r in t.get("rows", []):
        if "error" in r:
            rows.append([r["setting"], "–", "–", "–", "–", "–", f"not run: {r['error']}"])
            continue
        rows.append([
            r["setting"], r["threads"], r["passages_per_s"], get(r, "query_ms", "p50"),
            r["prompt_tokens_per_s"], r.get("generation_tokens_per_s"), "",
        ])  # fmt: skip
    return table(["setting", "threads", "embed passages/s", "query embedding ms p50",
                  "LLM prompt tokens/s", "LLM generation tokens/s", "note"], rows)  # fmt: skip


SECTION = Section("threads", "Threads: OpenMP waiting under load", run, render)
