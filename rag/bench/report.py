"""The bench's results as Markdown tables (printed and written) and JSON, with the targets.

Every function here is pure (a report dict in, lines out), so the formatting
is tested without running anything. A section that failed shows its error
in place of its table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.bench.resume import resume_lines

SCHEMA = 1
TARGET_OVERHEAD = 0.10
TARGET_SEARCH_MS = 20.0
TARGET_RECALL = 0.95
TARGET_TTFT_MS = 4000.0
TARGET_API_MS = 20.0
SYNTHETIC = (
    "synthetic clustered vectors (rag/bench/vectors.py): n/200 (at least 64) overlapping topics "
    "in a 96-dim subspace of 768 dims, normalised"
)


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f}%"


def size(nbytes: int | None) -> str:
    if nbytes is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024  # type: ignore[assignment]
    return f"{nbytes} B"


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return out


def _get(d: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(d, dict):
            d = d.get(key)
        elif isinstance(d, list) and isinstance(key, int) and -len(d) <= key < len(d):
            d = d[key]
        else:
            return None
    return d


# -- targets ---------------------------------------------------------------------
def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 6 with what this run measured and whether it is met."""
    s = report.get("sections", {})
    out = []
    corpora = _get(s, "build", "corpora") or []
    if corpora:
        worst = max(corpora, key=lambda c: c["overhead"])
        share = max((non_model_share(c) or 0.0) for c in corpora)
        out.append({
            "target": f"index build overhead over raw encoding <= {TARGET_OVERHEAD:.0%}",
            "measured": f"{percent(worst['overhead'])} ({worst['corpus']}, worst corpus; raw "
            f"runs differ by {percent(raw_spread(worst)).lstrip('+')}); non-model stages at "
            f"most {percent(share).lstrip('+')} of the build",
            "met": worst["overhead"] <= TARGET_OVERHEAD and share <= TARGET_OVERHEAD,
        })  # fmt: skip
    for c in corpora:
        if str(c["corpus"]).startswith("archive-"):  # issue 12: real news, >= 95% of raw
            ratio = c["pipeline_passages_per_s"] / c["raw_passages_per_s"]
            out.append({
                "target": "build throughput on archive articles >= 95% of the raw encoder",
                "measured": f"{ratio:.1%} ({c['corpus']}, {c['passages']} passages; raw runs "
                f"differ by {percent(raw_spread(c)).lstrip('+')})",
                "met": ratio >= 0.95,
            })  # fmt: skip
    largest = (_get(s, "search", "sizes") or [None])[-1]
    if largest:
        chosen = next((r for r in largest["rows"] if r["kind"] == largest["kind_chosen"]), None)
        if chosen:
            out.append({
                "target": f"search p50 < {TARGET_SEARCH_MS:.0f} ms at the largest size "
                "(vector given)",
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
    ttft = _get(s, "answer", "ttft_ms", "p50")
    if ttft is not None:
        out.append({
            "target": f"rag ask time to first token, median < {TARGET_TTFT_MS / 1000:.0f} s",
            "measured": f"{ttft / 1000:.2f} s over {_get(s, 'answer', 'questions')} questions",
            "met": ttft < TARGET_TTFT_MS,
        })  # fmt: skip
    add = _get(s, "build", "incremental_add") or {}
    if "remove_s" in add:  # issue 12: segments
        out.append({
            "target": "add one article to a 100k-passage index <= 3 s (embedding included)",
            "measured": f"{fmt(add['add_s'])} s at {fmt(add['passages'])} passages "
            f"(rewrite baseline {fmt(add['rewrite_baseline_s'])} s)",
            "met": add["add_s"] <= 3.0 and add["passages"] >= 100_000,
        })  # fmt: skip
        out.append({"target": "remove one article <= 1 s", "measured": f"{fmt(add['remove_s'])} s",
                     "met": add["remove_s"] <= 1.0})  # fmt: skip
    resumed = s.get("resume") or {}
    if "kills" in resumed:
        out.append({
            "target": "a killed build resumes: nothing checkpointed re-embedded, final index "
            "identical",
            "measured": f"{resumed['kills']} kills, {resumed['reembedded_after_checkpoint']} "
            f"re-embedded, identical: {resumed['identical_to_uninterrupted']}",
            "met": resumed["reembedded_after_checkpoint"] == 0
            and resumed["identical_to_uninterrupted"],
        })  # fmt: skip
    api = _get(s, "api", "overhead", "overhead_p50_ms")
    if api is not None:
        out.append({
            "target": f"API overhead over the pipeline, p50 <= {TARGET_API_MS:.0f} ms",
            "measured": f"{fmt(api)} ms non-streaming, "
            f"{fmt(_get(s, 'api', 'overhead', 'stream_overhead_p50_ms'))} ms streaming "
            f"({_get(s, 'api', 'overhead', 'requests')} requests); real model: first token "
            f"{fmt(_get(s, 'api', 'real', 'first_token_delta_p50_ms'))} ms later",
            "met": api <= TARGET_API_MS,
        })  # fmt: skip
    for t in _get(s, "archive", "targets") or []:
        out.append({
            "target": f"archive: {t['metric']} of the {t['group']} questions ({t['mode']}) at "
            f"{t['large']} articles within {0.02 if t['metric'] == 'Hit@5' else 0.03} of "
            f"{t['small']}",
            "measured": f"{fmt(t['at_large'], 3)} against {fmt(t['at_small'], 3)}",
            "met": t["met"],
        })  # fmt: skip
    reloaded = _get(s, "answer", "models_reloaded")
    if reloaded is not None:
        out.append({
            "target": "models load once per process",
            "measured": "reloaded" if reloaded else "no reload across the questions",
            "met": not reloaded,
        })  # fmt: skip
    return out


# -- sections --------------------------------------------------------------------
def non_model_share(corpus: dict[str, Any]) -> float | None:
    """Share of the build spent outside the model (read, clean, chunk, index, write)."""
    stages = corpus.get("stages_s") or {}
    parts = [stages.get(k) for k in ("load_clean", "chunk", "index_save")]
    if None in parts or not corpus.get("pipeline_build_s"):
        return None
    return sum(parts) / corpus["pipeline_build_s"]  # type: ignore[arg-type]


def raw_spread(corpus: dict[str, Any]) -> float | None:
    """How much the raw runs differ (max/min - 1): the noise the overhead is read against."""
    raw = corpus.get("raw_encode_s") or []
    return max(raw) / min(raw) - 1 if len(raw) > 1 and min(raw) > 0 else None


def build_lines(b: dict[str, Any]) -> list[str]:
    rows = [
        [c["corpus"], c["passages"], c["raw_passages_per_s"], c["pipeline_passages_per_s"],
         percent(c["overhead"]), percent(raw_spread(c)).lstrip("+"),
         percent(non_model_share(c)).lstrip("+"), c["stages_s"].get("load_clean"),
         c["stages_s"].get("chunk"), c["stages_s"].get("index_save"), c["index_kind"],
         size(c["index_bytes"]), c["peak_rss_mb"]]
        for c in b.get("corpora", [])
    ]  # fmt: skip
    out = [
        f"Model {b.get('embedder')} (on {b.get('embedder_device', 'cpu')}) loaded in "
        f"{fmt(b.get('model_load_s'))} s "
        f"(RSS {fmt(b.get('rss_after_load_mb'))} MB after load).",
        "",
        *table(["corpus", "passages", "raw encode p/s", "pipeline p/s", "overhead",
                "raw runs differ by", "non-model share", "load+clean s", "chunk s",
                "index+save s", "index", "size on disk", "peak RSS MB"], rows),
    ]  # fmt: skip
    a = b.get("incremental_add")
    if a:
        out += [
            "",
            f"Incremental add: one article ({a['article_passages']} passages) added to an index "
            f"of {fmt(a['passages'])} passages ({a['kind']}; {a['vectors']}) in "
            f"**{fmt(a['add_s'])} s**, of which embedding {fmt(a['add_embed_s'])} s; "
            f"passages embedded {a['passages_embedded']}, others re-embedded "
            f"{a['reembedded_others']}. Loading that index takes {fmt(a['index_load_s'])} s; "
            f"building it took FAISS {fmt(a['faiss_build_s'])} s, BM25 {fmt(a['bm25_build_s'])} s,"
            f" writing {fmt(a['save_s'])} s; {size(a['index_bytes'])} on disk.",
        ]
        if "remove_s" in a:
            out += [
                "",
                f"Segments: the add wrote one segment; the baseline, rewriting the whole index "
                f"with the article (the design before segments), takes "
                f"{fmt(a['rewrite_baseline_s'])} s (add {fmt(a.get('add_speedup_vs_rewrite'))}x "
                f"faster). Removing the article: **{fmt(a['remove_s'])} s** (tombstones in the "
                f"manifest); compacting {a['segments_before_compact']} segments into one: "
                f"{fmt(a['compact_s'])} s.",
            ]
    return out


def embed_lines(e: dict[str, Any]) -> list[str]:
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


def search_lines(s: dict[str, Any]) -> list[str]:
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
            f"p50 {fmt(_get(p, 'query_embedding_ms', 'p50'))} ms / p95 "
            f"{fmt(_get(p, 'query_embedding_ms', 'p95'))} ms; Pipeline.search (embedding "
            f"included) dense p50 {fmt(_get(p, 'dense_search_ms', 'p50'))} ms, hybrid p50 "
            f"{fmt(_get(p, 'hybrid_search_ms', 'p50'))} ms.",
        ]
    return out


def answer_lines(a: dict[str, Any]) -> list[str]:
    cold = a.get("cold", {})
    row = [
        a.get("questions"), _get(a, "ttft_ms", "p50"), _get(a, "ttft_ms", "p95"),
        _get(a, "total_ms", "p50"), _get(a, "total_ms", "p95"), a.get("prompt_tokens_mean"),
        a.get("prompt_tokens_max"), a.get("prefix_tokens"), a.get("generated_tokens_mean"),
        cold.get("ttft_ms"),
    ]  # fmt: skip
    return [
        *table(["questions", "TTFT p50 ms", "TTFT p95 ms", "total p50 ms", "total p95 ms",
                "prompt tokens mean", "prompt tokens max", "cached prefix tokens",
                "generated tokens mean", "warm-up question TTFT ms"], [row]),
        "",
        f"Loads: embedder {fmt(a.get('embedder_load_s'))} s, LLM {fmt(a.get('llm_load_s'))} s, "
        f"prefix prefill {fmt(a.get('prefix_prefill_s'))} s; models reloaded during the "
        f"questions: {fmt(a.get('models_reloaded'))}.",
    ]  # fmt: skip


def api_lines(a: dict[str, Any]) -> list[str]:
    o, r = a.get("overhead", {}), a.get("real", {})
    rows = [
        ["direct (events in-process)", _get(o, "direct_ms", "p50"), _get(o, "direct_ms", "p95")],
        ["POST /v1/chat/completions", _get(o, "api_ms", "p50"), _get(o, "api_ms", "p95")],
        ["same, stream: true", _get(o, "api_stream_ms", "p50"), _get(o, "api_stream_ms", "p95")],
    ]
    real = [
        [r.get("questions"), _get(r, "direct_first_token_ms", "p50"),
         _get(r, "api_first_byte_ms", "p50"), _get(r, "api_first_token_ms", "p50"),
         r.get("first_token_delta_p50_ms"), _get(r, "direct_total_ms", "p50"),
         _get(r, "api_total_ms", "p50"), r.get("total_delta_p50_ms")],
    ]  # fmt: skip
    return [
        f"HTTP stack alone: a stand-in replays a real answer's events ({o.get('tokens_per_answer')}"
        f" tokens) at once; {o.get('requests')} requests, uvicorn on 127.0.0.1 in this process, "
        "one keep-alive httpx client.",
        "",
        *table(["", "p50 ms", "p95 ms"], rows),
        "",
        f"Overhead p50: {fmt(o.get('overhead_p50_ms'))} ms non-streaming, "
        f"{fmt(o.get('stream_overhead_p50_ms'))} ms streaming.",
        "",
        "Real model, the same gold questions through `Pipeline.stream` and through the API "
        "stream (first byte: the role chunk, sent after retrieval):",
        "",
        *table(["questions", "pipeline first token p50 ms", "API first byte p50 ms",
                "API first token p50 ms", "first token later by p50 ms",
                "pipeline total p50 ms", "API total p50 ms", "total later by p50 ms"], real),
    ]  # fmt: skip


def baseline_lines(b: dict[str, Any]) -> list[str]:
    rows = [
        [x["corpus"], x["passages"], x["ours_build_s"], x["langchain_build_s"], x["build_ratio"],
         _get(x, "ours_query_vector_ms", "p50"), _get(x, "langchain_query_vector_ms", "p50"),
         _get(x, "ours_query_text_ms", "p50"), _get(x, "langchain_query_text_ms", "p50"),
         size(x["ours_bytes"]), size(x["langchain_bytes"]), x["same_top5"]]
        for x in b.get("builds", [])
    ]  # fmt: skip
    out = table(["corpus", "passages", "ours build s", "LangChain build s", "LangChain / ours",
                 "ours query p50 ms (vector)", "LangChain p50 ms (vector)",
                 "ours query p50 ms (text)", "LangChain p50 ms (text)", "ours on disk",
                 "LangChain on disk", "same top-5"], rows)  # fmt: skip
    search = [
        [x["n"], x["ours_kind"], x["ours_build_s"], x["langchain_build_s"],
         _get(x, "ours_query_vector_ms", "p50"), _get(x, "langchain_query_vector_ms", "p50"),
         x["speedup_p50"]]
        for x in b.get("search", [])
    ]  # fmt: skip
    if search:
        out += ["", "Search with synthetic vectors (vector given; LangChain's store is exact):", ""]
        out += table(["passages", "ours index", "ours build s", "LangChain build s",
                      "ours p50 ms", "LangChain p50 ms", "LangChain / ours"], search)  # fmt: skip
    return out


def threads_lines(t: dict[str, Any]) -> list[str]:
    rows = []
    for r in t.get("rows", []):
        if "error" in r:
            rows.append([r["setting"], "–", "–", "–", "–", "–", f"not run: {r['error']}"])
            continue
        rows.append([
            r["setting"], r["threads"], r["passages_per_s"], _get(r, "query_ms", "p50"),
            r["prompt_tokens_per_s"], r.get("generation_tokens_per_s"), "",
        ])  # fmt: skip
    return table(["setting", "threads", "embed passages/s", "query embedding ms p50",
                  "LLM prompt tokens/s", "LLM generation tokens/s", "note"], rows)  # fmt: skip


def scale_lines(s: dict[str, Any]) -> list[str]:
    if "skipped" in s:
        return [f"Not run: {s['skipped']}"]
    build = [[r["engine"], r["actors"] or "–", r["articles"], r["passages"], r["seconds"],
              r["passages_per_s"], percent(r.get("overhead")) if "overhead" in r else "–",
              r.get("overhead_s_per_article", "–")] for r in s.get("build", [])]  # fmt: skip
    answer = [[a["replicas"], a["clients"], a["questions"], a["questions_per_min"],
               _get(a, "latency_ms", "p50"), _get(a, "latency_ms", "p95"), a["replicas_seen"],
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


def _archive_lines(s: dict[str, Any]) -> list[str]:
    from rag.bench.archive import lines

    return lines(s)


SECTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], list[str]]]] = {
    "build": ("Index build", build_lines),
    "embed": ("Embedding options", embed_lines),
    "search": ("Search", search_lines),
    "answer": ("Answer (`rag ask`)", answer_lines),
    "api": ("API (`rag serve`) over the pipeline", api_lines),
    "baseline": ("Baseline: LangChain community FAISS, same model", baseline_lines),
    "resume": ("Resume: a build killed at random points", resume_lines),
    "threads": ("Threads: OpenMP waiting under load", threads_lines),
    "scale": ("Scale: the Ray engine against one process", scale_lines),
    "archive": ("Archive: the gold questions over 5 to 1,000+ articles", _archive_lines),
}


