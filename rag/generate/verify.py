"""Grounding: every sentence of a generated answer is checked against its passages.

A sentence is *supported* by a passage when every number in it occurs in the
passage and enough of its content words (stems, see ``rag.index.lexical``)
occur there too. When the sentence and the passages are in different scripts
(an English answer over Russian articles) word overlap says little, so the
check falls back to a semantic one: the cosine similarity of the sentence and
the passage embeddings, given by the caller.

Then: a citation to a passage that does not support its sentence is moved to
one that does, or dropped; a sentence that no passage supports is removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.generate.citations import CITATION, attach, cited_numbers, detect_language
from rag.index.lexical import tokens
from rag.ingest.chunk import sentence_spans
from rag.types import SentenceCheck

NUMBER = re.compile(r"\d+(?:[.,]\d+)?")

LEXICAL_MIN = 0.5  # share of the sentence's content stems found in the passage
# Cosine of question+sentence to the passage (cross-script). Weak evidence: on the
# gold set's English questions with their gold answers, supporting passages scored
# 0.44-0.70 and other passages up to 0.65, so this only rejects gross mismatches.
SEMANTIC_MIN = 0.40


def split_sentences(answer: str) -> list[str]:
    """Sentences of an answer; citations written after the full stop ("Текст. [1]")
    stay with the sentence they follow; initials ("Т. Мусабаев") do not end one."""
    out: list[str] = []
    for start, end in sentence_spans(answer):
        sentence = answer[start:end].strip()
        lead = re.match(r"(?:\s*\[[^\]]*\])+", sentence)
        if lead and out:
            out[-1] += lead.group(0)
            sentence = sentence[lead.end() :].strip()
        if sentence and out and _ABBREVIATION.search(out[-1]):
            out[-1] += " " + sentence  # "Mr. Oralmagambetov": one sentence
        elif sentence:
            out.append(sentence)
    return out


# A title or abbreviation with its full stop ends no sentence: "Mr.", "Dr.", "им.", "т.е."
_ABBREVIATION = re.compile(r"(?<!\w)(Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Gen|Col|Lt|vs|No|им|т\.\s?е"
                           r"|т\.\s?к|др|пр|ул|акад|проф|ген)\.$")  # fmt: skip


def numbers(text: str) -> set[str]:
    """The numbers of ``text``, decimal commas as points ("1,5" == "1.5")."""
    return {n.replace(",", ".") for n in NUMBER.findall(text)}


def _names(text: str) -> set[str]:
    """Stems of the proper names of ``text``: capitalised words that do not start a
    sentence, and Latin-script words in a Cyrillic text ("Starlink", "Рогозин")."""
    names: set[str] = set()
    for start, end in sentence_spans(text):
        words = re.findall(r"[^\W\d_][\w-]*", text[start:end])
        names |= {w for w in words[1:] if w[0].isupper()}
    if detect_language(text) == "ru":
        names |= {w for w in re.findall(r"[^\W\d_][\w-]*", text) if w.isascii()}
    return set(tokens(" ".join(names)))


NAME_PREFIX = 5  # stems agreeing on this many letters name the same thing


def _mentioned(name: str, terms: set[str]) -> bool:
    """Whether a name's stem is among ``terms``, allowing for the stemmer's inflection
    noise ("Казахстана" -> казахста, "Казахстан" -> казахстан; "Китае" -> кита,
    "Китая" -> кит): two stems match when they agree on their first letters, up to
    NAME_PREFIX or the shorter one's length (at least 3)."""
    if name in terms:
        return True
    for term in terms:
        need = min(len(name), len(term), NAME_PREFIX)
        if need >= 3 and name[:need] == term[:need]:
            return True
    return False


def _unmentioned(names: set[str], terms: set[str]) -> set[str]:
    return {n for n in names if not _mentioned(n, terms)}


