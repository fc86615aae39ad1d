"""Near-miss questions from the gold set, SQuAD 2.0 style (issue 19, point 8).

Each answerable gold question gives variants that change ONE constraint, so that
the article stays on topic but no longer answers it:

- ``number``: a number or year of the question replaced by one that its gold
  article does not contain (a year shifted by 1-5, a count or ordinal by 1-3);
- ``entity``: a person (first name, surname or both), place or organisation
  replaced by one of the same type (pymorphy3's Name/Surn/Geox/Orgn tags) that a
  DIFFERENT article of the corpus names and the gold article does not, inflected
  into the original's case and number (English: its transliteration);
- ``qualifier``: an adjective narrowing the focus noun (an ordinal, "дублирующий",
  a nationality, ...) replaced by a sibling from one generic table.

Every variant is then checked against the whole corpus (``seeds/`` and
``eval/corpus/``), split into windows of two adjacent sentences: it is dropped
when a window holds the new value (a number by its digits or number words, a
name by its lemma's transliteration key, a qualifier by its stem and, in
Russian, its focus noun) together with the question's subject (half of its
other names or, without names, half of its content stems). Variants that
pymorphy3 cannot inflect are dropped too. The run is deterministic (seeded
per question and position); nothing is edited per question.

Run from the project root: ``python eval/nearmiss.py`` (writes
``eval/gold/nearmiss.jsonl``) or ``python -m eval.nearmiss --help``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project's rag/ importable
    sys.path.insert(0, str(ROOT))

from rag.generate.translit import latin  # noqa: E402
from rag.index.lexical import tokens  # noqa: E402

SEED = 19
GOLD_PATH = ROOT / "eval" / "gold" / "queries.jsonl"
OUT_PATH = ROOT / "eval" / "gold" / "nearmiss.jsonl"
CORPUS_DIRS = (ROOT / "seeds", ROOT / "eval" / "corpus")
PER_QUESTION = 5  # candidates kept per question, kind and position
SIBLINGS = 3  # qualifier siblings per position: "казахстанский" has five, and is in many questions
TARGET = 210  # variants written (spread evenly over the three kinds where possible)
KINDS = ("number", "entity", "qualifier")

WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
NUMBER = re.compile(r"(?<!\d)\d+(?!\d)")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
PERSON, PLACE, ORG = "Surn", "Geox", "Orgn"
NAME_TAGS = ("Name", "Surn", "Geox", "Orgn")

QUESTION_WORDS = """какой какая какое какие какого какой какую каком каких каким какими
каков какова каково каковы сколько скольких скольким кто кого кому кем ком что чего чему чем
где когда куда откуда зачем почему ли чей чья чьё чьи по порядку счёту счету
what which who whom whose when where why how many much""".split()

# Number words by value (Russian and English, cardinal and ordinal): a swapped number
# also counts as stated when a window writes it in words.
NUMBER_WORDS: dict[int, tuple[str, ...]] = {
    1: ("один", "одна", "одно", "первый", "one", "first"),
    2: ("два", "две", "двух", "второй", "two", "second", "twice"),
    3: ("три", "трёх", "трех", "третий", "three", "third"),
    4: ("четыре", "четырёх", "четвёртый", "четвертый", "four", "fourth"),
    5: ("пять", "пяти", "пятый", "five", "fifth"),
    6: ("шесть", "шести", "шестой", "six", "sixth"),
    7: ("семь", "семи", "седьмой", "seven", "seventh"),
    8: ("восемь", "восьми", "восьмой", "eight", "eighth"),
    9: ("девять", "девяти", "девятый", "nine", "ninth"),
    10: ("десять", "десяти", "десятый", "ten", "tenth"),
    11: ("одиннадцать", "одиннадцатый", "eleven", "eleventh"),
    12: ("двенадцать", "двенадцатый", "twelve", "twelfth"),
    20: ("двадцать", "двадцатый", "twenty", "twentieth"),
    30: ("тридцать", "тридцатый", "thirty", "thirtieth"),
    100: ("сто", "сотый", "hundred", "hundredth"),
}

# Sibling qualifiers: one generic table, never per question. A word's siblings are the
# other members of its group (ordinals: the neighbours within two places).
RU_ORDINALS = ("первый", "второй", "третий", "четвёртый", "пятый", "шестой", "седьмой")
EN_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh")
RU_GROUPS = (
    ("дублирующий", "основной"),
    ("казахстанский", "китайский", "российский", "советский", "американский", "французский"),
    ("частный", "государственный"),
    ("пилотируемый", "беспилотный"),
    ("тяжёлый", "лёгкий"),
    ("метеорологический", "навигационный", "разведывательный"),
    ("зарубежный", "отечественный"),
    ("круговой", "эллиптический"),
    ("межконтинентальный", "межпланетный"),
    ("международный", "национальный", "региональный"),
    ("приоритетный", "второстепенный"),
    ("успешный", "неудачный"),
    ("мирный", "военный"),
    ("геосинхронный", "солнечно-синхронный", "полярный"),
    ("геостационарный", "негеостационарный"),
    ("межправительственный", "межведомственный"),
    ("новый", "прежний"),
)
EN_GROUPS = (
    ("backup", "prime"),
    ("kazakh", "chinese", "russian", "soviet", "american", "french"),
    ("private", "state"),
    ("crewed", "uncrewed"),
    ("heavy", "light"),
    ("meteorological", "navigation", "reconnaissance"),
    ("nearest", "farthest"),
    ("successful", "failed"),
    ("international", "national", "regional"),
)
# English qualifiers in Russian, so that the corpus check can see them in the articles.
EN_TO_RU = dict(zip(EN_ORDINALS, RU_ORDINALS, strict=True)) | {
    "backup": "дублирующий", "prime": "основной", "chinese": "китайский",
    "russian": "российский", "american": "американский", "french": "французский",
    "kazakh": "казахстанский", "soviet": "советский", "private": "частный",
    "state": "государственный", "crewed": "пилотируемый", "uncrewed": "беспилотный",
    "heavy": "тяжёлый", "light": "лёгкий", "meteorological": "метеорологический",
    "navigation": "навигационный", "reconnaissance": "разведывательный",
    "nearest": "ближайший", "farthest": "дальний", "successful": "успешный",
    "failed": "неудачный", "international": "международный", "national": "национальный",
    "regional": "региональный",
}  # fmt: skip


# -- text --------------------------------------------------------------------
@lru_cache(maxsize=1)
def morph() -> Any:
    import pymorphy3  # lazy: dictionaries load in ~0.1 s

    return pymorphy3.MorphAnalyzer()


def yo(text: str) -> str:
    return text.lower().replace("ё", "е")


def stem(word: str) -> str:
    """The lexical index's stem of one word ("" for a stop word)."""
    out = tokens(word.replace("-", " "))
    return out[-1] if out else ""


