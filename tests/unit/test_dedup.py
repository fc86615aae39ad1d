"""Near-duplicates at ingest: reprints are stored once, the kept article lists its copies."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from rag.cli import main
from rag.config import Config
from rag.index import store
from rag.ingest import dedup
from rag.pipeline import Pipeline
from tests.fakes import FakeEmbedder

ORIGINAL = """Казахстанский спутник связи выведен на орбиту

Казахстанский спутник связи KazSat-3R успешно выведен на расчетную орбиту. Запуск
состоялся в среду с космодрома Байконур, ракета-носитель «Союз-2.1б» стартовала в 09:15
по времени Астаны. По данным Казкосмоса, отделение аппарата от разгонного блока прошло
штатно, телеметрия поступает в наземный комплекс управления в Акколе.

Спутник предназначен для телевизионного вещания и широкополосного доступа в интернет в
отдаленных районах республики. Срок его активного существования составляет 15 лет. В
ближайшие две недели специалисты проведут летные испытания бортовой аппаратуры, после
чего аппарат будет передан оператору.

Председатель аэрокосмического комитета отметил, что запуск позволит заменить KazSat-2,
ресурс которого подходит к концу, и обеспечить связью более 200 сельских населенных пунктов.
"""

# The same wire story on another site: another headline, a byline and a tail, one sentence
# reworded, ё where the original has е.
REPRINT = """Спутник KazSat-3R на орбите: что известно о запуске

Астана, 12 ноября. Казахстанский спутник связи KazSat-3R успешно выведен на расчётную
орбиту. Запуск состоялся в среду с космодрома Байконур, ракета-носитель «Союз-2.1б»
стартовала в 09:15 по времени Астаны. По данным Казкосмоса, отделение аппарата от
разгонного блока прошло штатно, телеметрия поступает в наземный комплекс управления в Акколе.

Спутник предназначен для телевизионного вещания и широкополосного доступа в интернет в
отдаленных районах страны. Срок его активного существования составляет 15 лет. В
ближайшие две недели специалисты проведут летные испытания бортовой аппаратуры, после
чего аппарат будет передан оператору.

Председатель аэрокосмического комитета отметил, что запуск позволит заменить KazSat-2,
ресурс которого подходит к концу, и обеспечить связью более 200 сельских населенных пунктов.

Подписывайтесь на наш канал в Telegram.
"""

# The same event in other words: related, not a copy.
OTHER = """Байконур отправил в космос новый KazSat

В среду с Байконура стартовал «Союз», который доставил на орбиту аппарат KazSat-3R. Новый
спутник заменит выработавший ресурс KazSat-2 и будет транслировать телеканалы, а также
раздавать интернет в селах. Как сообщили в Казкосмосе, связь с аппаратом установлена, а
испытания его оборудования займут около двух недель. Рассчитан спутник на 15 лет работы.
"""


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def test_signatures_separate_a_reprint_from_a_rewrite() -> None:
    orig, reprint, other = (dedup.signature(t) for t in (ORIGINAL, REPRINT, OTHER))
    exact = len(dedup.shingles(ORIGINAL) & dedup.shingles(REPRINT)) / len(
        dedup.shingles(ORIGINAL) | dedup.shingles(REPRINT)
    )
    assert abs(dedup.jaccard(orig, reprint) - exact) < 0.12  # MinHash estimates Jaccard
    assert dedup.jaccard(orig, reprint) >= 0.7 > 0.2 > dedup.jaccard(orig, other)  # default: 0.6
    known = dedup.NearDuplicates(0.7)
    known.add("01_original.txt", orig)
    assert known.find(reprint) == "01_original.txt"
    assert known.find(other) is None


def test_a_reprint_is_folded_into_the_kept_article(fake_pipeline: Pipeline, tmp_path: Path) -> None:
    corpus = write(
        tmp_path / "c", **{"01_original": ORIGINAL, "02_reprint": REPRINT, "03_other": OTHER}
    )
    report = fake_pipeline.build([corpus])
    assert report.folded == ("02_reprint.txt",)
    assert sorted(report.added) == ["01_original.txt", "03_other.txt"]
    index = fake_pipeline.index
    assert sorted(index.documents) == ["01_original.txt", "03_other.txt"]
    assert index.documents["01_original.txt"].copies == ("02_reprint.txt",)
    assert index.documents["03_other.txt"].copies == ()
    doc = fake_pipeline.document("02_reprint.txt")  # a copy resolves to the kept article
    assert doc is not None and doc.doc_id == "01_original.txt"
    hits = fake_pipeline.search("KazSat-3R Байконур орбита", k=10)
    assert "02_reprint.txt" not in {h.chunk.doc_id for h in hits}
    status = fake_pipeline.status()
    assert status["n_folded"] == 1 and status["copies"]["02_reprint.txt"]["of"] == "01_original.txt"
    out = CliRunner().invoke(main, ["index", "status"], obj={"pipeline": fake_pipeline}).output
    assert "near-duplicates folded: 1" in out and "copy of 01_original.txt" in out

    # a rebuild changes nothing and embeds nothing; the copy counts as unchanged
    embedder = fake_pipeline.embedder
    assert isinstance(embedder, FakeEmbedder)
    calls = len(embedder.calls)
    again = fake_pipeline.build([corpus])
    assert again.added == () and again.folded == () and "02_reprint.txt" in again.unchanged
    assert len(embedder.calls) == calls


def test_a_later_reprint_is_folded_against_the_index(
    fake_pipeline: Pipeline, tmp_path: Path
) -> None:
    fake_pipeline.build([write(tmp_path / "c", **{"01_original": ORIGINAL, "03_other": OTHER})])
    report = Pipeline(fake_pipeline.config, embedder=FakeEmbedder(64)).add(
        [write(tmp_path / "later", **{"04_reprint": REPRINT}) / "04_reprint.txt"]
    )
    assert report.folded == ("04_reprint.txt",) and report.added == ()
    manifest = store.read_manifest(fake_pipeline.config.index_dir)
    assert manifest["n_folded"] == 1 and len(manifest["segments"]) == 1  # nothing embedded


def test_when_the_kept_article_goes_its_copy_takes_its_place(
    fake_pipeline: Pipeline, tmp_path: Path
) -> None:
    corpus = write(tmp_path / "c", **{"01_original": ORIGINAL, "02_reprint": REPRINT})
    fake_pipeline.build([corpus])
    (corpus / "01_original.txt").unlink()
    report = fake_pipeline.build([corpus])
    assert report.removed == ("01_original.txt",) and report.added == ("02_reprint.txt",)
    assert sorted(fake_pipeline.index.documents) == ["02_reprint.txt"]
    assert store.read_manifest(fake_pipeline.config.index_dir)["n_folded"] == 0


def test_threshold_zero_keeps_every_copy(fake_config: Config, tmp_path: Path) -> None:
    config = replace(fake_config, index=replace(fake_config.index, near_duplicate_threshold=0.0))
    pipe = Pipeline(config, embedder=FakeEmbedder(64))
    report = pipe.build([write(tmp_path / "c", **{"01_original": ORIGINAL, "02_reprint": REPRINT})])
    assert report.folded == () and len(report.added) == 2
    result = CliRunner().invoke(main, ["index", "status", "--json"], obj={"pipeline": pipe})
    assert json.loads(result.output)["n_folded"] == 0
