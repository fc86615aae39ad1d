"""What a question asks for, and what its answer must satisfy.

A question is parsed into its *answer type* (a person or organisation, a place, a
date, a number, a purpose, or other: what the question word asks for) and the *constraints*
an answering sentence must state:

- **names**: the named entities of the question (NER where natasha is installed,
  capitalised and Latin-script words otherwise), each matched by lemma, by a common
  stem (Russian inflection: "Байконуре" / "Байконур"), by its abbreviation
  ("МКС" / "Международная космическая станция") or, for an English question over
  Russian text, by its transliteration;
- **numbers**: every number and year of the question, matched exactly (a decade
  "1980-х" matches any year of it);
- **qualifiers**: the content words that narrow what is asked ("дублирующего
  экипажа", "первый", "командует"), matched by lemma or by a close synonym (word
  vectors), as a share: a paraphrasing answer rarely repeats every word.

A question of two clauses, each with its question word ("Какой ракетой запустили
KazSat-2 и в каком бюро разработали эту ракету?"), is two questions (``parts``),
answered part by part. These are general rules of Russian and English news text, not
rules for any one question. :mod:`rag.generate.evidence` checks a sentence against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from rag.generate import framing
from rag.generate.citations import detect_language
from rag.generate.morphology import WORD as _WORD
from rag.generate.morphology import lemma
from rag.generate.morphology import morph as _morph
from rag.generate.morphology import pos as _pos

PERSON, DATE, NUMBER, PLACE, OTHER = "person", "date", "number", "place", "other"
PURPOSE = "purpose"  # "Зачем", "Для чего", "С какой целью": answered by a purpose clause

# "Каков бюджет", "На какой высоте", "Какого калибра": a measure asks for a number.
_MEASURES = (
    r"бюджет\w*|стоимост\w*|цен[аеуы]|масс[аеуы]|вес\w*|высот\w*|длин\w*|ширин\w*"
    r"|площад[иь]\w*|численност\w*|размер\w*|объ[её]м\w*|сумм\w*|скорост\w*|дальност\w*"
    r"|продолжительност\w*|возраст\w*|мощност\w*|процент\w*|дол[яеиюь]|калибр\w*"
    r"|глубин\w*|температур\w*|срок\w*"
)

# "Какая организация", "Какие китайские компании", "Which private company": an
# organisation is asked for, as by "кто" (only the question word is taken: "китайские"
# still narrows it)
_BODIES = (
    r"организаци\w*|компани\w*|агентств\w*|ведомств\w*|министерств\w*|корпораци\w*"
    r"|госкорпораци\w*|предприяти\w*|фирм\w*|учреждени\w*|концерн\w*|холдинг\w*"
)
BODY = re.compile(rf"(?<!\w)({_BODIES})(?!\w)", re.I)
_ADJECTIVE = r"[а-яё]+(ой|ый|ий|ая|ое|ие|ых|их|ую|ым|им|ими|ыми|ого|его|ому|ему)"
_ASKS_BODY = (
    rf"как\w+(?=\s+({_ADJECTIVE}\s+)?({_BODIES})(?!\w))"
    r"|(which|what)(?=\s+(\w+\s+)?(organi[sz]ations?|compan(y|ies)|agenc(y|ies)|ministr(y|ies)"
    r"|corporations?|firms?|enterprises?)(?!\w))"
)


def asks_organisation(question: str) -> bool:
    """ "Какая организация", "Which private company": an organisation by its kind."""
    return bool(_ASKING_BODY.search(question))


# Question words, longest phrases first: "в каком году" is a date question although
# it starts like a place one. Each phrase is removed before qualifiers are read.
_QUESTION_WORDS: tuple[tuple[str, str], ...] = (
    (r"в\s+како[мй]\s+(году|месяце|день)|какого\s+числа|с\s+какого\s+(года|времени)"
     r"|в\s+какие\s+сроки|к\s+какому\s+(году|сроку)|до\s+какого\s+(года|срока)"
     r"|какого\s+года|какая\s+дата|в\s+какое\s+время", DATE),
    (r"(в|во|на|из|с)\s+как\w+\s+(город\w*|стран\w*|регион\w*|област\w*|мест\w*|космодром\w*"
     r"|район\w*|площадк\w*|орбит\w*)", PLACE),
    (r"сколько|как\w+\s+количеств\w*|каково\s+число|во\s+сколько"
     rf"|(на|в|до|с)?\s*как\w+\s+({_MEASURES})", NUMBER),
    (rf"кто|кого|кому|кем|чей|чья|чьё|чье|чьи|{_ASKS_BODY}", PERSON),
    (r"зачем|для\s+чего|ради\s+чего|с\s+какой\s+целью|в\s+каких\s+целях|с\s+какими\s+целями"
     r"|какова\s+цель|for\s+what\s+purpose|what\s+(is|was)\s+the\s+purpose", PURPOSE),
    (r"когда", DATE),
    (r"где|куда|откуда", PLACE),
    (r"(in\s+)?(which|what)\s+(year|month|day|date)|since\s+when|by\s+when", DATE),
    (r"(in\s+)?(which|what)\s+(city|country|region|place|cosmodrome)", PLACE),
    (r"how\s+(many|much|long|far|heavy|big|old)|what\s+(number|amount|sum)", NUMBER),
    (r"who|whom|whose", PERSON),
    (r"when", DATE),
    (r"where", PLACE),
)  # fmt: skip
_COMPILED = tuple((re.compile(rf"(?<!\w)(?:{p})(?!\w)", re.I), t) for p, t in _QUESTION_WORDS)
_ASKING_BODY = re.compile(rf"(?<!\w)(?:{_ASKS_BODY})", re.I)
_TWO_PART = re.compile(r"(?<!\w)(и|and|а\s+также)\s+(когда|где|кто|сколько"
                       r"|((в|во|к|до|с|со|на|из|по|за)\s+)?как(ой|ая|ое|ие|ого|ому|ую|ом|им|ими|их)"
                       r"|when|where|who|how|in\s+what|what|which)(?!\w)", re.I)  # fmt: skip
# What and which words: they ask, they do not narrow.
_ASKING = re.compile(r"(?<!\w)(как\w*|что|чем|чего|зачем|почему|ли|what|which|how|why|whether"
                     r"|do|does|did|is|are|was|were)(?!\w)", re.I)  # fmt: skip

# Lemmas that carry no constraint: auxiliaries and the vaguest verbs and nouns.
_VAGUE = frozenset(
    """быть являться стать становиться иметь называть называться составлять составить
    делать сделать происходить произойти получить получать также весь свой этот тот такой
    который сам какой каков каковой год число количество дата время занимать занять
    находиться входить относиться
    раз be is are was were have has had become called name named do does did get got year
    number date time times""".split()
)

# A country and its adjective by the abbreviation news text names it with ("Республика
# Казахстан": "РК"): aliases of names, matched as whole words.
ALIASES = {
    "казахстан": ("рк",), "казахстанский": ("рк",), "россия": ("рф",), "российский": ("рф",),
    "китай": ("кнр",), "китайский": ("кнр",), "советский": ("ссср",),
    "америка": ("сша",), "американский": ("сша",), "европейский": ("ес", "еса"),
}  # fmt: skip
# A capital, as news names it the second time ("в столице Китая" for "в Пекине"): the
# country's lemma (its abbreviation in ALIASES counts too).
CAPITALS = {
    "пекин": "китай", "москва": "россия", "астана": "казахстан", "париж": "франция",
    "токио": "япония", "берлин": "германия", "вашингтон": "сша", "киев": "украина",
    "лондон": "великобритания", "рим": "италия", "дели": "индия", "нью-дели": "индия",
}  # fmt: skip

NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
YEAR_RE = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
DECADE_RE = re.compile(r"(?<!\d)(1[89]\d0|20\d0)-?х(?!\w)", re.I)
_QUOTED = re.compile(r"[«\"]([^»\"]{2,60})[»\"]")
_UPPER = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"


@dataclass(frozen=True)
class Term:
    """One thing an answering sentence must state."""

    text: str  # as written in the question
    kind: str  # "name" | "number" | "qualifier" | "ordinal" | "class" (a relational adjective)
    # | "topic" (what the article it is in is about: "в материале о ...") | "phase" ("начал"
    # before an infinitive: counted where stated)
    keys: tuple[str, ...]  # normalised forms it is matched by (lemmas, numbers)
    label: str = ""  # a name's entity type: "PER", "ORG", "LOC" (NER), or "" (by shape)
    head: str = ""  # a class word's noun ("российской корпорации": "корпорация"), an
    # ordinal's ("второе заседание": "заседание"), or the common noun a name is given to
    # ("космодрома Восточный": "космодром")
    # An English name's words and the Russian lemmas the passages translate them by
    # (("dane", "датчанин")): found by meaning, :mod:`rag.generate.translated`
    senses: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Constraints:
    question: str
    language: str  # the question's script: "ru" | "en"
    types: tuple[str, ...]  # the asked answer type(s), one per part
    names: tuple[Term, ...]
    numbers: tuple[Term, ...]
    qualifiers: tuple[Term, ...]
    counted: str | None = None  # "Сколько спутников" -> "спутник" (lemma)
    # The word the question word asks about: "Каков бюджет" -> "бюджет", "Кто
    # командует" -> "командовать", "Когда полетел" -> "полететь" (lemma). An
    # answering sentence must state it (or a close synonym), whatever else it shares.
    focus: str | None = None
    # The question asks when something was reported or published ("Какая дата у
    # новости", "When was it reported"): the article's date answers it, and only then.
    about_report: bool = False
    # A question of two clauses, each with its question word ("Какой ракетой запустили
    # KazSat-2 и в каком бюро её разработали"): each clause's own constraints, answered
    # part by part. A clause that names nothing takes the other's names (its subject).
    parts: tuple[Constraints, ...] = ()
    # The parts are two things named side by side ("на 64-м конгрессе и на третьем
    # заседании", "both the meeting and the Congress"): the question asks about both,
    # so each part needs its own evidence (one stated part does not answer it).
    joint: bool = False

    @property
    def two_part(self) -> bool:
        return len(self.types) > 1 or bool(self.parts)

    @property
    def terms(self) -> tuple[Term, ...]:
        return (*self.names, *self.numbers, *self.qualifiers)


# -- word classes ----------------------------------------------------------
@lru_cache(maxsize=65536)
def _ordinal(word: str) -> bool:
    """ "первый", "третьем", "второго": an ordinal is a number, and is matched exactly."""
    if not any("а" <= ch <= "я" for ch in word.lower()):
        return False
    return any("Anum" in p.tag for p in _morph().parse(word.lower()))


# "кроме тяжёлых спутников и межпланетных станций": what the answer is not; a class
# word there names the sibling the answer is not, so it is no class constraint
_EXCEPT = re.compile(r"(?<!\w)(кроме|помимо|за\s+исключением|except|besides|other\s+than)"
                     r"(?!\w)[^,;?!.]*", re.I)  # fmt: skip


def _excluded(word: str, question: str) -> bool:
    return any(word in m.group(0) for m in _EXCEPT.finditer(question))


@lru_cache(maxsize=65536)
def _relational(word: str) -> bool:
    """A relational adjective ("казахстанский", "геосинхронный", "навигационный"):
    it names a class, and a sibling class ("российский", "полярный") is another
    thing, however close its word vector: matched by lemma or stem, never a synonym.
    Qualitative ones ("новый", "успешный") are paraphrased, like other words."""
    if not any("а" <= ch <= "я" for ch in word.lower()):
        return False
    parses = _morph().parse(word.lower())
    if any(p.tag.POS in ("PRTF", "VERB") for p in parses):
        return False  # "окружающий", "ведущий": a participle too, a property not a class
    tag = parses[0].tag
    if tag.POS == "ADJF" and "-" in word.strip("-"):
        return True  # a compound ("солнечно-синхронный", "казахстанско-китайский") classifies
    return tag.POS == "ADJF" and not any(g in tag for g in ("Qual", "Anum", "Apro", "Supr"))


def lemmas(text: str) -> list[str]:
    return [lemma(w) for w in _WORD.findall(text)]


# -- named entities ---------------------------------------------------------
@lru_cache(maxsize=1)
def _ner() -> Any:
    """natasha's NER (slovnet, weights inside the wheel), or None when not installed."""
    try:
        from natasha import NewsEmbedding, NewsNERTagger, Segmenter
    except ImportError:
        return None
    return Segmenter(), NewsNERTagger(NewsEmbedding())