def machine_line(m: dict[str, Any]) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in m.get("libraries", {}).items())
    flags = ", ".join(m.get("cpu_flags", []))
    return (
        f"Machine: {m.get('cores')} cores ({m.get('cpu_model')}; {flags})"
        f", {fmt(m.get('memory_gb'))} GB RAM, {m.get('os')}, Python {m.get('python')}, "
        f"OMP_WAIT_POLICY {m.get('omp_wait_policy')}; load "
        f"average at start {m.get('load_average')}, at end {m.get('load_average_end')}. {libs}."
    )


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# rag bench ({report.get('mode')}), {report.get('created')}",
        "",
        f"`{report.get('command')}`, {fmt(report.get('seconds'), 0)} s.",
        "",
        machine_line(report.get("machine", {})),
    ]
    if met := targets(report):
        lines += ["", "## Targets", ""]
        lines += table(["target", "measured", "met"], [[t["target"], t["measured"], t["met"]]
                                                       for t in met])  # fmt: skip
    for name, (title, render) in SECTIONS.items():
        result = report.get("sections", {}).get(name)
        if result is None:
            continue
        lines += ["", f"## {title}", ""]
        if "error" in result:
            lines.append(f"Section failed: {result['error']}")
            continue
        lines += render(result)
        lines.append("")
        lines.append(
            f"_{fmt(result.get('seconds'), 0)} s; peak RSS {fmt(result.get('peak_rss_mb'))} MB._"
        )
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """``<out_dir>/<timestamp>[-quick].json`` and ``.md``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S") + ("-quick" if report.get("mode") == "quick" else "")
    base, n = out_dir / stem, 1
    while base.with_suffix(".json").exists():
        n += 1
        base = out_dir / f"{stem}-{n}"
    json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
    json_path.write_text(
        json.dumps(report, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8"
    )
    md_path.write_text(render_markdown(report), "utf-8")
    return json_path, md_path
