"""Compare an eval report with a committed baseline; list the metrics that regressed.

A baseline is the head of a report (``baseline_of``): its aggregate metrics,
the hash of its question set and where it came from. Two runs are only
comparable on the same question set, so a different set is an error, not a
pass; metrics missing from either side (a retrieval-only baseline has no
answer metrics) are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rag.errors import BadInputError

# How far a metric may move the wrong way before it is a regression (absolute).
# Retrieval is deterministic on one machine; its 0.02 absorbs float noise across
# CPUs and library versions and lets two of the 135 answerable gold questions
# (2/135 = 0.015) change rank, not three. Answers and citations come from a greedy
# (temperature 0) but numerically fragile LLM: 0.05. Refusal rates are lower-is-
# better and may RISE by at most 0.05. Latency and tokens are not compared
# (None): the shared 2-core machine is too noisy for them.
TOLERANCES: dict[str, float | None] = {
    "Hit@": 0.02,
    "Recall@": 0.02,
    "SupportRecall@": 0.02,
    "MRR@": 0.02,
    "NDCG@": 0.02,
    "ContextHit": 0.02,
    "KeyFactAccuracy": 0.05,
    "KeyFactRecall": 0.05,
    "TokenF1": 0.05,
    "CitationPrecision": 0.05,
    "CitationRecall": 0.05,
    "HallucinationRate": 0.05,
    "FalseRefusalRate": 0.05,
    "Latency.": None,
    "Tokens.": None,
}
LOWER_IS_BETTER = ("HallucinationRate", "FalseRefusalRate", "Latency.", "Tokens.")
_EPS = 1e-9


def tolerance_for(metric: str, tolerances: Mapping[str, float | None]) -> float | None:
    """The tolerance of the longest key that ``metric`` starts with (None: not compared)."""
    keys = [k for k in tolerances if metric.startswith(k)]
    return tolerances[max(keys, key=len)] if keys else None


def question_set(report: Mapping[str, Any]) -> str:
    try:
        return str(report["question_set"]["sha256"])
    except (KeyError, TypeError):
        raise BadInputError("not an eval report or baseline: no question_set.sha256") from None


def compare(
    report: Mapping[str, Any],
    baseline: Mapping[str, Any],
    tolerances: Mapping[str, float | None] | None = None,
) -> list[str]:
    """One line per metric that fell (or, lower-is-better, rose) by more than its tolerance.

    Raises BadInputError when the two were measured on different question sets.
    """
    tolerances = TOLERANCES if tolerances is None else tolerances
    now_set, base_set = question_set(report), question_set(baseline)
    if now_set != base_set:
        n_now = report["question_set"].get("n", "?")
        n_base = baseline["question_set"].get("n", "?")
        raise BadInputError(
            f"cannot compare: the report covers another question set ({n_now} questions, "
            f"{now_set[:12]}) than the baseline ({n_base} questions, {base_set[:12]})"
        )
    now, base = report["metrics"], baseline["metrics"]
    out = []
    for name in sorted(set(now) & set(base)):
        tol = tolerance_for(name, tolerances)
        if tol is None or now[name] is None or base[name] is None:
            continue
        lower = name.startswith(LOWER_IS_BETTER)
        worse = (now[name] - base[name]) if lower else (base[name] - now[name])
        if worse > tol + _EPS:
            direction = "rose" if lower else "fell"
            allowed = f"allowed {'rise' if lower else 'drop'} {tol:.3f}"
            out.append(
                f"{name} {direction}: baseline {base[name]:.4f}, now {now[name]:.4f} ({allowed})"
            )
    return out


def baseline_of(report: Mapping[str, Any]) -> dict[str, Any]:
    """What a committed baseline keeps of a report: the aggregates and their provenance."""
    keys = ["schema", "created", "mode", "gold", "models", "index", "config", "metrics"]
    keys += ["by_lang", "by_type"]
    out = {k: report[k] for k in keys if k in report}
    out["question_set"] = {k: v for k, v in report["question_set"].items() if k != "ids"}
    return out


def load_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"baseline file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise BadInputError(f"baseline file {path} is not readable JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise BadInputError(f"baseline file {path} has no metrics object")
    question_set(data)
    return data


def save_baseline(report: Mapping[str, Any], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(baseline_of(report), ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")