@lru_cache(maxsize=4096)
def entities(text: str) -> tuple[tuple[str, str], ...]:
    """(type, text) of the named entities of a Russian text: PER, LOC, ORG."""
    ner = _ner()
    if ner is None or detect_language(text) != "ru":
        return ()
    from natasha import Doc

    segmenter, tagger = ner
    doc = Doc(text)
    doc.segment(segmenter)
    doc.tag_ner(tagger)
    return tuple((span.type, span.text) for span in doc.spans)


# "1980-х", "2015-м", "64-й", "10th": numbers with an ending, not names
_ORDINAL = re.compile(r"\d+(-?[а-яё]{1,3}|st|nd|rd|th)", re.I)
_SENTENCE_END = re.compile(r"[.!?…]\s*$")


def _capitalised(text: str) -> list[str]:
    """Names by their shape: capitalised words that do not start a sentence, Latin
    words in a Cyrillic text, words with digits ("ТМА-18М", "KazSat-3R")."""
    cyrillic = detect_language(text) == "ru"
    out = []
    for m in _WORD.finditer(text):
        w = m.group(0)
        first = not text[: m.start()].strip() or bool(_SENTENCE_END.search(text[: m.start()]))
        shaped = (not first and w[0].isupper()) or (cyrillic and w.isascii() and w.isalpha())
        coded = any(c.isdigit() for c in w) and any(c.isalpha() for c in w)
        if shaped or (coded and not _ORDINAL.fullmatch(w)):
            out.append(w)
    return out


