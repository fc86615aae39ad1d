"""Answer exactly what was asked, or say what the sources do state.

The last gate before an answer is shown. The model's draft passed its checks and
each draft sentence found the source sentence(s) it rests on; now the question's
constraints (:mod:`rag.generate.constraints`) are checked against that evidence at
the sentence level (:mod:`rag.generate.evidence`). Three outcomes per draft
sentence:

- its evidence satisfies the question: quoted as it is;
- it does not, but another window of the passages the model read does and states
  the draft's content: that window is quoted instead (the quote had picked the
  neighbouring sentence);
- no window does: the sentence is dropped. When every sentence is dropped the
  answer is a refusal, "not stated", that names the unmet constraint and shows the
  nearest evidence (a window that names the question's subject).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.generate import constraints as C
from rag.generate import evidence as E
from rag.generate import matching as M
from rag.generate.citations import CITATION
from rag.generate.translit import fold_kazakh
from rag.generate.verify import numbers, restates
from rag.index.lexical import tokens
from rag.types import Hit

DRAFT_COVERAGE = 0.5  # share of a draft's content words another window must state


@dataclass(frozen=True)
class Nearest:
    """What the sources state nearest to an unanswered question."""

    sentences: tuple[Hit, ...]
    missing: str  # the unmet constraint, as the question words it ("2028", "дата")


def _covers(draft: str, window: str) -> float:
    """Share of the draft's content words the window states (Kazakh letters folded:
    the draft's "Токтар Аубакиров" is the source's "Тоқтар Әубәкіров")."""
    words = set(tokens(fold_kazakh(CITATION.sub("", draft))))
    return len(words & set(tokens(fold_kazakh(window)))) / len(words) if words else 0.0


def holds(
    c: C.Constraints, found: Sequence[Hit], pool: Sequence[Hit] = (), draft: str = ""
) -> bool:
    """Whether these source sentences state what the question asks (the sentences
    before them in ``pool`` may name its place or organisation).

    Sentences apart from each other (not one window) hold only when one window of
    them states the question *and* the draft's numbers: "Аймаханов полетел в космос 2
    сентября 2015 года" joined from "В 2012 году Аймаханов уехал..." and "Аимбетов
    стартовал 2 сентября 2015 года" is a relation no sentence states."""
    if not found:
        return False
    within = _windows(found, pool)
    for cand in within:
        if _keys(cand.sentences) == _keys(found) and len(cand.sentences) == len(found):
            return cand.check(c).ok(c)
    # each number of the draft stated by a window that itself answers the question (a
    # list: "5-е и 6-е заседания", each said in its own sentence)
    stating = [cand for cand in within if cand.check(c).ok(c)]
    said = {n for cand in stating for n in numbers(cand.text)}
    return bool(stating) and numbers(CITATION.sub("", draft)) <= said


def offers_nothing(c: C.Constraints, draft: str) -> bool:
    """Whether a draft offers nothing of what was asked: it restates the question, or,
    asked for a person or organisation, a place, a date, a number or a purpose, it
    names nothing of that kind the question does not ("Википедия [1]." for "Зачем
    ...?", "несколько площадок" for "Сколько"). That is the model not reading the
    evidence, where a draft that offers a fact the checks refuse reads it otherwise."""
    text = " ".join(CITATION.sub("", draft).split())
    if not text:
        return False
    if restates(text, c.question):
        return True
    specific = {t for t in c.types if t != C.OTHER}
    return bool(specific) and not specific & set(E.answered_types(c, M.Window(text)))


def misnames(c: C.Constraints, draft: str, found: Sequence[Hit]) -> bool:
    """Whether a draft answering "кто" names, garbled, the one person its evidence
    names that the question does not: a word of its name is one of that person's, the
    rest made up ("Мирика Ильяевна Баубек" for "Баубеком Оралмагамбетовым"). That is
    the evidence's answer, spelled by the model; the sentence spells it."""
    if c.types != (C.PERSON,) or c.parts or c.language != "ru":
        return False
    asked = {k for t in c.names for k in t.keys}
    evidence = " ".join(h.chunk.text for h in found)
    people = {_person(span) for kind, span in C.entities(evidence) if kind == "PER"}
    people = {p for p in people if not p & asked}
    drafted = {w for kind, span in C.entities(CITATION.sub("", draft)) if kind == "PER"
               for w in _person(span)}  # fmt: skip
    return len(people) == 1 and bool(drafted & next(iter(people)))


def _person(span: str) -> frozenset[str]:
    return frozenset(C.lemma(w) for w in C._WORD.findall(span))


def _keys(sentences: Sequence[Hit]) -> set[tuple[str, int]]:
    return {(h.chunk.doc_id, h.chunk.start) for h in sentences}


