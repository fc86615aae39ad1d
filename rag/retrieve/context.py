"""Choosing what the model reads: the best chunk whole, and from the next ones
only the sentences that share words with the question, within a token budget.

On two cores the model reads about 100 prompt tokens a second, so the prompt
is the cost. The best chunk goes in whole (dense retrieval put it first; for an
English question over Russian text nothing lexical would be found in it
anyway). From each further chunk, the sentence that shares most content words
with the question goes in with the sentence after it, and only if it shares
at least one. A trimmed passage keeps its exact span in the article, so a
citation still points at the text the model read.

Token counts are estimated from characters (Qwen's tokenizer takes about 3
characters of Russian news text per token); the estimate only has to be stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from rag.index.lexical import tokens
from rag.ingest.chunk import sentence_spans
from rag.types import Document, Hit

CHARS_PER_TOKEN = 3.0
HEADER_TOKENS = 25  # "[n] title (date; source)"


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def _best_window(query_terms: set[str], hit: Hit) -> Hit | None:
    """The best-matching sentence and the one after it, or None if none matches."""
    text = hit.chunk.text
    spans = sentence_spans(text)
    best, best_overlap = -1, 0
    for i, (a, b) in enumerate(spans):
        overlap = len(query_terms & set(tokens(text[a:b])))
        if overlap > best_overlap:
            best, best_overlap = i, overlap
    if best < 0:
        return None
    start, end = spans[best][0], spans[min(best + 1, len(spans) - 1)][1]
    chunk = replace(
        hit.chunk,
        text=text[start:end],
        start=hit.chunk.start + start,
        end=hit.chunk.start + end,
    )
    return Hit(chunk, hit.score)


def select(query: str, hits: Sequence[Hit], budget_tokens: int, trim: bool = True) -> list[Hit]:
    """Passages for the prompt, in rank order, within ``budget_tokens`` (the first always)."""
    terms = set(tokens(query))
    chosen: list[Hit] = []
    used = 0
    for rank, hit in enumerate(hits):
        passage = hit if rank == 0 or not trim else _best_window(terms, hit)
        if passage is None:
            continue
        cost = estimate_tokens(passage.chunk.text) + HEADER_TOKENS
        if chosen and used + cost > budget_tokens:
            continue
        chosen.append(passage)
        used += cost
    return chosen


def by_article(passages: Sequence[Hit]) -> list[Hit]:
    """Passages of one article together, articles in the order of their best passage
    (the prompt then names each article once; [n] follows this order)."""
    first: dict[str, int] = {}
    for i, hit in enumerate(passages):
        first.setdefault(hit.chunk.doc_id, i)
    order = sorted(range(len(passages)), key=lambda i: (first[passages[i].chunk.doc_id], i))
    return [passages[i] for i in order]


def pack(query: str, hits: Sequence[Hit], budget_tokens: int, trim: bool = True) -> list[Hit]:
    """The passages the model reads, in the order it reads them (``[n]`` numbers them):
    :func:`select` within the budget, then grouped by article (:func:`by_article`)."""
    return by_article(select(query, hits, budget_tokens, trim))


def headers(passages: Sequence[Hit], documents: Mapping[str, Document]) -> list[tuple[str, str]]:
    """(header, text) of each passage; the header is the article's title, date and source."""
    out = []
    for hit in passages:
        doc = documents.get(hit.chunk.doc_id)
        meta = "; ".join(x for x in (doc.date, doc.source) if x) if doc else ""
        out.append((f"{hit.chunk.title} ({meta})" if meta else hit.chunk.title, hit.chunk.text))
    return out
