"""The pipeline, top to bottom: documents -> chunks -> vectors -> index -> passages -> cited answer.

One object serves the CLI, the UI and the eval. Models and the index load
lazily, once per process, on first use.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rag.config import Config
from rag.embed import Embedder, make_embedder
from rag.embed.base import SharedEmbedder
from rag.embed.words import WordVectors
from rag.errors import BadInputError
from rag.generate import citations, prompts
from rag.generate.base import Generator, Message
from rag.generate.registry import STRATEGIES
from rag.generate.strategy import (
    AnswerRequest,
    Done,
    Event,
    Evidence,
    Retrieved,
    Strategy,
    Token,
)
from rag.index import store
from rag.index.engine import BuildEngine
from rag.index.store import IndexData, IndexSettings
from rag.index.writer import IndexReport, IndexWriter
from rag.ingest.chunk import chunk
from rag.retrieve import context
from rag.retrieve import filters as search_filters
from rag.retrieve.hybrid import Retriever
from rag.stream import AnswerStream
from rag.types import Answer, Chunk, Document, Hit, Mode, SearchFilters

__all__ = [
    "AnswerStream", "Done", "Event", "Evidence", "IndexReport", "Pipeline", "Retrieved", "Token",
]  # fmt: skip

_T = TypeVar("_T")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class Pipeline:
    def __init__(
        self,
        config: Config,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.config = config
        self._embedder = embedder
        self._generator = generator
        self._index: IndexData | None = None
        self.lock = threading.RLock()  # llama.cpp and the index are not re-entrant
        self._write_lock = threading.Lock()  # one index write at a time (see _write)
        self._prefilled: str | None = None  # which fixed prompt prefix the KV cache holds
        self._filter_cache: tuple[IndexData, SearchFilters, Any] | None = None
        self._stamp: tuple[int, int, int] | None = None  # the loaded manifest's stat
        self._words: WordVectors | None = None

    # -- lazy parts ---------------------------------------------------------
    def with_config(self, config: Config) -> Pipeline:
        """A pipeline with other settings that shares this one's loaded models (for
        settings that do not change the model files: retrieval mode, budgets)."""
        return Pipeline(config, embedder=self._embedder, generator=self._generator)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from rag.models import verify_models

            verify_models(self.config, ("embedding",))
            self._embedder = make_embedder(self.config)
        return self._embedder

    @property
    def word_vectors(self) -> WordVectors:
        """The embedder's vectors of single words (an English question's names against
        the words of Russian sentences), cached across questions."""
        if self._words is None:
            self._words = WordVectors(self.embedder)
        return self._words

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            from rag.generate.llama import LlamaGenerator
            from rag.models import verify_models

            verify_models(self.config, ("llm",))
            g = self.config.generation
            self._generator = LlamaGenerator(
                self.config.llm_path, g.model_id, g.n_ctx, self.config.threads, g.temperature
            )
        return self._generator

    @property
    def settings(self) -> IndexSettings:
        e, c = self.config.embedding, self.config.chunking
        return IndexSettings(e.model_id, e.sha256, e.dimension, c.chunk_size, c.chunk_overlap)

    @property
    def index(self) -> IndexData:
        if self._index is None:
            self._stamp = store.stamp(self.config.index_dir)
            self._index = store.load(self.config.index_dir, self.settings)
        return self._index

    def refresh(self) -> bool:
        """Pick up an index generation another process committed (``rag index add``):
        a stat of the manifest when nothing changed; otherwise a reload, under the
        lock, so never in the middle of an answer. Long-running front ends call it at
        a request boundary. True when it reloaded."""
        if self._index is None or store.stamp(self.config.index_dir) == self._stamp:
            return False
        with self.lock:
            stamp = store.stamp(self.config.index_dir)
            if self._index is None or stamp == self._stamp:
                return False
            self._index = store.load(self.config.index_dir, self.settings, self._index)
            self._stamp, self._filter_cache = stamp, None
        return True

    def warm(self, generate: bool = True) -> None:
        """Load the models now and read the fixed prompt prefix (long-running processes)."""
        self.embedder.embed_query("warm-up")
        if generate and self.config.generation.mode == "generative":
            self.prefill(self.strategy().prefix())

    def prefill(self, messages: Sequence[Message]) -> None:
        """Read a fixed prompt prefix once (or load it from the cache), unless the KV
        cache holds it already."""
        key = repr(list(messages))
        with self.lock:
            if self._prefilled != key:
                cache = self.config.models_dir / ".prompt-cache"
                self.generator.prefill(messages, cache)
                self._prefilled = key

    def strategy(self, name: str | None = None) -> Strategy:
        name = name or self.config.generation.strategy
        if name not in STRATEGIES:
            known = ", ".join(sorted(STRATEGIES))
            raise BadInputError(f"unknown answer strategy {name!r}; use one of {known}")
        return STRATEGIES[name]()

    # -- documents -> chunks -> vectors -> index ----------------------------
    def build(
        self, paths: Sequence[Path], progress: bool = False, engine: BuildEngine | None = None
    ) -> IndexReport:
        """Make the index hold exactly these articles (unchanged ones are not re-embedded).
        ``engine``: where loading, chunking and embedding run (default: this process)."""
        return self._write(lambda w: w.update(paths, replace_all=True, progress=progress), engine)

    def add(
        self, paths: Sequence[Path], progress: bool = False, engine: BuildEngine | None = None
    ) -> IndexReport:
        return self._write(lambda w: w.update(paths, replace_all=False, progress=progress), engine)

    def remove(self, doc_ids: Sequence[str]) -> IndexReport:
        """Mark articles deleted (a new manifest; no segment is rewritten)."""
        return self._write(lambda w: w.remove(doc_ids))

    def compact(self) -> dict[str, Any]:
        """Merge every segment into one and drop deleted rows; the manifest before and after."""
        return self._write(lambda w: w.compact())

    def _write(self, op: Callable[[IndexWriter], _T], engine: BuildEngine | None = None) -> _T:
        """Run a write; a loaded index is then re-read, reusing its unchanged segments.

        The expensive part (reading, cleaning, chunking, embedding, writing the
        segment) runs outside ``lock``, while questions are answered from the loaded
        index; the embedder takes ``lock`` per batch, and ``lock`` is held only to swap
        in the index the write committed. Writes queue on ``_write_lock`` here (and
        across processes on the index's file lock), so the loaded index they start
        from is the one the previous write left.
        """
        with self._write_lock:
            e = self.config.embedding
            embedder = SharedEmbedder(
                lambda: self.embedder, self.lock, e.model_id, e.dimension, 4 * e.batch_size
            )
            writer = IndexWriter(
                self.config, self.settings, lambda: embedder, self.chunk, self._index, engine
            )
            result = op(writer)
            loaded, stamp = writer.loaded, store.stamp(self.config.index_dir)
            if loaded is not None:
                loaded = store.load(self.config.index_dir, self.settings, loaded, writer.written)
            with self.lock:
                self._index, self._stamp = loaded, stamp
        return result

    def chunk(self, document: Document) -> list[Chunk]:
        c = self.config.chunking
        return chunk(document, c.chunk_size, c.chunk_overlap)

    def embedding_device(self) -> str:
        """The device the embedder runs (or will run) on: ``embedding.device`` resolved."""
        from rag.embed import resolve_device

        loaded = getattr(self._embedder, "device", None)
        return str(loaded) if loaded else resolve_device(self.config.embedding.device)

    def status(self) -> dict[str, Any]:
        return store.summary(self.config.index_dir) | {
            "embedding_device": self.embedding_device(),
            "llm": self.config.generation.model_id,
            "llm_path": str(self.config.llm_path),
        }

    # -- index -> passages ---------------------------------------------------
    def check_question(self, question: str) -> str:
        question = " ".join(_CONTROL.sub(" ", question or "").split())
        if not question:
            raise BadInputError("the question is empty; type a question about the articles")
        limit = self.config.limits.max_question_chars
        if len(question) > limit:
            raise BadInputError(
                f"the question is {len(question)} characters long; the limit is {limit}"
            )
        if not any(ch.isalnum() for ch in question):
            raise BadInputError("the question has no words in it")
        return question

    def search(
        self, query: str, k: int | None = None, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """The best passages for ``query``; ``filters`` keep those of matching articles
        (date range, source), and a year the query names is preferred (a mild boost)."""
        query = self.check_question(query)
        filters = search_filters.check(filters)
        k = k or self.config.retrieval.k
        with self.lock:
            index = self.index
            retriever = Retriever(self.embedder, index, self.config.retrieval.mode)
            allowed = self._allowed(index, filters) if filters is not None else None
            dated = filters is not None and (filters.since or filters.until)
            year = None if dated else search_filters.named_year(query)
            if year is None:
                return retriever.search(query, k, allowed)
            hits = retriever.search(query, max(3 * k, 15), allowed)
            return search_filters.prefer_year(hits, index.documents, year, k)

    def _allowed(self, index: IndexData, filters: SearchFilters) -> Any:
        """The rows ``filters`` keep (cached per index and filters: 100k rows take ms)."""
        cache = self._filter_cache
        if cache is None or cache[0] is not index or cache[1] != filters:
            doc_ids = [c.doc_id for c in index.chunks]
            mask = search_filters.allowed_rows(index.documents, doc_ids, filters)
            self._filter_cache = cache = (index, filters, mask)
        return cache[2]

    def document(self, doc_id: str) -> Document | None:
        """An article by doc_id; a folded near-duplicate gives the copy that was kept."""
        index = self.index
        return index.documents.get(doc_id) or index.documents.get(index.copies.get(doc_id, ""))

    # -- passages -> cited answer ------------------------------------------
    def rewrite(self, question: str, history: Sequence[tuple[str, str]]) -> str:
        """A follow-up made self-contained from the conversation (unchanged without history)."""
        if not history:
            return question
        with self.lock:
            text = self.generator.complete(prompts.rewrite_messages(question, history[-3:]), 64)
            self._prefilled = None  # the KV cache now holds this prompt: reload the prefix
        text = " ".join(text.strip().strip('"«»').split())
        return text if text and len(text) < 4 * len(question) + 200 else question

    def stream(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        k: int | None = None,
        language: str | None = None,
        mode: str | None = None,
        strategy_name: str | None = None,
        *,
        filters: SearchFilters | None = None,
    ) -> AnswerStream[Event]:
        """Retrieve, then stream the answer; the last event carries the checked Answer.

        The answer runs in its own thread (:class:`rag.stream.AnswerStream`): read the
        events from any thread; ``close()`` stops the model at its next token.
        ``language``: "ru"/"en" forces the answer language (default: the question's).
        ``mode``: "generative" (LLM) or "extractive" (best sentences, no LLM).
        """
        question = self.check_question(question)
        language = language or citations.detect_language(question)
        mode = mode or self.config.generation.mode
        if mode not in ("generative", "extractive"):
            raise BadInputError(f"unknown answer mode {mode!r}; use generative or extractive")
        g = self.config.generation
        if g.fallback not in ("extractive", "abstain"):
            raise BadInputError(f"unknown fallback {g.fallback!r}; use extractive or abstain")
        # The extractive mode (no LLM) is the free strategy's.
        strategy = self.strategy("free" if mode == "extractive" else strategy_name)
        asked = _Asked(question, tuple(history), k, language, mode, filters)  # type: ignore[arg-type]
        return AnswerStream(lambda cancel: self._answer(strategy, asked, cancel), self.lock)

    def _answer(
        self, strategy: Strategy, asked: _Asked, cancel: threading.Event
    ) -> Iterator[Event]:
        """The answer's events (in the stream's worker thread, under the lock)."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        query = self.rewrite(asked.question, asked.history)
        if asked.history:
            timings["rewrite"] = _since(started)
        t = time.perf_counter()
        hits = tuple(self.search(query, asked.k, filters=asked.filters))
        timings["retrieve"] = _since(t)
        yield Retrieved(query, hits)
        g = self.config.generation
        passages = tuple(context.pack(query, hits, g.context_budget_tokens, g.trim_context))
        index = self.index

        def similarity(text: str, of: Sequence[Hit]) -> list[float]:
            rows = index.rows_of([h.chunk.chunk_id for h in of])
            return index.similarity(self.embedder.embed_query(text), rows)

        request = AnswerRequest(
            question=asked.question, query=query, language=asked.language, mode=asked.mode,
            hits=hits, passages=passages, headers=tuple(context.headers(passages, index.documents)),
            documents=index.documents, generator=_Model(self, strategy.prefix(), cancel),
            similarity=similarity, words=self.word_vectors, settings=g,
            min_score=self.config.retrieval.min_score,
            cancel=cancel, started=started, timings=timings,
        )  # fmt: skip
        yield from strategy.answer(request)

    def ask(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        k: int | None = None,
        language: str | None = None,
        mode: str | None = None,
        strategy_name: str | None = None,
        *,
        filters: SearchFilters | None = None,
    ) -> Answer:
        with self.stream(
            question, history, k, language, mode, strategy_name, filters=filters
        ) as events:
            for event in events:
                if isinstance(event, Done):
                    return event.answer
        raise AssertionError("stream ended without an answer")


def _since(t: float) -> float:
    return (time.perf_counter() - t) * 1000.0


@dataclass(frozen=True)
class _Asked:
    """A question and how it is to be answered (``Pipeline.stream``'s arguments, checked)."""

    question: str
    history: tuple[tuple[str, str], ...]
    k: int | None
    language: str
    mode: Mode
    filters: SearchFilters | None


class _Model(Generator):
    """The pipeline's LLM as a strategy sees it: loaded on first use, the strategy's
    fixed prompt prefix read first (or found in the KV cache), stopping when the
    answer is cancelled."""

    def __init__(self, pipeline: Pipeline, prefix: list[Message], cancel: threading.Event):
        self.model_id = pipeline.config.generation.model_id
        self._pipeline, self._prefix, self._cancel = pipeline, prefix, cancel

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        self._pipeline.prefill(self._prefix)
        for piece in self._pipeline.generator.stream(messages, max_tokens):
            if self._cancel.is_set():
                return
            yield piece