SURNAME_ENDINGS = ("ов", "ев", "ёв", "ин", "ын", "ский", "цкий", "енко")


def named_parse(word: str) -> Any | None:
    """pymorphy3's parse of ``word`` as a name (Name/Surn/Geox/Orgn), or None.

    Only parses pymorphy3 can vouch for, among its most likely ones (so "Красном"
    stays an adjective and "Восток" a common noun): a dictionary word, or (for unknown
    Kazakh and foreign surnames) a guessed surname with a Russian surname ending. Its
    other guesses type "Галилео" as a first name and "Байтерек" as a place.
    """
    if word.isupper() or any(c.isdigit() for c in word) or not CYRILLIC.search(word):
        return None  # acronyms and designators: their type is a guess
    parses = morph().parse(word)
    for p in parses:
        if p.score < parses[0].score - 1e-9 or not any(t in p.tag for t in NAME_TAGS):
            continue
        if p.is_known or ("Surn" in p.tag and str(p.normal_form).endswith(SURNAME_ENDINGS)):
            return p
    return None


def quoted(text: str, start: int) -> bool:
    """Whether the word at ``start`` opens a quotation (a name of a thing: «Байтерек»)."""
    return text[max(0, start - 1) : start] in ("«", '"', "“", "„")


def entity_type(parse: Any) -> str:
    return next(t for t in NAME_TAGS if t in parse.tag)


@lru_cache(maxsize=20000)
def name_key(word: str) -> str:
    """A script-neutral key for a name: its nominative, transliterated, y/j folded to i,
    first five letters ("Мусабаевым", "Musabayev's" -> "musab")."""
    p = named_parse(word)
    base = str(p.normal_form) if p is not None else yo(word)
    folded = re.sub(r"[^a-z0-9]", "", latin(base).lower().replace("y", "i").replace("j", "i"))
    return folded[:5]


