"""Trade-offs from one full eval run, without running the model again.

Every answered question of a full run carries, beside the answer itself, what
the model wrote before the checks (``variants.unverified``) and the passages'
best sentences (``variants.extractive``), each scored like the answer, and the
top retrieval score. From these this module recomputes the headline metrics

- per answer *policy*: the model's draft unchecked; verified (unsupported
  sentences removed, a refusal when none is left); verified with the extractive
  fallback; extractive only;
- per refusal *threshold*: a question whose best passage scores below it is
  refused before anything is generated.

This is exact for thresholds at or above the run's own ``retrieval.min_score``
(the pipeline is deterministic: a question above the threshold gets the same
answer); run the eval with ``RAG_RETRIEVAL__MIN_SCORE=0`` to see the whole curve.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import BadInputError
from rag.eval import runner
from rag.types import AnswerKind, Refusal

Outcome = Callable[[dict[str, Any]], dict[str, Any]]
COLUMNS = (
    "KeyFactAccuracy", "KeyFactAccuracy.en", "CitationPrecision", "CitationRecall",
    "HallucinationRate", "FalseRefusalRate",
)  # fmt: skip


def _fell_back(a: dict[str, Any]) -> bool:
    """Whether the answer is the extractive fallback (``kind``; reports written before
    it existed said so in ``mode``)."""
    return AnswerKind.FALLBACK in (a.get("kind"), a.get("mode"))


def _verified(a: dict[str, Any]) -> dict[str, Any]:
    """The checked answer without the extractive fallback."""
    if _fell_back(a):
        return a["variants"]["no_fallback"]
    return a


def _fallback(a: dict[str, Any]) -> dict[str, Any]:
    """The checked answer, the passages' best sentences where no sentence survived."""
    if _fell_back(a) or a.get("refusal") != Refusal.UNVERIFIED:
        return a
    return a["variants"]["extractive"]


POLICIES: dict[str, Outcome] = {
    "generated, unchecked": lambda a: a["variants"]["unverified"],
    "generated, verified": _verified,
    "verified + extractive fallback": _fallback,
    "extractive only": lambda a: a["variants"]["extractive"],
    # a quote run: the checked draft its answer was quoted from (the free strategy's
    # answer, same generation); other runs: the answer itself
    "checked draft (free)": lambda a: a["variants"].get("drafted", a),
}
THRESHOLDS = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def load(path: Path) -> dict[str, Any]:
    """A run's report.json (or the run folder holding it), checked to be a full run."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(f"cannot read the eval report {path}: {exc}") from None
    answers = [q.get("answer") for q in report.get("questions", [])]
    if not answers or any(a is None or "variants" not in a for a in answers):
        raise BadInputError(
            f"{path} is not a full eval run with answer variants (run `rag eval` without "
            "--retrieval-only)"
        )
    return report


def _records(report: dict[str, Any], outcome: Outcome, threshold: float) -> list[dict[str, Any]]:
    out = []
    for r in report["questions"]:
        a = r["answer"]
        chosen = dict(outcome(a))
        if a["top_score"] < threshold:
            chosen = {"abstained": True, "key_facts_found": [], "key_fact_match": False,
                      "token_f1": 0.0}  # fmt: skip
        out.append({**r, "answer": {"context_has_support": a["context_has_support"], **chosen}})
    return out


def table(report: dict[str, Any], thresholds: Sequence[float] = THRESHOLDS) -> list[dict]:
    """One row per (policy, threshold) with the headline metrics."""
    rows = []
    for name, outcome in POLICIES.items():
        for t in thresholds:
            records = _records(report, outcome, t)
            metrics = runner.aggregate(records)
            en = runner.aggregate([r for r in records if r["lang"] == "en"])
            rows.append({
                "policy": name, "threshold": t,
                **{k: metrics.get(k) for k in COLUMNS if "." not in k},
                "KeyFactAccuracy.en": en.get("KeyFactAccuracy"),
                "answered": sum(not r["answer"]["abstained"] for r in records),
            })  # fmt: skip
    return rows


def render(report: dict[str, Any], rows: Sequence[dict]) -> str:
    min_score = report["config"]["retrieval"]["min_score"]
    lines = [
        f"# Trade-offs of eval run {report['created']} ({report['question_set']['n']} questions)",
        "",
        f"The run refused below retrieval score {min_score}: rows with a lower threshold "
        "are not measured."
        if min_score > 0
        else "The run refused on no retrieval score: every row is measured.",
        "",
        "| policy | threshold | answered | " + " | ".join(COLUMNS) + " |",
        "|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        if row["threshold"] < min_score:
            continue
        cells = [runner.fmt(row[k]) for k in COLUMNS]
        lines.append(
            f"| {row['policy']} | {row['threshold']:.2f} | {row['answered']} | "
            + " | ".join(cells) + " |"
        )  # fmt: skip
    return "\n".join(lines) + "\n"
