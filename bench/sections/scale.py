"""Scale: the Ray engine against one process, on this machine (needs the scale extra).

Build: seeds/ + eval/corpus/ indexed from scratch by the local build and by the Ray
engine with 1 and 2 embedding actors (all cores either way: one actor gets every CPU,
two get half each), every build cold (the model load counts, as an actor's does); the
Ray runtime's own start is timed apart. The overhead is the Ray build's extra wall
time per article over the local one.

Answer: ``rag serve --engine ray`` deployed on this machine's Ray with 1 and then 2
replicas of one thread each, and 8 concurrent clients each asking one answerable
gold question over HTTP (``/v1/ask``): questions per minute and latency.

On 2 cores neither can be faster than one process: what is measured is the overhead,
and the per-actor and per-replica rates a cluster estimate starts from.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from bench import machine
from bench.common import BenchContext, gold_questions, with_index_dir
from bench.contract import Result, Section
from bench.markdown import fmt, get, percent, table

CLIENTS = 8


def run(ctx: BenchContext) -> dict[str, Any]:
    from rag.errors import MissingExtraError
    from rag.scale import require_ray

    try:
        ray = require_ray()
    except MissingExtraError as exc:
        return {"skipped": str(exc)}
    from rag.eval.runner import EVAL_CORPUS
    from rag.pipeline import Pipeline

    paths = sorted(p for folder in EVAL_CORPUS for p in folder.glob("*.txt"))
    cpus = os.cpu_count() or 1
    started = time.perf_counter()
    local = Pipeline(with_index_dir(ctx.config, ctx.work_dir / "scale-local"))
    report = local.build(paths)
    rows = [_row("local", 0, report, time.perf_counter() - started)]
    started = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
             logging_level=logging.WARNING)  # fmt: skip
    ray_start_s = time.perf_counter() - started
    try:
        from rag.scale.ray_build import RayEngine

        for actors in (1, 2):
            s = replace(ctx.config.scale, embed_actors=actors, embed_cpus=max(1, cpus // actors))
            config = with_index_dir(replace(ctx.config, scale=s), ctx.work_dir / f"ray{actors}")
            started = time.perf_counter()
            report = Pipeline(config).build(paths, engine=RayEngine(config, ray))
            rows.append(_row("ray", actors, report, time.perf_counter() - started))
        answers = [_answers(ctx, local.config, n) for n in (1, 2)]
    finally:
        ray.shutdown()
    base = rows[0]
    for row in rows[1:]:
        row["overhead_s_per_article"] = round(
            (row["seconds"] - base["seconds"]) / max(1, row["articles"]), 3
        )
        row["overhead"] = round(row["seconds"] / base["seconds"] - 1, 3)
    return {"cpus": cpus, "ray_start_s": round(ray_start_s, 1), "build": rows, "answer": answers}


def _row(engine: str, actors: int, report: Any, seconds: float) -> dict[str, Any]:
    return {
        "engine": engine, "actors": actors, "articles": len(report.added),
        "passages": report.n_chunks, "embedded": report.embedded, "seconds": round(seconds, 1),
        "passages_per_s": round(report.n_chunks / seconds, 2),
    }  # fmt: skip


def _answers(ctx: BenchContext, config: Any, replicas: int) -> dict[str, Any]:
    import socket

    import httpx
    from ray import serve

    from rag.config import ServerConfig
    from rag.scale import ray_serve

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    s = replace(config.scale, replica_cpus=1.0)
    started = time.perf_counter()
    ray_serve.deploy(replace(config, scale=s), ServerConfig(port=port), replicas)
    deploy_s = time.perf_counter() - started
    questions = [q.text for q in gold_questions(replace(ctx, gold_limit=None))][:CLIENTS]
    url = f"http://127.0.0.1:{port}/v1/ask"

    def ask(question: str) -> tuple[float, str, bool]:
        t = time.perf_counter()
        reply = httpx.post(url, json={"question": question}, timeout=900)
        reply.raise_for_status()
        return (time.perf_counter() - t) * 1000, reply.headers["X-RAG-Replica"], True

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            done = list(pool.map(ask, questions))
        wall = time.perf_counter() - started
    finally:
        serve.shutdown()
    return {
        "replicas": replicas, "clients": CLIENTS, "questions": len(done),
        "deploy_s": round(deploy_s, 1), "seconds": round(wall, 1),
        "questions_per_min": round(len(done) / wall * 60, 2),
        "latency_ms": machine.percentiles([d[0] for d in done]),
        "replicas_seen": len({d[1] for d in done}),
    }  # fmt: skip


# -- the report ------------------------------------------------------------------
def render(s: Result) -> list[str]:
    if "skipped" in s:
        return [f"Not run: {s['skipped']}"]
    build = [[r["engine"], r["actors"] or "–", r["articles"], r["passages"], r["seconds"],
              r["passages_per_s"], percent(r.get("overhead")) if "overhead" in r else "–",
              r.get("overhead_s_per_article", "–")] for r in s.get("build", [])]  # fmt: skip
    answer = [[a["replicas"], a["clients"], a["questions"], a["questions_per_min"],
               get(a, "latency_ms", "p50"), get(a, "latency_ms", "p95"), a["replicas_seen"],
               a["deploy_s"]] for a in s.get("answer", [])]  # fmt: skip
    return [
        *table(
            [
                "engine",
                "embedding actors",
                "articles",
                "passages",
                "wall s",
                "passages/s",
                "overhead",
                "overhead s/article",
            ],
            build,
        ),  # fmt: skip
        "",
        f"Ray's own start: {fmt(s.get('ray_start_s'))} s on {s.get('cpus')} CPUs "
        "(not in the walls).",
        "",
        *table(
            [
                "replicas",
                "clients",
                "questions",
                "questions/min",
                "latency p50 ms",
                "latency p95 ms",
                "replicas that answered",
                "deploy s",
            ],
            answer,
        ),  # fmt: skip
    ]


SECTION = Section("scale", "Scale: the Ray engine against one process", run, render)
