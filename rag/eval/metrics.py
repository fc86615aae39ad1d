"""Eval metrics as pure functions: no I/O, no mutation of inputs, no model calls.

Retrieval metrics speak BEIR's shapes: ``qrels`` is ``{qid: {id: grade}}``
(grade > 0 is relevant) and ``results`` is ``{qid: {id: score}}`` or
``{qid: [id, ...]}`` already ranked. Keys look like ``Hit@5``, ``Recall@5``,
``MRR@10``, ``NDCG@10``.

Answers are compared after a Russian-aware normalisation (:func:`normalize`)
and by snowball stems (PyStemmer, Russian for Cyrillic words, English for
Latin ones), so "Атамкулова" matches "Атамкулов" and "Байконуре" matches
"Байконур". Numbers are tokens of their own and must match exactly.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

# Aggregation lives in rag.eval.aggregate; its names stay importable from here.
from rag.eval.aggregate import mean as mean
from rag.eval.aggregate import mean_dicts as mean_dicts
from rag.eval.aggregate import percentile as percentile
from rag.eval.aggregate import refusal_rates as refusal_rates

# -- normalisation --------------------------------------------------------
_FOLD = str.maketrans(
    {
        "ё": "е",
        # Kazakh letters fold to their Russian look-alikes ("Ғарыш" ~ "Гарыш").
        "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х",
        "і": "и",
        # Quotes of every kind become '"', dashes '-', odd spaces ' '.
        "«": '"', "»": '"', "„": '"', "“": '"', "”": '"', "‟": '"', "'": '"', "‘": '"',
        "’": '"', "`": '"', "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-",
        "−": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",
    }
)  # fmt: skip
_CITATION = re.compile(r"\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]")
_WORD = re.compile(r"\d+|[^\W\d_]+")  # "64th" -> 64, th; "KazSat-3R" -> kazsat, 3, r
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_MIN_PREFIX = 3  # a stem this long may match the start of a longer word

STOPWORDS = frozenset(
    """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по
    только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если
    уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей
    может они тут где есть надо ней для мы тебя их чем была сам чтобы без будто чего раз
    тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом
    один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец
    два об другой хоть после над больше тот через эти нас про всего них какая много разве
    три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более
    всегда конечно всю между это также который которая которое которые которых а также
    the a an of in on at to for and or but is are was were be been being by with from as
    that this these those it its which who whom whose what when where how not no do does
    did has have had will would can could should may might their there they he she his
    her them than then so such into about over after before""".split()
)


def normalize(text: str) -> str:
    """Lower-case, ё->е, Kazakh letters folded, quotes/dashes/spaces unified, spaces collapsed."""
    return " ".join(text.lower().translate(_FOLD).split())


def strip_citations(text: str) -> str:
    """Remove ``[1]``, ``[1, 2]`` markers (their digits are not part of the answer)."""
    return _CITATION.sub(" ", text)


def tokens(text: str) -> list[str]:
    """Normalised word and number tokens; punctuation (quotes, dashes) separates them."""
    return _WORD.findall(normalize(text))


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


@lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """The snowball stem of one normalised token (numbers unchanged)."""
    if token.isdigit():
        return token
    language = "russian" if _CYRILLIC.search(token) else "english"
    return str(_stemmer(language).stemWord(token))


def stems(text: str) -> list[str]:
    return [stem(t) for t in tokens(text)]


def _token_match(wanted: str, token: str) -> bool:
    """Does ``token`` (from the text searched) count as the word ``wanted``?

    Numbers must be equal. Words match when their stems are equal, or when the
    stem of ``wanted`` (at least 3 letters) starts ``token``: snowball cuts
    "Атамкулов" to "атамкул" but "Атамкулова" to "атамкулов", and gold
    variants are often bare stems ("инвестиц", "Кызылорд").
    """
    if wanted.isdigit() or token.isdigit():
        return wanted == token
    s = stem(wanted)
    return s == stem(token) or (len(s) >= _MIN_PREFIX and token.startswith(s))


def contains_phrase(text_tokens: Sequence[str], phrase: str) -> bool:
    """Does ``phrase`` occur as a contiguous run of matching tokens in ``text_tokens``?"""
    wanted = tokens(phrase)
    if not wanted:
        return False
    n = len(wanted)
    return any(
        all(_token_match(w, t) for w, t in zip(wanted, text_tokens[i : i + n], strict=True))
        for i in range(len(text_tokens) - n + 1)
    )


# -- answers --------------------------------------------------------------
def key_facts_found(answer: str, key_facts: Sequence[Sequence[str]]) -> list[bool]:
    """For each fact, whether any of its variants occurs in the answer. A Cyrillic
    variant also matches in Latin script, spelled by the one transliteration the
    English answers use (:mod:`rag.generate.translit`): "Жумагалиев" ~ "Zhumagaliyev"."""
    from rag.generate.translit import has_cyrillic, latin

    words = tokens(strip_citations(answer))
    latin_answer = any(w.isascii() and w.isalpha() for w in words)
    out = []
    for variants in key_facts:
        forms = list(variants)
        if latin_answer:
            forms += [latin(v) for v in variants if has_cyrillic(v)]
        out.append(any(contains_phrase(words, v) for v in forms))
    return out


def key_fact_match(answer: str, key_facts: Sequence[Sequence[str]]) -> bool:
    """All key facts present (each by any variant). No facts: False (nothing to check)."""
    found = key_facts_found(answer, key_facts)
    return bool(found) and all(found)


def token_f1(pred: str, gold: str) -> float:
    """SQuAD-style token F1 over stems (citation markers removed, numbers exact)."""
    p = Counter(stems(strip_citations(pred)))
    g = Counter(stems(strip_citations(gold)))
    if not p or not g:
        return float(p == g)
    same = sum((p & g).values())
    if same == 0:
        return 0.0
    precision, recall = same / sum(p.values()), same / sum(g.values())
    return 2 * precision * recall / (precision + recall)


# -- relevance --------------------------------------------------------------
MIN_PIECE_CHARS = 40
MIN_PIECE_SHARE = 0.8


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _span_text(support: str | Mapping[str, str]) -> str:
    return support if isinstance(support, str) else support["text"]


def contains_span(passage: str, span: str) -> bool:
    """Is the supporting ``span`` in ``passage``, whitespace collapsed on both sides?

    A span cut by a chunk boundary also counts: when a contiguous piece of at
    least ``MIN_PIECE_SHARE`` (80%) of it, and at least ``MIN_PIECE_CHARS``
    (40) characters, is a suffix of the span that opens the passage or a prefix
    of the span that closes it. The piece must sit at the passage's edge, so a
    phrase repeated elsewhere in the text does not count. The same rule
    accepts a span whose few leading characters the cleaner moved out of the
    text (the "date ..." line of a seed becomes metadata).
    """
    span, passage = _collapse(span), _collapse(passage)
    if not span:
        return False
    if span in passage:
        return True
    need = max(MIN_PIECE_CHARS, math.ceil(MIN_PIECE_SHARE * len(span)))
    if need >= len(span):
        return False
    return any(
        passage.startswith(span[len(span) - n :]) or passage.endswith(span[:n])
        for n in range(need, len(span))
    )


def supports_in(passage: str, supports: Sequence[str | Mapping[str, str]]) -> list[int]:
    """Indices of the supports that ``passage`` contains (see :func:`contains_span`)."""
    return [i for i, s in enumerate(supports) if contains_span(passage, _span_text(s))]


def is_relevant(passage: str, supports: Sequence[str | Mapping[str, str]]) -> bool:
    """A passage is relevant when it contains any supporting span (``{"text": ...}`` or str)."""
    return bool(supports_in(passage, supports))


# -- retrieval (BEIR shapes) ------------------------------------------------
K_VALUES = (1, 3, 5, 10)


def ranked(result: Mapping[str, float] | Sequence[str]) -> list[str]:
    """Ids best first: a ranked list as is, a score dict by score (ties by id)."""
    if isinstance(result, Mapping):
        return [i for i, _ in sorted(result.items(), key=lambda kv: (-kv[1], kv[0]))]
    return list(result)


def query_scores(
    relevant: Mapping[str, int],
    result: Mapping[str, float] | Sequence[str],
    k_values: Sequence[int] = K_VALUES,
) -> dict[str, float]:
    """Hit@k, Recall@k for every k; MRR and nDCG (linear gains) at the largest k.

    The ideal DCG comes from ``relevant`` (the expected set), not from the
    retrieved list. A query with no relevant ids scores 0 everywhere.
    """
    ranking = ranked(result)
    rel = {i: g for i, g in relevant.items() if g > 0}
    top = max(k_values)
    out: dict[str, float] = {}
    for k in k_values:
        found = sum(1 for i in ranking[:k] if i in rel)
        out[f"Hit@{k}"] = float(found > 0)
        out[f"Recall@{k}"] = found / len(rel) if rel else 0.0
    first = next((r for r, i in enumerate(ranking[:top], 1) if i in rel), None)
    out[f"MRR@{top}"] = 1.0 / first if first else 0.0
    dcg = sum(rel.get(i, 0) / math.log2(r + 1) for r, i in enumerate(ranking[:top], 1))
    ideal = sorted(rel.values(), reverse=True)[:top]
    idcg = sum(g / math.log2(r + 1) for r, g in enumerate(ideal, 1))
    out[f"NDCG@{top}"] = dcg / idcg if idcg else 0.0
    return out


def retrieval_metrics(
    qrels: Mapping[str, Mapping[str, int]],
    results: Mapping[str, Mapping[str, float] | Sequence[str]],
    k_values: Sequence[int] = K_VALUES,
) -> dict[str, float]:
    """Mean of :func:`query_scores` over the queries in ``qrels`` (missing results: empty)."""
    per_query = [query_scores(rel, results.get(q, []), k_values) for q, rel in qrels.items()]
    return mean_dicts(per_query)


def support_recall(
    covered: Sequence[Iterable[int]], n_supports: int, k_values: Sequence[int] = K_VALUES
) -> dict[str, float]:
    """Share of a question's supporting spans found in the top k passages.

    ``covered[r]`` holds the support indices that the passage at rank r+1
    contains. Unlike chunk-level recall this says whether a ``multi``
    question got passages from both of its articles.
    """
    out = {}
    for k in k_values:
        seen = {i for c in covered[:k] for i in c}
        out[f"SupportRecall@{k}"] = len(seen) / n_supports if n_supports else 0.0
    return out


# -- citations (ALCE-style) ---------------------------------------------------
ENTAIL_SHARE = 0.6
_ABBREV = re.compile(
    r"(?:\b[^\W\d_]|\b(?:г|гг|им|ул|т\.е|т\.д|т\.п|см|др|млн|млрд|тыс|руб|англ))\.$",
    re.IGNORECASE,
)  # "Т. Мусабаев", "в 2016 г. ...": no sentence ends here
_STOP_THEN_MARKS = re.compile(r"([.!?…])((?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])+)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer; citations after a full stop go with the sentence before."""
    text = _STOP_THEN_MARKS.sub(lambda m: f"{m[2]}{m[1]}", " ".join(text.split()))
    parts: list[str] = []
    for piece in _SENTENCE_END.split(text):
        if parts and (_ABBREV.search(parts[-1]) or not tokens(strip_citations(piece))):
            parts[-1] = f"{parts[-1]} {piece}"
        elif piece:
            parts.append(piece)
    return parts


