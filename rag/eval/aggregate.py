"""Aggregating per-question outcomes: refusal rates, means and percentiles (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence


def refusal_rates(outcomes: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """From ``(answerable, abstained)`` pairs, reported apart as NoMIRACL does:

    ``HallucinationRate``: unanswerable questions that got an answer, over unanswerable;
    ``FalseRefusalRate``: answerable questions that got a refusal, over answerable.
    ``None`` when there is no question of that kind.
    """
    pairs = list(outcomes)
    unanswerable = [abstained for answerable, abstained in pairs if not answerable]
    answerable = [abstained for answerable, abstained in pairs if answerable]
    return {
        "HallucinationRate": (
            sum(not a for a in unanswerable) / len(unanswerable) if unanswerable else None
        ),
        "FalseRefusalRate": sum(answerable) / len(answerable) if answerable else None,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def mean_dicts(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Key-wise mean of dicts with the same keys (empty input: empty dict)."""
    if not rows:
        return {}
    return {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
