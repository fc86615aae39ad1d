"""English names of Russian things, found in Russian sentences by meaning.

An English question names what a Russian article says in Russian: "the first Dane"
is "первым датчанином", "China Great Wall Industry Corporation" is "Китайской
промышленной корпорации «Великая стена»". A transliteration finds "Rogozin" in
"Рогозин"; a translation it cannot find. The embedder can: a word and its
translation score 0.79-0.95 under its similarity prompt, a sibling of the same kind
("Swede" for "датчанин", "national" for "международный") 0.78 at most (measured on
a word list written for this, not on the eval questions: eval/experiments/honest.md).

Once per English question, before any check: the words of the names that are
neither a code nor a transliterated surname (those must be found by their letters),
and the qualifiers, are compared with the Russian words of the best windows that
state every strict constraint, and each keeps the lemmas it translates to
(:attr:`Term.senses`). Every later check (:func:`rag.generate.matching.states_name`)
then finds the name by those lemmas in microseconds. The qualifiers ("first
crewed launch": "первый пилотируемый запуск") only rank the windows (which evidence is
shown and read first): counted like the names, they would dilute a swapped country's
share ("of Russia" for "of Kazakhstan" passed the gate on the probe). The cost is one
batch of word vectors, cached across questions: about 15 ms a word on two cores, for
the words not seen before (0.1-2 s for an English question; nothing for a Russian one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rag.generate import constraints as C
from rag.generate import evidence as E
from rag.generate import matching as M
from rag.generate.strategy import Words
from rag.types import Hit

TRANSLATION_MIN = 0.785  # cosine of an English word and a Russian lemma it translates to
CANDIDATES = 6  # windows whose words are compared (the best-ranked meeting every strict one)
MAX_WORDS = 160  # Russian lemmas compared at most (~2.5 s the first time they are seen)
# names translate to nouns and adjectives; qualifiers to verbs and participles too
_NAMING = ("NOUN", "ADJF", "ADJS", "", "VERB", "INFN", "PRTF", "PRTS", "GRND")


def _translatable(term: C.Term) -> bool:
    """A name that may be a translation: not a code ("TMA-18M") and not a surname."""
    return not any(ch.isdigit() for ch in term.text) and not M.is_surname(term.text)


def _runs(c: C.Constraints) -> list[list[str]]:
    """The words of the translatable names, grouped into the names the question writes
    ("Republican Center of Space Communication": the parser sees five capitalised
    words, one name)."""
    terms = [t for p in (c, *c.parts) for t in p.names if _translatable(t)]
    spans = sorted(
        {
            (m.start(), m.group(0).lower())
            for t in terms
            for m in re.finditer(rf"(?<!\w){re.escape(t.text)}(?!\w)", c.question)
        }
    )
    runs: list[list[str]] = []
    end = -1
    for start, text in spans:
        words = [w for w in C._WORD.findall(text) if len(w) > 2]
        if runs and _JOINED.fullmatch(c.question[end:start]):
            runs[-1] += words
        else:
            runs.append(words)
        end = start + len(text)
    return [r for r in runs if r]


_JOINED = re.compile(r"\s+(?:(?:of|the|and|for|on)\s+)*", re.I)


def _candidates(c: C.Constraints, sentences: Sequence[Hit]) -> list[E.Candidate]:
    """The best windows that state every strict constraint (numbers, codes, surnames)."""
    ranked = []
    for cand in E.windows(sentences):
        verdict = cand.check(c)
        if not verdict.unmet and verdict.adds:
            ranked.append((E.Found(cand.sentences, verdict).rank(c), cand))
    ranked.sort(key=lambda x: -x[0])
    return [cand for _, cand in ranked[:CANDIDATES]]


def _russian_words(candidates: Sequence[E.Candidate]) -> list[str]:
    """The Russian lemmas of the windows (and of the sentences and title around them)."""
    out: dict[str, None] = {}
    stop = C._stop()
    for cand in candidates:
        text = f"{cand.sentences[-1].chunk.title} {cand.context} {cand.text}"
        for word in C._WORD.findall(text):
            if not any("а" <= ch <= "я" for ch in word.lower()) or len(word) < 3:
                continue
            lemma = C.lemma(word.lower().replace("ё", "е"))
            if lemma not in stop and C._pos(word) in _NAMING:
                out.setdefault(lemma)
    return list(out)[:MAX_WORDS]


def senses(c: C.Constraints, sentences: Sequence[Hit],
           words: Words | None) -> C.Constraints:  # fmt: skip
    """``c`` with each translatable English name carrying the Russian lemmas of
    ``sentences`` its words translate to (``words``: the embedder's word vectors);
    ``c`` itself for a Russian question, or when there is nothing to translate.

    A name of several words keeps its translations only where one window states
    every word of it (by translation or by letters): "Eurasian Space Ventures" is not
    "Европейского космического агентства", whose words are two of its three."""
    if c.language != "en" or words is None:
        return c
    runs = _runs(c) + [[w] for w in _qualifier_words(c)]
    english = list(dict.fromkeys(w for run in runs for w in run))
    candidates = _candidates(c, sentences) if english else []
    russian = _russian_words(candidates)
    if not russian:
        return c
    vectors = words([*english, *russian])
    similarity = vectors[: len(english)] @ vectors[len(english) :].T
    found = {
        (w, r)
        for i, w in enumerate(english)
        for j, r in enumerate(russian)
        if similarity[i, j] >= TRANSLATION_MIN
    }
    kept = {p for run in runs if len(run) == 1 or _together(run, found, candidates)
            for p in found if p[0] in run}  # fmt: skip
    return _with_senses(c, kept)


def _together(run: Sequence[str], found: set[tuple[str, str]],
              candidates: Sequence[E.Candidate]) -> bool:  # fmt: skip
    """Whether one window (with its title) states every word of a name."""
    for cand in candidates:
        window = M.Window(cand.text, cand.sentences[-1].chunk.title)
        pool = window.lemmas | window.title_lemmas
        if all(any(w == e and r in pool for e, r in found)
               or M.prefix_match(M._fold(w), window.latin_words, 4) for w in run):  # fmt: skip
            return True
    return False


def _qualifier_words(c: C.Constraints) -> list[str]:
    return [t.text.lower() for p in (c, *c.parts) for t in p.qualifiers]


def _with_senses(c: C.Constraints, found: set[tuple[str, str]]) -> C.Constraints:
    def one(t: C.Term) -> C.Term:
        if t.kind == "name" and not _translatable(t):
            return t
        mine = {w.lower() for w in C._WORD.findall(t.text)}
        return replace(t, senses=tuple(sorted(p for p in found if p[0] in mine)))

    return replace(c, names=tuple(one(t) for t in c.names),
                   qualifiers=tuple(one(t) for t in c.qualifiers),
                   parts=tuple(_with_senses(p, found) for p in c.parts))  # fmt: skip
