"""The build checkpoint and the streamed FAISS build it feeds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.index import ann
from rag.index.checkpoint import Checkpoint, key
from rag.index.data import IndexSettings
from rag.types import Chunk

SETTINGS = IndexSettings("fake/model", "", 8, 700, 120)


def chunks(n: int, doc: str = "d.txt") -> list[Chunk]:
    return [Chunk(f"abc:{i}", doc, "t", f"text {i}", 0, 1) for i in range(n)]


def vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, 8)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_shards_survive_a_restart_and_read_back_in_any_order(tmp_path: Path) -> None:
    cs, vs = chunks(10), vectors(10)
    ckpt = Checkpoint(tmp_path / "ck", SETTINGS)
    ckpt.add(cs[:4], vs[:4])
    ckpt.add(cs[4:7], vs[4:7])
    again = Checkpoint(tmp_path / "ck", SETTINGS)  # a new process
    assert len(again) == 7 and cs[6] in again and cs[7] not in again
    assert chunks(1, "other.txt")[0] not in again  # the same chunk id of another article
    again.add(cs[7:], vs[7:])
    order = [cs[i] for i in (9, 0, 5, 2)]
    got = np.vstack(list(again.batches(order, size=3)))
    np.testing.assert_array_equal(got, vs[[9, 0, 5, 2]])
    again.clear()
    assert not (tmp_path / "ck").exists()


def test_an_uncommitted_shard_and_other_settings_are_ignored(tmp_path: Path) -> None:
    cs, vs = chunks(6), vectors(6)
    ckpt = Checkpoint(tmp_path / "ck", SETTINGS)
    ckpt.add(cs[:3], vs[:3])
    ckpt.add(cs[3:], vs[3:])
    (tmp_path / "ck" / "shard-000002.json").unlink()  # killed before the keys were written
    assert len(Checkpoint(tmp_path / "ck", SETTINGS)) == 3
    other = replace(SETTINGS, embedding_model_id="other/model")
    assert len(Checkpoint(tmp_path / "ck", other)) == 0  # made by another model: dropped
    assert key(cs[0]) == "d.txt\0abc:0"


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_streamed_build_equals_the_one_shot_build(kind: str) -> None:
    v = vectors(3000, seed=1)
    whole = ann.build(v, kind)
    parts = ann.build_streaming(8, len(v), kind, lambda: iter([v[:1000], v[1000:1777], v[1777:]]))
    assert parts.ntotal == whole.ntotal == 3000
    np.testing.assert_array_equal(ann.vectors(parts, 3000, 8), ann.vectors(whole, 3000, 8))
    q = vectors(5, seed=2)
    for row in q:
        s1, r1 = ann.search(whole, row, 10)
        s2, r2 = ann.search(parts, row, 10)
        np.testing.assert_array_equal(r1, r2)
