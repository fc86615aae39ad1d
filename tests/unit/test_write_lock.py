"""Index writes run outside the pipeline's lock (issue 20, High 1): a question is
answered while an upload is read, cleaned and chunked; only the swap takes the lock."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.base import SharedEmbedder
from rag.pipeline import Pipeline
from rag.types import Chunk, Document
from tests.fakes import FakeEmbedder

WAIT = 10.0  # seconds: far above what any step here takes; only a deadlock reaches it


def _blocking_chunk(pipeline: Pipeline) -> tuple[threading.Event, threading.Event]:
    """Make the pipeline's chunking wait for ``release`` (after setting ``entered``)."""
    entered, release = threading.Event(), threading.Event()
    release.set()  # not yet: the first build goes through
    chunk = pipeline.chunk

    def slow(document: Document) -> list[Chunk]:
        entered.set()
        assert release.wait(WAIT), "the test never released the write"
        return chunk(document)

    pipeline.chunk = slow  # type: ignore[method-assign]
    return entered, release


def _blocked_add(
    pipeline: Pipeline, corpus: Path, article: Path
) -> tuple[threading.Thread, list[Any], threading.Event]:
    """The corpus built, then an add of ``article`` started in a thread and held inside
    its chunking until the returned event is set."""
    entered, release = _blocking_chunk(pipeline)
    pipeline.build([corpus])
    release.clear()
    thread, out = _in_thread(pipeline.add, [article])
    assert entered.wait(WAIT)
    return thread, out, release


def _in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    thread.start()
    return thread, out


def _article(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"{name} заголовок\n\n{body}\n", encoding="utf-8")
    return path


def test_questions_are_answered_while_an_add_prepares(
    fake_pipeline: Pipeline, corpus: Path, tmp_path: Path
) -> None:
    new = _article(tmp_path / "up", "c.txt", "Ракета «Союз» стартовала с космодрома Байконур.")
    writer, report, release = _blocked_add(fake_pipeline, corpus, new)
    searcher, hits = _in_thread(fake_pipeline.search, "спутники SpaceSail")
    searcher.join(WAIT)
    blocked = searcher.is_alive()
    release.set()
    writer.join(WAIT)
    assert not blocked, "a search waited for the write's chunking"
    assert hits and hits[0][0].chunk.doc_id == "a.txt"
    assert report and report[0].added == ("c.txt",)
    # after the swap the loaded index has the new article
    assert fake_pipeline.search("ракета Союз стартовала")[0].chunk.doc_id == "c.txt"


def test_two_concurrent_writers_are_serialised(
    fake_pipeline: Pipeline, corpus: Path, tmp_path: Path
) -> None:
    first = _article(tmp_path / "one", "c.txt", "Первый текст про ракету «Союз».")
    second = _article(tmp_path / "two", "d.txt", "Второй текст про станцию «Мир».")
    t1, r1, release = _blocked_add(fake_pipeline, corpus, first)
    t2, r2 = _in_thread(fake_pipeline.add, [second])
    t2.join(0.3)
    assert t2.is_alive(), "the second write did not wait for the first"
    release.set()
    t1.join(WAIT)
    t2.join(WAIT)
    assert r1[0].added == ("c.txt",) and r2[0].added == ("d.txt",)
    assert r2[0].n_documents == 4
    assert set(fake_pipeline.index.documents) == {"a.txt", "b.txt", "c.txt", "d.txt"}


class _CountingLock:
    """A lock that says whether it is held, and how often it was taken."""

    def __init__(self) -> None:
        self.held, self.taken = False, 0

    def __enter__(self) -> None:
        self.held, self.taken = True, self.taken + 1

    def __exit__(self, *exc: object) -> None:
        self.held = False


def test_shared_embedder_takes_the_lock_per_batch() -> None:
    lock, inner = _CountingLock(), FakeEmbedder(8)
    seen: list[bool] = []
    encode = inner.encode

    def spy(texts: Any, kind: Any, titles: Any = None, progress: bool = False) -> np.ndarray:
        seen.append(lock.held)
        return encode(texts, kind, titles)

    inner.encode = spy  # type: ignore[method-assign]
    shared = SharedEmbedder(lambda: inner, lock, inner.model_id, 8, batch=32)
    texts = [f"текст {i}" for i in range(70)]
    vectors = shared.encode(texts, "document", ["т"] * 70)
    assert [n for _, n in inner.calls] == [32, 32, 6] and lock.taken == 3
    assert seen == [True, True, True] and not lock.held
    assert np.array_equal(vectors, FakeEmbedder(8).encode(texts, "document"))
    assert shared.encode([], "document").shape == (0, 8)
