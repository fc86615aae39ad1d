"""Draft, check, then quote the source (``generation.strategy = "quote"``).

The model drafts an answer from the passages and every sentence is checked, as in
:func:`rag.generate.steps.draft_and_check`: that decides between an answer and "the sources do not
say". What is shown is not the draft but the source: for each verified draft
sentence, the sentence of its cited passage that the draft rests on (the one that
covers most of its words, a second one when the draft joins two), verbatim, its
citation pointing at that sentence's exact span. A 1.5B model's paraphrase is where
names, titles and numbers get lost ("вице-премьер" for "первый вице-премьер",
"Bussygin" for "Бусыгин"); the source sentence keeps them.

English answers keep the draft (a reader asked in English) and its citations of the
passages it read, with every Russian name of its source sentence (the one whose
transliteration shares most of the draft's letters) in one transliteration and its
Cyrillic original once (:mod:`rag.generate.translit`); that sentence is the evidence
shown with it.

The draft streams as it is written; the Evidence event and the final Answer (Done)
replace it with the quote. ``Answer.variant.checked`` keeps the checked draft, so
``rag eval`` scores both in one run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from rag.generate import citations, prompts, steps, translit, verify
from rag.generate.strategy import AnswerRequest, Done, Event, Evidence, Strategy, Token
from rag.index.lexical import tokens
from rag.ingest.chunk import sentence_spans
from rag.types import Answer, AnswerKind, Draft, Hit, SentenceCheck

COVERED = 0.8  # a second source sentence is added while the first covers less of the draft
MAX_QUOTED = 2  # source sentences per draft sentence
MIN_CHARS = 25  # shorter "sentences" are headings, captions, counters


def passage_sentences(hits: Sequence[Hit]) -> list[tuple[int, Hit]]:
    """(passage rank, sentence-as-hit) for each distinct sentence of ``hits``: the
    sentence's chunk holds its text and exact span, so a citation points at it."""
    seen: set[tuple[str, int]] = set()
    out = []
    for rank, hit in enumerate(hits):
        text = hit.chunk.text
        for a, b in sentence_spans(text):
            body = " ".join(text[a:b].split())
            key = (hit.chunk.doc_id, hit.chunk.start + a)
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


def _trigrams(text: str) -> set[str]:
    s = " ".join(text.lower().split())
    return {s[i : i + 3] for i in range(len(s) - 2)}


def coverage(draft: str, sentence: str, cross_script: bool) -> float:
    """How much of the draft sentence ``sentence`` states: the share of its content
    stems (same script), or of its character trigrams against the transliterated
    sentence (an English draft over Russian text: names and numbers carry it)."""
    if cross_script:
        mine = _trigrams(draft)
        return len(mine & _trigrams(translit.latin(sentence))) / len(mine) if mine else 0.0
    words = set(tokens(draft))
    return len(words & set(tokens(sentence))) / len(words) if words else 0.0


def sources_of(draft: str, passages: Sequence[Hit], cross_script: bool,
               limit: int = MAX_QUOTED) -> list[Hit]:  # fmt: skip
    """The sentences of ``passages`` the draft sentence rests on, in text order: the
    best-covering one, and (up to ``limit``) another when the draft joins two (greedy
    cover)."""
    draft = citations.CITATION.sub("", draft)
    pool = [hit for _, hit in passage_sentences(passages)]
    chosen: list[Hit] = []
    covered = 0.0
    while pool and len(chosen) < limit and covered < COVERED:
        joined = " ".join(h.chunk.text for h in chosen)
        best = max(pool, key=lambda h: coverage(draft, f"{joined} {h.chunk.text}", cross_script))
        gain = coverage(draft, f"{joined} {best.chunk.text}", cross_script)
        if chosen and gain <= covered:
            break
        chosen.append(best)
        pool.remove(best)
        covered = gain
    return sorted(chosen, key=lambda h: (h.chunk.doc_id, h.chunk.start))


def states_all(draft: str, found: Sequence[Hit]) -> bool:
    """Whether the quoted sentences say what the checked draft sentence says: every
    number of it, and at least the verifier's share of its content words."""
    joined = " ".join(h.chunk.text for h in found)
    draft = citations.CITATION.sub("", draft)
    if not found or not verify.numbers(draft) <= verify.numbers(joined):
        return False
    return coverage(draft, joined, False) >= verify.LEXICAL_MIN


def renumber(text: str, offset: int) -> str:
    """``[1]`` -> ``[1 + offset]`` (the draft's passages follow the quotes)."""
    return citations.CITATION.sub(
        lambda m: "[" + ", ".join(str(n + offset) for n in citations.cited_numbers(m.group(0)))
        + "]", text)  # fmt: skip


