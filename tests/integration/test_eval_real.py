"""`rag eval` on the real models: retrieval against the committed baseline, and a
small end-to-end subset with the real LLM (its answers are not required to be right),
both on the index `rag eval` uses: seeds/ + eval/corpus/."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.eval.cli import parse_ids
from rag.eval.compare import compare, load_baseline
from rag.eval.runner import EVAL_CORPUS, EvalOptions, run_eval
from rag.pipeline import Pipeline

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "eval" / "baseline-retrieval.json"
SUBSET = ROOT / "eval" / "subset-ci.txt"


def test_retrieval_only_eval_has_not_regressed(eval_pipeline: Pipeline, tmp_path: Path) -> None:
    options = EvalOptions(retrieval_only=True, out_dir=tmp_path, progress=False)
    result = run_eval(eval_pipeline, options)
    articles = [p for folder in EVAL_CORPUS for p in folder.glob("*.txt")]
    assert result.report["index"]["n_documents"] == len(articles)
    regressions = compare(result.report, load_baseline(BASELINE))
    assert regressions == [], "\n".join(regressions)


def test_ci_subset_end_to_end_with_the_real_llm(eval_pipeline: Pipeline, tmp_path: Path) -> None:
    ids = parse_ids(f"@{SUBSET}")
    result = run_eval(eval_pipeline, EvalOptions(ids=ids, out_dir=tmp_path, progress=False))
    report = result.report
    records = report["questions"]
    assert [r["id"] for r in records] == sorted(ids)
    assert {r["type"] for r in records} >= {"single", "unanswerable"}
    assert "en" in report["by_lang"]
    for r in records:
        answer = r["answer"]
        assert answer is not None and answer["text"].strip(), r["id"]
        assert answer["timings_ms"]["total"] > 0
        if not answer["abstained"]:
            assert answer["tokens_generated"] > 0
    for name, value in report["metrics"].items():
        if not name.startswith(("Latency.", "Tokens.")):
            assert value is None or 0.0 <= value <= 1.0, name
    for name in ("KeyFactAccuracy", "TokenF1", "HallucinationRate", "FalseRefusalRate", "Hit@5"):
        assert report["metrics"][name] is not None, name
    assert (result.run_dir / "report.md").read_text("utf-8").count("\n## q") == len(ids)
