"""The answer-step contract: a typed request in, stream events out, an Answer last.

``Pipeline.stream`` checks the question, rewrites a follow-up, retrieves, packs the
passages the model reads (:func:`rag.retrieve.context.pack`) and hands an
:class:`AnswerRequest` to one strategy, chosen by name from
:data:`rag.generate.registry.STRATEGIES` (``generation.strategy`` in the config):

- ``quote`` (:mod:`rag.generate.quote`, the default): the model drafts, every
  sentence is checked; the answer shown is the source sentence each verified draft
  sentence rests on, verbatim (English: the draft, names spelled as the source's).
- ``free`` (:mod:`rag.generate.free`): the checked draft itself (also the
  ``extractive`` mode: the passages' best sentences, no LLM).

A strategy yields Evidence/Token events and one Done with the :class:`Answer`. It
never calls back into the pipeline and never imports another strategy: its steps
(the retrieval gate, the draft and its checks, citations, the refusal text, the
final Answer) are in :mod:`rag.generate.steps`. A new strategy is one module plus
one line in the registry.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from rag.retrieve import context
from rag.types import Answer, Document, Hit, Mode

if TYPE_CHECKING:
    import numpy as np

    from rag.config import GenerationConfig
    from rag.generate.base import Generator, Message


# -- stream events --------------------------------------------------------
@dataclass(frozen=True)
class Retrieved:
    query: str
    hits: tuple[Hit, ...]


@dataclass(frozen=True)
class Evidence:
    """The sentence(s) chosen as the answer's source, before the answer is phrased
    (a shell may show them at once)."""

    sentences: tuple[Hit, ...]


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Retrieved | Evidence | Token | Done

# The cosine of a text to the stored vector of each passage, in the passages' order.
Similarity = Callable[[str, Sequence[Hit]], list[float]]
# Normalised vectors of single words, one row each (an English name and Russian words).
Words = Callable[[Sequence[str]], "np.ndarray"]


@dataclass(frozen=True)
class AnswerRequest:
    """Everything a strategy may use; it holds no reference to the pipeline."""

    question: str  # as asked (checked)
    query: str  # self-contained (a rewritten follow-up)
    language: str  # the answer language: "ru" | "en"
    mode: Mode  # "generative" | "extractive" (no model)
    hits: tuple[Hit, ...]  # everything retrieved, best first (the retrieval gate reads them)
    passages: tuple[Hit, ...]  # what the model reads, in its order: [1] is the first
    headers: tuple[tuple[str, str], ...]  # (article header, text) of each passage
    documents: Mapping[str, Document]  # the indexed articles (citations carry their date)
    generator: Generator  # the model: loads on first use, stops when ``cancel`` is set
    similarity: Similarity  # the embedder's similarity of a text to passages
    settings: GenerationConfig
    min_score: float  # retrieval.min_score: below it, refuse without generating
    words: Words | None = None  # the embedder's word vectors (None: names by letters only)
    cancel: threading.Event = field(default_factory=threading.Event)  # the reader left
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)  # the Answer's timings_ms

    def since_start(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0

    def reading(self, passages: Sequence[Hit]) -> AnswerRequest:
        """The same request with the model reading ``passages`` instead."""
        return replace(self, passages=tuple(passages),
                       headers=tuple(context.headers(passages, self.documents)))  # fmt: skip


class Strategy(ABC):
    name: str

    @abstractmethod
    def answer(self, request: AnswerRequest) -> Iterator[Event]:
        """Yield Evidence/Token events and finally one Done with the checked Answer."""

    def prefix(self) -> list[Message]:
        """The fixed start of this strategy's prompts (read once, kept in the KV cache)."""
        from rag.generate.prompts import prefix_messages

        return prefix_messages()