def ungrounded_names(question: str, passages: Sequence[str]) -> set[str]:
    """Proper names of the question that no passage mentions ("Starlink" when the
    passages are about SpaceSail), by stem or, an abbreviation, by the initials of
    the words it stands for: then the passages cannot answer it. Only for a
    question in the passages' script; transliterations are not compared."""
    text = "\n".join(passages)
    if not passages or detect_language(question) != detect_language(text):
        return set()
    missing = _unmentioned(_names(question), set(tokens(text)))
    capitals = {w.lower() for w in re.findall(r"\w+", question) if w.isupper() and len(w) > 2}
    return missing - (capitals & _initialisms(text)) if missing & capitals else missing


def _initialisms(text: str) -> set[str]:
    """The initials of every run of three to six words of ``text``: an abbreviation
    the question uses for a name the passages write out ("МКС": "Международной
    космической станции"). Two letters stand for too much ("РК")."""
    words = [w for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) > 2]
    return {"".join(w[0] for w in words[i : i + n]) for n in range(3, 7)
            for i in range(len(words) - n + 1)}  # fmt: skip


def lexical_support(sentence: str, passage: str, question: str = "") -> float:
    """Share of the sentence's content stems present in the passage; 0 if a number or a
    proper name of the sentence is missing from the passage (substituted entities).
    Names the sentence repeats from the question need not be in the passage: the
    question's names were checked against the retrieved passages before generation
    (:func:`ungrounded_names`), and an answer may name its subject as asked."""
    if not numbers(sentence) <= numbers(passage):
        return 0.0
    passage_terms = set(tokens(passage))
    if _unmentioned(_names(sentence) - _names(question), passage_terms):
        return 0.0
    words = set(tokens(sentence))
    if not words:
        return 1.0 if numbers(sentence) else 0.0
    return len(words & passage_terms) / len(words)


def restates(sentence: str, question: str) -> bool:
    """True when the sentence adds nothing to the question (the model echoing it)."""
    new_words = set(tokens(sentence)) - set(tokens(question))
    return not new_words and numbers(sentence) <= numbers(question)


_BETWEEN = re.compile(r"\]\s*(?:,|и|and)?\s*\[")


def verify(
    answer: str,
    passages: Sequence[str],
    similarity: Callable[[str], Sequence[float]] | None = None,
    question: str = "",
) -> list[SentenceCheck]:
    """Check each sentence; ``similarity(sentence)`` gives its cosine to each passage.

    A sentence that only restates the question is not an answer, however well the
    passages "support" it, and is reported unverified (method "restates question").
    """
    checks = []
    for raw in split_sentences(answer):
        raw = _BETWEEN.sub("][", raw)  # "[1] и [2]": "[1][2]"
        bare = " ".join(re.sub(r"\s*" + CITATION.pattern, "", raw).split())
        cited = [n for n in cited_numbers(raw) if 1 <= n <= len(passages)]
        if not any(ch.isalnum() for ch in bare):
            continue
        if question and restates(bare, question):
            checks.append(SentenceCheck(bare, (), False, "restates question", 0.0))
            continue
        script = detect_language(bare)
        cross = similarity is not None and any(detect_language(p) != script for p in passages)
        if cross:
            assert similarity is not None
            sims = list(similarity(bare))
            scores = [
                s if numbers(bare) <= numbers(p) else 0.0
                for s, p in zip(sims, passages, strict=True)
            ]
            threshold, method = SEMANTIC_MIN, "semantic"
        else:
            scores = [lexical_support(bare, p, question) for p in passages]
            threshold, method = LEXICAL_MIN, "lexical"
        good = [n for n in cited if scores[n - 1] >= threshold]
        support: float | None = None
        if not good and len(cited) > 1 and not cross:
            # a sentence joining what its cited passages say, each one part ("5-е и
            # 6-е заседания [1][2]"): supported by them together
            joined = lexical_support(bare, " ".join(passages[n - 1] for n in cited), question)
            if joined >= threshold:
                good, support = cited, joined
        if not good and scores:
            best = max(range(len(scores)), key=lambda i: scores[i])
            good = [best + 1] if scores[best] >= threshold else []
        if support is None:
            support = max((scores[n - 1] for n in good), default=max(scores, default=0.0))
        text = bare.rstrip()
        if good:
            text = attach(text, good)
        checks.append(SentenceCheck(text, tuple(good), bool(good), method, round(support, 3)))
    return checks
