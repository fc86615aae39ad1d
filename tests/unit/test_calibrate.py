"""Calibration of the select strategy's score from an eval report (synthetic records)."""

from __future__ import annotations

import json
from pathlib import Path

from rag.eval.calibrate import calibrate_run, choose, curve
from rag.generate.select import FEATURES, load_calibration


def _cand(text: str, judge: float) -> dict[str, object]:
    f = {k: 0.5 for k in FEATURES}
    f["judge"] = judge
    return {"n": 1, "text": text, "chosen": False, "features": f}


def _report() -> dict[str, object]:
    questions = []
    for i in range(40):
        answerable = i % 4 != 0
        cands = [_cand("Стороны обсудили планы.", 0.1 + 0.01 * (i % 5))]
        if answerable:
            cands.append(_cand(f"На орбите находится {100 + i} спутников.", 0.8 - 0.01 * (i % 7)))
        questions.append({
            "id": f"q{i:03d}", "answerable": answerable, "text": "Сколько спутников на орбите?",
            "key_facts": [[str(100 + i)]] if answerable else [], "supports": [],
            "answer": {"candidates": cands, "refusal": None},
        })  # fmt: skip
    return {"question_set": {"sha256": "x"}, "questions": questions}


def test_calibration_separates_answering_sentences_and_picks_a_safe_threshold(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text(json.dumps(_report()), "utf-8")
    out, md = tmp_path / "calibration.json", tmp_path / "calibration.md"
    lines = calibrate_run(run, out, md)
    data = json.loads(out.read_text("utf-8"))
    assert data["weights"]["judge"] > 0  # a higher vote means more likely the answer
    assert data["from"]["questions"] == 40 and data["from"]["positives"] == 30
    weights, threshold = load_calibration(out)
    assert threshold == data["threshold"] and set(weights) == {"bias", *FEATURES}
    assert "(chosen)" in md.read_text("utf-8") and any("threshold" in x for x in lines)


def test_threshold_choice_keeps_hallucination_low() -> None:
    outcomes = [(True, 0.9, 1), (True, 0.6, 1), (True, 0.3, 0), (False, 0.4, 0), (False, 0.2, 0)]
    table = curve(outcomes)
    t = choose(table)
    row = next(r for r in table if r["threshold"] == t)
    assert row["hallucination"] == 0.0 and t > 0.4 and row["false_refusal"] < 0.5