def is_name(word: str, position: int) -> bool:
    """A capitalised word that does not open the sentence, or an acronym anywhere."""
    return word[:1].isupper() and (position > 0 or (len(word) > 1 and word.isupper()))


@lru_cache(maxsize=1)
def question_stems() -> frozenset[str]:
    return frozenset(tokens(" ".join(QUESTION_WORDS)))


@lru_cache(maxsize=64)
def number_stems(value: int) -> frozenset[str]:
    words = NUMBER_WORDS.get(value, ())
    return frozenset(yo(w) for w in words) | frozenset(tokens(" ".join(words)))


# -- corpus --------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """Two adjacent sentences of one article, as the check sees them."""

    doc_id: str
    text: str
    stems: frozenset[str]
    words: frozenset[str]
    names: frozenset[str]
    numbers: frozenset[str]

    @classmethod
    def of(cls, doc_id: str, text: str) -> Window:
        words = WORD.findall(text)
        plain = [w for part in words for w in part.split("-")]
        return cls(
            doc_id, text, frozenset(tokens(text)), frozenset(yo(w) for w in plain),
            frozenset(name_key(w) for w in words if w[:1].isupper()),  # sentence starts, too
            frozenset(NUMBER.findall(text)),
        )  # fmt: skip

    def has_number(self, value: int) -> bool:
        return str(value) in self.numbers or bool(number_stems(value) & (self.stems | self.words))


@dataclass(frozen=True)
class Entity:
    """A name the corpus uses: its nominative words, pymorphy3 types and gender."""

    words: tuple[str, ...]
    types: tuple[str, ...]
    gender: str | None
    doc_id: str

    @property
    def key(self) -> str:
        return name_key(self.words[-1])


@dataclass
class Corpus:
    texts: dict[str, str]
    windows: list[Window] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    latin_words: set[str] = field(default_factory=set)  # folded, from every text
    names: set[str] = field(default_factory=set)  # every name key of every window
    gloss: dict[str, str] = field(default_factory=dict)  # Russian name stem -> English
    english: dict[str, Entity] | None = None  # English spelling -> name (see english_names)

    @classmethod
    def from_texts(cls, texts: dict[str, str]) -> Corpus:
        corpus = cls(dict(texts))
        for doc_id, text in sorted(texts.items()):
            sentences = [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]
            pairs = [" ".join(sentences[i : i + 2]) for i in range(max(1, len(sentences) - 1))]
            corpus.windows += [Window.of(doc_id, p) for p in pairs if p]
            corpus.entities += harvest_entities(doc_id, sentences)
            corpus.latin_words |= {fold(w) for w in WORD.findall(text) if not CYRILLIC.search(w)}
        corpus.names = set().union(*(w.names for w in corpus.windows))
        return corpus

    @classmethod
    def load(cls, dirs: Sequence[Path] = CORPUS_DIRS) -> Corpus:
        return cls.from_texts(
            {p.name: p.read_text(encoding="utf-8") for d in dirs for p in sorted(d.glob("*.txt"))}
        )

    def doc_windows(self, doc_ids: Iterable[str]) -> list[Window]:
        wanted = set(doc_ids)
        return [w for w in self.windows if w.doc_id in wanted]


def harvest_entities(doc_id: str, sentences: Iterable[str]) -> list[Entity]:
    """Single names and first name + surname pairs of Cyrillic text, in the nominative."""
    found: dict[tuple[str, ...], Entity] = {}
    for sentence in sentences:
        matches = list(WORD.finditer(sentence))
        words = [m.group() for m in matches]
        for i, word in enumerate(words):
            p = (
                named_parse(word)
                if is_name(word, i) and not quoted(sentence, matches[i].start())
                else None
            )
            if p is None:
                continue
            one = Entity((nominative(p),), (entity_type(p),), p.tag.gender, doc_id)
            found.setdefault(one.words, one)
            nxt = named_parse(words[i + 1]) if i + 1 < len(words) else None
            if "Name" in p.tag and nxt is not None and "Surn" in nxt.tag:
                pair = Entity(
                    (nominative(p), nominative(nxt)), ("Name", "Surn"), p.tag.gender, doc_id
                )
                found.setdefault(pair.words, pair)
    return list(found.values())


def nominative(parse: Any) -> str:
    base = str(parse.normal_form)
    return base[:1].upper() + base[1:]


