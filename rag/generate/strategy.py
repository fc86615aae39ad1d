"""The answer-step contract: passages in, stream events out, a checked Answer last.

``Pipeline.stream`` checks the question, rewrites a follow-up, retrieves, and
hands the rest to one strategy, chosen by name from ``STRATEGIES``
(``generation.strategy`` in the config):

- ``select`` (:mod:`rag.generate.select`): choose the sentence that answers,
  scored by the LLM as a judge, then say it; or say the sources are silent.
- ``free`` (:mod:`rag.generate.free`): the model writes freely from the
  passages, then each sentence is checked (the first design, kept for
  comparison; also the ``extractive`` mode).
- ``quote`` (:mod:`rag.generate.quote`): free's draft and checks decide between
  an answer and a refusal; the answer shown is the source sentence each verified
  draft sentence rests on, verbatim (English: the draft, names spelled as the
  source's).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rag.types import Answer, Hit

if TYPE_CHECKING:
    from rag.config import Config
    from rag.embed import Embedder
    from rag.generate.base import Generator, Message
    from rag.index.store import IndexData


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


class Resources(Protocol):
    """What a strategy may use of the pipeline (models load lazily on first use)."""

    config: Config
    lock: threading.RLock

    @property
    def embedder(self) -> Embedder: ...

    @property
    def generator(self) -> Generator: ...

    @property
    def index(self) -> IndexData: ...

    def headers(self, passages: tuple[Hit, ...] | list[Hit]) -> list[tuple[str, str]]: ...

    def prefill(self, messages: Sequence[Message]) -> None: ...


@dataclass
class AnswerRequest:
    question: str  # as asked (checked)
    query: str  # self-contained (a rewritten follow-up)
    hits: tuple[Hit, ...]
    language: str  # the answer language: "ru" | "en"
    mode: str  # "generative" | "extractive"
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)

    def since_start(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


class Strategy(ABC):
    name: str

    @abstractmethod
    def answer(self, request: AnswerRequest, res: Resources) -> Iterator[Event]:
        """Yield Evidence/Token events and finally one Done with the checked Answer."""

    def prefix(self) -> list[Message]:
        """The fixed start of this strategy's prompts (read once, kept in the KV cache)."""
        return []


def since(t: float) -> float:
    return (time.perf_counter() - t) * 1000.0
