"""Draft, check, then quote the source (``generation.strategy = "quote"``).

The model drafts an answer from the passages and every sentence is checked, as in
:func:`rag.generate.steps.draft_and_check`: that decides between an answer and "the sources do not
say". What is shown is not the draft but the source: for each verified draft
sentence, the sentence of its cited passage that the draft rests on (the one that
covers most of its words, a second one when the draft joins two), verbatim, its
citation pointing at that sentence's exact span. A 1.5B model's paraphrase is where
names, titles and numbers get lost ("вице-премьер" for "первый вице-премьер",
"Bussygin" for "Бусыгин"); the source sentence keeps them.

English answers keep the draft (a reader asked in English), citing its source sentence
(the one whose transliteration shares most of the draft's letters), with every Russian
name of that sentence in one transliteration and its Cyrillic original once
(:mod:`rag.generate.translit`); the sentence itself follows, verbatim. A draft
sentence naming a person the sources do not is left out: the source sentence answers.

A draft that does not stand and offers nothing of the asked kind (it echoes the
question, names its source), or garbles the name of the one person its evidence names,
did not read the evidence shown before the model ran: that evidence answers, quoted as
it is (``_evidence_answers``). A draft that offers another fact of the asked kind,
refused by the checks, stays a refusal.

The draft streams as it is written; the Evidence event and the final Answer (Done)
replace it with the quote. ``Answer.variant.checked`` keeps the checked draft, so
``rag eval`` scores both in one run.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace

from rag.generate import (
    answerable,
    citations,
    constraints,
    evidence,
    headline,
    matching,
    prompts,
    steps,
    translated,
    translit,
    verify,
)
from rag.generate.strategy import AnswerRequest, Done, Event, Evidence, Strategy, Token
from rag.index.lexical import tokens
from rag.ingest.chunk import sentence_spans
from rag.retrieve import context
from rag.types import Answer, AnswerKind, Draft, Hit, Refusal, SentenceCheck

COVERED = 0.8  # a second source sentence is added while the first covers less of the draft
MAX_QUOTED = 2  # source sentences per draft sentence
STATES_NEW = 0.5  # share of what an English draft adds that its source sentence states
MIN_CHARS = 25  # shorter "sentences" are headings, captions, counters
SOURCE_SAYS = "The source says:"  # leads an English answer none of whose draft sentences stood


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


def _new_words(draft: str, question: str) -> str:
    """The words of the draft the question does not say (its answer: "... is Leda")."""
    asked = {w.lower() for w in re.findall(r"\w+", question)}
    return " ".join(w for w in re.findall(r"\w+", draft) if w.lower() not in asked)


def sources_of(draft: str, passages: Sequence[Hit], cross_script: bool,
               limit: int = MAX_QUOTED, question: str = "") -> list[Hit]:  # fmt: skip
    """The sentences of ``passages`` the draft sentence rests on, in text order: the
    best-covering one, and (up to ``limit``) another when the draft joins two (greedy
    cover). An English draft over Russian sentences (compared by letters, where a long
    sentence shares many by chance) rests first on a sentence that states most of what
    it adds to the ``question`` (an invented addition is found nowhere: then by all its
    letters)."""
    draft = citations.CITATION.sub("", draft)
    pool = [hit for _, hit in passage_sentences(passages)]
    new = _new_words(draft, question) if cross_script and question else ""

    def cover(text: str) -> tuple[bool, float]:
        told = bool(new) and coverage(new, text, cross_script) >= STATES_NEW
        return told, coverage(draft, text, cross_script)

    chosen: list[Hit] = []
    covered = 0.0
    while pool and len(chosen) < limit and covered < COVERED:
        joined = " ".join(h.chunk.text for h in chosen)
        best = max(pool, key=lambda h: cover(f"{joined} {h.chunk.text}"))
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
        # the retrieved passages whole: where evidence the budget cut is looked for, and
        # where the evidence's subject may be named
        wide = [hit for _, hit in passage_sentences(request.hits)]
        # an English question's names as the Russian sentences translate them
        asked = translated.senses(constraints.parse(request.query), wide, request.words)
        early, shown, request = yield from _look_first(request, asked, wide)
        if early is not None:  # no sentence states what was asked: no draft is needed
            yield Done(early)
            return
        pool = [hit for _, hit in passage_sentences(request.passages)]
        around = [*wide, *pool]
        # the draft streams as written
        checked = yield from steps.draft_and_check(request, announce=False)
        drafted = steps.finish(request, self.name, checked)
        # a draft that echoed the question, or garbled the name the evidence gives: the
        # evidence shown answers (_evidence_answers)
        if (
            checked.refusal is Refusal.UNVERIFIED
            and shown
            and (
                answerable.offers_nothing(asked, checked.draft)
                or answerable.misnames(asked, checked.draft, shown)
            )
        ):
            yield from _evidence_answers(request, asked, drafted, around, shown, checked.draft)
            return
        if checked.refusal is not None:
            yield Token(("\n\n" if checked.draft else "") + checked.text)
        if checked.refusal in (Refusal.MODEL, Refusal.UNVERIFIED):
            yield from _say_nearest(request, drafted, asked, pool, ())
            return
        if checked.kind is not AnswerKind.GENERATED:
            # a refusal, or the extractive fallback (already the passages' own sentences)
            yield Done(drafted)
            return
        english = request.language == "en"
        drafts = _sources(drafted, english, request.query)
        parts, first = _asked_parts(drafts, asked, pool, around, english)
        if not parts and shown and answerable.offers_nothing(asked, checked.draft):
            yield from _evidence_answers(request, asked, drafted, around, shown, checked.draft)
            return
        if not parts:  # the draft answers something else: say what the sources do state
            refused = replace(drafted, refusal=Refusal.NOT_STATED, kind=AnswerKind.REFUSED,
                              citations=())  # fmt: skip
            yield from _say_nearest(request, refused, asked, pool, first)
            return
        if asked.joint:  # "both X and Y": the part the draft left out, by its evidence
            parts += _left_out(asked, parts, around)
        if not _distinct(parts):  # the draft stands as checked (the article's date, asked for)
            yield Done(drafted)
            return
        yield from _answered(request, asked, drafted, parts, around, shown,
                             Draft(checked.draft, checked=drafted.answer))  # fmt: skip


def _evidence_answers(request: AnswerRequest, asked: constraints.Constraints,
                      drafted: Answer, around: Sequence[Hit], shown: tuple[Hit, ...],
                      draft: str) -> Iterator[Event]:  # fmt: skip
    """A draft that did not stand and offered nothing of what was asked (it echoed the
    question, named its source): the model did not read the evidence shown before it
    ran, and that evidence, which states what was asked, answers as it is; so does
    the evidence whose person the draft named garbled (``answerable.misnames``). A
    draft that offered another fact of the asked kind, refused by the checks, read the
    evidence otherwise: that stays a refusal."""
    evidence_only = (SentenceCheck("", (), True, "quoted", 1.0), list(shown))
    yield from _answered(request, asked, drafted, [evidence_only], around, shown, Draft(draft))


def _answered(request: AnswerRequest, asked: constraints.Constraints, drafted: Answer,
              parts: list[tuple[SentenceCheck, list[Hit]]], around: Sequence[Hit],
              shown: tuple[Hit, ...], draft: Draft) -> Iterator[Event]:  # fmt: skip
    """The answer that quotes the parts' evidence sentences (numbered [1], [2], ... in
    the answer); ``draft``: the model's draft, and the checked draft the quote replaces
    ("" when none stood)."""
    quoted = _distinct(parts)
    if tuple(quoted) != shown:
        yield Evidence(tuple(quoted))
    request.timings.setdefault("first_shown", request.since_start())
    text, checks = _compose(request, asked, drafted, parts, quoted, around)
    passages = (*quoted, *drafted.passages)
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
            refusal=None,
            sentences=tuple(checks),
            variant=replace(draft, checked=renumber(draft.checked, len(quoted))),
        )
    )


def _compose(request: AnswerRequest, asked: constraints.Constraints, drafted: Answer,
             parts: Sequence[tuple[SentenceCheck, list[Hit]]], quoted: Sequence[Hit],
             around: Sequence[Hit]) -> tuple[str, list[SentenceCheck]]:  # fmt: skip
    """The answer's text and its checked sentences: the quoted source sentences (an
    English reader gets the draft, checked against them and spelling their names, then
    the sentences beneath), and the part of a two-part question they do not state."""
    if request.language == "en":
        text, checks = _english(parts, quoted, drafted, request.query)
    else:
        text, checks = _quote(parts, quoted, len(quoted))
        text = _headline(asked, quoted, text)
    if note := answerable.unanswered(asked, quoted, request.language, around):
        text = f"{text} {note}"  # "где и когда": the part the sources do not state
    return text, checks


def _look_first(
    request: AnswerRequest, asked: constraints.Constraints, wide: Sequence[Hit]
) -> Generator[Event, None, tuple[Answer | None, tuple[Hit, ...], AnswerRequest]]:
    """Before the model runs: show the sentence that states what was asked (the
    evidence, at once), or, when no sentence of the passages does, the refusal that
    says what they state instead (no draft could pass the gate after it).

    The token budget keeps one passage whole and two sentences of the others: the
    sentence that states the answer, or the ones before it that name its subject, may
    be cut. So every retrieved passage is also looked at whole (``wide``: their
    sentences); when the evidence found there states more of the question than any
    window of what the model reads (or that holds none), it is added to what the model
    reads (added: the best passage is never displaced). Returns (the early refusal, the
    evidence shown, the request the model answers)."""
    if request.mode != "generative" or steps.gate(request) is not None:
        return None, (), request
    shown: tuple[Hit, ...] = ()
    lacking: constraints.Constraints | None = None
    # two things named side by side ("both X and Y"): each needs its own evidence
    for part in asked.parts if asked.joint else (asked,):
        best, request = _evidence(request, part, wide)
        if best is None:
            lacking = part
            break
        shown += tuple(h for h in best.sentences if h not in shown)
    if lacking is None:
        yield Evidence(shown)
        request.timings["first_shown"] = request.since_start()
        return None, shown, request
    if asked.about_report and evidence.names_all(asked, wide):
        return None, (), request  # the article's date may answer it: the draft decides
    text = steps.abstain_text(request.language)
    checked = steps.Checked(text, AnswerKind.REFUSED, Refusal.NOT_STATED, (), "", 0)
    refused = steps.finish(request, QuoteStrategy.name, checked)
    near = answerable.nearest(lacking, wide, request.language)
    if near is not None:
        refused = _with_nearest(request, refused, near)
    yield Token(refused.answer)
    request.timings["first_shown"] = request.timings["total"] = request.since_start()
    return refused, (), request


def _evidence(request: AnswerRequest, asked: constraints.Constraints, wide: Sequence[Hit]
              ) -> tuple[evidence.Found | None, AnswerRequest]:  # fmt: skip
    """The best evidence for ``asked`` in what the model reads, or in the passages
    whole when that states more (then added to what the model reads)."""
    best, _ = evidence.search(asked, [hit for _, hit in passage_sentences(request.passages)])
    if not asked.about_report:
        found, _ = evidence.search(asked, wide)
        if found is not None and (best is None or found.rank(asked) > best.rank(asked)):
            best = found
            request = _reading(request, best.sentences)
    return best, request


def _span(request: AnswerRequest, sentences: Sequence[Hit]) -> Hit:
    """Adjacent source sentences as one hit: their exact span of the article."""
    first, last = sentences[0].chunk, sentences[-1].chunk
    doc = request.documents.get(first.doc_id)
    text = doc.text[first.start : last.end] if doc is not None else " ".join(
        h.chunk.text for h in sentences)  # fmt: skip
    return Hit(replace(first, text=text, end=last.end), sentences[0].score)


def _reading(request: AnswerRequest, sentences: Sequence[Hit]) -> AnswerRequest:
    """The request with the evidence ``sentences`` among what the model reads (with
    its article's other passages), unless a passage already holds them."""
    span = _span(request, sentences).chunk
    for hit in request.passages:
        c = hit.chunk
        if c.doc_id == span.doc_id and c.start <= span.start and span.end <= c.end:
            return request
    added = Hit(span, sentences[0].score)
    return request.reading(context.by_article([*request.passages, added]))


def _with_nearest(request: AnswerRequest, refused: Answer, near: answerable.Nearest) -> Answer:
    """The refusal text and the nearest evidence, one span cited as [1]."""
    span = _span(request, near.sentences)
    return replace(refused, answer=answerable.refusal_text(near, request.language),
                   nearest=steps.cite("[1]", [span], request.documents),
                   missing=near.missing)  # fmt: skip


def _say_nearest(request: AnswerRequest, refused: Answer, asked: constraints.Constraints,
                 pool: Sequence[Hit], prefer: Sequence[Hit]) -> Iterator[Event]:  # fmt: skip
    """A refusal, with the nearest stated fact where the sources name the subject."""
    near = answerable.nearest(asked, pool, request.language, prefer)
    if near is not None:
        refused = _with_nearest(request, refused, near)
        yield Token("\n\n" + refused.answer)
    elif refused.answer != steps.abstain_text(request.language):
        refused = replace(refused, answer=steps.abstain_text(request.language))
        yield Token("\n\n" + refused.answer)
    request.timings["total"] = request.since_start()
    yield Done(refused)


def _asked_parts(parts: list[tuple[SentenceCheck, list[Hit]]], asked: constraints.Constraints,
                 pool: Sequence[Hit], around: Sequence[Hit], english: bool
                 ) -> tuple[list[tuple[SentenceCheck, list[Hit]]], list[Hit]]:  # fmt: skip
    """The parts whose evidence states what was asked (read with the sentences
    ``around`` it): as found, or replaced by the window of the passages (``pool``) that
    does and says the draft's content; the others are dropped. Also the first evidence
    found (the nearest fact of a refusal)."""
    kept: list[tuple[SentenceCheck, list[Hit]]] = []
    first: list[Hit] = []
    for check, found in parts:
        first = first or found
        if not evidence.names_someone(asked, check.text):
            continue  # "кто": it names only the question's own people
        if not found and asked.about_report:
            kept.append((check, found))  # "when was it reported": the article's date
            continue
        if not answerable.holds(asked, found, around, check.text):
            found = [] if english else list(answerable.replacement(asked, check.text, pool))
        if found:
            kept.append((check, found))
    return kept, first


def _distinct(parts: Sequence[tuple[SentenceCheck, list[Hit]]]) -> list[Hit]:
    """The parts' evidence sentences, each once, in the parts' order."""
    quoted: list[Hit] = []
    for _, found in parts:
        keys = {(h.chunk.doc_id, h.chunk.start) for h in quoted}
        quoted += [h for h in found if (h.chunk.doc_id, h.chunk.start) not in keys]
    return quoted


def _left_out(asked: constraints.Constraints, parts: Sequence[tuple[SentenceCheck, list[Hit]]],
              around: Sequence[Hit]) -> list[tuple[SentenceCheck, list[Hit]]]:  # fmt: skip
    """Of two things named side by side, the one no kept evidence states, answered
    by its own evidence (the gate found it before the model ran): quoted as it is."""
    kept = [h for _, found in parts for h in found]
    added: list[tuple[SentenceCheck, list[Hit]]] = []
    for part in answerable.unstated_parts(asked, kept, around):
        best, _ = evidence.search(part, around)
        if best is not None:
            added.append((SentenceCheck("", (), True, "quoted", 1.0), list(best.sentences)))
    return added


def _headline(asked: constraints.Constraints, quoted: Sequence[Hit], text: str) -> str:
    """The asked content first, as the evidence words it ("108 спутников [1]."), then
    the evidence; the evidence alone when no one phrase answers."""
    if len(quoted) != 1:
        return text
    short = headline.short_answer(asked, quoted[0].chunk.text)
    return (
        f"{citations.attach(short[:1].upper() + short[1:] + '.', [1])}\n{text}" if short else text
    )


def _sources(drafted: Answer, english: bool, question: str
             ) -> list[tuple[SentenceCheck, list[Hit]]]:  # fmt: skip
    """Each verified draft sentence with the source sentences it rests on ([] when no
    sentence alone says it: a header date, a joined clause)."""
    parts: list[tuple[SentenceCheck, list[Hit]]] = []
    for check in (s for s in drafted.sentences if s.verified):
        cited = [drafted.passages[n - 1] for n in check.citations]
        cross = english and any(translit.has_cyrillic(h.chunk.text) for h in cited)
        found = sources_of(check.text, cited, cross, 1 if cross else MAX_QUOTED, question)
        if not cross and not states_all(check.text, found):
            found = []
        parts.append((check, found))
    return parts


def _english(parts: Sequence[tuple[SentenceCheck, list[Hit]]], quoted: Sequence[Hit],
             drafted: Answer, question: str) -> tuple[str, list[SentenceCheck]]:  # fmt: skip
    """Each draft sentence in English, the Russian names of its source sentence in one
    transliteration with the Cyrillic original once, citing that sentence; beneath,
    the source sentences verbatim (the evidence, as a Russian answer shows it). A
    draft sentence that names a person its sources do not (a surname garbled or made
    up: "Semytov" for "Севастьянов") is left out: the source sentence answers alone."""
    keys = [(h.chunk.doc_id, h.chunk.start) for h in quoted]
    said: list[str] = []
    checks: list[SentenceCheck] = []
    for check, found in parts:
        if not found:  # the article's date, asked for: as checked
            sentence = renumber(check.text, len(quoted))
            moved = tuple(n + len(quoted) for n in check.citations)
            said.append(sentence)
            checks.append(replace(check, text=sentence, citations=moved))
            continue
        body = " ".join(citations.CITATION.sub("", check.text).split()).rstrip()
        if not body:  # evidence no draft sentence said: beneath only
            continue
        evidence = " ".join(h.chunk.text for h in found)
        body = translit.latinise_answer(body, translit.glossary(evidence))
        read = " ".join(drafted.passages[n - 1].chunk.text for n in check.citations)
        if matching.invented_names(body, f"{evidence} {read} {question}"):
            continue
        numbers = sorted({keys.index((h.chunk.doc_id, h.chunk.start)) + 1 for h in found})
        sentence = citations.attach(body, numbers)
        said.append(sentence)
        checks.append(replace(check, text=sentence, citations=tuple(numbers)))
    beneath, quotes = _quote([(c, f) for c, f in parts if f], quoted, len(quoted))
    lead = " ".join(said) if said else SOURCE_SAYS
    return f"{lead}\n{beneath}" if beneath else lead, [*checks, *quotes]


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
