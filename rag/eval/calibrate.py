"""Calibrate the select strategy's score on a finished eval run of it.

Each judged candidate sentence of each question is one example: its features
(the judge's vote, the vote for "none", passage score, lexical overlap, answer
type, novelty, rank) and a label: 1 when the sentence states the answer (it
holds every key fact of the question, or it lies inside / contains a gold
supporting span), 0 otherwise (every candidate of an unanswerable question is 0).

The answer-type feature is computed again from the sentence and the question
(:func:`rag.generate.answer_types.type_match`), so that the judge's votes of an
earlier run calibrate the current type rules; the other features are as recorded.

A logistic regression (scikit-learn, L2) fits the weights. Its quality is
reported out of fold (two folds split by question, so no question scores
itself), and so is the refusal curve: for each threshold on the best
candidate's calibrated score, the share of answerable questions whose chosen
sentence states the answer, the hallucination rate (unanswerable questions
answered) and the false-refusal rate. The threshold chosen has the lowest
hallucination plus false-refusal rate (see :func:`choose`). The
weights, the threshold and where they came from go to ``calibration.json``;
the curve to ``eval/experiments/calibration.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.config import PROJECT_ROOT
from rag.eval import metrics as m
from rag.generate import answer_types
from rag.generate.select import CALIBRATION, FEATURES

MAX_HALLUCINATION = 0.05
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))


def _label(text: str, key_facts: Sequence[Sequence[str]], supports: Sequence[str]) -> int:
    if key_facts and all(m.key_facts_found(text, key_facts)):
        return 1
    norm = m.normalize(text)
    return int(any((s := m.normalize(x)) and (s in norm or norm in s) for x in supports))


def examples(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per question: its candidates' features and labels."""
    rows = []
    for r in report["questions"]:
        answer = r.get("answer") or {}
        cands = answer.get("candidates")
        if not cands:
            gate = answer.get("refusal") in ("no passages", "low score", "unknown name")
            rows.append({"id": r["id"], "answerable": r["answerable"], "gated": gate, "c": []})
            continue
        supports = [s["text"] for s in r.get("supports", [])]
        facts = r.get("key_facts", [])
        kind = answer_types.question_kind(r["text"])
        rows.append({
            "id": r["id"], "answerable": r["answerable"], "gated": False,
            "c": [{"x": [answer_types.type_match(c["text"], kind) if f == "type"
                         else c["features"].get(f, 0.0) for f in FEATURES],
                   "y": _label(c["text"], facts, supports) if r["answerable"] else 0}
                  for c in cands],
        })  # fmt: skip
    return rows


def _fit(rows: Sequence[dict[str, Any]]) -> Any:
    from sklearn.linear_model import LogisticRegression  # lazy: only calibration needs it

    xs = [c["x"] for r in rows for c in r["c"]]
    ys = [c["y"] for r in rows for c in r["c"]]
    if len(set(ys)) < 2:
        raise ValueError("calibration needs both answering and non-answering sentences")
    return LogisticRegression(C=1.0, max_iter=1000).fit(xs, ys)


def _outcomes(rows: Sequence[dict[str, Any]], model: Any) -> list[tuple[bool, float, int]]:
    """(answerable, best calibrated score, its label) per question; gated: score -1."""
    out = []
    for r in rows:
        if not r["c"]:
            out.append((r["answerable"], -1.0, 0))
            continue
        probs = model.predict_proba([c["x"] for c in r["c"]])[:, 1]
        best = max(range(len(probs)), key=lambda i: probs[i])
        out.append((r["answerable"], float(probs[best]), r["c"][best]["y"]))
    return out


def curve(outcomes: Sequence[tuple[bool, float, int]]) -> list[dict[str, float]]:
    answerable = [o for o in outcomes if o[0]]
    unanswerable = [o for o in outcomes if not o[0]]
    table = []
    for t in THRESHOLDS:
        table.append({
            "threshold": t,
            "right": sum(s >= t and y for _, s, y in answerable) / max(1, len(answerable)),
            "hallucination": sum(s >= t for _, s, _ in unanswerable) / max(1, len(unanswerable)),
            "false_refusal": sum(s < t for _, s, _ in answerable) / max(1, len(answerable)),
        })  # fmt: skip
    return table


def choose(table: Sequence[dict[str, float]]) -> float:
    """The threshold with the fewest wrong refusal decisions (hallucination rate plus
    false-refusal rate, equal costs; ties: the lower hallucination). A cap on
    hallucination alone (<= 0.05) refused most answerable questions on the gold set
    (eval/experiments/calibration.md), which no user would take."""
    return min(
        table, key=lambda r: (round(r["hallucination"] + r["false_refusal"], 9),
                              r["hallucination"], r["threshold"])
    )["threshold"]  # fmt: skip


def calibrate_run(run: Path, out: Path = CALIBRATION, md: Path | None = None) -> list[str]:
    path = run / "report.json" if run.is_dir() else run
    report = json.loads(path.read_text(encoding="utf-8"))
    rows = examples(report)
    folds = [[r for i, r in enumerate(rows) if i % 2 == k] for k in (0, 1)]
    held_out = _outcomes(folds[1], _fit(folds[0])) + _outcomes(folds[0], _fit(folds[1]))
    cv = curve(held_out)
    threshold = choose(cv)
    model = _fit(rows)
    weights = {"bias": float(model.intercept_[0])}
    weights.update({f: float(w) for f, w in zip(FEATURES, model.coef_[0], strict=True)})
    n_cands = sum(len(r["c"]) for r in rows)
    provenance = {
        "run": str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path),
        "question_set": report["question_set"]["sha256"], "questions": len(rows),
        "candidates": n_cands, "positives": sum(c["y"] for r in rows for c in r["c"]),
        "fitted": datetime.now(UTC).strftime("%Y-%m-%d"),
    }  # fmt: skip
    out.write_text(json.dumps({"weights": weights, "threshold": threshold, "from": provenance},
                              indent=2, ensure_ascii=False) + "\n", encoding="utf-8")  # fmt: skip
    lines = [
        "# Calibration of the select strategy's score",
        "",
        f"Fitted by `rag eval --calibrate {provenance['run']}` on {len(rows)} questions "
        f"({n_cands} judged sentences, {provenance['positives']} of them state the answer).",
        "",
        "Weights (logistic regression over the features, all questions): "
        + ", ".join(f"{k} {v:+.2f}" for k, v in weights.items()),
        "",
        "Refusal curve, **out of fold** (two folds by question: each question is scored by "
        "weights fitted on the other half). `right`: answerable questions whose best "
        "sentence states the answer and clears the threshold.",
        "",
        "| threshold | right | hallucination | false refusal |",
        "|---|---|---|---|",
        *[f"| {r['threshold']:.2f}{' **(chosen)**' if r['threshold'] == threshold else ''} "
          f"| {r['right']:.3f} | {r['hallucination']:.3f} | {r['false_refusal']:.3f} |"
          for r in cv],
        "",
        f"Chosen threshold: {threshold} (the lowest hallucination + false-refusal rate, "
        f"out of fold; the threshold with hallucination <= {MAX_HALLUCINATION} refuses "
        "most answerable questions).",
    ]  # fmt: skip
    md = md or PROJECT_ROOT / "eval" / "experiments" / "calibration.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [*lines[-len(cv) - 4 :], f"weights: {out}", f"curve: {md}"]