def _windows(found: Sequence[Hit], pool: Sequence[Hit]) -> list[E.Candidate]:
    """The windows of ``found`` as read among the ``pool``'s sentences (their article
    and the sentences before them set the place); else the sentences as one another's
    setting."""
    within = [cand for cand in E.windows(pool) if _keys(cand.sentences) <= _keys(found)]
    return within or E.windows(found)


def replacement(c: C.Constraints, draft: str, sentences: Sequence[Hit]) -> tuple[Hit, ...]:
    """A window of ``sentences`` that satisfies the question and states the draft's
    content (the best-covering one), or () when there is none."""
    best: tuple[float, tuple[Hit, ...]] = (0.0, ())
    for cand in E.windows(sentences):
        group, text = cand.sentences, cand.text
        if not cand.check(c).ok(c):
            continue
        score = _covers(draft, text) - 0.05 * (len(group) - 1)
        if score >= DRAFT_COVERAGE and score > best[0]:
            best = (score, group)
    return best[1]


def nearest(c: C.Constraints, sentences: Sequence[Hit], language: str,
            prefer: Sequence[Hit] = ()) -> Nearest | None:  # fmt: skip
    """The nearest stated fact: ``prefer`` (the draft's own evidence) when it names
    the question's subject, else the best-scoring window that does; None when no
    window names every name of the question (the sources are about something else)."""
    candidates: list[tuple[float, tuple[Hit, ...], E.Verdict]] = []
    if prefer:
        text = " ".join(h.chunk.text for h in prefer)
        v = E.check(c, text, prefer[-1].chunk.title)
        candidates.append((v.score(c) + 1.0, tuple(prefer), v))
    for cand in E.windows(sentences):
        found = E.Found(cand.sentences, cand.check(c))
        candidates.append((found.rank(c), cand.sentences, found.verdict))
    named = [x for x in candidates if not any(t.kind == "name" for t in x[2].unmet)]
    if not named or not c.names and not c.numbers and not c.qualifiers:
        return None
    _, group, verdict = max(named, key=lambda x: x[0])
    if verdict.ok(c):
        return None  # it states what was asked: nothing to name as missing
    return Nearest(group, E.missing(c, verdict, language))


PART_TEXT = {"ru": "В источниках не сказано, {missing}.", "en": "The sources do not say {missing}."}


def unanswered(c: C.Constraints, found: Sequence[Hit], language: str,
               pool: Sequence[Hit] = ()) -> str | None:  # fmt: skip
    """The parts of a two-part question that no quoted sentence states ("дата"), said
    as a sentence to add to the answer (read as :func:`holds` reads them, among the
    ``pool``); None when every part is stated."""
    if not c.two_part or not found:
        return None
    template = PART_TEXT.get(language, PART_TEXT["en"])
    if c.parts:  # each clause by its own words: "в каком бюро разработали эту ракету"
        unsaid = [_clause(p.question) for p in unstated_parts(c, found, pool)]
        return template.format(missing=", ".join(unsaid)) if unsaid else None
    stated = {t for h in found for t in E.check(c, h.chunk.text, h.chunk.title).answers}
    lacking = [t for t in c.types if t not in stated]
    if not lacking:
        return None
    words = E.TYPE_WORDS.get(language, E.TYPE_WORDS["en"])
    return template.format(missing=", ".join(words.get(t, t) for t in lacking))


def unstated_parts(c: C.Constraints, found: Sequence[Hit],
                   pool: Sequence[Hit] = ()) -> list[C.Constraints]:  # fmt: skip
    """The parts of ``c`` that no window of ``found`` states (read among ``pool``)."""
    within = _windows(found, pool)
    return [p for p in c.parts if not any(_states(p, w) for w in within)]


def _states(part: C.Constraints, window: E.Candidate) -> bool:
    """Whether the window states a clause; "кто" also by people it names by a common
    noun ("военные строители"): no name to check, but not "not said" either."""
    verdict = window.check(part)
    if verdict.ok(part):
        return True
    people = part.types == (C.PERSON,) and E.names_people(part, window.text)
    return people and verdict.ok(replace(part, types=()))


def _clause(question: str) -> str:
    """A clause as said after "не сказано,": lower-case start, no question mark."""
    text = question.strip().rstrip("?").strip()
    return text[:1].lower() + text[1:]


REFUSAL_TEXT = {
    "ru": "В источниках нет ответа на этот вопрос. В них не сказано: {missing}. Ближайшее, что "
    "в них есть [1]: «{quote}»",
    "en": "The sources do not say. They do not state {missing}. The nearest they say [1]: "
    "«{quote}»",
}


def refusal_text(found: Nearest, language: str) -> str:
    quote = " ".join(" ".join(h.chunk.text.split()) for h in found.sentences)
    template = REFUSAL_TEXT.get(language, REFUSAL_TEXT["en"])
    return template.format(missing=f"«{found.missing}»", quote=CITATION.sub("", quote).strip())
