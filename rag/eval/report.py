"""Writing an eval run: report.json and the readable report.md (pure rendering)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from rag.config import PROJECT_ROOT
from rag.errors import RagError


def index_info(index_dir: Path) -> dict[str, Any]:
    from rag.index import store

    try:
        manifest = store.read_manifest(index_dir)
    except RagError:
        return {"index_dir": rel(index_dir)}
    keys = ("corpus_sha256", "generation", "n_documents", "n_chunks", "index_type", "settings")
    return {"index_dir": rel(index_dir), **{k: manifest.get(k) for k in keys}}


def rel(path: Path) -> str:
    """A path inside the project relative to it, so committed baselines are portable."""
    path = Path(path).resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_report(report: dict[str, Any], runs_dir: Path) -> Path:
    """Write ``<runs_dir>/<timestamp>[-retrieval]/report.{json,md}``; return the folder."""
    suffix = "-retrieval" if report["mode"] == "retrieval-only" else ""
    base = time.strftime("%Y%m%d-%H%M%S") + suffix
    runs_dir.mkdir(parents=True, exist_ok=True)
    run_dir, n = runs_dir / base, 1
    while run_dir.exists():
        n += 1
        run_dir = runs_dir / f"{base}-{n}"
    run_dir.mkdir()
    text = json.dumps(report, ensure_ascii=False, indent=1)
    (run_dir / "report.json").write_text(text + "\n", encoding="utf-8")
    (run_dir / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return run_dir


# -- Markdown -------------------------------------------------------------------------
HEADLINE = (
    "Hit@1", "Hit@5", "Recall@5", "MRR@10", "NDCG@10", "SupportRecall@5", "ContextHit",
    "KeyFactAccuracy", "KeyFactRecall", "TokenF1", "CitationPrecision", "CitationRecall",
    "HallucinationRate", "FalseRefusalRate",
)  # fmt: skip


def fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def render_markdown(report: dict[str, Any]) -> str:
    """A readable report: headline table by type and language, then every question."""
    groups = [("all", report["metrics"]), *report["by_type"].items(), *report["by_lang"].items()]
    rows = [k for k in HEADLINE if any(g.get(k) is not None for _, g in groups)]
    qs = report["question_set"]
    lines = [
        f"# rag eval ({report['mode']}), {report['created']}",
        "",
        f"{qs['n']} questions (set {qs['sha256'][:12]}), {report['seconds']} s; "
        f"index corpus {str(report['index'].get('corpus_sha256'))[:12]}; "
        f"embedding {report['models']['embedding_model_id']}, "
        f"LLM {report['models']['llm_model_id']}.",
        "",
        "| metric | " + " | ".join(name for name, _ in groups) + " |",
        "|---|" + "---|" * len(groups),
        "| n | " + " | ".join(str(g.get("n", qs["n"])) for _, g in groups) + " |",
    ]
    lines += [f"| {k} | " + " | ".join(fmt(g.get(k)) for _, g in groups) + " |" for k in rows]
    cost = {k: v for k, v in report["metrics"].items() if k.startswith(("Latency", "Tokens"))}
    lines += ["", "Cost: " + ", ".join(f"{k} {v}" for k, v in cost.items()), ""]
    for r in report["questions"]:
        lines += _markdown_question(r)
    return "\n".join(lines) + "\n"


def _markdown_question(r: dict[str, Any]) -> list[str]:
    ret, a = r["retrieval"], r.get("answer")
    out = [
        f"## {r['id']} · {r['type']} · {r['lang']} · {r['verdict']}",
        "",
        f"- **Q:** {r['text']}",
    ]
    if r["answerable"]:
        top = ", ".join(f"{x['rank']}{'*' if x['relevant'] else ''}" for x in ret["ranking"][:5])
        out += [
            f"- **Gold:** {r['gold_answer']}",
            f"- **Retrieval:** first relevant at rank {ret['first_relevant_rank'] or '–'}; "
            f"{ret['n_relevant']} relevant chunk(s) in the index; top 5 (* relevant): {top}",
        ]
        if r["unfound_supports"]:
            out.append(f"- **Warning:** supports {r['unfound_supports']} are in no chunk")
    else:
        top1 = ret["ranking"][0]["score"] if ret["ranking"] else None
        out.append(f"- **Unanswerable** ({r['note'] or 'no note'}); top score {fmt(top1)}")
    if a is None:
        return [*out, ""]
    out.append(f"- **Answer:** {a['text']}" + (" *(abstained)*" if a["abstained"] else ""))
    if r["answerable"] and not a["abstained"]:
        facts = zip(r["key_facts"], a["key_facts_found"], strict=True)
        out.append(
            "- **Key facts:** " + " · ".join(f"{'✓' if ok else '✗'} {f[0]}" for f, ok in facts)
            + f"; token F1 {fmt(a['token_f1'])}"
        )  # fmt: skip
    if "citation_precision" in a:
        out.append(
            f"- **Citations:** precision {fmt(a['citation_precision'])}, recall "
            f"{fmt(a['citation_recall'])} ({a['tokens_generated']} tokens, "
            f"{a['timings_ms'].get('total', 0) / 1000:.1f} s)"
        )
        for i, sentence in enumerate(a["sentences"]):
            marks = ", ".join(
                f"[{c['n']}] {'✓' if c['correct'] else '✗'} {c['reason']} ({c['chunk_id']})"
                for c in a["citations"]
                if c["sentence"] == i
            )
            out.append(f"  - {sentence} — {marks or 'no citation'}")
    return [*out, ""]