def cited(sentence: str) -> list[int]:
    """Passage numbers cited in a sentence (``[1]``, ``[1, 2]``), in order, without repeats."""
    numbers = (int(n) for m in _CITATION.findall(sentence) for n in re.findall(r"\d+", m))
    return list(dict.fromkeys(numbers))


def entails(passage: str, sentence: str, share: float = ENTAIL_SHARE) -> bool:
    """Lexical entailment proxy, standing in for ALCE's NLI model (which we do not run).

    True when >= ``share`` of the sentence's content words occur in the passage
    (by stem, see :func:`_token_match`), every number in the sentence occurs in
    it as a number, and so does every name (a capitalised word that does not
    open the sentence): "Starlink has 108 satellites" is not supported by a
    passage about SpaceSail's 108. It rewards copying and misses paraphrase.
    """
    raw = _WORD.findall(strip_citations(sentence))
    words = [w.lower().translate(_FOLD) for w in raw]
    names = {w for w, r in zip(words[1:], raw[1:], strict=True) if r[0].isupper()}
    content = {w for w in words if not w.isdigit() and w not in STOPWORDS and len(w) > 1}
    text = tokens(passage)
    if not {w for w in words if w.isdigit()} <= {t for t in text if t.isdigit()}:
        return False
    if not all(any(_token_match(w, t) for t in text) for w in names):
        return False
    if not content:
        return any(w.isdigit() for w in words)
    present = sum(1 for w in content if any(_token_match(w, t) for t in text))
    return present / len(content) >= share


