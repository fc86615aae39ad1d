"""Extractive answers: the passages' best sentences, cited, with no LLM (instant).

A sentence scores by the share of the question's content stems it contains,
plus a small prior for the passage's rank. It is used on request
(``rag ask --mode extractive``) and to show the closest evidence when a
generated answer fails verification.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.generate.citations import attach
from rag.index.lexical import tokens
from rag.ingest.chunk import sentence_spans
from rag.types import Hit

RANK_PRIOR = 0.05


def best_sentences(question: str, passages: Sequence[Hit], n: int = 2) -> list[tuple[int, str]]:
    """Up to ``n`` (passage number, sentence) pairs, best first; ties keep passage order."""
    wanted = set(tokens(question))
    scored = []
    for number, hit in enumerate(passages, start=1):
        text = hit.chunk.text
        for start, end in sentence_spans(text):
            sentence = " ".join(text[start:end].split())
            overlap = len(wanted & set(tokens(sentence))) / len(wanted) if wanted else 0.0
            scored.append((overlap - RANK_PRIOR * (number - 1), number, start, sentence))
    scored.sort(key=lambda x: (-x[0], x[1], x[2]))
    chosen = scored[:n]
    if len(chosen) > 1 and chosen[1][0] <= 0 < chosen[0][0]:
        chosen = chosen[:1]  # a second sentence that shares nothing with the question is noise
    return [(number, sentence) for _, number, _, sentence in chosen]


def answer_text(question: str, passages: Sequence[Hit], n: int = 2) -> str:
    return " ".join(attach(s, [number]) for number, s in best_sentences(question, passages, n))
