"""The data that flows through the pipeline, one frozen dataclass per boundary.

documents -> chunks -> vectors -> index -> hits (passages) -> cited answer
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of an answer and whether its cited passages support it."""

    text: str  # the sentence as printed, with its (corrected) citations
    citations: tuple[int, ...]
    verified: bool
    method: str  # "lexical" | "semantic" | "extractive"
    support: float


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    language: str = "ru"
    query: str | None = None  # the rewritten, self-contained query (follow-ups)
    tokens_generated: int = 0
    mode: str = "generative"
    sentences: tuple[SentenceCheck, ...] = ()
    # Why the answer is a refusal: "no passages", "low score" (retrieval found nothing
    # close enough), "unknown name" (a name of the question is in no passage), "model"
    # (the model said the passages do not answer), "unverified" (no generated
    # sentence was supported by its passages); None when it is an answer.
    refusal: str | None = None
    draft: str = ""  # what the model generated, before the checks
    strategy: str = "free"  # the answer strategy (rag.generate.strategy.STRATEGIES)
    # The select strategy's candidate sentences with their features and calibrated
    # scores, best first (for the eval's calibration; not part of the JSON).
    candidates: tuple[dict[str, object], ...] = ()
    # The quote strategy: the checked draft the shown answer was quoted from (its
    # citations numbered as in ``passages``), for the eval's side-by-side.
    drafted: str = ""

    def to_json(self) -> dict[str, object]:
        """The stable JSON shape of ``rag ask --json`` (scripts depend on these names)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [
                {
                    "n": c.n,
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "chunk_id": c.chunk_id,
                    "start": c.start,
                    "end": c.end,
                    "text": c.text,
                    "date": c.date,
                    "page": c.page,
                }
                for c in self.citations
            ],
            "passages": [
                {
                    "doc_id": h.chunk.doc_id,
                    "chunk_id": h.chunk.chunk_id,
                    "score": round(float(h.score), 6),
                    "text": h.chunk.text,
                }
                for h in self.passages
            ],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "language": self.language,
            "query": self.query if self.query is not None else self.question,
            "tokens_generated": self.tokens_generated,
            "mode": self.mode,
            "refusal": self.refusal,
            "draft": self.draft,
            "drafted": self.drafted,
            "strategy": self.strategy,
            "sentences": [
                {"text": s.text, "citations": list(s.citations), "verified": s.verified,
                 "method": s.method, "support": s.support}
                for s in self.sentences
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class SearchFilters:
    since: str | None = None  # ISO date YYYY-MM-DD, inclusive
    until: str | None = None  # ISO date, inclusive
    source: str | None = None  # case-insensitive substring of Document.source
