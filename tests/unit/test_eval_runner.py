"""The eval runner and `rag eval` on the fake pipeline and a three-question gold file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.errors import BadInputError
from rag.eval.metrics import key_fact_match
from rag.eval.runner import GOLD_PATH, EvalOptions, load_gold, run_eval, select
from rag.pipeline import Pipeline
from tests.fakes import FakeGenerator, use_extractive_fallback

GOLD = [
    {
        "_id": "g1", "text": "Сколько спутников SpaceSail на орбите?", "lang": "ru",
        "type": "single", "answerable": True, "answer": "На орбите 108 спутников.",
        "key_facts": [["108", "сто восемь"]],
        "supports": [
            {"doc_id": "a.txt", "text": "На орбите находится 108 спутников группировки SpaceSail."}
        ],
    },
    {
        "_id": "g2", "text": "How many facilities at Baikonur did the Kazakh side take?",
        "lang": "en", "type": "single", "answerable": True, "answer": "243 facilities.",
        "key_facts": [["243"]],
        "supports": [{"doc_id": "b.txt", "text": "Казахстанской стороной приняты 243 объекта."}],
    },
    {
        "_id": "g3", "text": "Сколько спутников сейчас находится на орбите?", "lang": "ru",
        "type": "unanswerable", "answerable": False, "answer": "", "key_facts": [],
        "supports": [], "note": "out-of-corpus",
    },
]  # fmt: skip
REPORT_KEYS = {
    "schema", "created", "mode", "question_set", "gold", "selection", "models", "index",
    "config", "seconds", "metrics", "by_type", "by_lang", "questions",
}  # fmt: skip


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    path = tmp_path / "queries.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in GOLD) + "\n", "utf-8")
    return path


@pytest.fixture
def built(fake_pipeline: Pipeline, corpus: Path) -> Pipeline:
    fake_pipeline.build([corpus])
    return fake_pipeline


def test_full_run_writes_both_reports_with_verdicts(
    built: Pipeline, fake_generator: FakeGenerator, gold: Path
) -> None:
    # g1 answered right, g2 refused though answerable, g3 answered though unanswerable.
    answer = "На орбите 108 спутников [1]."
    fake_generator.queue(answer, "NO_ANSWER", answer)
    result = run_eval(built, EvalOptions(gold_path=gold, progress=False))

    assert result.run_dir.parent == built.config.runs_dir
    report = json.loads((result.run_dir / "report.json").read_text("utf-8"))
    assert REPORT_KEYS <= report.keys() and report["mode"] == "full"
    assert report["question_set"]["ids"] == ["g1", "g2", "g3"]
    assert report["models"]["llm_sha256"] == built.config.generation.sha256
    assert report["index"]["corpus_sha256"]
    assert report["config"]["paths"]["runs_dir"] == str(built.config.paths.runs_dir)

    verdicts = {q["id"]: q["verdict"] for q in report["questions"]}
    assert verdicts == {"g1": "correct", "g2": "FALSE REFUSAL", "g3": "HALLUCINATION"}
    g1 = report["questions"][0]
    assert g1["retrieval"]["first_relevant_rank"] == 1 and g1["retrieval"]["n_relevant"] == 1
    assert g1["answer"]["citations"][0]["reason"] == "support-span"
    assert "scores" not in report["questions"][2]["retrieval"]  # unanswerable: not scored

    metrics = report["metrics"]
    assert metrics["Hit@1"] == 1.0 and metrics["NDCG@10"] == 1.0  # over g1 and g2 only
    assert metrics["KeyFactAccuracy"] == 0.5 and metrics["FalseRefusalRate"] == 0.5
    assert metrics["HallucinationRate"] == 1.0
    # The aggregate is the mean over the answers that were not refusals (g1, g3); g1 cites
    # the passage with its span. (The pipeline may drop g3's unsupported citations first.)
    replied = [q["answer"] for q in report["questions"] if not q["answer"]["abstained"]]
    assert replied[0]["citation_precision"] == 1.0 and len(replied) == 2
    assert metrics["CitationPrecision"] == pytest.approx(
        sum(a["citation_precision"] for a in replied) / 2
    )
    assert metrics["Latency.total.p50_ms"] is not None and metrics["Tokens.total"] > 0
    for value in metrics.values():
        assert value is None or value >= 0
    assert set(report["by_lang"]) == {"ru", "en"} and report["by_lang"]["en"]["n"] == 1
    assert report["by_type"]["unanswerable"]["HallucinationRate"] == 1.0

    md = (result.run_dir / "report.md").read_text("utf-8")
    assert "| KeyFactAccuracy |" in md and "## g2 · single · en · FALSE REFUSAL" in md
    # the default strategy's answer: the quoted source sentence
    shown = "108 спутников [1].\nНа орбите находится 108 спутников группировки SpaceSail [1]."
    assert f"**Answer:** {shown}" in md


def test_retrieval_only_never_touches_the_generator(
    built: Pipeline, fake_generator: FakeGenerator, gold: Path, tmp_path: Path
) -> None:
    options = EvalOptions(
        retrieval_only=True, gold_path=gold, out_dir=tmp_path / "o", progress=False
    )
    result = run_eval(built, options)
    assert fake_generator.seen == []
    assert result.run_dir.name.endswith("-retrieval") and result.run_dir.parent == tmp_path / "o"
    assert "KeyFactAccuracy" not in result.metrics and result.metrics["Hit@5"] == 1.0
    assert result.metrics["Latency.retrieve.p50_ms"] is not None
    assert all(q["answer"] is None for q in result.report["questions"])


def test_selection_by_ids_types_and_limit(gold: Path) -> None:
    questions = load_gold(gold)
    assert [q.id for q in select(questions, EvalOptions(ids=("g3", "g1")))] == ["g1", "g3"]
    assert [q.id for q in select(questions, EvalOptions(types=("unanswerable",)))] == ["g3"]
    assert [q.id for q in select(questions, EvalOptions(limit=2))] == ["g1", "g2"]
    with pytest.raises(BadInputError, match="unknown question ids: g9"):
        select(questions, EvalOptions(ids=("g9",)))


def test_every_gold_answer_contains_its_own_key_facts() -> None:
    """The matcher accepts the reference answers: a check of both the gold set and the matcher."""
    questions = load_gold(GOLD_PATH)
    assert len(questions) == 163
    misses = [q.id for q in questions if q.answerable and not key_fact_match(q.answer, q.key_facts)]
    assert misses == []


def test_a_malformed_gold_line_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "x"}\n', "utf-8")
    with pytest.raises(BadInputError, match="bad.jsonl:1: not a gold question"):
        load_gold(bad)


def _eval(pipe: Pipeline, *args: str, index: str = "pipeline"):
    return CliRunner().invoke(main, ["eval", "--index", index, *args], obj={"pipeline": pipe})


def test_cli_saves_a_baseline_compares_and_fails_on_a_regression(
    built: Pipeline, gold: Path, tmp_path: Path
) -> None:
    base = tmp_path / "baseline.json"
    common = ("--retrieval-only", "--gold", str(gold), "--out", str(tmp_path / "runs"))
    result = _eval(built, *common, "--save-baseline", str(base))
    assert result.exit_code == 0, result.output
    assert "Hit@1" in result.stdout and "report:" in result.stdout
    saved = json.loads(base.read_text("utf-8"))
    assert saved["metrics"]["Hit@1"] == 1.0 and "questions" not in saved

    assert _eval(built, *common, "--baseline", str(base)).exit_code == 0

    saved["metrics"]["Hit@1"] = 1.5  # a baseline better than the run can be
    base.write_text(json.dumps(saved), "utf-8")
    result = _eval(built, *common, "--baseline", str(base), "--json")
    assert result.exit_code == 1
    assert "regression: Hit@1 fell: baseline 1.5000, now 1.0000" in result.stderr
    assert json.loads(result.stdout)["regressions"]

    result = _eval(built, *common, "--baseline", str(base), "--limit", "1")
    assert result.exit_code == 2 and "error: cannot compare" in result.stderr


def test_cli_ids_from_a_file_and_a_missing_baseline(
    built: Pipeline, gold: Path, tmp_path: Path
) -> None:
    ids = tmp_path / "subset.txt"
    ids.write_text("# subset\ng2  # the English one\n", "utf-8")
    args = ("--retrieval-only", "--gold", str(gold), "--out", str(tmp_path / "runs"), "--json")
    result = _eval(built, *args, "--ids", f"@{ids}")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["by_lang"].keys() == {"en"}
    result = _eval(built, *args, "--baseline", str(tmp_path / "nope.json"))
    assert result.exit_code == 2 and "baseline file not found" in result.stderr


def test_variants_and_curves_recompute_policies_and_thresholds(
    built: Pipeline, fake_generator: FakeGenerator, gold: Path, tmp_path: Path
) -> None:
    from rag.eval import curves

    # g1: a made-up number (fails verification: the extractive fallback answers);
    # g2: the model refuses; g3 (unanswerable): the model refuses.
    use_extractive_fallback(built)
    fake_generator.queue("На орбите 500 спутников [1].", "NO_ANSWER", "NO_ANSWER")
    args = ("--gold", str(gold), "--out", str(tmp_path / "runs"), "--json")
    result = _eval(built, *args)
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout)["report"]).parent
    report = json.loads((run_dir / "report.json").read_text("utf-8"))
    g1, g2, g3 = (q["answer"] for q in report["questions"])
    assert g1["kind"] == "extractive-fallback" and g1["key_fact_match"]
    assert g1["mode"] == "generative"  # what was asked
    assert g1["draft"] == "На орбите 500 спутников [1]."
    assert not g1["variants"]["unverified"]["key_fact_match"]
    assert g1["variants"]["no_fallback"]["abstained"]
    assert g2["refusal"] == "model" and g2["variants"]["unverified"]["abstained"]
    assert g3["abstained"] and g3["top_score"] > 0

    rows = {(r["policy"], r["threshold"]): r for r in curves.table(report, (0.0, 2.0))}
    assert rows[("generated, unchecked", 0.0)]["KeyFactAccuracy"] == 0.0
    assert rows[("generated, verified", 0.0)]["KeyFactAccuracy"] == 0.0
    assert rows[("verified + extractive fallback", 0.0)]["KeyFactAccuracy"] == 0.5
    assert rows[("verified + extractive fallback", 0.0)]["HallucinationRate"] == 0.0
    assert rows[("extractive only", 0.0)]["HallucinationRate"] == 1.0  # it never refuses
    for policy in curves.POLICIES:  # above every score: all refused
        row = rows[(policy, 2.0)]
        assert row["answered"] == 0 and row["FalseRefusalRate"] == 1.0
        assert row["HallucinationRate"] == 0.0

    md = (run_dir / "curves.md").read_text("utf-8")
    assert "| verified + extractive fallback | 0.30 |" in md
    printed = _eval(built, "curves", str(run_dir))
    assert printed.exit_code == 0 and "| extractive only | 0.50 |" in printed.stdout


def test_curves_of_a_retrieval_only_run_is_a_one_line_error(
    built: Pipeline, gold: Path, tmp_path: Path
) -> None:
    options = EvalOptions(retrieval_only=True, gold_path=gold, out_dir=tmp_path, progress=False)
    run_dir = run_eval(built, options).run_dir
    result = _eval(built, "curves", str(run_dir))
    assert result.exit_code == 2 and "not a full eval run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_modes_side_by_side(built: Pipeline, gold: Path, tmp_path: Path) -> None:
    args = ("--retrieval-only", "--gold", str(gold), "--out", str(tmp_path / "runs"))
    result = _eval(built, *args, "--modes", "dense,lexical,hybrid")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split()[1:] == [f"{m}/{lang}" for m in ("dense", "lexical", "hybrid")
                                  for lang in ("all", "ru", "en")]  # fmt: skip
    hit5 = next(r for r in rows if r.startswith("Hit@5")).split()[1:]
    assert len(hit5) == 9 and all(0.0 <= float(x) <= 1.0 for x in hit5)
    assert len(list((tmp_path / "runs").iterdir())) == 3
    bad = _eval(built, *args, "--modes", "dense,semantic")
    assert bad.exit_code == 2 and "semantic" in bad.stderr


def test_strategies_side_by_side(built: Pipeline, gold: Path, tmp_path: Path) -> None:
    args = ("--gold", str(gold), "--out", str(tmp_path / "runs"), "--limit", "2")
    result = _eval(built, *args, "--strategies", "free,quote")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split()[1:] == [f"{s}/{lang}" for s in ("free", "quote")
                                  for lang in ("all", "ru", "en")]  # fmt: skip
    assert any(r.startswith("Latency.total.p50_ms") for r in rows)
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2
    import json

    strategies = {
        q["answer"]["strategy"]
        for run in runs
        for q in json.loads((run / "report.json").read_text("utf-8"))["questions"]
    }
    assert strategies == {"free", "quote"}
    bad = _eval(built, *args, "--strategies", "free,magic")
    assert bad.exit_code == 2 and "magic" in bad.stderr


def test_report_path_is_shown_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.eval.cli import shown

    run = tmp_path / "eval" / "runs" / "20261201-000000" / "report.md"
    monkeypatch.chdir(tmp_path)
    assert shown(run) == "eval/runs/20261201-000000/report.md"
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert shown(run) == str(run)  # outside the working directory: absolute


def test_eval_builds_its_own_index_of_the_eval_corpus_incrementally(
    fake_pipeline: Pipeline, corpus: Path, gold: Path, tmp_path: Path
) -> None:
    from rag.eval.runner import eval_pipeline

    evaluated, report = eval_pipeline(fake_pipeline, [corpus])
    assert evaluated.config.index_dir == fake_pipeline.config.eval_index_dir
    assert evaluated.config.index_dir != fake_pipeline.config.index_dir
    assert sorted(report.added) == ["a.txt", "b.txt"] and not report.unchanged
    assert evaluated.embedder is fake_pipeline.embedder  # the models are shared
    (corpus / "c.txt").write_text("Новая статья\n\nБайконур принял 12 пусков.\n", "utf-8")
    (corpus / "SOURCES.md").write_text("# Sources\n\nWhere the articles come from.\n", "utf-8")
    _, again = eval_pipeline(fake_pipeline, [corpus])
    assert again.added == ("c.txt",) and sorted(again.unchanged) == ["a.txt", "b.txt"]
    assert not fake_pipeline.config.index_dir.exists()  # the user's index is untouched


def test_cli_runs_on_the_eval_index_by_default_and_says_so(
    fake_pipeline: Pipeline, gold: Path, tmp_path: Path
) -> None:
    args = ("--retrieval-only", "--gold", str(gold), "--out", str(tmp_path / "runs"), "--json")
    result = _eval(fake_pipeline, *args, index="eval")
    assert result.exit_code == 0, result.output
    assert f"eval index: {fake_pipeline.config.eval_index_dir}" in result.stderr
    assert "seeds/ + eval/corpus/" in result.stderr
    again = _eval(fake_pipeline, *args, index="eval")
    assert again.exit_code == 0 and " 0 embedded now" in again.stderr


def test_gold_ids_are_sequential_and_spans_are_in_their_articles() -> None:
    """Every support span is in its article (seeds/ or eval/corpus/) after whitespace
    collapse; ids run q001, q002, ... without gaps; multi questions span 2+ articles."""
    import re

    from rag.eval.runner import EVAL_CORPUS

    def collapse(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    files = {p.name: collapse(p.read_text("utf-8")) for d in EVAL_CORPUS for p in d.glob("*.txt")}
    questions = load_gold(GOLD_PATH)
    assert [q.id for q in questions] == [f"q{i:03d}" for i in range(1, len(questions) + 1)]
    for q in questions:
        docs = {s.doc_id for s in q.supports}
        assert bool(docs) == q.answerable, q.id
        assert len(docs) >= 2 or q.type != "multi", q.id
        for s in q.supports:
            assert s.doc_id in files, (q.id, s.doc_id)
            assert collapse(s.text) in files[s.doc_id], (q.id, s.text)


def test_a_quote_run_scores_the_quote_and_its_checked_draft_side_by_side(
    built: Pipeline, fake_generator: FakeGenerator, gold: Path
) -> None:
    from rag.eval import curves

    pipe = built  # the default strategy: quote
    # g1: the draft drops the key fact ("сто" is not "108"), the quoted sentence has it
    fake_generator.queue("На орбите сто спутников группировки SpaceSail [1].", "NO_ANSWER",
                         "NO_ANSWER")  # fmt: skip
    report = run_eval(pipe, EvalOptions(gold_path=gold, ids=("g1",), progress=False)).report
    (g1,) = (q["answer"] for q in report["questions"])
    assert g1["kind"] == "quoted" and g1["key_fact_match"]
    assert g1["text"].startswith("108 спутников [1].\nНа орбите находится 108 спутников")
    assert not g1["variants"]["drafted"]["key_fact_match"]
    rows = {(r["policy"], r["threshold"]): r for r in curves.table(report, (0.0,))}
    assert rows[("generated, verified", 0.0)]["KeyFactAccuracy"] == 1.0
    assert rows[("checked draft (free)", 0.0)]["KeyFactAccuracy"] == 0.0
