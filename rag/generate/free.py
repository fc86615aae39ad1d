"""The first answer design: the model writes freely from the passages, then every
sentence is checked against the passage it cites (``generation.strategy = "free"``).

Kept for comparison (``rag eval --strategies free,select``) and for the
``extractive`` mode (the passages' best sentences, no LLM).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from rag.generate import citations, extractive, prompts, verify
from rag.generate.strategy import (
    AnswerRequest,
    Done,
    Event,
    Resources,
    Strategy,
    Token,
    since,
)
from rag.retrieve import context
from rag.types import Answer, Citation, Document, Hit, SentenceCheck


@dataclass
class _Draft:
    """What generation produced, before the checks."""

    text: str = ""
    tokens: int = 0
    refused: bool = False  # the model said NO_ANSWER

    @property
    def abstained(self) -> bool:
        return self.refused or not self.text.strip()


class FreeStrategy(Strategy):
    name = "free"

    def prefix(self) -> list[prompts.Message]:
        return prompts.prefix_messages()

    def answer(self, request: AnswerRequest, res: Resources) -> Iterator[Event]:
        g = res.config.generation
        query, mode, timings = request.query, request.mode, request.timings
        selected = context.select(query, request.hits, g.context_budget_tokens, g.trim_context)
        passages = context.by_article(selected)
        t = time.perf_counter()
        draft = _Draft()
        refusal = gate(query, request.hits, passages, res.config.retrieval.min_score)
        if refusal is None:
            if mode == "extractive":
                draft.text = extractive.answer_text(query, passages)
                yield Token(draft.text)
            else:
                for token in _generate(res, query, passages, request.language, draft):
                    if "first_token" not in timings:
                        timings["first_token"] = request.since_start()
                    yield token
        sentences = check(res, query, draft.text, passages) if not draft.abstained else []
        kept = [s for s in sentences if s.verified]
        if refusal is None and not kept:
            refusal = "model" if draft.refused else "unverified"
        if refusal == "unverified" and mode == "generative" and g.fallback == "extractive":
            # The model wrote something its passages do not support: answer with the
            # passages' own best sentences instead, and say so (mode).
            rescue = check(res, query, extractive.answer_text(query, passages), passages)
            if kept := [s for s in rescue if s.verified]:
                # Not streamed: the final answer (Done) replaces the draft, and says why.
                sentences, refusal, mode = [*sentences, *rescue], None, "extractive-fallback"
        text = " ".join(s.text for s in kept)
        if refusal is not None:
            text = prompts.ABSTAIN_TEXT.get(request.language, prompts.ABSTAIN_TEXT["en"])
            yield Token(("\n\n" if draft.text else "") + text)
        timings["generate"] = since(t)
        timings["total"] = request.since_start()
        yield Done(
            Answer(
                question=request.question,
                answer=text,
                abstained=refusal is not None,
                citations=() if refusal is not None else cite(text, passages, res.index.documents),
                passages=tuple(passages),
                timings_ms=timings,
                language=request.language,
                query=query,
                tokens_generated=draft.tokens,
                mode=mode,
                sentences=tuple(sentences),
                refusal=refusal,
                draft=draft.text,
                strategy=self.name,
            )
        )


def _generate(
    res: Resources, query: str, passages: Sequence[Hit], language: str, draft: _Draft
) -> Iterator[Token]:
    res.prefill(prompts.prefix_messages())
    filt = citations.StreamFilter(len(passages))
    messages = prompts.answer_messages(query, res.headers(list(passages)), language)
    with res.lock:
        for piece in res.generator.stream(messages, res.config.generation.max_tokens):
            draft.tokens += 1
            if text := filt.feed(piece):
                yield Token(text)
    if tail := filt.flush():
        yield Token(tail)
    draft.text = " ".join(filt.out.split())
    draft.refused = filt.abstained or citations.looks_like_refusal(draft.text)


def check(res: Resources, query: str, answer: str, passages: Sequence[Hit]) -> list[SentenceCheck]:
    """Each sentence against its passages; unverified ones are reported, not printed."""
    # What the model read: the article's header (title, date) and the passage.
    texts = [prompts.quote_passage(f"{h}\n{t}") for h, t in res.headers(list(passages))]
    if not res.config.generation.verify:
        return [
            SentenceCheck(s, tuple(citations.cited_numbers(s)), True, "unchecked", 0.0)
            for s in verify.split_sentences(answer)
        ]

    def similarity(sentence: str) -> list[float]:
        # The claim is the question with its answer: "243." alone means nothing.
        rows = res.index.rows_of([h.chunk.chunk_id for h in passages])
        claim = res.embedder.embed_query(f"{query} {sentence}")
        return res.index.similarity(claim, rows)

    return verify.verify(answer, texts, similarity, question=query)


def gate(query: str, hits: Sequence[Hit], passages: Sequence[Hit], min_score: float) -> str | None:
    """Refuse before generating when retrieval says the articles cannot answer."""
    if not passages:
        return "no passages"
    if max(h.score for h in hits) < min_score:
        return "low score"
    if verify.ungrounded_names(query, [f"{h.chunk.title}\n{h.chunk.text}" for h in hits]):
        return "unknown name"
    return None


def cite(
    text: str, passages: Sequence[Hit], documents: Mapping[str, Document] | None = None
) -> tuple[Citation, ...]:
    """The citations ``[n]`` of ``text``, with their article's date where known."""
    out = []
    for n in citations.cited_numbers(text):
        c = passages[n - 1].chunk
        doc = (documents or {}).get(c.doc_id)
        date = doc.date if doc is not None else None
        out.append(Citation(n, c.doc_id, c.title, c.chunk_id, c.start, c.end, c.text, date, c.page))
    return tuple(out)
