"""FAISS indexes, chosen by size from a registry.

Vectors arrive normalised (see ``rag.embed.base``), so an inner-product index
ranks by cosine similarity. Small collections use exact search (``flat``);
past ``FLAT_MAX`` rows an inverted-file index (``ivf``: a k-means coarse
quantizer of about ``4·sqrt(n)`` lists, ``nlist/30`` of them searched, at least
32) answers in milliseconds with recall@10 of at least 0.95 against exact
search. Measured on synthetic vectors in one run each (2026-12-01, a busy
machine): at 1M, 4000 lists with nprobe 128 gave 13.1 ms p50 and recall 0.957
against 24.1 ms and 0.969 for the former 2·sqrt(n) lists and nprobe nlist/16
(and 18.6 ms, 0.948 at nprobe 96); at 100k, 1265 lists with nprobe 40 gave
1.08 ms, recall 0.983, against 1.90 ms, 0.984. Finer lists cost training time
(1M: 86 s against 32 s). An index keeps the nprobe it was built with (it is
in the FAISS file), so indexes built under the former rule keep theirs. HNSW
stays in the registry (older indexes name it), but is no longer chosen: on 2
cores it took 66 s to build at 100k x 768 and would take well over ten
minutes at 1M, where IVF trains and fills in about three (``rag bench``,
bench/README.md). The kind is recorded in the manifest.

One query is searched on one thread: on a busy 2-core machine FAISS's
OpenMP threads made a single exact search at 20k rows 6x slower (22 ms vs
3.6 ms), and IVF searches one query on one thread anyway.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

FLAT_MAX = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_LISTS_PER_SQRT = 4.0  # nlist = 4·sqrt(n)
IVF_TRAIN_PER_LIST = 40  # k-means sample: 40 rows per list (faiss warns below 39)
IVF_NPROBE_SHARE = 1 / 30  # lists searched per query, at least IVF_NPROBE_MIN
IVF_NPROBE_MIN = 32


def _faiss() -> Any:
    # faiss is imported lazily: `rag --help` and most unit tests never need it.
    import faiss

    return faiss


def ivf_nlist(n_rows: int) -> int:
    """Lists of an IVF index over ``n_rows`` rows: 4·sqrt(n), with enough rows to train each."""
    by_size = round(IVF_LISTS_PER_SQRT * math.sqrt(max(n_rows, 1)))
    return max(1, min(by_size, n_rows // IVF_TRAIN_PER_LIST))


def ivf_nprobe(nlist: int) -> int:
    """Lists searched per query (tuned by ``rag bench`` for recall@10 >= 0.95)."""
    return min(nlist, max(IVF_NPROBE_MIN, round(nlist * IVF_NPROBE_SHARE)))


def _flat(dimension: int, n_rows: int) -> Any:
    return _faiss().IndexFlatIP(dimension)


def _hnsw(dimension: int, n_rows: int) -> Any:
    faiss = _faiss()
    index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def _ivf(dimension: int, n_rows: int) -> Any:
    faiss = _faiss()
    nlist = ivf_nlist(n_rows)
    # The Python wrapper keeps a reference to the quantizer for the index's lifetime.
    index = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT
    )
    index.nprobe = ivf_nprobe(nlist)
    return index


# A factory per kind: (dimension, number of rows it is built for) -> an empty index.
KINDS: dict[str, Callable[[int, int], Any]] = {"flat": _flat, "hnsw": _hnsw, "ivf": _ivf}


def choose_kind(n_rows: int) -> str:
    return "flat" if n_rows <= FLAT_MAX else "ivf"


def train(index: Any, vectors: np.ndarray) -> None:
    """Train an index that needs it (IVF: k-means on an evenly spaced sample of rows).

    IVF also gets a direct map, so rows can be read back (``reconstruct``) for
    exact similarities and for rebuilding.
    """
    if index.is_trained or not len(vectors):
        return
    step = max(1, len(vectors) // (index.nlist * IVF_TRAIN_PER_LIST))
    index.train(np.ascontiguousarray(vectors[::step], dtype=np.float32))
    index.make_direct_map()


def build(vectors: np.ndarray, kind: str) -> Any:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = KINDS[kind](vectors.shape[1], len(vectors))
    if len(vectors):
        train(index, vectors)
        index.add(vectors)
    return index


def build_streaming(
    dimension: int, n_rows: int, kind: str, batches: Callable[[], Iterator[np.ndarray]]
) -> Any:
    """``build`` over ``n_rows`` vectors that arrive in batches (``batches()`` is called
    once to add them, and once more before that to sample rows for an index that
    trains): the same index as ``build`` of them all, never holding them all twice.
    """
    index = KINDS[kind](dimension, n_rows)
    if not n_rows:
        return index
    if not index.is_trained:
        step = max(1, n_rows // (index.nlist * IVF_TRAIN_PER_LIST))
        sample, seen = [], 0
        for batch in batches():
            first = (-seen) % step  # the rows of vectors[::step] that fall in this batch
            sample.append(np.asarray(batch[first::step], np.float32))
            seen += len(batch)
        index.train(np.ascontiguousarray(np.vstack(sample), dtype=np.float32))
        index.make_direct_map()
    for batch in batches():
        index.add(np.ascontiguousarray(batch, dtype=np.float32))
    return index


def extend(index: Any, vectors: np.ndarray) -> Any:
    """A copy of ``index`` with ``vectors`` appended (the old rows are not re-embedded)."""
    copy = _faiss().clone_index(index)
    if len(vectors):
        copy.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return copy


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """FAISS on one OpenMP thread for the duration (restored after)."""
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def search(index: Any, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
    with one_thread():
        scores, rows = index.search(q, k)
    return scores[0], rows[0]


def vectors(index: Any, n: int, dimension: int) -> np.ndarray:
    if n == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.asarray(index.reconstruct_n(0, n), dtype=np.float32)


def write(index: Any, path: Path) -> None:
    _faiss().write_index(index, str(path))


def read(path: Path) -> Any:
    if not path.is_file():
        raise OSError(f"missing {path.name}")
    index = _faiss().read_index(str(path))
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    # IVF: the nprobe stored with the index (set by ``_ivf`` when it was built) stays
    return index