def _name_terms(question: str) -> list[Term]:
    """One term per name: an entity's words together ("Аскар Мамин", "Eurasian Space
    Ventures"), other name-shaped words alone; keys are the words' lemmas."""
    spans: list[tuple[str, str]] = list(entities(question))
    inside = {w for _, span in spans for w in _WORD.findall(span)}
    spans += [("", w) for w in _capitalised(question) if w not in inside]
    spans += [("", m.group(1)) for m in _QUOTED.finditer(question)
              if not set(_WORD.findall(m.group(1))) & inside]  # fmt: skip
    found: dict[tuple[str, ...], Term] = {}
    for label, span in sorted(spans, key=lambda s: -len(s[1])):  # a name before its parts
        words = [w for w in _WORD.findall(span) if not _ASKING.fullmatch(w) and not w.isdigit()]
        keys = tuple(lemma(w) for w in words if lemma(w) not in _VAGUE)
        if keys and not any(set(keys) <= set(k) for k in found):
            found[keys] = Term(span, "name", keys, label, _noun_before(question, words[0]))
    return sorted(found.values(), key=lambda t: question.find(t.text))


def _noun_after(words: list[str], word: str, within: int) -> str:
    """The lemma of the first noun among the ``within`` words after ``word``, or ""."""
    j = words.index(word)
    return next((lemma(x) for x in words[j + 1 : j + 1 + within] if _pos(x) == "NOUN"), "")


