"""Archive: the gold questions over 5, 25, 200 and 1,000+ real articles (full runs only).

The scale sets are made by ``python -m bench.archive_corpus`` (Russian Wikinews
articles around the gold set's own articles; see ``bench/ARCHIVE.md``). For each set
the section builds or updates its index (``<archive>/idx-<name>``; the build is
incremental, so a second run embeds nothing) and scores the gold questions whose
supporting articles are all in the set, dense and hybrid side by side: Hit@1, Hit@5,
MRR@10, as ``rag eval --retrieval-only`` scores them. Two question groups make the
sizes comparable: **seed** (answered by the 5 seed articles, scored from 5 articles
up) and **gold** (every answerable question, from 25 up). With answers on, every
third question of the group is also answered end to end (the configured strategy and
mode): KeyFactAccuracy, hallucination and false refusal.

Targets (issue 12): at the largest set, Hit@5 within 0.02 of the smallest set that
holds the group, KeyFactAccuracy within 0.03.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import BenchContext, with_index_dir
from bench.contract import Result, Section, Target
from bench.markdown import fmt, table

MODES = ("dense", "hybrid")
GROUPS = ("seed", "gold")
RETRIEVAL_KEYS = ("Hit@1", "Hit@5", "MRR@10")
ANSWER_KEYS = ("KeyFactAccuracy", "HallucinationRate", "FalseRefusalRate")
HIT5_SLACK, KFA_SLACK = 0.02, 0.03


def scale_sets(archive: Path) -> list[tuple[str, Path]]:
    """``(name, folder)`` of each ``scale-*`` folder, smallest first (``all`` last)."""
    found = [p for p in archive.glob("scale-*") if p.is_dir()]

    def size(p: Path) -> float:
        tail = p.name.removeprefix("scale-")
        return int(tail) if re.fullmatch(r"\d+", tail) else float("inf")

    return [(p.name.removeprefix("scale-"), p) for p in sorted(found, key=size)]


def group_of(question: Any, seed_ids: set[str]) -> str:
    """``seed`` when every supporting article is a seed, else ``gold``."""
    docs = {s.doc_id for s in question.supports}
    return "seed" if docs and docs <= seed_ids else "gold"


def in_groups(question: Any, seed_ids: set[str], available: set[str]) -> tuple[str, ...]:
    """The groups ``question`` is scored in over an index holding ``available`` articles:
    ``gold`` always (when its articles are there), ``seed`` too for a seed question."""
    docs = {s.doc_id for s in question.supports}
    if not docs or not docs <= available:
        return ()
    return ("seed", "gold") if group_of(question, seed_ids) == "seed" else ("gold",)


def _metrics(records: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    from rag.eval.runner import aggregate

    if not records:
        return {}
    got = aggregate(records)
    return {"n": len(records), **{k: got.get(k) for k in keys}}


def run(ctx: BenchContext, pipeline: Any = None) -> dict[str, Any]:
    """Every scale set in turn; ``pipeline`` (default: the real models) supplies the
    models, its config is replaced per set."""
    from rag.eval.runner import EvalOptions, load_gold, run_eval
    from rag.pipeline import Pipeline

    sets = scale_sets(ctx.archive_dir)
    if not sets:
        return {"skipped": f"no scale sets in {ctx.archive_dir}: run "
                           "`python -m bench.archive_corpus` first"}  # fmt: skip
    seed_ids = {p.name for p in ctx.seeds_dir.glob("*.txt")}
    gold = load_gold(ctx.gold_path)
    runs = ctx.work_dir / "archive-runs"
    rows: list[dict[str, Any]] = []
    for name, folder in sets:
        config = with_index_dir(ctx.config, ctx.archive_dir / f"idx-{name}")
        pipeline = Pipeline(config) if pipeline is None else pipeline.with_config(config)
        started = time.perf_counter()
        built = pipeline.build([folder])
        build_s = time.perf_counter() - started
        available = set(pipeline.index.documents) | set(pipeline.index.copies)
        groups = {q.id: in_groups(q, seed_ids, available) for q in gold if q.answerable}
        ids = tuple(qid for qid, g in groups.items() if g)
        row: dict[str, Any] = {
            "set": name, "articles": built.n_documents, "passages": len(pipeline.index.chunks),
            "embedded_now": built.embedded, "build_s": round(build_s, 1),
            "duplicates_folded": len(pipeline.index.copies),
            "retrieval": {}, "answers": {},
        }  # fmt: skip
        for mode in MODES:
            variant = dataclasses.replace(
                config, retrieval=dataclasses.replace(config.retrieval, mode=mode)
            )
            pipeline = pipeline.with_config(variant)
            result = run_eval(pipeline, EvalOptions(retrieval_only=True, ids=ids,
                                                    out_dir=runs, progress=False))  # fmt: skip
            records = result.report["questions"]
            row["retrieval"][mode] = {
                g: _metrics([r for r in records if g in groups[r["id"]]], RETRIEVAL_KEYS)
                for g in GROUPS
            }
        if ctx.archive_answer_every:
            pipeline = pipeline.with_config(config)
            row["answers"] = _answers(pipeline, gold, seed_ids, available, ctx, runs)
        rows.append(row)
    return {"archive": str(ctx.archive_dir), "sets": rows, "targets": scale_targets(rows)}


def _answers(pipeline: Any, gold: Sequence[Any], seed_ids: set[str], available: set[str],
             ctx: BenchContext, runs: Path) -> dict[str, Any]:  # fmt: skip
    """Every ``archive_answer_every``-th gold question, answered end to end. Unanswerable
    ones (no supporting article) count in ``gold`` once the set holds more than the seeds:
    their near-miss articles are in the eval corpus."""
    from rag.eval.runner import EvalOptions, run_eval

    beyond_seeds = bool(available - seed_ids)
    groups = {
        q.id: in_groups(q, seed_ids, available) if q.answerable
        else (("gold",) if beyond_seeds else ())
        for q in list(gold)[:: ctx.archive_answer_every]
    }  # fmt: skip
    ids = tuple(qid for qid, g in groups.items() if g)
    if not ids:
        return {}
    result = run_eval(pipeline, EvalOptions(ids=ids, out_dir=runs, progress=False))
    records = result.report["questions"]
    return {g: _metrics([r for r in records if g in groups[r["id"]]], ANSWER_KEYS)
            for g in GROUPS}  # fmt: skip


def scale_targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hit@5 (dense and hybrid) and KeyFactAccuracy at the largest set against the
    smallest set that holds all of each group's questions (the same questions)."""
    out: list[dict[str, Any]] = []
    if len(rows) < 2:
        return out
    last = rows[-1]
    for group in GROUPS:
        # the smallest set that holds every question of the group the largest one holds
        n = last["retrieval"]["dense"][group].get("n")
        first = next((r for r in rows if n and r["retrieval"]["dense"][group].get("n") == n),
                     None)  # fmt: skip
        if first is None or first is last:
            continue
        for mode in MODES:
            a = first["retrieval"][mode][group].get("Hit@5")
            b = last["retrieval"][mode][group].get("Hit@5")
            if a is not None and b is not None:
                out.append({"group": group, "mode": mode, "metric": "Hit@5",
                            "small": first["set"], "large": last["set"], "at_small": a,
                            "at_large": b, "met": b >= a - HIT5_SLACK})  # fmt: skip
        a = (first["answers"].get(group) or {}).get("KeyFactAccuracy")
        b = (last["answers"].get(group) or {}).get("KeyFactAccuracy")
        if a is not None and b is not None:
            out.append({"group": group, "mode": "configured", "metric": "KeyFactAccuracy",
                        "small": first["set"], "large": last["set"], "at_small": a,
                        "at_large": b, "met": b >= a - KFA_SLACK})  # fmt: skip
    return out