class QuoteStrategy(Strategy):
    name = "quote"

    def answer(self, request: AnswerRequest) -> Iterator[Event]:
        checked = yield from steps.draft_and_check(request)  # the draft streams as written
        drafted = steps.finish(request, self.name, checked)
        if checked.kind is not AnswerKind.GENERATED:
            # a refusal, or the extractive fallback (already the passages' own sentences)
            yield Done(drafted)
            return
        english = request.language == "en"
        parts = _sources(drafted, english)
        quoted: list[Hit] = []  # the source sentences, numbered [1], [2], ... in the answer
        for _, found in parts:
            keys = {(h.chunk.doc_id, h.chunk.start) for h in quoted}
            quoted += [h for h in found if (h.chunk.doc_id, h.chunk.start) not in keys]
        if not quoted:
            yield Done(drafted)
            return
        yield Evidence(tuple(quoted))
        request.timings["first_shown"] = request.since_start()
        if english:
            # The reader asked in English: the draft stays, its citations too (the
            # passages it read); the quoted sentences lend it their names' spellings.
            text, checks = _english(parts)
            passages, kept = drafted.passages, drafted.answer
        else:
            text, checks = _quote(parts, quoted, len(quoted))
            passages, kept = (*quoted, *drafted.passages), renumber(drafted.answer, len(quoted))
        if text != drafted.answer:  # what was streamed was the draft
            yield Token("\n\n" + text)
        request.timings["total"] = request.since_start()
        yield Done(
            replace(
                drafted,
                answer=text,
                citations=steps.cite(text, passages, request.documents),
                passages=tuple(passages),
                kind=AnswerKind.QUOTED,
                sentences=tuple(checks),
                variant=Draft(checked.draft, checked=kept),
            )
        )


def _sources(drafted: Answer, english: bool) -> list[tuple[SentenceCheck, list[Hit]]]:
    """Each verified draft sentence with the source sentences it rests on ([] when no
    sentence alone says it: a header date, a joined clause)."""
    parts: list[tuple[SentenceCheck, list[Hit]]] = []
    for check in (s for s in drafted.sentences if s.verified):
        cited = [drafted.passages[n - 1] for n in check.citations]
        cross = english and any(translit.has_cyrillic(h.chunk.text) for h in cited)
        found = sources_of(check.text, cited, cross, 1 if cross else MAX_QUOTED)
        if not cross and not states_all(check.text, found):
            found = []
        parts.append((check, found))
    return parts


def _english(parts: Sequence[tuple[SentenceCheck, list[Hit]]]) -> tuple[str, list[SentenceCheck]]:
    """Each draft sentence with the Russian names of its source sentence in one
    transliteration and the Cyrillic original once; its citations unchanged."""
    out, checks = [], []
    for check, found in parts:
        body = " ".join(citations.CITATION.sub("", check.text).split()).rstrip()
        names = translit.glossary(" ".join(h.chunk.text for h in found))
        body = translit.latinise_answer(body, names)
        sentence = citations.attach(body, list(check.citations))
        out.append(sentence)
        checks.append(replace(check, text=sentence))
    return " ".join(out), checks


def _quote(parts: Sequence[tuple[SentenceCheck, list[Hit]]], quoted: Sequence[Hit],
           offset: int) -> tuple[str, list[SentenceCheck]]:  # fmt: skip
    """The quoted sentences verbatim, each once, in the draft's order, each citing its
    own span ([n]: its place in ``quoted``); a draft sentence no source sentence states
    stays as checked, citing its passages (numbered after the quotes: ``offset``)."""
    keys = [(h.chunk.doc_id, h.chunk.start) for h in quoted]
    out: list[str] = []
    checks: list[SentenceCheck] = []
    said: set[int] = set()
    for check, found in parts:
        if not found:
            sentence = renumber(check.text, offset)
            out.append(sentence)
            moved = tuple(n + offset for n in check.citations)
            checks.append(replace(check, text=sentence, citations=moved))
            continue
        for hit in found:
            n = keys.index((hit.chunk.doc_id, hit.chunk.start)) + 1
            if n in said:
                continue
            said.add(n)
            plain = prompts.without_markers(" ".join(hit.chunk.text.split()))
            sentence = citations.attach(plain, [n])
            out.append(sentence)
            checks.append(SentenceCheck(sentence, (n,), True, "quoted", check.support))
    return " ".join(out), checks
