"""FAISS index kinds: the choice by size, IVF's training, read-back and persistence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.vectors import SyntheticSpace
from rag.index import ann, store
from rag.index.store import IndexData, IndexSettings
from rag.types import Chunk, Document

SETTINGS = IndexSettings("fake/bag-of-words", "", 32, 700, 120)


def _space(n: int = 4000, d: int = 32) -> SyntheticSpace:
    return SyntheticSpace(n, d, latent=16, seed=3)


def test_choose_kind_is_exact_up_to_flat_max_then_ivf() -> None:
    assert ann.choose_kind(1) == "flat"
    assert ann.choose_kind(ann.FLAT_MAX) == "flat"
    assert ann.choose_kind(ann.FLAT_MAX + 1) == "ivf"
    assert set(ann.KINDS) == {"flat", "hnsw", "ivf"}  # hnsw stays readable


def test_ivf_lists_grow_with_the_square_root_and_nprobe_with_the_lists() -> None:
    assert ann.ivf_nlist(1_000_000) == 4000
    assert ann.ivf_nlist(100_000) == 1265
    assert ann.ivf_nlist(400) == 10  # capped: 40 training rows per list
    assert ann.ivf_nlist(0) == 1
    assert ann.ivf_nprobe(4000) == 133
    assert ann.ivf_nprobe(1265) == 42
    assert ann.ivf_nprobe(10) == 10  # never more lists than there are


def test_an_index_keeps_the_nprobe_it_was_built_with(tmp_path: Path) -> None:
    """An IVF index built under an earlier rule (2·sqrt(n) lists, nprobe nlist/16) reads
    back with its own nprobe, not one the current rule would give its nlist."""
    vectors = _space(2000).rows(0, 2000)
    old = ann.build(vectors, "ivf")
    old.nprobe = 7
    ann.write(old, tmp_path / "v.faiss")
    assert ann.read(tmp_path / "v.faiss").nprobe == 7


def test_ivf_build_reads_rows_back_exactly_and_finds_what_flat_finds() -> None:
    space = _space()
    vectors = space.rows(0, space.n)
    ivf, flat = ann.build(vectors, "ivf"), ann.build(vectors, "flat")
    assert ivf.is_trained and ivf.ntotal == space.n
    np.testing.assert_array_equal(ann.vectors(ivf, 3, 32), vectors[:3])
    recalls = []
    for q in space.queries(30):
        _, exact = ann.search(flat, q, 10)
        _, approx = ann.search(ivf, q, 10)
        recalls.append(len(set(exact) & set(approx)) / 10)
    assert np.mean(recalls) >= 0.95
    _, rows = ann.search(ivf, vectors[17], 1)
    assert rows[0] == 17


def test_ivf_extend_and_round_trip_keep_training_nprobe_and_rows(tmp_path: Path) -> None:
    space = _space()
    vectors = space.rows(0, space.n)
    ivf = ann.build(vectors[:-5], "ivf")
    grown = ann.extend(ivf, vectors[-5:])
    assert (ivf.ntotal, grown.ntotal) == (space.n - 5, space.n)  # the original is unchanged
    ann.write(grown, tmp_path / "v.faiss")
    back = ann.read(tmp_path / "v.faiss")
    assert back.nprobe == ann.ivf_nprobe(back.nlist)
    np.testing.assert_array_equal(back.reconstruct(space.n - 1), vectors[-1])


def test_one_thread_restores_the_thread_count() -> None:
    import faiss

    before = faiss.omp_get_max_threads()
    with ann.one_thread():
        assert faiss.omp_get_max_threads() == 1
    assert faiss.omp_get_max_threads() == before


def test_index_switches_to_ivf_past_flat_max_and_the_manifest_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ann, "FLAT_MAX", 1000)
    space = _space(1500)
    vectors = space.rows(0, 1500)

    def docs(lo: int, hi: int) -> tuple[list[Document], list[Chunk]]:
        doc = Document(f"d{lo}.txt", "t", "x", f"{lo:064d}")
        return [doc], [Chunk(f"c{i}:0", doc.doc_id, "t", f"текст {i}", 0, 1) for i in range(lo, hi)]

    small = IndexData(replace(SETTINGS)).with_documents(*docs(0, 900), vectors[:900])
    assert small.kind == "flat"
    grown = small.with_documents(*docs(900, 1500), vectors[900:])
    # an addition is a segment of its own (flat, small); compaction merges them: IVF
    assert [s.kind for s in grown.segments] == ["flat", "flat"]
    big = grown.compacted()
    assert big.kind == "ivf" and len(big) == 1500 and len(big.segments) == 1
    np.testing.assert_allclose(big.similarity(vectors[1200], [1200]), [1.0], atol=1e-5)
    store.save(tmp_path, big)
    assert store.read_manifest(tmp_path)["index_type"] == "ivf"
    loaded = store.load(tmp_path, SETTINGS)
    assert loaded.kind == "ivf"
    assert loaded.search(vectors[1400], 1)[0].chunk.chunk_id == "c1400:0"