def _noun_before(question: str, word: str) -> str:
    """The lemma of the common noun just before ``word`` in the question ("космодром"
    in "с космодрома Восточный"), or ""."""
    at = question.find(word)
    before = _WORD.findall(question[:at]) if at > 0 else []
    if not before or not before[-1].islower() or _pos(before[-1]) != "NOUN":
        return ""
    return lemma(before[-1])


# -- numbers ------------------------------------------------------------------
def _number_terms(question: str, names: list[Term]) -> list[Term]:
    bare = question
    for t in names:  # "ТМА-18М": the name carries its digits
        if any(c.isdigit() for c in t.text):
            bare = bare.replace(t.text, " ")
    out = [Term(m.group(0), "number", tuple(str(y) for y in range(int(m.group(1)),
                                                                 int(m.group(1)) + 10)))
           for m in DECADE_RE.finditer(bare)]  # fmt: skip
    bare = DECADE_RE.sub(" ", bare)
    for m in NUMBER_RE.finditer(bare):
        out.append(Term(m.group(0), "number", (m.group(0).replace(",", "."),)))
    return out


# -- the asked type and the qualifiers ---------------------------------------
def _types(question: str) -> tuple[tuple[str, ...], str]:
    """The asked types in question order, and the question with its question words
    blanked out (what remains narrows the answer)."""
    found: list[tuple[int, str]] = []
    rest = question
    for pattern, kind in _COMPILED:
        for m in pattern.finditer(rest):
            if not _SUBORDINATE.search(rest[: m.start()]):
                found.append((m.start(), kind))
        rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)
    found.sort()
    kinds = tuple(dict.fromkeys(k for _, k in found))
    if len(kinds) > 1 and not _TWO_PART.search(question):
        kinds = kinds[:1]  # "Кто и когда" asks two things; "Кто сообщил, когда" one
    return kinds[:2] or (OTHER,), rest


