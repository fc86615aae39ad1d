"""The steps every answer strategy shares, in the order they run.

1. :func:`gate`: refuse before generating when retrieval says the articles cannot
   answer (nothing found, nothing close enough, a name of the question in no passage).
2. :func:`draft_and_check`: the model drafts from the passages (or, in the extractive
   mode, the passages' best sentences stand in), every sentence is checked against
   the passage it cites (:mod:`rag.generate.verify`), and what is left is the answer,
   a refusal, or (``generation.fallback = "extractive"``) the passages' own sentences.
3. :func:`cite` and :func:`finish`: the citations ``[n]`` of the text shown, and the
   :class:`~rag.types.Answer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass

from rag.generate import citations, extractive, prompts, verify
from rag.generate.strategy import AnswerRequest, Event, Token
from rag.types import Answer, AnswerKind, Citation, Document, Draft, Hit, Refusal, SentenceCheck


@dataclass(frozen=True)
class Checked:
    """The outcome of :func:`draft_and_check`."""

    text: str  # the verified sentences, joined; the refusal text on a refusal
    kind: AnswerKind  # GENERATED, EXTRACTIVE, FALLBACK or REFUSED
    refusal: Refusal | None
    sentences: tuple[SentenceCheck, ...]
    draft: str  # what the model (or the extractive step) wrote, before the checks
    tokens: int


def gate(request: AnswerRequest) -> Refusal | None:
    """Refuse before generating when retrieval says the articles cannot answer."""
    hits = request.hits
    if not request.passages:
        return Refusal.NO_PASSAGES
    if max(h.score for h in hits) < request.min_score:
        return Refusal.LOW_SCORE
    if verify.ungrounded_names(request.query, [f"{h.chunk.title}\n{h.chunk.text}" for h in hits]):
        return Refusal.UNKNOWN_NAME
    return None


def abstain_text(language: str) -> str:
    return prompts.ABSTAIN_TEXT.get(language, prompts.ABSTAIN_TEXT["en"])


@dataclass
class _Draft:
    """What generation produced, before the checks."""

    text: str = ""
    tokens: int = 0
    refused: bool = False  # the model said NO_ANSWER

    @property
    def abstained(self) -> bool:
        return self.refused or not self.text.strip()


def _generate(request: AnswerRequest, draft: _Draft) -> Iterator[Token]:
    filt = citations.StreamFilter(len(request.passages))
    messages = prompts.answer_messages(request.query, list(request.headers), request.language)
    for piece in request.generator.stream(messages, request.settings.max_tokens):
        draft.tokens += 1
        if text := filt.feed(piece):
            yield Token(text)
    if tail := filt.flush():
        yield Token(tail)
    draft.text = " ".join(filt.out.split())
    draft.refused = filt.abstained or citations.looks_like_refusal(draft.text)


def claim_similarity(request: AnswerRequest) -> Callable[[str], list[float]]:
    """A sentence's similarity to each passage; the claim is the question with its
    answer ("243." alone means nothing)."""
    return lambda sentence: request.similarity(f"{request.query} {sentence}", request.passages)


def check(request: AnswerRequest, text: str) -> list[SentenceCheck]:
    """Each sentence against its passages; unverified ones are reported, not printed."""
    # What the model read: the article's header (title, date) and the passage.
    texts = [prompts.quote_passage(f"{h}\n{t}") for h, t in request.headers]
    if not request.settings.verify:
        return [
            SentenceCheck(s, tuple(citations.cited_numbers(s)), True, "unchecked", 0.0)
            for s in verify.split_sentences(text)
        ]
    return verify.verify(text, texts, claim_similarity(request), question=request.query)


def draft_and_check(request: AnswerRequest, announce: bool = True
                    ) -> Generator[Event, None, Checked]:  # fmt: skip
    """Stream the draft (or the extractive sentences), check it, and return what is
    left; a refusal streams the refusal text (unless not ``announce``: the caller
    decides what follows a draft that did not stand)."""
    query, mode, timings = request.query, request.mode, request.timings
    t = time.perf_counter()
    draft = _Draft()
    refusal = gate(request)
    if refusal is None:
        if mode == "extractive":
            draft.text = extractive.answer_text(query, request.passages)
            yield Token(draft.text)
        else:
            for token in _generate(request, draft):
                if "first_token" not in timings:
                    timings["first_token"] = request.since_start()
                yield token
    sentences = check(request, draft.text) if not draft.abstained else []
    kept = [s for s in sentences if s.verified]
    if refusal is None and not kept:
        refusal = Refusal.MODEL if draft.refused else Refusal.UNVERIFIED
    kind = AnswerKind.EXTRACTIVE if mode == "extractive" else AnswerKind.GENERATED
    fallback = request.settings.fallback == "extractive"
    if refusal is Refusal.UNVERIFIED and mode == "generative" and fallback:
        # The model wrote something its passages do not support: answer with the
        # passages' own best sentences instead, and say so (kind).
        rescue = check(request, extractive.answer_text(query, request.passages))
        if kept := [s for s in rescue if s.verified]:
            # Not streamed: the final answer (Done) replaces the draft, and says why.
            sentences, refusal, kind = [*sentences, *rescue], None, AnswerKind.FALLBACK
    text = " ".join(s.text for s in kept)
    if refusal is not None:
        text, kind = abstain_text(request.language), AnswerKind.REFUSED
        if announce:
            yield Token(("\n\n" if draft.text else "") + text)
    timings["generate"] = (time.perf_counter() - t) * 1000.0
    timings["total"] = request.since_start()
    return Checked(text, kind, refusal, tuple(sentences), draft.text, draft.tokens)


def cite(
    text: str, passages: Sequence[Hit], documents: Mapping[str, Document] | None = None
) -> tuple[Citation, ...]:
    """The citations ``[n]`` of ``text``, with their article's date where known; a
    number that points at no passage is no citation."""
    out = []
    for n in citations.cited_numbers(text):
        if not 1 <= n <= len(passages):
            continue
        c = passages[n - 1].chunk
        doc = (documents or {}).get(c.doc_id)
        date = doc.date if doc is not None else None
        page = doc.page_of(c.start, c.end) if doc is not None and doc.pages else c.page
        out.append(Citation(n, c.doc_id, c.title, c.chunk_id, c.start, c.end, c.text, date, page))
    return tuple(out)


def finish(request: AnswerRequest, strategy: str, checked: Checked) -> Answer:
    """The Answer of a finished draft-and-check run (a strategy may ``replace`` parts)."""
    refused = checked.refusal is not None
    return Answer(
        question=request.question,
        answer=checked.text,
        citations=() if refused else cite(checked.text, request.passages, request.documents),
        passages=request.passages,
        kind=checked.kind,
        refusal=checked.refusal,
        timings_ms=request.timings,
        language=request.language,
        query=request.query,
        tokens_generated=checked.tokens,
        mode=request.mode,
        sentences=checked.sentences,
        strategy=strategy,
        variant=Draft(checked.draft),
    )