def render(s: Result) -> list[str]:
    """The section's Markdown: one row per set and mode, each group's numbers."""
    if "skipped" in s:
        return [f"Not run: {s['skipped']}"]
    header = ["set", "articles", "passages", "mode"]
    header += [f"{g} {k}" for g in GROUPS for k in ("n", *RETRIEVAL_KEYS)]
    header += [f"{g} KFA (n)" for g in GROUPS]
    body = []
    for r in s.get("sets", []):
        for mode in MODES:
            got = r["retrieval"].get(mode, {})
            cells = [r["set"], r["articles"], r["passages"], mode]
            for g in GROUPS:
                m = got.get(g) or {}
                cells += [m.get("n", "–"), *(fmt(m.get(k), 3) for k in RETRIEVAL_KEYS)]
            for g in GROUPS:
                a = r["answers"].get(g) or {}
                kfa = a.get("KeyFactAccuracy")
                cells.append(f"{fmt(kfa, 3)} ({a.get('n')})" if mode == MODES[0] and a else "–")
            body.append(cells)
    out = table(header, body)
    out += ["", "Build per set (incremental: only new articles are embedded):", ""]
    out += table(["set", "embedded now", "build s", "duplicates folded"],
                 [[r["set"], r["embedded_now"], r["build_s"], fmt(r["duplicates_folded"])]
                  for r in s.get("sets", [])])  # fmt: skip
    if s.get("targets"):
        out += ["", *table(["group", "mode", "metric", "small set", "at small", "large set",
                            "at large", "met"],
                           [[t["group"], t["mode"], t["metric"], t["small"], fmt(t["at_small"], 3),
                             t["large"], fmt(t["at_large"], 3), t["met"]]
                            for t in s["targets"]])]  # fmt: skip
    return out


def targets(s: Result) -> list[Target]:
    """The scale targets ``run`` compared, as the report's target rows."""
    return [{
        "target": f"archive: {t['metric']} of the {t['group']} questions ({t['mode']}) at "
        f"{t['large']} articles within {HIT5_SLACK if t['metric'] == 'Hit@5' else KFA_SLACK} "
        f"of {t['small']}",
        "measured": f"{fmt(t['at_large'], 3)} against {fmt(t['at_small'], 3)}",
        "met": t["met"],
    } for t in s.get("targets") or []]  # fmt: skip


SECTION = Section(
    "archive", "Archive: the gold questions over 5 to 1,000+ articles", run, render, targets
)
