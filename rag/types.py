"""The data that flows through the pipeline, one frozen dataclass per boundary.

documents -> chunks -> vectors -> index -> hits (passages) -> cited answer
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


@dataclass(frozen=True)
class Document:
    """A cleaned article.

    ``doc_id`` is the file's path relative to the corpus folder it was indexed
    from; ``sha256`` hashes the cleaned text, so re-adding an unchanged article
    is a no-op (content addressing).
    """

    doc_id: str
    title: str
    text: str
    sha256: str
    date: str | None = None
    source: str | None = None
    path: str | None = None
    # doc_ids of near-duplicate copies (reprints) folded into this article at ingest
    copies: tuple[str, ...] = ()
    # A paged original (PDF): the offset in ``text`` where page i + 1 starts; () if none.
    pages: tuple[int, ...] = ()

    def page_of(self, start: int, end: int) -> str | None:
        """The page ("3") or pages ("3-4") that ``text[start:end]`` lies on, if paged."""
        if not self.pages:
            return None
        first = max(bisect.bisect_right(self.pages, start), 1)
        last = max(bisect.bisect_right(self.pages, max(end - 1, start)), first)
        return str(first) if first == last else f"{first}-{last}"

    def page_span(self, page: str) -> tuple[int, int]:
        """The character span of ``page`` ("3" or "3-4") in ``text``."""
        first, _, last = page.partition("-")
        lo, hi = int(first), int(last or first)
        bounds = (*self.pages, len(self.text))
        return bounds[max(lo - 1, 0)], bounds[min(hi, len(self.pages))]


@dataclass(frozen=True)
class Chunk:
    """A passage of a document; ``start``/``end`` are offsets into ``Document.text``."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    page: str | None = None  # "3" or "3-4" in a paged original (Document.page_of)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score (higher is better)."""

    chunk: Chunk
    score: float

    def to_json(self, rank: int | None = None) -> dict[str, object]:
        """The passage as every front end prints it (``rag search --json``, the API)."""
        c = self.chunk
        head: dict[str, object] = {} if rank is None else {"rank": rank}
        return head | {"score": round(float(self.score), 6), "doc_id": c.doc_id,
                       "chunk_id": c.chunk_id, "title": c.title, "start": c.start,
                       "end": c.end, "text": c.text, "page": c.page}  # fmt: skip


