import json
import os
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexMissingError, LockedError
from rag.index import store
from rag.index.store import IndexData, IndexSettings
from rag.types import Chunk, Document

SETTINGS = IndexSettings("fake/model", "", 4, 700, 120)


def make(doc_id: str, vectors: list[list[float]]) -> tuple[Document, list[Chunk], np.ndarray]:
    d = Document(doc_id, f"T {doc_id}", "x" * 10, f"sha-{doc_id}")
    chunks = [
        Chunk(f"{doc_id}:{i}", doc_id, d.title, f"t{i}", i, i + 1) for i in range(len(vectors))
    ]
    v = np.asarray(vectors, np.float32)
    return d, chunks, v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_matches_exact_inner_product(tmp_path: Path) -> None:
    d1, c1, v1 = make("a", [[1, 0, 0, 0], [0.6, 0.8, 0, 0]])
    d2, c2, v2 = make("b", [[0, 0, 1, 0], [0, 0.6, 0, 0.8]])
    data = IndexData(SETTINGS).with_documents([d1, d2], c1 + c2, np.vstack([v1, v2]))
    q = np.asarray([0.8, 0.6, 0, 0], np.float32)
    hits = data.search(q, 3)
    exact = np.vstack([v1, v2]) @ q  # the exact-search baseline
    assert [h.chunk.chunk_id for h in hits] == [
        (c1 + c2)[i].chunk_id for i in np.argsort(-exact)[:3]
    ]
    assert hits[0].score == pytest.approx(float(exact.max()), abs=1e-6)


def test_save_load_roundtrip_and_manifest(tmp_path: Path) -> None:
    d1, c1, v1 = make("a", [[1, 0, 0, 0], [0, 1, 0, 0]])
    data = IndexData(SETTINGS).with_documents([d1], c1, v1)
    manifest = store.save(tmp_path, data)
    loaded = store.load(tmp_path, SETTINGS)
    assert loaded.chunks == data.chunks and loaded.documents == data.documents
    np.testing.assert_allclose(loaded.vectors(), v1, atol=1e-6)
    (segment,) = manifest["segments"]
    assert manifest["documents"] == {
        "a": {"sha256": "sha-a", "title": "T a", "chunks": 2, "segment": segment["name"]}
    }
    assert segment["rows"] == 2 and segment["deleted"] == [] and manifest["format"] == 3
    assert manifest["settings"]["dimension"] == 4 and "faiss-cpu" in manifest["libraries"]


def test_replacing_a_document_keeps_other_vectors(tmp_path: Path) -> None:
    d1, c1, v1 = make("a", [[1, 0, 0, 0]])
    d2, c2, v2 = make("b", [[0, 1, 0, 0]])
    data = IndexData(SETTINGS).with_documents([d1, d2], c1 + c2, np.vstack([v1, v2]))
    d1b, c1b, v1b = make("a", [[0, 0, 1, 0], [0, 0, 0, 1]])
    data2 = data.with_documents([d1b], c1b, v1b)
    assert [c.doc_id for c in data2.chunks] == ["b", "a", "a"]
    np.testing.assert_allclose(data2.vectors()[0], v2[0], atol=1e-6)
    assert len(data2.without(["a"])) == 1


def test_mismatched_settings_are_refused_with_the_fix(tmp_path: Path) -> None:
    d1, c1, v1 = make("a", [[1, 0, 0, 0]])
    store.save(tmp_path, IndexData(SETTINGS).with_documents([d1], c1, v1))
    other = IndexSettings("other/model", "", 4, 700, 120)
    with pytest.raises(IndexCorruptError, match="rag index build"):
        store.load(tmp_path, other)


def test_missing_and_corrupt_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="rag index build"):
        store.load(tmp_path / "nothing", SETTINGS)
    d1, c1, v1 = make("a", [[1, 0, 0, 0]])
    store.save(tmp_path, IndexData(SETTINGS).with_documents([d1], c1, v1))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    seg = tmp_path / manifest["segments"][0]["name"]
    (seg / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="segment .* corrupt.*rag index build"):
        store.load(tmp_path, SETTINGS)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError):
        store.load(tmp_path, SETTINGS)


def test_interrupted_write_leaves_previous_generation(tmp_path: Path, monkeypatch) -> None:
    d1, c1, v1 = make("a", [[1, 0, 0, 0]])
    store.save(tmp_path, IndexData(SETTINGS).with_documents([d1], c1, v1))
    d2, c2, v2 = make("b", [[0, 1, 0, 0]])
    bigger = store.load(tmp_path, SETTINGS).with_documents([d2], c2, v2)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)  # dies right before the commit point
    with pytest.raises(OSError):
        store.save(tmp_path, bigger)
    monkeypatch.undo()
    assert list(store.load(tmp_path, SETTINGS).documents) == ["a"]
    store.save(tmp_path, bigger)  # and a rerun completes, cleaning up leftovers
    assert sorted(store.load(tmp_path, SETTINGS).documents) == ["a", "b"]
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("seg-")]) == 2


def test_second_writer_gets_a_clear_message(tmp_path: Path) -> None:
    with store.writer_lock(tmp_path):
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
            with store.writer_lock(tmp_path):
                pass
    with store.writer_lock(tmp_path):  # released
        pass