# -- variants ------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    lang: str
    doc_ids: tuple[str, ...]

    @classmethod
    def of(cls, row: dict[str, Any]) -> Question:
        docs = tuple(dict.fromkeys(s["doc_id"] for s in row["supports"]))
        return cls(row["_id"], row["text"], row.get("lang", "ru"), docs)


@dataclass(frozen=True)
class Variant:
    """One near-miss: the question with one span replaced, and how to look for it."""

    source: Question
    kind: str
    start: int
    end: int
    original: str
    replacement: str
    value: tuple[str, ...] = ()  # what the corpus must not state: stems, name keys or a number
    focus: str = ""  # qualifier swaps: the stem of the noun the qualifier narrows

    @property
    def text(self) -> str:
        q = self.source.text
        return q[: self.start] + self.replacement + q[self.end :]


PREPOSITION = re.compile(r"(?:^|(?<=\s))(в|во|с|со|о|об)\s+$", re.IGNORECASE)
VOWELS = "аеёиоуыэюя"


def preposition_for(short: str, word: str) -> str:
    """ "в"/"во", "с"/"со", "о"/"об" as the next word wants it ("во французской")."""
    w = word.lower()
    if short == "в":
        return "во" if len(w) > 1 and w[0] in "вф" and w[1] not in VOWELS else "в"
    if short == "с":
        return "со" if len(w) > 1 and w[0] in "сзшж" and w[1] not in VOWELS else "с"
    return "об" if w[:1] in "аоуэи" else "о"


def variant(
    q: Question, kind: str, start: int, end: int, new: str, value: tuple[str, ...], focus: str = ""
) -> Variant:
    """The variant replacing ``q.text[start:end]`` with ``new``; in Russian, the
    preposition before it is taken into the swap when the new word wants another form."""
    found = PREPOSITION.search(q.text[:start]) if q.lang == "ru" else None
    if found is not None:
        old = found.group(1)
        prep = preposition_for(old.lower()[0], new)
        if prep != old.lower():
            prep = prep[:1].upper() + prep[1:] if old[:1].isupper() else prep
            start, new = found.start(), f"{prep} {new}"
    return Variant(q, kind, start, end, q.text[start:end], new, value, focus)


def rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (SEED, *parts)))


def number_variants(q: Question, corpus: Corpus) -> list[Variant]:
    """Each number of the question shifted to a value its gold article never states."""
    gold = corpus.doc_windows(q.doc_ids)
    out = []
    for m in NUMBER.finditer(q.text):
        n = int(m.group())
        if 1900 <= n <= 2100:
            steps = [s for s in range(-5, 6) if s]
        else:
            steps = [s for s in (-3, -2, -1, 1, 2, 3) if n + s > 0]
        rng(q.qid, m.start()).shuffle(steps)
        kept = []
        for new in (n + s for s in steps):
            if any(w.has_number(new) for w in gold):
                continue
            repl = english_ordinal(new, q.text, m.end()) if q.lang == "en" else str(new)
            end = m.end() + (2 if repl != str(new) else 0)
            kept.append(variant(q, "number", m.start(), end, repl, (str(new),)))
            if len(kept) == PER_QUESTION:
                break
        out += kept
    return out


