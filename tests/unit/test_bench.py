"""The bench without the real models: corpora, vectors, ratios, report formatting, and
the build/answer sections run on the fake embedder and generator."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from bench import corpus, machine, markdown, report, runner
from bench.cli import parse_list
from bench.common import BenchContext, quick_context, retrieval_quality
from bench.sections import build, search
from bench.sections.embed import fastest_as_good
from bench.vectors import BLOCK, SyntheticSpace
from rag.cli import main
from rag.config import Config
from rag.eval.runner import GoldQuestion, Support
from rag.types import Chunk
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


# -- corpora -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return corpus.seed_sentences([SEEDS])


def test_seed_sentences_are_real_russian_sentences(sentences: list[str]) -> None:
    assert len(sentences) > 30
    assert len(set(sentences)) == len(sentences)
    assert all(corpus.cyrillic_share(s) >= 0.6 and len(s.split()) >= 5 for s in sentences)


def test_generated_articles_are_reproducible_and_russian(sentences: list[str]) -> None:
    first = corpus.generate_articles(sentences, 6, seed=7)
    again = corpus.generate_articles(sentences, 6, seed=7)
    other = corpus.generate_articles(sentences, 6, seed=8)
    assert first == again
    assert [a.text for a in first] != [a.text for a in other]
    assert corpus.corpus_sha256([a.render() for a in first]) == corpus.corpus_sha256(
        [a.render() for a in again]
    )
    for article in first:
        assert corpus.cyrillic_share(article.text) > 0.8
        assert 4 <= article.text.count(".") and "\n\n" in article.text
        assert article.name.startswith("gen-7-") and article.title


def test_generated_articles_load_through_the_pipeline_loader(
    sentences: list[str], tmp_path: Path
) -> None:
    from rag.ingest.load import load_paths

    articles = corpus.generate_articles(sentences, 3, seed=1)
    corpus.write_corpus(tmp_path, articles)
    docs, problems = load_paths([tmp_path])
    assert not problems and len(docs) == 3
    assert len({d.sha256 for d in docs}) == 3


def test_perturb_changes_numbers_only() -> None:
    rng = random.Random(0)
    out = corpus.perturb("В 2024 году запущено 108 спутников и 7 ракет.", rng)
    assert out.startswith("В 20") and " году запущено " in out and " спутников и " in out
    year, count = int(out.split()[1]), out.split()[4]
    assert 2000 <= year <= 2030 and len(count) == 3 and count[0] != "0"


def test_generated_passages_have_the_target_length(sentences: list[str]) -> None:
    passages = corpus.generate_passages(sentences, 20, seed=0, target_chars=300)
    assert passages == corpus.generate_passages(sentences, 20, seed=0, target_chars=300)
    assert all(len(p) >= 300 for p in passages)


# -- synthetic vectors ---------------------------------------------------------------
def test_synthetic_rows_are_the_same_whatever_the_range_asked() -> None:
    space = SyntheticSpace(BLOCK + 100, 16, latent=8)
    whole = space.rows(0, space.n)
    np.testing.assert_array_equal(space.rows(BLOCK - 5, BLOCK + 5), whole[BLOCK - 5 : BLOCK + 5])
    np.testing.assert_array_equal(np.vstack(list(space.blocks())), whole)
    np.testing.assert_allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(SyntheticSpace(BLOCK + 100, 16, latent=8).rows(3, 4), whole[3:4])
    queries = space.queries(5)
    assert not any((whole == q).all(axis=1).any() for q in queries)
    assert "synthetic clustered" in space.describe()


# -- numbers ------------------------------------------------------------------------
def test_ratios_and_overhead() -> None:
    assert machine.overhead(11.0, 10.0) == pytest.approx(0.10)
    assert machine.overhead(9.0, 10.0) == pytest.approx(-0.10)
    assert machine.overhead(1.0, 0.0) is None
    assert machine.ratio(None, 2.0) is None
    assert machine.ratio(3.0, 2.0) == 1.5


def test_percentiles_follow_the_eval_definition() -> None:
    assert machine.percentiles([1.0, 2.0, 3.0, 4.0]) == {"p50": 2.5, "p95": 3.85}
    assert machine.percentiles([]) == {"p50": None, "p95": None}


def test_recall_at_k_by_hand() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[1, 2, 9, 9], [8, 7, 6, 5]])
    assert search.recall_at_k(truth, found) == pytest.approx((0.5 + 1.0) / 2)


def test_retrieval_quality_by_hand() -> None:
    chunks = [Chunk(f"c{i}", "d", "t", text, 0, 1) for i, text in enumerate(["альфа", "бета"])]
    questions = [
        GoldQuestion("q1", "?", "ru", "single", True, supports=(Support("d", "бета"),)),
        GoldQuestion("q2", "?", "ru", "single", True, supports=(Support("d", "альфа"),)),
    ]
    docs = np.eye(2, dtype=np.float32)
    queries = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)  # q2 ranks its chunk second
    quality = retrieval_quality(docs, queries, chunks, questions)
    assert quality == {"Hit@1": 0.5, "Hit@5": 1.0, "MRR@10": 0.75}


def test_fastest_as_good_keeps_quality_within_the_slack() -> None:
    rows: list[dict[str, Any]] = [
        {"option": "gemma-f32", "passages_per_s": 1.0, "Hit@5": 0.9, "MRR@10": 0.8},
        {"option": "fast-bad", "passages_per_s": 50.0, "Hit@5": 0.6, "MRR@10": 0.5},
        {"option": "faster-ok", "passages_per_s": 2.0, "Hit@5": 0.89, "MRR@10": 0.79},
        {"option": "broken", "error": "no"},
    ]
    assert fastest_as_good(rows) == "faster-ok"
    assert fastest_as_good(rows[1:]) is None


def test_parse_list_reads_sizes_with_suffixes() -> None:
    assert parse_list("10k, 100_000,1m", int) == (10_000, 100_000, 1_000_000)
    assert parse_list("build,search") == ("build", "search")
    assert parse_list(None) == ()


# -- report -------------------------------------------------------------------------
def _report() -> dict[str, Any]:
    flat = {"kind": "flat", "params": "", "build_s": 1.0, "p50_ms": 300.0, "p95_ms": 320.0,
            "recall@10": 1.0, "speedup": 1.0, "bytes": 3 * 1024**3}  # fmt: skip
    ivf = {**flat, "kind": "ivf", "params": "nlist=2000 nprobe=125", "p50_ms": 6.0,
           "recall@10": 0.97, "speedup": 50.0, "bytes": 3 * 1024**3}  # fmt: skip
    return {
        "mode": "full", "created": "now", "command": "rag bench", "seconds": 12.0,
        "machine": {"cores": 2, "cpu_model": "AMD EPYC", "cpu_flags": ["avx2"],
                    "libraries": {"faiss-cpu": "1.15.1"}, "load_average": [1.0]},
        "sections": {
            "build": {"embedder": "m", "model_load_s": 3.0, "rss_after_load_mb": 1200.0,
                      "corpora": [
                          {"corpus": "seeds", "passages": 28, "raw_passages_per_s": 2.0,
                           "pipeline_passages_per_s": 1.9, "overhead": 0.05,
                           "stages_s": {"load_clean": 0.1, "chunk": 0.01, "index_save": 0.2},
                           "index_kind": "flat", "index_bytes": 2048, "peak_rss_mb": 1500.0},
                          {"corpus": "gen", "passages": 60, "raw_passages_per_s": 2.0,
                           "pipeline_passages_per_s": 1.6, "overhead": 0.25,
                           "stages_s": {}, "index_kind": "flat", "index_bytes": 1,
                           "peak_rss_mb": 1.0}],
                      "seconds": 5.0, "peak_rss_mb": 1500.0},
            "search": {"vectors": "synthetic", "queries": 10,
                       "sizes": [{"n": 1_000_000, "kind_chosen": "ivf", "rows": [flat, ivf],
                                  "ivf_sweep": [{"nprobe": 64, "recall@10": 0.93,
                                                 "p50_ms": 3.0, "p95_ms": 4.0}]}]},
            "answer": {"questions": 8, "ttft_ms": {"p50": 2500.0, "p95": 3900.0},
                       "total_ms": {"p50": 6000.0, "p95": 9000.0}, "models_reloaded": False},
            "embed": {"error": "RuntimeError: boom"},
        },
    }  # fmt: skip


def test_targets_take_the_worst_build_and_the_largest_search() -> None:
    found = {t["target"].split(" ")[0]: t for t in report.targets(_report())}
    assert found["index"]["met"] is False and "+25.0%" in found["index"]["measured"]
    assert found["search"]["met"] is True and "6.00 ms" in found["search"]["measured"]
    assert found["approximate"]["met"] is True
    assert found["rag"]["met"] is True and "2.50 s" in found["rag"]["measured"]
    assert found["models"]["met"] is True


def test_markdown_has_every_section_table_and_shows_errors() -> None:
    text = report.render_markdown(_report())
    assert text.startswith("# rag bench (full)")
    assert "| target | measured | met |" in text
    assert "| seeds | 28 | 2.00 | 1.90 | +5.0% |" in text
    assert "ivf (chosen)" in text and "3.0 GB" in text
    assert "Section failed: RuntimeError: boom" in text
    assert "AMD EPYC" in text and "faiss-cpu 1.15.1" in text


def test_size_and_percent_formatting() -> None:
    assert markdown.size(512) == "512 B"
    assert markdown.size(1536) == "1.5 KB"
    assert markdown.size(5 * 1024**3) == "5.0 GB"
    assert markdown.percent(0.041) == "+4.1%"
    assert markdown.fmt(1234567) == "1,234,567" and markdown.fmt(None) == "–"


def test_write_makes_json_and_markdown(tmp_path: Path) -> None:
    json_path, md_path = report.write(_report(), tmp_path)
    assert json.loads(json_path.read_text())["sections"]["build"]["corpora"][0]["passages"] == 28
    assert md_path.read_text().startswith("# rag bench")
    second, _ = report.write(_report(), tmp_path)
    assert second != json_path  # same second: a new name, nothing overwritten


# -- sections on the fakes ------------------------------------------------------------
@pytest.fixture
def bench_ctx(fake_config: Config, tmp_path: Path) -> BenchContext:
    work = tmp_path / "work"
    work.mkdir()
    return quick_context(fake_config, work, build_articles=2, add_index_size=300, gold_limit=5)


def test_build_section_on_the_fake_embedder(bench_ctx: BenchContext) -> None:
    out = build.run(bench_ctx, embedder=FakeEmbedder(64))
    (gen,) = out["corpora"]
    assert gen["corpus"] == "generated-2" and gen["passages"] > 0
    assert len(gen["raw_encode_s"]) == 2 and gen["pipeline_build_s"] > 0
    assert gen["overhead"] == pytest.approx(
        gen["pipeline_build_s"] / (sum(gen["raw_encode_s"]) / 2) - 1, rel=1e-2
    )
    add = out["incremental_add"]
    assert add["passages"] == 300 and add["kind"] == "flat"
    assert add["passages_embedded"] == add["article_passages"] > 0
    assert add["reembedded_others"] == 0
    # the removed article's segment went with it: the base and the re-added article
    assert add["remove_s"] >= 0 and add["segments_before_compact"] == 2
    assert add["rewrite_baseline_s"] > 0 and add["add_speedup_vs_rewrite"] is not None
    assert out["peak_rss_mb"] > 0


def test_answer_section_on_the_fakes(bench_ctx: BenchContext, fake_pipeline: Any,
                                     corpus: Path) -> None:  # fmt: skip
    from bench.sections import answer

    fake_pipeline.build([corpus])
    fake_pipeline.generator.queue("На орбите 108 спутников [1].", "Ответ [1].", "Ответ [1].")
    out = answer.run(replace(bench_ctx, answer_questions=2), pipeline=fake_pipeline)
    assert out["questions"] == 2 and out["ttft_ms"]["p50"] is not None
    assert out["models_reloaded"] is False
    assert out["prefix_tokens"] is None  # the fake generator has no tokenizer


def test_runner_writes_a_report_with_the_section(
    bench_ctx: BenchContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.embed

    monkeypatch.setattr(rag.embed, "make_embedder", lambda config: FakeEmbedder(64))
    result = runner.run_bench(bench_ctx, ("build",), isolate=False, command="rag bench --quick")
    assert result["mode"] == "quick" and list(result["sections"]) == ["build"]
    assert result["machine"]["cores"] and "load_average_end" in result["machine"]
    assert "error" not in result["sections"]["build"], result["sections"]["build"]
    json_path, md_path = report.write(result, tmp_path / "results")
    assert "## Index build" in md_path.read_text()


def test_cli_rejects_an_unknown_section_in_one_line() -> None:
    result = CliRunner().invoke(main, ["bench", "--sections", "build,nope"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: unknown section 'nope'")


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(main, ["bench", "--help"])
    assert result.exit_code == 0
    for option in ("--quick", "--sizes", "--sections", "--out"):
        assert option in result.output


def test_resume_section_kills_and_resumes(bench_ctx: BenchContext) -> None:
    from bench.sections import resume

    out = resume.run(bench_ctx)  # quick: 3 kills
    assert out["kills"] == resume.QUICK_KILLS and out["killed_while_embedding"] >= 1
    assert out["reembedded_after_checkpoint"] == 0 and out["identical_to_uninterrupted"]
    assert 0 <= out["embedded_twice"] <= out["kills"] * out["shard_passages"]
    assert "identical to an uninterrupted build: **yes**" in resume.render(out)[0]


def test_targets_of_issue_12() -> None:
    add = {"add_s": 2.1, "passages": 100_000, "rewrite_baseline_s": 14.0, "remove_s": 0.08}
    resumed = {"kills": 20, "reembedded_after_checkpoint": 0, "identical_to_uninterrupted": True}
    got = report.targets({"sections": {"build": {"incremental_add": add}, "resume": resumed}})
    met = {t["target"].split(" ")[0]: t["met"] for t in got}
    assert met == {"add": True, "remove": True, "a": True}
    slow = {**add, "add_s": 3.5, "remove_s": 1.5}
    broken = {**resumed, "identical_to_uninterrupted": False}
    got = report.targets({"sections": {"build": {"incremental_add": slow}, "resume": broken}})
    assert [t["met"] for t in got] == [False, False, False]


def test_api_section_on_the_fakes(bench_ctx: BenchContext, fake_pipeline: Any,
                                  corpus: Path) -> None:  # fmt: skip
    from bench.sections import api

    fake_pipeline.build([corpus])
    fake_pipeline.generator.queue(*["На орбите 108 спутников [1]."] * 4)
    out = api.run(replace(bench_ctx, answer_questions=2), pipeline=fake_pipeline)
    o, r = out["overhead"], out["real"]
    assert o["requests"] == 50 and o["tokens_per_answer"] >= 1
    assert o["api_ms"]["p50"] > o["direct_ms"]["p50"] > 0  # HTTP costs more than a list()
    assert o["overhead_p50_ms"] > 0 and o["stream_overhead_p50_ms"] > 0
    assert r["questions"] == 2 and len(r["per_question"]) == 2
    for row in r["per_question"]:
        assert 0 < row["api"]["first_byte_ms"] <= row["api"]["first_token_ms"]
        assert row["api"]["first_token_ms"] <= row["api"]["total_ms"]
    text = "\n".join(api.render(out))
    assert "POST /v1/chat/completions" in text and "API first byte" in text
    found = [t for t in report.targets({"sections": {"api": out}}) if "API" in t["target"]]
    assert found and found[0]["met"] == (o["overhead_p50_ms"] <= 20)


# -- the package: sections, report, entry points ------------------------------------
def test_every_section_meets_the_contract() -> None:
    from bench import SECTIONS, section
    from bench.contract import Section

    for name in SECTIONS:
        got = section(name)
        assert isinstance(got, Section) and got.name == name and got.title
        assert got.targets({}) == []  # nothing measured: no target claimed
    with pytest.raises(ValueError, match="unknown section 'nope'"):
        section("nope")


def test_the_report_takes_each_sections_targets_in_order() -> None:
    got = report.targets(_report())
    firsts = [t["target"].split(" ")[0] for t in got]
    assert firsts == ["index", "search", "approximate", "rag", "models"]  # build, search, answer


def test_sections_import_no_report_and_the_report_no_cycle() -> None:
    import subprocess
    import sys

    from bench import SECTIONS

    code = (
        "import sys\n"
        f"for name in {list(SECTIONS)!r}:\n"
        "    __import__(f'bench.sections.{name}')\n"
        "assert 'bench.report' not in sys.modules, 'a section imports the report'\n"
        "import bench.report\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_runner_sets_passive_openmp_for_its_sections(
    bench_ctx: BenchContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("OMP_WAIT_POLICY", "x")
    monkeypatch.delenv("OMP_WAIT_POLICY")
    runner.run_bench(bench_ctx, (), isolate=False)
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_python_m_bench_errors_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.__main__ import main as bench_main

    assert bench_main(["--sections", "build,nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: unknown section 'nope'; choose from {', '.join(runner.SECTIONS)}"]
    assert bench_main(["--help"]) == 0
    assert "--sections" in capsys.readouterr().out


def test_rag_bench_without_a_checkout_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.config

    monkeypatch.setattr(rag.config, "PROJECT_ROOT", tmp_path)  # no bench/ there
    result = CliRunner().invoke(main, ["bench", "--quick"])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("error: rag bench runs from a source checkout")
    )