@dataclass(frozen=True)
class Citation:
    """A passage that the answer cites as ``[n]``."""

    n: int
    doc_id: str
    title: str
    chunk_id: str
    start: int
    end: int
    text: str
    # The article's publication date: metadata shown with the citation, not evidence
    # for when the events it reports happened.
    date: str | None = None
    page: str | None = None  # the page(s) of a paged original (PDF): "3", "3-4"

    def to_json(self) -> dict[str, object]:
        return {"n": self.n, "doc_id": self.doc_id, "title": self.title,
                "chunk_id": self.chunk_id, "start": self.start, "end": self.end,
                "text": self.text, "date": self.date, "page": self.page}  # fmt: skip


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of an answer and whether its cited passages support it."""

    text: str  # the sentence as printed, with its (corrected) citations
    citations: tuple[int, ...]
    verified: bool
    method: str  # "lexical" | "semantic" | "extractive" | "quoted" | "unchecked"
    support: float


class Refusal(StrEnum):
    """Why an answer is a refusal (``Answer.refusal``; None when it is an answer)."""

    NO_PASSAGES = "no passages"  # the index has nothing (or nothing passed the filters)
    LOW_SCORE = "low score"  # retrieval found nothing close enough
    UNKNOWN_NAME = "unknown name"  # a name of the question is in no passage
    MODEL = "model"  # the model said the passages do not answer
    UNVERIFIED = "unverified"  # no generated sentence was supported by its passages
    NOT_STATED = "not stated"  # the sources hold the topic but not the detail asked

    @property
    def before_generation(self) -> bool:
        """Decided from retrieval alone, before any model ran (the gate)."""
        return self in (Refusal.NO_PASSAGES, Refusal.LOW_SCORE, Refusal.UNKNOWN_NAME)


class AnswerKind(StrEnum):
    """What the answer shown is (whatever the strategy): one meaning each."""

    GENERATED = "generated"  # the model's checked sentences
    QUOTED = "quoted"  # source sentences verbatim (English: the draft, names as the source's)
    EXTRACTIVE = "extractive"  # the passages' best sentences, no model (asked for)
    FALLBACK = "extractive-fallback"  # the draft failed its checks: the passages' sentences
    REFUSED = "refused"  # the sources do not answer (``Answer.refusal`` says why)


Mode = Literal["generative", "extractive"]  # what was asked: the model, or no model


@dataclass(frozen=True)
class Draft:
    """What the answer step drafted beside the answer shown (the eval scores it as a
    variant)."""

    # Before the checks: the model's reply (extractive mode: the passages' best
    # sentences); "" when nothing was drafted (a refusal before generating).
    text: str
    # The verified draft sentences when the answer shown replaced them (a quote), their
    # citations numbered as in ``Answer.passages``; "" when the answer is the draft.
    checked: str = ""


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]  # what the model read, numbered [1], [2], ... in order
    kind: AnswerKind
    refusal: Refusal | None = None  # None: an answer
    timings_ms: dict[str, float] = field(default_factory=dict)
    language: str = "ru"
    query: str | None = None  # the rewritten, self-contained query (follow-ups)
    tokens_generated: int = 0
    mode: Mode = "generative"  # what was asked (``kind`` says what happened)
    sentences: tuple[SentenceCheck, ...] = ()
    strategy: str = "quote"  # the answer strategy (rag.generate.registry.STRATEGIES)
    variant: Draft | None = None  # the draft, where the strategy made one
    # With an abstention: the nearest stated evidence, shown instead of citations, and
    # which part of the question the sources do not state (human readable).
    nearest: tuple[Citation, ...] = ()
    missing: str | None = None

    @property
    def abstained(self) -> bool:
        return self.refusal is not None

    @property
    def shown_citations(self) -> tuple[Citation, ...]:
        """The sources a front end lists: the citations, or with an abstention the
        nearest evidence."""
        return self.citations or (self.nearest if self.abstained else ())

    def to_json(self) -> dict[str, object]:
        """The stable JSON shape of ``rag ask --json`` (scripts depend on these names;
        README, "JSON output")."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "refusal": self.refusal.value if self.refusal is not None else None,
            "kind": self.kind.value,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
            "nearest": [c.to_json() for c in self.nearest],
            "missing": self.missing,
            "passages": [h.to_json() for h in self.passages],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "language": self.language,
            "query": self.query if self.query is not None else self.question,
            "tokens_generated": self.tokens_generated,
            "strategy": self.strategy,
            "variant": None if self.variant is None else
                       {"text": self.variant.text, "checked": self.variant.checked},
            "sentences": [
                {"text": s.text, "citations": list(s.citations), "verified": s.verified,
                 "method": s.method, "support": s.support}
                for s in self.sentences
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class Article:
    """One indexed article as the article lists show it (UI, REST, MCP)."""

    doc_id: str
    title: str
    chunks: int

    @classmethod
    def listed(cls, documents: Mapping[str, Mapping[str, Any]]) -> list[Article]:
        """The articles of an index manifest's ``documents`` (``Pipeline.status()``), by doc_id."""
        return [cls(d, documents[d].get("title", ""), documents[d].get("chunks", 0))
                for d in sorted(documents)]  # fmt: skip

    def to_json(self) -> dict[str, object]:
        return {"doc_id": self.doc_id, "title": self.title, "chunks": self.chunks}


@dataclass(frozen=True)
class SearchFilters:
    since: str | None = None  # ISO date YYYY-MM-DD, inclusive
    until: str | None = None  # ISO date, inclusive
    source: str | None = None  # case-insensitive substring of Document.source
