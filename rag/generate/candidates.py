"""Candidate answer sentences from the retrieved passages, each with its exact span.

Every sentence of the top passages is a candidate (a sentence repeated by two
overlapping chunks counts once). Cheap features rank them for the LLM judge,
which reads only the best few: reading a sentence costs the model about a
third of a second, writing costs more, so the judge sees more passages than
the free-writing path did while reading about as many tokens.

Features (all in [0, 1], higher is better):
- ``dense``: the cosine of the question to the sentence's passage;
- ``lexical``: share of the question's content stems (IDF-weighted) in the sentence;
- ``type``: whether the sentence holds the kind of thing asked for (:mod:`answer_types`);
- ``novel``: share of the sentence's stems that are not the question's (a
  sentence that only restates the question answers nothing);
- ``rank``: 1 for the best passage, falling with the passage's rank.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rag.generate import answer_types, prompts
from rag.index.lexical import tokens
from rag.ingest.chunk import sentence_spans
from rag.types import Hit

MIN_CHARS = 25  # shorter "sentences" are headings, captions, counters
JUDGE_CHARS = 320  # the judge reads a longer sentence's beginning (the answer quotes it whole)


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage; ``hit`` is the sentence as a Hit (its
    chunk's text and span are the sentence's), so a citation points at it exactly."""

    hit: Hit
    passage_rank: int  # 0 for the best passage
    features: dict[str, float]
    prior: float  # the cheap score the judge's shortlist is chosen by

    @property
    def text(self) -> str:
        return self.hit.chunk.text

    @property
    def judged_text(self) -> str:
        """What the judge reads: the sentence, its beginning if it is very long."""
        if len(self.text) <= JUDGE_CHARS:
            return self.text
        return self.text[:JUDGE_CHARS].rsplit(" ", 1)[0] + " …"


def sentences(hits: Sequence[Hit]) -> list[tuple[int, Hit]]:
    """(passage rank, sentence-as-hit) for each distinct sentence of ``hits``."""
    seen: set[tuple[str, int]] = set()
    out = []
    for rank, hit in enumerate(hits):
        text = hit.chunk.text
        for a, b in sentence_spans(text):
            body = " ".join(text[a:b].split())
            start = hit.chunk.start + a
            key = (hit.chunk.doc_id, start)
            if len(body) < MIN_CHARS or key in seen or not any(ch.isalpha() for ch in body):
                continue
            if prompts.speaks_to_the_model(body):
                continue  # an instruction to the model is no answer (it reads "[…]" there)
            seen.add(key)
            a += len(text[a:b]) - len(text[a:b].lstrip())  # the span is the text, exactly
            b -= len(text[a:b]) - len(text[a:b].rstrip())
            chunk = replace(hit.chunk, text=text[a:b], start=hit.chunk.start + a,
                            end=hit.chunk.start + b)  # fmt: skip
            out.append((rank, Hit(chunk, hit.score)))
    return out


def features(
    question: str,
    kind: answer_types.QuestionKind,
    sentence: str,
    dense: float,
    rank: int,
    idf: Callable[[str], float],
) -> dict[str, float]:
    asked = set(tokens(question))
    words = set(tokens(sentence))
    weight = {t: max(idf(t), 0.1) for t in asked}
    total = sum(weight.values())
    lexical = sum(w for t, w in weight.items() if t in words) / total if total else 0.0
    novel = len(words - asked) / len(words) if words else 0.0
    return {
        "dense": max(0.0, min(1.0, dense)),
        "lexical": lexical,
        "type": answer_types.type_match(sentence, kind),
        "novel": novel,
        "rank": 1.0 / (1.0 + rank),
    }


# The shortlist's cheap score: chosen by hand from the features' meaning (lexical
# overlap first, the answer type second, the passage's score third); the
# calibrated model in :mod:`select` weighs the features again with the judge.
PRIOR_WEIGHTS = {"lexical": 1.0, "type": 0.5, "dense": 0.5, "novel": 0.2, "rank": 0.3}


def candidates(
    question: str,
    hits: Sequence[Hit],
    idf: Callable[[str], float] | None = None,
) -> list[Candidate]:
    """All candidate sentences of ``hits``, best prior first."""
    kind = answer_types.question_kind(question)
    idf = idf or (lambda _t: 1.0)
    out = []
    for rank, hit in sentences(hits):
        f = features(question, kind, hit.chunk.text, hit.score, rank, idf)
        prior = sum(PRIOR_WEIGHTS[k] * f[k] for k in PRIOR_WEIGHTS)
        out.append(Candidate(hit, rank, f, prior))
    out.sort(key=lambda c: -c.prior)
    return out


def shortlist(cands: Sequence[Candidate], n: int, budget_tokens: int) -> list[Candidate]:
    """The best ``n`` candidates within ``budget_tokens`` (estimated), best first."""
    from rag.retrieve.context import estimate_tokens

    chosen: list[Candidate] = []
    used = 0
    for c in cands:
        cost = estimate_tokens(c.text) + 4
        if chosen and used + cost > budget_tokens:
            continue
        chosen.append(c)
        used += cost
        if len(chosen) == n:
            break
    return chosen


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))
