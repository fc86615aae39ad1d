"""Segments: append-only writes, tombstones, compaction, and one index's results."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import Config
from rag.errors import IndexCorruptError
from rag.index import segments, store
from rag.index.data import IndexData, IndexSettings, Segment
from rag.index.lexical import tokens
from rag.pipeline import Pipeline
from tests.fakes import FakeEmbedder
from tests.reliability.test_crash import write_corpus

SETTINGS = IndexSettings("fake/bag-of-words", "", 64, 700, 120)
TOPICS = [
    "Спутник KazSat-3R выведен на орбиту с космодрома Байконур.",
    "Проект Байтерек обсуждали стороны на заседании рабочей группы.",
    "Группировка SpaceSail насчитывает 108 спутников на орбите.",
    "Ракета Союз стартовала с Байконура с грузом для станции.",
    "Казкосмос подписал соглашение о сотрудничестве с Китаем.",
]


def docs_from(embedder: FakeEmbedder, pipe: Pipeline, names: list[tuple[str, int]]):  # type: ignore[no-untyped-def]
    """Documents (doc_id, topic index) chunked and embedded with the fake embedder."""
    from rag.types import Document

    out = []
    for doc_id, t in names:
        text = " ".join(TOPICS[(t + j) % len(TOPICS)] for j in range(3))
        doc = Document(
            doc_id, f"Статья {doc_id}", text, hashlib.sha256(f"{doc_id}{t}".encode()).hexdigest()
        )
        chunks = pipe.chunk(doc)
        out.append((doc, chunks, embedder.embed_chunks(chunks)))
    return out


def segmented(pipe: Pipeline) -> tuple[IndexData, IndexData]:
    """An index of three segments with a replaced and a removed article, and the same
    live articles written as one segment from scratch."""
    emb = FakeEmbedder(64)
    data = IndexData(SETTINGS)
    batches = [[("a", 0), ("b", 1)], [("c", 2), ("d", 3)], [("a", 4), ("e", 1)]]
    for batch in batches:
        made = docs_from(emb, pipe, batch)
        data = data.with_documents(
            [d for d, _, _ in made],
            [c for _, cs, _ in made for c in cs],
            np.vstack([v for _, _, v in made]),
        )
    data = data.without(["c"])
    live = docs_from(emb, pipe, [("b", 1), ("d", 3), ("a", 4), ("e", 1)])
    one = IndexData(SETTINGS).with_documents(
        [d for d, _, _ in live],
        [c for _, cs, _ in live for c in cs],
        np.vstack([v for *_, v in live]),
    )
    return data, one


QUERIES = ["спутник на орбите Байконур", "Байтерек рабочей группы", "108 спутников SpaceSail",
           "соглашение Китай", "Союз станции груз"]  # fmt: skip


def test_search_over_segments_equals_one_index(fake_pipeline: Pipeline, tmp_path: Path) -> None:
    data, one = segmented(fake_pipeline)
    assert len(data.segments) == 3 and data.n_deleted_rows() > 0
    assert sorted(data.documents) == sorted(one.documents) == ["a", "b", "d", "e"]
    assert [c.chunk_id for c in data.chunks] == [c.chunk_id for c in one.chunks]
    store.save(tmp_path / "idx", data)
    loaded = store.load(tmp_path / "idx", SETTINGS)
    compacted = data.compacted()
    emb = FakeEmbedder(64)
    for q in QUERIES:
        qv = emb.embed_query(q)
        for view in (data, loaded, compacted):
            # dense: the same rows, same scores as the single index (exact search)
            got, want = view.dense_rows(qv, 4), one.dense_rows(qv, 4)
            assert [r for r, _ in got] == [r for r, _ in want], q
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-6)
            # lexical: BM25 statistics over the live rows of all segments together
            got_l, want_l = view.lexical_rows(q, 5), one.lexical_rows(q, 5)
            assert [r for r, _ in got_l] == [r for r, _ in want_l], q
            np.testing.assert_allclose([s for _, s in got_l], [s for _, s in want_l], rtol=1e-9)
            assert got_l, q  # the queries do match something
            for term in tokens(q):  # the idf of each question word
                assert view.lexical.idf(term) == pytest.approx(one.lexical.idf(term))
            rows = [r for r, _ in want]
            np.testing.assert_allclose(
                view.similarity(qv, rows), one.similarity(qv, rows), atol=1e-6
            )
    np.testing.assert_allclose(data.vectors(), one.vectors(), atol=1e-6)
    assert len(compacted.segments) == 1 and compacted.n_deleted_rows() == 0


def test_add_writes_one_segment_and_remove_writes_only_the_manifest(
    fake_pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "c"
    write_corpus(corpus, 3, "old")
    fake_pipeline.build([corpus])
    index_dir = fake_pipeline.config.index_dir
    first = {str(p.relative_to(index_dir)): p.stat().st_mtime_ns for p in index_dir.glob("seg-*/*")}

    def no_reading(*a: object, **k: object) -> None:
        raise AssertionError("an add or remove must not read the other segments")

    monkeypatch.setattr(segments, "read", no_reading)
    fresh = Pipeline(fake_pipeline.config, embedder=FakeEmbedder(64))
    write_corpus(tmp_path / "n", 1, "new")
    fresh.add([tmp_path / "n" / "new-000.txt"])
    manifest = store.read_manifest(index_dir)
    assert len(manifest["segments"]) == 2 and manifest["n_documents"] == 4
    assert {
        str(p.relative_to(index_dir)): p.stat().st_mtime_ns for p in index_dir.glob("seg-*/*")
    }.items() >= first.items()
    folders = sorted(p.name for p in index_dir.glob("seg-*"))
    fresh.remove(["old-001.txt"])
    manifest = store.read_manifest(index_dir)
    assert sorted(p.name for p in index_dir.glob("seg-*")) == folders  # no segment written
    assert manifest["segments"][0]["deleted"] == ["old-001.txt"]
    assert manifest["n_documents"] == 3 and "old-001.txt" not in manifest["documents"]
    monkeypatch.undo()
    loaded = store.load(index_dir, SETTINGS)
    assert sorted(loaded.documents) == ["new-000.txt", "old-000.txt", "old-002.txt"]
    assert {c.doc_id for c in loaded.chunks} == set(loaded.documents)
    assert manifest["n_chunks"] == len(loaded)


def test_replacing_an_article_tombstones_the_old_copy(
    fake_pipeline: Pipeline, tmp_path: Path
) -> None:
    corpus = tmp_path / "c"
    write_corpus(corpus, 8, "old")  # one of 8 replaced: below the compaction threshold
    fake_pipeline.build([corpus])
    (corpus / "old-000.txt").write_text("Другая статья\n\nСовсем другой текст о ракете.", "utf-8")
    report = fake_pipeline.add([corpus])
    assert report.added == ("old-000.txt",) and len(report.unchanged) == 7
    manifest = store.read_manifest(fake_pipeline.config.index_dir)
    assert [m["deleted"] for m in manifest["segments"]] == [["old-000.txt"], []]
    hits = fake_pipeline.search("ракете", k=3)
    assert [h.chunk.doc_id for h in hits].count("old-000.txt") == 1
    assert "ракете" in fake_pipeline.index.documents["old-000.txt"].text


def test_compaction_runs_when_segments_pile_up(fake_config: Config, tmp_path: Path) -> None:
    config = replace(fake_config, index=replace(fake_config.index, max_segments=3))
    pipe = Pipeline(config, embedder=FakeEmbedder(64))
    write_corpus(tmp_path / "base", 6, "base")
    pipe.build([tmp_path / "base"])
    counts = []
    for i in range(4):
        write_corpus(tmp_path / f"n{i}", 1, f"n{i}")
        pipe.add([tmp_path / f"n{i}"])
        counts.append(len(store.read_manifest(config.index_dir)["segments"]))
    assert counts == [2, 3, 2, 3]  # the 4th segment merged the three small ones; base kept
    assert len(pipe.index.documents) == 10
    # many deleted rows: the next write rewrites everything
    pipe.remove([f"base-{i:03d}.txt" for i in range(4)])
    manifest = store.read_manifest(config.index_dir)
    assert manifest["n_segments"] == 1 and manifest["n_deleted_rows"] == 0
    assert sorted(pipe.index.documents) == sorted(manifest["documents"])


def test_compaction_plan() -> None:
    def m(rows: list[int], live: int) -> dict[str, object]:
        segs = [
            {"name": f"s{i}", "rows": r, "kind": "flat", "deleted": []} for i, r in enumerate(rows)
        ]
        return {"segments": segs, "n_chunks": live}

    assert store.compaction_plan(m([100, 1, 1], 102), 8, 0.25) is None
    assert store.compaction_plan(m([100] + [1] * 8, 108), 8, 0.25) == 1
    assert store.compaction_plan(m([1] * 8 + [100], 108), 8, 0.25) == 0
    assert store.compaction_plan(m([100, 1], 70), 8, 0.25) == 0  # 30% deleted


def test_rag_index_compact_and_status(fake_pipeline: Pipeline, tmp_path: Path) -> None:
    for i in range(3):
        write_corpus(tmp_path / f"c{i}", 2, f"c{i}")
        fake_pipeline.add([tmp_path / f"c{i}"])
    fake_pipeline.remove(["c0-000.txt"])
    runner = CliRunner()
    status = json.loads(
        runner.invoke(main, ["index", "status", "--json"], obj={"pipeline": fake_pipeline}).output
    )
    assert status["n_segments"] == 3 and status["n_deleted_rows"] > 0
    # the corpus repeats sentences (equal scores); ties may resolve to either copy
    before = [round(h.score, 6) for h in fake_pipeline.search("Спутник номер 1", k=4)]
    result = runner.invoke(main, ["index", "compact", "--json"], obj={"pipeline": fake_pipeline})
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["segments_before"] == 3 and out["segments_after"] == 1
    assert out["deleted_rows_dropped"] == status["n_deleted_rows"]
    assert [round(h.score, 6) for h in fake_pipeline.search("Спутник номер 1", k=4)] == before
    assert len(list(fake_pipeline.config.index_dir.glob("seg-*"))) <= 4  # old ones: one round


def test_a_format_2_index_still_loads_and_is_upgraded_on_write(
    fake_pipeline: Pipeline, tmp_path: Path
) -> None:
    """An index written before segments: one gen-* folder and a format 2 manifest."""
    corpus = tmp_path / "c"
    write_corpus(corpus, 2, "old")
    index_dir = fake_pipeline.config.index_dir
    index_dir.mkdir(parents=True)
    docs = __import__("rag.ingest.load", fromlist=["load_paths"]).load_paths([corpus])[0]
    chunks = [c for d in docs for c in fake_pipeline.chunk(d)]
    seg = Segment.create(64, docs, chunks, FakeEmbedder(64).embed_chunks(chunks))
    name = segments.write(index_dir, seg)
    (index_dir / name).rename(index_dir / "gen-20261101000000-1-000001")
    counts = {d.doc_id: sum(c.doc_id == d.doc_id for c in chunks) for d in docs}
    (index_dir / "manifest.json").write_text(json.dumps({
        "format": 2, "generation": "gen-20261101000000-1-000001", "created": "x",
        "settings": {"embedding_model_id": "fake/bag-of-words", "embedding_sha256": "",
                     "dimension": 64, "chunk_size": 700, "chunk_overlap": 120},
        "index_type": "flat", "n_documents": 2, "n_chunks": len(chunks), "libraries": {},
        "documents": {d.doc_id: {"sha256": d.sha256, "title": d.title, "chunks": counts[d.doc_id]}
                      for d in docs},
    }))  # fmt: skip
    assert sorted(fake_pipeline.index.documents) == ["old-000.txt", "old-001.txt"]
    assert fake_pipeline.search("Спутник номер 1", k=1)[0].chunk.doc_id == "old-001.txt"
    write_corpus(tmp_path / "n", 1, "new")
    report = fake_pipeline.add([tmp_path / "n"])
    assert report.added == ("new-000.txt",) and report.n_documents == 3
    manifest = store.read_manifest(index_dir)
    assert manifest["format"] == 3
    assert manifest["segments"][0]["name"] == "gen-20261101000000-1-000001"  # not rewritten


def test_an_unknown_format_is_one_line_with_the_fix(tmp_path: Path) -> None:
    tmp_path.joinpath("manifest.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(IndexCorruptError, match=r"unknown format 99.*rag index build") as err:
        store.load(tmp_path, SETTINGS)
    assert "\n" not in str(err.value)


def test_build_over_a_corrupt_segment_starts_afresh(
    fake_pipeline: Pipeline, tmp_path: Path
) -> None:
    corpus = tmp_path / "c"
    write_corpus(corpus, 2, "old")
    fake_pipeline.build([corpus])
    index_dir = fake_pipeline.config.index_dir
    name = store.read_manifest(index_dir)["segments"][0]["name"]
    (index_dir / name / "chunks.jsonl").write_text("{broken")
    fresh = Pipeline(fake_pipeline.config, embedder=FakeEmbedder(64))
    with pytest.raises(IndexCorruptError, match=f"segment {name}.*rag index build"):
        fresh.search("Спутник")
    report = fresh.build([corpus])
    assert sorted(report.added) == ["old-000.txt", "old-001.txt"]
    assert len(fresh.search("Спутник номер 1", k=2)) == 2


def test_a_reader_racing_two_commits_retries_instead_of_failing(
    fake_pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_corpus(tmp_path / "c", 2, "old")
    fake_pipeline.build([tmp_path / "c"])
    index_dir = fake_pipeline.config.index_dir
    real_read = segments.read
    calls = []

    def racing_read(*args: object, **kw: object) -> Segment:
        calls.append(args[1])
        if len(calls) == 1:  # a writer commits (and collects this segment) meanwhile
            write_corpus(tmp_path / "n", 1, "new")
            Pipeline(fake_pipeline.config, embedder=FakeEmbedder(64)).add([tmp_path / "n"])
            raise IndexCorruptError(f"index segment {args[1]} is corrupt (missing)")
        return real_read(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(segments, "read", racing_read)
    loaded = store.load(index_dir, SETTINGS)
    assert sorted(loaded.documents) == ["new-000.txt", "old-000.txt", "old-001.txt"]
    # a segment damaged in the committed index is still an error
    monkeypatch.setattr(segments, "read", lambda *a, **k: (_ for _ in ()).throw(
        IndexCorruptError("index segment x is corrupt")))  # fmt: skip
    with pytest.raises(IndexCorruptError):
        store.load(index_dir, SETTINGS)


def test_a_full_disk_during_an_add_or_a_compaction_keeps_the_index(
    fake_pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from rag.index import ann

    write_corpus(tmp_path / "c", 3, "old")
    fake_pipeline.build([tmp_path / "c"])
    fake_pipeline.add([_one(tmp_path, "second")])
    index_dir = fake_pipeline.config.index_dir
    before = store.read_manifest(index_dir)

    def full(*a: object, **k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ann, "write", full)
    runner = CliRunner()
    for args in (["index", "add", str(_one(tmp_path, "third"))], ["index", "compact"]):
        result = runner.invoke(main, args, obj={"pipeline": fake_pipeline})
        assert result.exit_code == 1 and "No space left on device" in result.output
        assert result.output.strip().count("\n") == 0  # one line, no traceback
        assert store.read_manifest(index_dir)["generation"] == before["generation"]
    monkeypatch.undo()
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".staging-")]
    fresh = Pipeline(fake_pipeline.config, embedder=FakeEmbedder(64))
    assert sorted(fresh.index.documents) == sorted(before["documents"])


def _one(tmp_path: Path, tag: str) -> Path:
    write_corpus(tmp_path / tag, 1, tag)
    return tmp_path / tag / f"{tag}-000.txt"


def test_a_loaded_index_takes_in_an_add_without_reading_any_segment(
    fake_pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_corpus(tmp_path / "c", 3, "old")
    fake_pipeline.build([tmp_path / "c"])
    assert len(fake_pipeline.index) > 0  # loaded
    monkeypatch.setattr(segments, "read", lambda *a, **k: pytest.fail("a segment was read"))
    fake_pipeline.add([_one(tmp_path, "late")])
    assert "late-000.txt" in fake_pipeline.index.documents
    assert fake_pipeline.search("Спутник late номер 0", k=1)[0].chunk.doc_id == "late-000.txt"