# "..., когда встречался": after a comma a question word opens a clause, not a question
# (unless joined by "и": "где и когда").
_SUBORDINATE = re.compile(r",\s*$")
_COUNTED = re.compile(r"(?<!\w)(?:сколько|how\s+many)\s+(?:(?:ещё|еще|всего|more)\s+)?"
                      r"([^\W\d_]+)", re.I)  # fmt: skip


_FUNCTION = ("PREP", "CONJ", "PRCL", "NPRO", "INTJ")


def _counted(after: str) -> str | None:
    """The lemma of the noun "сколько" counts, past its adjectives ("сколько пусковых
    площадок": "площадка"); None for a vague one ("сколько лет") or none ("сколько
    стоил")."""
    for word in _WORD.findall(after)[:3]:
        pos = _pos(word)
        if pos == "NOUN":
            key = lemma(word)
            return None if key in _VAGUE else key
        if pos not in ("ADJF", "PRTF"):
            return None
    return None


def parse(question: str) -> Constraints:
    """The question's answer type and constraints (milliseconds; no model call)."""
    whole = _parse(question)
    clauses = _clauses(question)
    if clauses:
        parts = [_anaphoric(_parse(text), whole) for text in clauses]
        return replace(whole, parts=tuple(parts))
    joined = _conjuncts(question)
    if joined:
        return replace(whole, parts=tuple(_parse(text) for text in joined), joint=True)
    return whole


# "на 64-м конгрессе и на третьем заседании", "и в материале о X, и в материале о Y":
# a second phrase opened by the first one's preposition; "both X and Y" in English.
_JOINED = re.compile(r"(?:,\s*|\s)(?:и|а\s+также)\s+(в|во|на|о|об|с|со|по|при|из|от|у|к|для)\s",
                     re.I)  # fmt: skip
_SAME_PREPOSITION = {"во": "в", "об": "о", "со": "с"}
_BOTH = re.compile(r"(?<!\w)both\s+(.+?),?\s+and\s+(.+)$", re.I)
_NAME_LIKE = re.compile(r"(?:the|of|[A-ZА-ЯЁ0-9][\w–-]*)$")


def _conjuncts(question: str) -> list[str]:
    """The question asked of each of two things it names side by side, each phrase
    with its own name, number or ordinal ("Кто возглавлял делегации на 64-м конгрессе
    и на третьем заседании" -> "... на 64-м конгрессе?", "... на третьем заседании?");
    [] otherwise ("компании и организации": nothing of their own to tell them apart)."""
    q = question.strip().rstrip("?").rstrip()
    if detect_language(q) == "ru":
        for m in reversed(list(_JOINED.finditer(q))):  # "и в X, и в Y": the last "и"
            prep = _SAME_PREPOSITION.get(m.group(1).lower(), m.group(1).lower())
            forms = (prep, *(k for k, v in _SAME_PREPOSITION.items() if v == prep))
            opened = list(re.finditer(rf"(?<!\w)(?:{'|'.join(forms)})\s", q[: m.start()], re.I))
            if opened:
                start = opened[-1].start()
                first, second = q[start : m.start()], q[m.start(1) :]
                if _specific(first) and _specific(second):
                    return [f"{q[:start]}{first}?", f"{q[:start]}{second}?"]
        return []
    if (b := _BOTH.search(q)) is None:
        return []
    prefix, first = q[: b.start()], b.group(1)
    words = b.group(2).split()  # the second thing: its name, then the shared rest
    end = next((i for i, w in enumerate(words) if i and not _NAME_LIKE.match(w)), len(words))
    second, suffix = " ".join(words[:end]), "".join(f" {w}" for w in words[end:])
    if not (_specific(first) and _specific(second)):
        return []
    return [f"{prefix}{first}{suffix}?", f"{prefix}{second}{suffix}?"]


