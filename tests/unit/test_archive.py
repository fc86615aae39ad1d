"""The archive corpus script (on tiny local git repositories) and the bench's archive
section on the fake embedder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import archive_corpus, report
from bench.common import BenchContext, quick_context
from bench.sections import archive
from rag.config import Config
from rag.eval.runner import GoldQuestion, Support

ROOT = Path(__file__).resolve().parents[2]
BODY = "Космонавт вернулся на Землю после полугода на станции. " * 6


def _repo(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    return path


@pytest.fixture
def repos(tmp_path: Path) -> dict[str, Path]:
    nerel = _repo(tmp_path / "nerel", {
        "NEREL-v1.1/train/101_text.txt": f"Заголовок один\n\n{BODY}",
        "NEREL-v1.1/dev/202_text.txt": f"Заголовок два\n\n{BODY}Ещё.",
        "NEREL-v1.1/dev/202_text.ann": "T1 PERSON 0 5 x",  # annotations: not articles
        "NEREL-v1.1/test/303_text.txt": "Короткая заметка.",  # a stub: skipped
        "NEREL-v1.0/train/101_text.txt": f"Старая версия\n\n{BODY}",  # v1.0: not used
    })  # fmt: skip
    fre = _repo(tmp_path / "fre", {
        "devset/book_7.txt": f"Новость factRuEval. {BODY}",
        "devset/book_7.spans": "x",
        "scripts/dialent/tests/x.txt": BODY,  # not an article
    })  # fmt: skip
    return {"NEREL": nerel, "factRuEval-2016": fre}


def test_archive_script_writes_articles_sidecars_and_provenance(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "archive"
    code = archive_corpus.main(["--out", str(out), "--nerel", str(repos["NEREL"]),
                                "--factrueval", str(repos["factRuEval-2016"]),
                                "--sizes", "5,25"])  # fmt: skip
    assert code == 0
    articles = out / "articles"
    names = sorted(p.name for p in articles.glob("*.txt"))
    assert names == ["frueval_devset_book_7.txt", "nerel_dev_202.txt", "nerel_train_101.txt"]
    assert (articles / "nerel_train_101.txt").read_text().startswith("Заголовок один\n")
    side = json.loads((articles / "nerel_dev_202.txt.json").read_text())
    assert side == {"source": "Викиновости (NEREL)"}
    rows = [json.loads(x) for x in (articles / "provenance.jsonl").read_text().splitlines()]
    assert {r["path"] for r in rows} >= {"NEREL-v1.1/train/101_text.txt", "devset/book_7.txt"}
    assert all(len(r["commit"]) == 40 for r in rows)
    seeds = sorted(p.name for p in (ROOT / "seeds").glob("*.txt"))
    gold = len(seeds) + len(list((ROOT / "eval" / "corpus").glob("*.txt")))
    assert sorted(p.name for p in (out / "scale-5").glob("*.txt")) == seeds
    assert len(list((out / "scale-25").glob("*.txt"))) == min(25, gold)
    every = list((out / "scale-all").glob("*.txt"))
    assert len(every) == gold + 3 and all(p.is_symlink() and p.resolve().is_file() for p in every)
    # the sidecar travels with its article, so the loader sees the source
    assert (out / "scale-all" / "nerel_dev_202.txt.json").resolve().is_file()
    again = archive_corpus.main(["--out", str(out), "--nerel", str(repos["NEREL"]),
                                 "--factrueval", str(repos["factRuEval-2016"])])  # fmt: skip
    assert again == 0 and len(list((out / "scale-all").glob("*.txt"))) == gold + 3


def test_archive_script_fails_in_one_line_on_a_missing_repository(tmp_path: Path,
                                                                  capsys: Any) -> None:  # fmt: skip
    code = archive_corpus.main(["--out", str(tmp_path / "a"), "--nerel", str(tmp_path / "none"),
                                "--factrueval", str(tmp_path / "none")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("error: git -C")


def test_sample_order_is_fixed_and_mixes_the_sources() -> None:
    names = [f"nerel_train_{i}.txt" for i in range(50)] + [f"frueval_devset_book_{i}.txt"
                                                             for i in range(50)]  # fmt: skip
    order = archive_corpus.sample_order(names)
    assert order == archive_corpus.sample_order(list(reversed(names)))
    assert 10 < sum(n.startswith("frueval") for n in order[:50]) < 40


def _q(qid: str, *docs: str) -> GoldQuestion:
    return GoldQuestion(qid, "?", "ru", "single", bool(docs),
                        supports=tuple(Support(d, "x") for d in docs))  # fmt: skip


def test_questions_are_scored_in_the_groups_their_articles_allow() -> None:
    seeds, available = {"s1", "s2"}, {"s1", "s2", "w1"}
    assert archive.in_groups(_q("a", "s1"), seeds, available) == ("seed", "gold")
    assert archive.in_groups(_q("b", "w1", "s1"), seeds, available) == ("gold",)
    assert archive.in_groups(_q("c", "w2"), seeds, available) == ()  # its article is not there
    assert archive.in_groups(_q("d"), seeds, available) == ()  # unanswerable: no retrieval


def test_scale_sets_sort_by_size_with_all_last(tmp_path: Path) -> None:
    for name in ("scale-all", "scale-200", "scale-5", "scale-25", "idx-5"):
        (tmp_path / name).mkdir()
    assert [n for n, _ in archive.scale_sets(tmp_path)] == ["5", "25", "200", "all"]


def _row(name: str, hit5: float, kfa: float | None) -> dict[str, Any]:
    got = {"n": 10, "Hit@1": 0.5, "Hit@5": hit5, "MRR@10": 0.6}  # fmt: skip
    return {"set": name, "articles": 1, "passages": 2, "embedded_now": 0, "build_s": 0.1,
            "duplicates_folded": 0,
            "retrieval": {m: {"seed": got, "gold": {}} for m in archive.MODES},
            "answers": {"seed": {"n": 4, "KeyFactAccuracy": kfa}} if kfa is not None
            else {}}  # fmt: skip


def test_targets_compare_the_largest_set_with_the_smallest_holding_the_group() -> None:
    rows = [_row("5", 0.90, 0.80), _row("200", 0.5, None), _row("all", 0.885, 0.76)]
    got = archive.scale_targets(rows)
    hits = [t for t in got if t["metric"] == "Hit@5"]
    assert [(t["small"], t["large"], t["met"]) for t in hits] == [("5", "all", True)] * 2
    (kfa,) = [t for t in got if t["metric"] == "KeyFactAccuracy"]
    assert kfa["at_small"] == 0.80 and kfa["met"] is False  # 0.04 below: over the 0.03 slack
    worse = archive.scale_targets([_row("5", 0.90, None), _row("all", 0.87, None)])
    assert [t["met"] for t in worse] == [False, False]
    lines = archive.render({"sets": rows, "targets": got})
    assert any("0.885" in x for x in lines) and any("KeyFactAccuracy" in x for x in lines)
    listed = report.targets({"sections": {"archive": {"targets": got}}})
    assert [t["met"] for t in listed] == [t["met"] for t in got]


@pytest.fixture
def bench_ctx(fake_config: Config, tmp_path: Path) -> BenchContext:
    work = tmp_path / "work"
    work.mkdir()
    return quick_context(fake_config, work, archive_dir=tmp_path / "archive",
                         archive_answer_every=0)  # fmt: skip


def test_archive_section_on_the_fakes(bench_ctx: BenchContext, fake_pipeline: Any,
                                      repos: dict[str, Path]) -> None:  # fmt: skip
    out = bench_ctx.archive_dir
    archive_corpus.write_archive(out / "articles", repos)
    archive_corpus.write_scale_sets(out / "articles", out, [5])
    got = archive.run(bench_ctx, pipeline=fake_pipeline)
    five, every = got["sets"]
    assert (five["set"], every["set"]) == ("5", "all")
    assert five["articles"] == 5 and every["articles"] > five["articles"]
    seed = five["retrieval"]["dense"]["seed"]
    assert seed["n"] > 0 and 0 <= seed["Hit@5"] <= 1
    assert five["retrieval"]["hybrid"]["gold"]["n"] == seed["n"]  # only seed questions at 5
    assert every["retrieval"]["dense"]["gold"]["n"] > seed["n"]
    assert {t["group"] for t in got["targets"]} == {"seed"}
    again = archive.run(bench_ctx, pipeline=fake_pipeline)  # the build is incremental
    assert [r["embedded_now"] for r in again["sets"]] == [0, 0]


def test_archive_section_skips_without_the_corpus(bench_ctx: BenchContext) -> None:
    got = archive.run(bench_ctx)
    assert "archive_corpus" in got["skipped"]
    assert archive.render(got) == [f"Not run: {got['skipped']}"]


def test_the_build_ratio_also_runs_on_a_sample_of_real_archive_articles(
    bench_ctx: BenchContext, repos: dict[str, Path]
) -> None:
    from dataclasses import replace

    from bench.sections.build import archive_sample

    assert archive_sample(bench_ctx) is None  # no archive yet: the section skips it
    archive_corpus.write_archive(bench_ctx.archive_dir / "articles", repos)
    name, (folder,) = archive_sample(replace(bench_ctx, archive_build_articles=2)) or ("", [])
    assert name == "archive-2" and len(list(folder.glob("*.txt"))) == 2
    assert len(list(folder.glob("*.txt.json"))) == 2  # the sidecars come along
    corpus = {"corpus": name, "passages": 40, "raw_passages_per_s": 5.0,
              "pipeline_passages_per_s": 4.6, "raw_encode_s": [8.0, 8.2], "overhead": 0.08,
              "stages_s": {}}  # fmt: skip
    (t,) = [t for t in report.targets({"sections": {"build": {"corpora": [corpus]}}})
            if "archive" in t["target"]]  # fmt: skip
    assert t["met"] is False and t["measured"].startswith("92.0%")
