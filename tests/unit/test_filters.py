"""Metadata: dates and sources from sidecars and front matter; --since/--until/--source;
a year named in the question is preferred."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.errors import BadInputError
from rag.ingest.load import load_paths
from rag.pipeline import Pipeline
from rag.retrieve import filters
from rag.types import SearchFilters
from tests.fakes import FakeGenerator

ARTICLES = {
    "kazsat.txt": ("Запуск KazSat\n\nСпутник KazSat-3R выведен на орбиту с космодрома Байконур. "
                   "Телеметрия поступает в центр управления.",
                   {"date": "2024-03-14", "source": "Kazinform"}),
    "baiterek.txt": ("Байтерек\n\nРабочая группа обсудила проект «Байтерек» и сроки работ "
                     "на космодроме Байконур.", {"date": "2025-06-02", "source": "Tengrinews"}),
    "spacesail.txt": ("SpaceSail\n\nНа орбите находится 108 спутников группировки SpaceSail, "
                      "сообщили на заседании.", {"date": "2025-11-20", "source": "KAZINFORM.kz"}),
}  # fmt: skip


@pytest.fixture
def dated(tmp_path: Path) -> Path:
    folder = tmp_path / "dated"
    folder.mkdir()
    for name, (text, meta) in ARTICLES.items():
        (folder / name).write_text(text, "utf-8")
        (folder / f"{name}.json").write_text(json.dumps(meta), "utf-8")
    return folder


def test_make_filters_checks_dates_in_one_line() -> None:
    assert filters.make_filters() is None and filters.make_filters("", None, "  ") is None
    assert filters.make_filters("2025-01-01", "2025-12-31", " Kazinform ") == SearchFilters(
        "2025-01-01", "2025-12-31", "Kazinform"
    )
    for bad in ("2025-13-01", "2025-02-30", "01.02.2025", "2025-1-1", "вчера"):
        with pytest.raises(BadInputError, match="--since must be a date YYYY-MM-DD") as err:
            filters.make_filters(since=bad)
        assert "\n" not in str(err.value)
    with pytest.raises(BadInputError, match="is after --until"):
        filters.make_filters("2025-02-01", "2025-01-01")


def test_sidecar_and_front_matter_give_date_source_title(tmp_path: Path, dated: Path) -> None:
    docs = {d.doc_id: d for d in load_paths([dated])[0]}
    assert sorted(docs) == sorted(ARTICLES)  # the .json sidecars are not articles
    assert (docs["kazsat.txt"].date, docs["kazsat.txt"].source) == ("2024-03-14", "Kazinform")
    md = tmp_path / "md"
    md.mkdir()
    (md / "note.md").write_text(
        '---\ntitle: "Заметка о KazSat"\ndate: 2023-09-01\nsource: Orda.kz\n---\n# Заголовок\n\n'
        "Текст заметки о спутнике KazSat.\n",
        "utf-8",
    )
    (md / "page.html").write_text("<html><body><p>Текст страницы о запуске.</p></body></html>")
    (md / "page.html.json").write_text('{"date": "20 ноября 2025 года", "title": "Страница"}')
    got = {d.doc_id: d for d in load_paths([md])[0]}
    note, page = got["note.md"], got["page.html"]
    assert (note.date, note.source, note.title) == ("2023-09-01", "Orda.kz", "Заметка о KazSat")
    assert "title:" not in note.text
    assert (page.date, page.title) == ("2025-11-20", "Страница")


def test_bad_sidecars_are_one_line_problems_and_metadata_changes_reindex(dated: Path) -> None:
    before = {d.doc_id: d.sha256 for d in load_paths([dated])[0]}
    (dated / "kazsat.txt.json").write_text('{"date": "2024-03-15", "source": "Kazinform"}')
    after = {d.doc_id: d.sha256 for d in load_paths([dated])[0]}
    assert after["kazsat.txt"] != before["kazsat.txt"]  # a new date is a change
    assert after["baiterek.txt"] == before["baiterek.txt"]
    (dated / "baiterek.txt.json").write_text("{not json")
    (dated / "spacesail.txt.json").write_text('{"date": "скоро"}')
    docs, problems = load_paths([dated])
    assert [d.doc_id for d in docs] == ["kazsat.txt"]
    reasons = {Path(p.path).name: p.reason for p in problems}
    assert "sidecar baiterek.txt.json is not valid JSON" in reasons["baiterek.txt"]
    assert "is not a date" in reasons["spacesail.txt"]
    assert all("\n" not in r for r in reasons.values())


def test_search_keeps_only_matching_articles(fake_pipeline: Pipeline, dated: Path) -> None:
    fake_pipeline.build([dated])
    query = "спутник на орбите космодром Байконур"

    def ids(f: SearchFilters | None, k: int = 3) -> list[str]:
        return sorted({h.chunk.doc_id for h in fake_pipeline.search(query, k, filters=f)})

    assert ids(None) == sorted(ARTICLES)
    assert ids(SearchFilters(since="2025-01-01")) == ["baiterek.txt", "spacesail.txt"]
    assert ids(SearchFilters(until="2025-06-02")) == ["baiterek.txt", "kazsat.txt"]  # inclusive
    assert ids(SearchFilters(since="2025-06-02", until="2025-06-02")) == ["baiterek.txt"]
    assert ids(SearchFilters(source="kazinform")) == ["kazsat.txt", "spacesail.txt"]
    assert ids(SearchFilters(source="kazinform", since="2025-01-01"), k=1) == ["spacesail.txt"]
    assert ids(SearchFilters(source="Reuters")) == []
    with pytest.raises(BadInputError, match="--until must be a date"):
        fake_pipeline.search(query, filters=SearchFilters(until="2025/01/01"))


def test_ask_and_cli_pass_the_filters(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, dated: Path
) -> None:
    fake_pipeline.build([dated])
    answer = fake_pipeline.ask("Сколько спутников SpaceSail?", filters=SearchFilters(source="zzz"))
    assert answer.abstained and answer.refusal == "no passages" and not fake_generator.seen
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), obj={"pipeline": fake_pipeline})

    out = run("search", "спутник Байконур", "--since", "2025-01-01", "--json", "-k", "5")
    assert out.exit_code == 0, out.output
    assert {json.loads(x)["doc_id"] for x in out.output.splitlines()} == {
        "baiterek.txt", "spacesail.txt"
    }  # fmt: skip
    bad = run("search", "спутник", "--until", "2025-02-31")
    assert bad.exit_code == 2 and bad.output.strip().count("\n") == 0
    assert bad.output.startswith("error: --until must be a date YYYY-MM-DD")
    bad = run("ask", "Сколько спутников?", "--since", "tomorrow")
    assert bad.exit_code == 2 and "--since must be a date" in bad.output
    fake_generator.queue("108 спутников [1].")
    out = run("ask", "--json", "Сколько спутников SpaceSail?", "--source", "kazinform.kz")
    obj = json.loads(out.output)
    assert {p["doc_id"] for p in obj["passages"]} == {"spacesail.txt"}


def test_named_year() -> None:
    assert filters.named_year("Что решили в 2025 году?") == "2025"
    assert filters.named_year("What happened in 2024 at Baikonur?") == "2024"
    assert filters.named_year("Итоги за 2023 год") == "2023"
    assert filters.named_year("Сколько спутников будет к концу 2026 года?") is None
    assert filters.named_year("Сколько спутников SpaceSail?") is None
    assert filters.named_year("в 2024 году и в 2025 году") is None  # two years: no preference


def test_a_named_year_prefers_that_years_articles(fake_pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "years"
    folder.mkdir()
    text = "Старт\n\nЗапуск спутника KazSat с космодрома Байконур прошел успешно"
    tails = [("a.txt", ", отметили инженеры.", "2024-05-01"),
             ("b.txt", ", сообщили в пресс-службе ведомства.", "2025-05-01")]  # fmt: skip
    for name, tail, date in tails:
        (folder / name).write_text(text + tail, "utf-8")
        (folder / f"{name}.json").write_text(json.dumps({"date": date}), "utf-8")
    fake_pipeline.build([folder])
    plain = fake_pipeline.search("Запуск спутника KazSat с космодрома Байконур", k=2)
    assert [h.chunk.doc_id for h in plain] == ["a.txt", "b.txt"]
    assert plain[0].score - plain[1].score < filters.YEAR_BOOST  # a close call
    named = fake_pipeline.search("Запуск спутника KazSat с космодрома Байконур в 2025 году", k=2)
    assert [h.chunk.doc_id for h in named] == ["b.txt", "a.txt"]
    # the score stays the similarity (the refusal gate reads it); only the order changes
    assert named[0].score < named[1].score
    far = fake_pipeline.search("Запуск спутника KazSat с космодрома Байконур в 2019 году", k=2)
    assert [h.chunk.doc_id for h in far] == ["a.txt", "b.txt"]