def _specific(phrase: str) -> bool:
    """Whether a phrase has a name, a number or an ordinal of its own."""
    names = _name_terms(phrase)
    return bool(names or _number_terms(phrase, names) or _ORDINAL_EN.search(phrase)
                or any(_ordinal(w) for w in _WORD.findall(phrase)))  # fmt: skip


_ORDINAL_EN = re.compile(r"(?<!\w)(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
                         r"|tenth|\d+(st|nd|rd|th))(?!\w)", re.I)  # fmt: skip


def _anaphoric(part: Constraints, whole: Constraints) -> Constraints:
    """A clause that names nothing or points back ("кто её строил", "в каком бюро
    разработали эту ракету") is about the question's subject: it takes the question's
    names and numbers ("её": "площадку № 1"); the noun it points back with ("эту
    ракету": the first clause's answer) is no constraint of its own."""
    pointed = {m.group(2).lower() for m in _POINTING.finditer(part.question)
               if _pos(m.group(2)) in ("NOUN", "")}  # fmt: skip
    if part.names and not pointed and not _ANAPHOR.search(part.question):
        return part
    return replace(
        part,
        names=tuple(dict.fromkeys((*whole.names, *part.names))),
        numbers=tuple(dict.fromkeys((*whole.numbers, *part.numbers))),
        qualifiers=tuple(t for t in part.qualifiers if t.text.lower() not in pointed),
    )


_POINTING = re.compile(r"(?<!\w)(его|её|ее|их|этот|эта|эту|этого|этой|этом|эти|этих|its|their"
                       r"|this|these)\s+([^\W\d_]+)", re.I)  # fmt: skip
_ANAPHOR = re.compile(r"(?<!\w)(его|её|ее|их|он|она|оно|они|тот|та|те|этот|эта|эту|этого|этой"
                      r"|этом|эти|it|its|they|their|them|he|she|him|her|his)(?!\w)",
                      re.I)  # fmt: skip


def _clauses(question: str) -> list[str]:
    """The two clauses of a question that joins two questions, each with its own
    content ("Когда был основан Байконур | и когда с его площадки стартовала ракета");
    [] for one question, or for two question words sharing one clause ("Где и когда
    прошла встреча": one clause, two asked types)."""
    m = _TWO_PART.search(question)
    if m is None:
        return []
    first, second = question[: m.start()], question[m.start() + len(m.group(1)) :]
    first = first.rstrip(" ,;:")
    if not _content(first) or not _content(second):
        return []
    if detect_language(question) == "ru" and not any(
        _pos(w) in _VERBAL for w in _WORD.findall(first)
    ):
        return []  # "С какого комплекса и когда стартовал «Буран»": one predicate, shared
    return [first + "?", second.strip()]


def _content(clause: str) -> bool:
    """Whether a clause says more than its question words."""
    _, rest = _types(clause)
    return any(len(w) > 2 and not _ASKING.fullmatch(w) and lemma(w) not in _VAGUE
               and _pos(w) not in _FUNCTION for w in _WORD.findall(rest))  # fmt: skip