def english_ordinal(n: int, text: str, end: int) -> str:
    """ "64th" -> "65th": the suffix follows the new number (only when there was one)."""
    if not re.match(r"(st|nd|rd|th)\b", text[end:]):
        return str(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def name_runs(text: str) -> list[list[re.Match[str]]]:
    """Runs of consecutive capitalised words (not the first word of the question)."""
    runs: list[list[re.Match[str]]] = []
    for i, m in enumerate(WORD.finditer(text)):
        if not is_name(m.group(), i) or m.group().isupper() or quoted(text, m.start()):
            continue
        if "-" in m.group() or any(c.isdigit() for c in m.group()):
            continue
        if runs and text[runs[-1][-1].end() : m.start()] == " ":
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


def entity_variants(q: Question, corpus: Corpus) -> list[Variant]:
    """Each person/place/organisation of the question swapped for one of another article."""
    gold_names = set().union(*(w.names for w in corpus.doc_windows(q.doc_ids)))
    out = []
    for run in name_runs(q.text):
        shape = run_shape(run, q.lang, corpus)
        if shape is None:
            continue
        types, gender = shape
        pool = [
            e for e in corpus.entities
            if e.types == types and e.doc_id not in q.doc_ids and e.key not in gold_names
            and (gender is None or e.gender in (None, gender))
        ]  # fmt: skip
        pool = sorted({e.words: e for e in pool}.values(), key=lambda e: e.words)
        rng(q.qid, run[0].start()).shuffle(pool)
        kept = []
        for e in pool:
            repl = render(e, run, q.lang, corpus)
            if repl is not None:
                start, end = run[0].start(), run[-1].end()
                kept.append(variant(q, "entity", start, end, repl, (e.key,)))
            if len(kept) == PER_QUESTION:
                break
        out += kept
    return out


def run_shape(
    run: list[re.Match[str]], lang: str, corpus: Corpus
) -> tuple[tuple[str, ...], str | None] | None:
    """The types of a run of names (one name, or first name + surname), and its gender."""
    if len(run) > 2:
        return None
    if lang == "ru":
        parses = [p for m in run if (p := named_parse(m.group())) is not None]
        if len(parses) != len(run):
            return None
        types = tuple(entity_type(p) for p in parses)
        gender = parses[-1].tag.gender if PERSON in types or "Name" in types else None
    else:
        known = english_names(corpus)
        found = [known.get(fold(m.group())) for m in run]
        if any(e is None for e in found):
            return None
        types = tuple(e.types[0] for e in found if e is not None)
        gender = (
            found[-1].gender if found[-1] is not None and types[-1] in ("Name", PERSON) else None
        )
    return (
        (types, gender)
        if types in (("Name", PERSON), (PERSON,), ("Name",), (PLACE,), (ORG,))
        else None
    )


def fold(latin_word: str) -> str:
    return re.sub(r"[^a-z]", "", latin_word.lower().replace("y", "i").replace("j", "i"))


def english_names(corpus: Corpus) -> dict[str, Entity]:
    if corpus.english is None:
        corpus.english = spell_names(corpus)
    return corpus.english


def spell_names(corpus: Corpus) -> dict[str, Entity]:
    """The corpus's single names by their English spellings (the gold set's, "Beijing",
    and the transliteration, "Rogozin"), each with the type most of its occurrences have."""
    by_spelling: dict[str, list[Entity]] = defaultdict(list)
    for e in corpus.entities:
        if len(e.words) == 1:
            for spelling in {latin(e.words[0]), english(e.words[0], corpus.gloss)} - {""}:
                by_spelling[fold(spelling)].append(e)
    out = {}
    for spelling, found in by_spelling.items():
        top = Counter(e.types for e in found).most_common(1)[0][0]
        out[spelling] = next(e for e in found if e.types == top)
    return out


def glossary(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """English spellings of Russian names, from the gold set's own key facts: a fact that
    accepts both "Пекин" and "Beijing" says how English writes the name."""
    out: dict[str, str] = {}
    for row in rows:
        for fact in row.get("key_facts", []):
            cyrillic = [v for v in fact if CYRILLIC.search(v) and v[:1].isupper() and " " not in v]
            latin_ = [v for v in fact if not CYRILLIC.search(v) and v[:1].isalpha()]
            for v in cyrillic:
                if latin_ and len(v) >= 4:
                    out.setdefault(yo(v), latin_[0])
    return out


def english(word: str, gloss: dict[str, str]) -> str:
    """The gold set's English spelling of a Russian name ("Пекин" -> "Beijing"), or ""."""
    base = yo(word)
    hits = [k for k in gloss if base.startswith(k)]
    return gloss[max(hits, key=len)] if hits else ""


def render(entity: Entity, run: list[re.Match[str]], lang: str, corpus: Corpus) -> str | None:
    """The entity in the run's language and, in Russian, in each original word's case.
    In English a name is spelled as the gold set's key facts spell it, else transliterated;
    a place or organisation must then be spelled so somewhere in the corpus
    (transliteration gives "Germaniya", not "Germany")."""
    if lang != "ru":
        glossed = [english(w, corpus.gloss) for w in entity.words]
        words = [g or latin(w) for g, w in zip(glossed, entity.words, strict=True)]
        exonym = entity.types[-1] not in ("Name", PERSON)
        unknown = any(
            not g and fold(w) not in corpus.latin_words for g, w in zip(glossed, words, strict=True)
        )
        return None if exonym and unknown else " ".join(words)
    words = []
    before = run[0].string[: run[0].start()]
    for word, m in zip(entity.words, run, strict=True):
        original = named_parse(m.group())
        if original is not None:
            original = in_context(original, m.group(), before)
        new = None if original is None else inflect_like(word, original, entity_type(original))
        if new is None:
            return None
        words.append(new[:1].upper() + new[1:])
    return " ".join(words)


PREPOSITION_CASES = {
    "в": {"accs", "loct"}, "во": {"accs", "loct"}, "на": {"accs", "loct"}, "с": {"ablt", "gent"},
    "со": {"ablt", "gent"}, "к": {"datv"}, "ко": {"datv"}, "о": {"loct"}, "об": {"loct"},
    "по": {"datv"}, "при": {"loct"}, "через": {"accs"}, "про": {"accs"}, "за": {"accs", "ablt"},
    "до": {"gent"}, "из": {"gent"}, "от": {"gent"}, "у": {"gent"}, "для": {"gent"},
    "без": {"gent"}, "кроме": {"gent"},
}  # fmt: skip


def in_context(parse: Any, word: str, before: str) -> Any:
    """The parse of ``word`` whose case the preposition before it governs: pymorphy3
    ranks "Пекин" nominative first, but "поездка в Пекин" wants the accusative."""
    previous = re.findall(r"[^\W\d_]+", before.lower())
    cases = PREPOSITION_CASES.get(previous[-1]) if previous else None
    if not cases or parse.tag.case in cases:
        return parse
    for p in morph().parse(word):
        same = p.normal_form == parse.normal_form and p.tag.POS == parse.tag.POS
        if same and p.tag.case in cases:
            return p
    return parse


def inflect_like(lemma: str, original: Any, tag: str | None = None) -> str | None:
    """``lemma`` inflected into ``original``'s case and number (gender, too, for adjectives)."""
    adjective = original.tag.POS in ADJECTIVES
    grammemes = {original.tag.case, original.tag.number}
    if adjective and original.tag.number == "sing":
        grammemes.add(original.tag.gender)
    if adjective and original.tag.case == "accs" and original.tag.animacy:
        grammemes.add(original.tag.animacy)
    grammemes.discard(None)
    for p in morph().parse(lemma):
        same = p.tag.POS == original.tag.POS or (adjective and p.tag.POS in ADJECTIVES)
        if (tag is None or tag in p.tag) and same:
            form = p.inflect(grammemes)
            if form is not None:
                return str(form.word)
    return None


ADJECTIVES = ("ADJF", "PRTF")  # "дублирующего" is a participle to pymorphy3


def adjective_lemma(parse: Any) -> str:
    """The masculine nominative singular: a participle's normal form is its verb."""
    if parse.tag.POS == "PRTF":
        form = parse.inflect({"nomn", "sing", "masc"})
        return str(form.word) if form is not None else str(parse.normal_form)
    return str(parse.normal_form)


def siblings(lemma: str, lang: str) -> list[str]:
    ordinals = RU_ORDINALS if lang == "ru" else EN_ORDINALS
    groups = RU_GROUPS if lang == "ru" else EN_GROUPS
    folded = [yo(w) for w in ordinals]
    if yo(lemma) in folded:
        i = folded.index(yo(lemma))
        return [ordinals[j] for j in (i + 1, i - 1, i + 2) if 0 <= j < len(ordinals)]
    return [w for g in groups if yo(lemma) in map(yo, g) for w in g if yo(w) != yo(lemma)]


def qualifier_variants(q: Question, corpus: Corpus) -> list[Variant]:
    """Each qualifier of the question (an ordinal or a table adjective) swapped for a sibling."""
    matches = list(WORD.finditer(q.text))
    out = []
    for i, m in enumerate(matches):
        found = qualifier_at(matches, i, q.lang)
        if found is None:
            continue
        parse, lemma, focus = found
        options = siblings(lemma, q.lang)
        rng(q.qid, m.start()).shuffle(options)
        kept = []
        for sib in options[:SIBLINGS]:
            new = sib if parse is None else inflect_like(sib, parse)
            if new is None:
                continue
            if m.group()[:1].isupper():
                new = new[:1].upper() + new[1:]
            ru = sib if q.lang == "ru" else EN_TO_RU[sib]
            value = tuple({stem(ru), stem(sib)} - {""})
            kept.append(variant(q, "qualifier", m.start(), m.end(), new, value, focus))
        out += kept
    return out


def qualifier_at(matches: list[re.Match[str]], i: int, lang: str) -> tuple[Any, str, str] | None:
    """(the word's parse or None in English, its lemma, the focus noun's stem) or None."""
    word = matches[i].group()
    following = [m.group() for m in matches[i + 1 : i + 4]]
    if lang != "ru":
        lemma = word.lower()
        titled = word[:1].isupper() and lemma not in EN_GROUPS[1]  # "Prime Minister"
        return (None, lemma, "") if siblings(lemma, lang) and following and not titled else None
    for p in morph().parse(word):
        lemma = adjective_lemma(p) if p.tag.POS in ADJECTIVES else ""
        if lemma and siblings(lemma, lang):
            for nxt in following:
                if any(x.tag.POS == "NOUN" for x in morph().parse(nxt)[:1]):
                    return p, lemma, stem(nxt)
            return None
    return None


# -- the check -------------------------------------------------------------------
def subject(variant: Variant, corpus: Corpus) -> tuple[frozenset[str], frozenset[str]]:
    """The question's other names (keys) and content stems, without the swapped span.
    Only names the corpus uses count: "Prime Minister's" in an English question is no
    name any Russian sentence could hold, and would make the subject harder to meet."""
    q = variant.source
    rest = q.text[: variant.start] + " " + q.text[variant.end :]
    spelled = english_names(corpus) if q.lang != "ru" else {}
    names = frozenset(
        spelled[fold(m.group())].key if fold(m.group()) in spelled else name_key(m.group())
        for i, m in enumerate(WORD.finditer(rest))
        if is_name(m.group(), i)
    )  # an English "Beijing" is looked for as the articles' "Пекин"
    swapped = set(tokens(variant.original.replace("-", " "))) | {variant.focus}
    content = frozenset(tokens(rest)) - question_stems() - swapped - set(NUMBER.findall(rest))
    return frozenset(n for n in names if n in corpus.names), content


def states_value(window: Window, variant: Variant) -> bool:
    if variant.kind == "number":
        return window.has_number(int(variant.value[0]))
    if variant.kind == "entity":
        return variant.value[0] in window.names
    said = bool(set(variant.value) & window.stems) or bool(set(variant.value) & window.words)
    lemma = variant.replacement.lower()
    ordinals = RU_ORDINALS if variant.source.lang == "ru" else EN_ORDINALS
    for n, word in enumerate(ordinals, start=1):
        if stem(word) in variant.value or word == lemma:
            said = said or str(n) in window.numbers
    focus_ok = variant.source.lang != "ru" or not variant.focus or variant.focus in window.stems
    return said and focus_ok


def holds_subject(window: Window, names: frozenset[str], content: frozenset[str]) -> bool:
    """Half of the question's other names (or, without any, half of its content stems)."""
    if names:
        return len(names & window.names) >= math.ceil(len(names) / 2)
    return len(content & window.stems) >= math.ceil(len(content) / 2)


def answered_by(variant: Variant, corpus: Corpus) -> Window | None:
    """The first window of the corpus that states the variant's new value for its subject."""
    names, content = subject(variant, corpus)
    for window in corpus.windows:
        if states_value(window, variant) and holds_subject(window, names, content):
            return window
    return None


def rejection(variant: Variant, corpus: Corpus) -> str | None:
    """Why a variant is dropped (None: it stays)."""
    names, _ = subject(variant, corpus)
    if variant.source.lang != "ru" and variant.kind != "number" and not names:
        return "English question without another name: the Russian articles cannot be checked"
    if variant.replacement.lower() in variant.source.text.lower():
        return "the new value is already in the question"
    window = answered_by(variant, corpus)
    return None if window is None else f"stated in {window.doc_id}: {window.text[:80]}"


# -- the set ---------------------------------------------------------------------
def candidates(
    rows: Iterable[dict[str, Any]], corpus: Corpus
) -> tuple[list[Variant], Counter[str]]:
    """Every variant of every answerable question that passes the check, and drop counts."""
    kept: list[Variant] = []
    dropped: Counter[str] = Counter()
    makers = {"number": number_variants, "entity": entity_variants, "qualifier": qualifier_variants}
    for row in rows:
        if not row.get("answerable", True) or not row.get("supports") or two_part(row):
            continue
        q = Question.of(row)
        for kind, make in makers.items():
            for v in make(q, corpus):
                if rejection(v, corpus) is None:
                    kept.append(v)
                else:
                    dropped[kind] += 1
    return kept, dropped


INTERROGATIVES = re.compile(
    r"\b(?:кто|кого|кому|кем|когда|где|куда|откуда|зачем|почему|сколько|скольких|как[а-я]*"
    r"|what|which|who|whom|whose|when|where|why|how)\b",
    re.IGNORECASE,
)


def two_part(row: dict[str, Any]) -> bool:
    """A question in two parts ("когда и где", "which ..., and which ...", or a ``multi``
    question over two articles): one swap leaves the other part answerable, so the
    variant would not be unanswerable as a whole."""
    return row.get("type") == "multi" or len(INTERROGATIVES.findall(row["text"])) > 1


def balance(variants: Sequence[Variant], target: int = TARGET) -> list[Variant]:
    """Up to ``target`` variants, the kinds as even as their supply allows; within a kind,
    each question's first variant before anyone's second (so questions spread evenly)."""
    ranked: dict[str, list[tuple[int, Variant]]] = defaultdict(list)
    seen: Counter[tuple[str, str]] = Counter()
    for v in variants:
        seen[(v.kind, v.source.qid)] += 1
        ranked[v.kind].append((seen[(v.kind, v.source.qid)], v))
    queues = {k: [v for _, v in sorted(ranked[k], key=lambda t: t[0])] for k in KINDS}
    quota = dict.fromkeys(KINDS, 0)
    left = target
    while left > 0 and any(quota[k] < len(queues[k]) for k in KINDS):
        for k in KINDS:
            if left > 0 and quota[k] < len(queues[k]):
                quota[k] += 1
                left -= 1
    chosen = [v for k in KINDS for v in queues[k][: quota[k]]]
    order = {v.source.qid: i for i, v in enumerate(variants)}
    return sorted(
        chosen, key=lambda v: (order[v.source.qid], KINDS.index(v.kind), v.start, v.replacement)
    )


def record(n: int, v: Variant) -> dict[str, Any]:
    """A line shaped like the gold set's unanswerable questions, plus where it came from."""
    return {
        "_id": f"nm{n:03d}", "text": v.text, "lang": v.source.lang, "type": "unanswerable",
        "answerable": False, "answer": "", "key_facts": [], "supports": [],
        "note": f"near-miss (generated): {v.source.qid} with {v.kind} «{v.original}» -> "
                f"«{v.replacement}»; no sentence of the corpus states it for its subject.",
        "source_id": v.source.qid, "swap": v.kind, "original": v.original,
        "replacement": v.replacement, "doc_ids": list(v.source.doc_ids),
    }  # fmt: skip


def build(
    gold: Path = GOLD_PATH, corpus: Corpus | None = None
) -> tuple[list[dict[str, Any]], Counter[str], Counter[str]]:
    """The near-miss records, and per kind how many variants passed and were dropped."""
    rows = [
        json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    corpus = corpus or Corpus.load()
    corpus.gloss, corpus.english = glossary(rows), None
    kept, dropped = candidates(rows, corpus)
    records = [record(i, v) for i, v in enumerate(balance(kept), start=1)]
    return records, Counter(v.kind for v in kept), dropped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--gold", type=Path, default=GOLD_PATH, help="gold questions (queries.jsonl)"
    )
    parser.add_argument("--out", type=Path, default=OUT_PATH, help="where to write the near-misses")
    args = parser.parse_args(argv)
    try:
        records, passed, dropped = build(args.gold)
        if not records:
            raise ValueError(f"no answerable gold question in {args.gold} gave a near-miss")
        lines = (json.dumps(r, ensure_ascii=False) for r in records)
        args.out.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    except (OSError, ValueError, KeyError) as exc:  # a missing or malformed gold file
        print(f"error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(records)} near-miss questions to {args.out}")
    for key in ("swap", "lang"):
        counts = Counter(r[key] for r in records)
        print(f"by {key}: " + ", ".join(f"{k} {counts[k]}" for k in sorted(counts)))
    cross = Counter((r["swap"], r["lang"]) for r in records)
    print(
        "by swap and lang: "
        + ", ".join(f"{k}/{lang} {c}" for (k, lang), c in sorted(cross.items()))
    )
    print("candidates passing the check: " + ", ".join(f"{k} {passed[k]}" for k in KINDS))
    print("dropped by the check: " + ", ".join(f"{k} {dropped[k]}" for k in KINDS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
