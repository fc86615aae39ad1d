"""Draft, check, then quote the source (``generation.strategy = "quote"``).

The model drafts an answer from the passages and every sentence is checked, as in
:mod:`rag.generate.free`: that decides between an answer and "the sources do not
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
replace it with the quote. ``Answer.drafted`` keeps the checked draft, so
``rag eval`` scores both in one run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from rag.generate import citations, prompts, translit, verify
from rag.generate.candidates import sentences as passage_sentences
from rag.generate.free import FreeStrategy, cite
from rag.generate.strategy import AnswerRequest, Done, Event, Evidence, Resources, Strategy, Token
from rag.index.lexical import tokens
from rag.types import Answer, Hit, SentenceCheck

COVERED = 0.8  # a second source sentence is added while the first covers less of the draft
MAX_QUOTED = 2  # source sentences per draft sentence


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

    def prefix(self) -> list[prompts.Message]:
        return prompts.prefix_messages()

    def answer(self, request: AnswerRequest, res: Resources) -> Iterator[Event]:
        drafted: Answer | None = None
        for event in FreeStrategy().answer(request, res):
            if isinstance(event, Done):
                drafted = event.answer
            else:
                yield event  # the draft streams as it is written
        assert drafted is not None
        if drafted.abstained or drafted.mode != "generative":
            # a refusal, or the extractive fallback (already the passages' own sentences)
            yield Done(replace(drafted, strategy=self.name))
            return
        english = request.language == "en"
        quoted: list[Hit] = []  # the source sentences, numbered [1], [2], ... in the answer
        parts: list[tuple[SentenceCheck, list[Hit]]] = []
        for check in (s for s in drafted.sentences if s.verified):
            cited = [drafted.passages[n - 1] for n in check.citations]
            cross = english and any(translit.has_cyrillic(h.chunk.text) for h in cited)
            found = sources_of(check.text, cited, cross, 1 if cross else MAX_QUOTED)
            if not cross and not states_all(check.text, found):
                found = []  # no sentence alone says it (a header date, a joined clause)
            parts.append((check, found))
            keys = {(h.chunk.doc_id, h.chunk.start) for h in quoted}
            quoted += [h for h in found if (h.chunk.doc_id, h.chunk.start) not in keys]
        if not quoted:
            yield Done(replace(drafted, strategy=self.name))
            return
        yield Evidence(tuple(quoted))
        request.timings["first_shown"] = request.since_start()
        offset = len(quoted)
        if english:
            # The reader asked in English: the draft stays, its citations too (the
            # passages it read); the quoted sentences lend it their names' spellings.
            text, checks = _english(parts)
            passages, kept = drafted.passages, drafted.answer
        else:
            text, checks = _quote(parts, quoted, offset)
            passages, kept = (*quoted, *drafted.passages), renumber(drafted.answer, len(quoted))
        if text != drafted.answer:  # what was streamed was the draft
            yield Token("\n\n" + text)
        request.timings["total"] = request.since_start()
        yield Done(
            replace(
                drafted,
                answer=text,
                citations=cite(text, passages, res.index.documents),
                passages=tuple(passages),
                timings_ms=request.timings,
                mode="quote",
                sentences=tuple(checks),
                strategy=self.name,
                drafted=kept,
            )
        )


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