def _parse(question: str) -> Constraints:
    language = detect_language(question)
    types, rest = _types(question)
    names = _name_terms(question)
    numbers = _number_terms(question, names)
    taken = {k for t in names for k in t.keys}
    qualifiers: dict[str, Term] = {}
    category = _category(question)
    words = _WORD.findall(rest)
    content = [w for w in words if not _ASKING.fullmatch(w) and _pos(w) not in _FUNCTION]
    framed = framing.words(question)
    phase = framing.phase(question)
    topic = framing.topic(question)
    for w in words:
        key = lemma(w)
        if (
            len(w) < 3 or w.isdigit() or _ASKING.fullmatch(w) or key in _VAGUE or key in taken
            or key in _stop() or _pos(w) in _FUNCTION
            or key == category or w.lower() in framed
        ):  # fmt: skip
            continue
        if w.lower() in phase:
            qualifiers.setdefault(key, Term(w, "phase", (key,)))
            continue
        if w.lower() in topic:  # "в материале о третьем заседании": said of the article
            qualifiers.setdefault(key, Term(w, "topic", (key,)))
            continue
        kind = "ordinal" if _ordinal(w) else "qualifier"  # "третьем": a number in words
        if kind == "qualifier" and _relational(w) and not _excluded(w, question):
            # "казахстанской": by lemma or stem, never a synonym; or by the initials of
            # its phrase ("центр космической связи": "ЦКС")
            i = content.index(w)
            phrase = [x[0].lower() for x in content[max(0, i - 1) : i + 3]]
            initials = {"".join(phrase[a:b]) for a in range(len(phrase))
                        for b in range(a + 3, len(phrase) + 1) if a <= min(i, 1) < b}  # fmt: skip
            head = _noun_after(words, w, 3)
            qualifiers.setdefault(key, Term(w, "class", (key, *sorted(initials)), head=head))
            continue
        head = _noun_after(words, w, 2) if kind == "ordinal" else ""  # "второе заседание"
        qualifiers.setdefault(key, Term(w, kind, (key,), head=head))
    counted = None
    if NUMBER in types and (m := _COUNTED.search(question)):
        counted = _counted(question[m.start(1) :])
    about_report = DATE in types and bool(_REPORT.search(question))
    return Constraints(
        question,
        language,
        types,
        tuple(names),
        tuple(numbers),
        tuple(qualifiers.values()),
        counted,
        _focus(question, types, qualifiers),
        about_report,
    )
    # fmt: skip


_REPORT = re.compile(r"(?<!\w)(новост\w*|стать[яиеюь]\w*|сообщени\w*|публикаци\w*|опубликова\w*"
                     r"|сообщил\w*|сообщает\w*|пресс-релиз\w*|news|article|report\w*|publish\w*"
                     r"|press\s+release)(?!\w)", re.I)  # fmt: skip
# "Какой пост", "Какая организация", "Каким по счёту полётом": the category the
# answer is an instance of ("вице-министр", "Роскосмос"), not a word it repeats.
_WHICH = re.compile(r"(?<!\w)(?:как(?:ой|ая|ое|ие|ую|ого|ом|им|ими|их|ова|ов|ово|овы|ому)"
                    r"|which|what)\s+(?:(?:по\s+\w+|из\s+\w+)\s+)?([^\W\d_]+)", re.I)  # fmt: skip


def _category(question: str) -> str | None:
    m = _WHICH.search(question)
    if m is None or re.fullmatch(_MEASURES, m.group(1), re.I):
        return None
    word = m.group(1)
    return lemma(word) if _pos(word) in ("NOUN", "") else None


_VERBAL = ("VERB", "INFN", "PRTS", "PRTF", "GRND")


def _focus(question: str, types: tuple[str, ...], qualifiers: dict[str, Term]) -> str | None:
    """What the question word asks about, where it must be said: the measure of a
    measure question ("На какой высоте" -> "высота"), else the verb of a number
    question ("Сколько стоит", "Сколько весил": what is measured); a question that
    asks no number has none ("К какому сроку" is answered by a date). A category noun
    ("Какой пост", "Какая организация") is answered by an instance, not repeated: no
    focus."""
    if detect_language(question) != "ru" or not qualifiers:
        return None
    if NUMBER not in types:
        return None  # "К какому сроку": a date answers; "Кто возглавлял": "во главе с"
    dated = [m.span() for p, t in _COMPILED if t == DATE for m in p.finditer(question)]
    for m in re.finditer(rf"(?<!\w)как\w*\s+({_MEASURES})", question, re.I):
        if not any(a <= m.start() < b for a, b in dated):  # "и к какому сроку": a date
            return lemma(m.group(1))
    if types[0] != NUMBER:
        return None  # "Кто возглавлял" is said "во главе с", "председатель": paraphrased
    verbs = [lemma(t.text) for t in qualifiers.values() if _pos(t.text) in _VERBAL]
    return next((v for v in verbs if v in _MEASURE_VERBS), None)


# Verbs that say what a number measures ("Сколько стоит", "весил", "длился").
_MEASURE_VERBS = frozenset(
    "стоить весить обойтись обходиться длиться продлиться продолжаться".split()
)


@lru_cache(maxsize=1)
def _stop() -> frozenset[str]:
    from rag.index.lexical import STOP

    return frozenset(lemma(w) for w in STOP) | STOP