@dataclass(frozen=True)
class CitationVerdict:
    sentence: int  # index into CitationScores.sentences
    n: int  # the passage number cited
    correct: bool
    reason: str  # "support-span" | "entailed" | "unsupported" | "no-such-passage"


@dataclass(frozen=True)
class CitationScores:
    sentences: tuple[str, ...]
    verdicts: tuple[CitationVerdict, ...]
    precision: float  # correct citations / citations (0.0 when there are none)
    recall: float  # sentences with >= 1 correct citation / sentences


def citation_scores(
    answer: str,
    passages: Sequence[str],
    supports: Sequence[str | Mapping[str, str]],
    shown: Sequence[str] | None = None,
) -> CitationScores:
    """ALCE-style citation precision and recall of one answer.

    ``passages[n-1]`` is the text citation ``[n]`` points at; ``shown[n-1]``,
    if given, is what the model saw for it (header with title and date, then
    the text). A citation is correct when its passage contains a supporting
    span of the question, or when what was shown :func:`entails` the sentence
    that cites it. A sentence counts for recall
    when at least one of its citations is correct; an uncited sentence does
    not. An answer with no citations has precision 0 (nothing is verifiable).
    """
    sentences = tuple(split_sentences(answer))
    shown = passages if shown is None else shown
    verdicts = []
    for s, sentence in enumerate(sentences):
        for n in cited(sentence):
            if not 1 <= n <= len(passages):
                verdicts.append(CitationVerdict(s, n, False, "no-such-passage"))
            elif is_relevant(passages[n - 1], supports):
                verdicts.append(CitationVerdict(s, n, True, "support-span"))
            elif entails(shown[n - 1], sentence):
                verdicts.append(CitationVerdict(s, n, True, "entailed"))
            else:
                verdicts.append(CitationVerdict(s, n, False, "unsupported"))
    good = {v.sentence for v in verdicts if v.correct}
    precision = sum(v.correct for v in verdicts) / len(verdicts) if verdicts else 0.0
    recall = len(good) / len(sentences) if sentences else 0.0
    return CitationScores(sentences, tuple(verdicts), precision, recall)
