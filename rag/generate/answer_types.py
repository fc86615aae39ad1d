"""What kind of answer a question asks for, and whether a sentence can give it.

The question word sets the expected type (Кто/Who: a person or organisation;
Когда/When: a date or period; Сколько/How many: a number; Где/Where: a place);
a sentence that has nothing of that type cannot answer the question, however
many of its words it shares. A question with two question words joined by
"и"/"and" ("Где и когда ...") asks for two things, one sentence each.

These are general rules of Russian and English news text, not rules for any
one question; they are features for the calibrated selector, not verdicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.generate.citations import detect_language

PERSON, DATE, NUMBER, PLACE, OTHER = "person", "date", "number", "place", "other"

# Question words, longest phrases first. Order matters: "в каком году" is a date
# question although it starts with "в каком".
_QUESTION_WORDS: tuple[tuple[str, str], ...] = (
    (
        r"в\s+како[мй]\s+(году|месяце|день)|какого\s+числа|с\s+какого\s+(года|времени)"
        r"|в\s+какие\s+сроки|к\s+какому\s+(году|сроку)|до\s+какого\s+(года|срока)",
        DATE,
    ),
    (
        r"в\s+како[мй]\s+(городе|стране|регионе|области|месте)|в\s+какую\s+страну"
        r"|на\s+каком\s+космодроме",
        PLACE,
    ),
    (
        r"сколько|какое\s+количество|каково\s+число|какой\s+объ[её]м|какова\s+(сумма|стоимость|масса)"
        r"|на\s+какую\s+сумму|какую\s+сумму|во\s+сколько",
        NUMBER,
    ),
    (r"кто|кого|кому|кем|чей|чья|чьё|чье|чьи", PERSON),
    (r"когда", DATE),
    (r"где|куда|откуда", PLACE),
    (r"which\s+(year|month|day|date)|what\s+(year|month|day|date)|since\s+when|by\s+when", DATE),
    (r"which\s+(city|country|region|place|cosmodrome)|what\s+(city|country|region|place)", PLACE),
    (r"how\s+(many|much)|what\s+(number|amount|sum)|how\s+(long|far|heavy|big)", NUMBER),
    (r"who|whom|whose", PERSON),
    (r"when", DATE),
    (r"where", PLACE),
)
_COMPILED = tuple(
    (re.compile(rf"(?<!\w)(?:{p})(?!\w)", re.IGNORECASE), t) for p, t in _QUESTION_WORDS
)

_MONTHS = (
    r"январ\w*|феврал\w*|март\w*|апрел\w*|ма[йяе]\b|июн\w*|июл\w*|август\w*|сентябр\w*"
    r"|октябр\w*|ноябр\w*|декабр\w*|january|february|march|april|may|june|july|august"
    r"|september|october|november|december"
)
_DATE = re.compile(
    rf"\b(1[89]\d\d|20\d\d)\b|\b\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}\b|(?<!\w)({_MONTHS})(?!\w)"
    r"|(?<!\w)(вчера|сегодня|завтра|накануне|недел[июя]|месяц\w*|квартал\w*|году|годах|лет"
    r"|век\w*|понедельник|вторник|сред[ау]|четверг|пятниц\w*|суббот\w*|воскресень\w*"
    r"|yesterday|today|tomorrow|week|month|quarter|year|decade)(?!\w)",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    r"один|одна|одно|два|две|три|четыре|пять|шесть|семь|восемь|девять|десять|\w+дцать"
    r"|сто|двести|триста|\w+сот|тысяч\w*|миллион\w*|миллиард\w*|трлн|млрд|млн|тыс"
    r"|половин\w*|треть|четверть"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|dozen"
)
_NUMBER = re.compile(rf"\d|(?<!\w)({_NUMBER_WORDS})(?!\w)", re.IGNORECASE)
_PLACE_WORDS = re.compile(
    r"(?<!\w)(город\w*|столиц\w*|област\w*|район\w*|стран\w*|регион\w*|космодром\w*|площадк\w*"
    r"|орбит\w*|center|city|country|region|cosmodrome|site|orbit)(?!\w)",
    re.IGNORECASE,
)
# "в Астане", "на Байконуре", "из Пекина", "in Almaty"
_PLACE_PREP = re.compile(
    r"(?<!\w)(в|во|на|из|под|около|in|at|from|near)\s+[«\"]?[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ]"
)
_PERSON_WORDS = re.compile(
    r"(?<!\w)(министр\w*|директор\w*|председател\w*|глав[аыуе]|руководител\w*|президент\w*"
    r"|премьер\w*|заместител\w*|вице|посол|посл[аыу]|представител\w*|сотрудник\w*|специалист\w*"
    r"|компани\w*|корпораци\w*|агентств\w*|министерств\w*|ао|тоо|нк|оао|зао|ооо|фонд\w*"
    r"|minister|director|chairman|head|president|ceo|company|corporation|agency|ministry)(?!\w)",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<=[\s«\"(])[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][\w-]+")
_QUOTED = re.compile(r"[«\"][^»\"]{2,}[»\"]")
_TWO_PART = re.compile(
    r"(?<!\w)(и|and|а\s+также)\s+(когда|где|кто|сколько|when|where|who|how)(?!\w)", re.IGNORECASE
)


@dataclass(frozen=True)
class QuestionKind:
    types: tuple[str, ...]  # one per part; ("other",) when the question word says nothing
    # What a "how many" question counts, as a stem ("Сколько сотрудников" -> "сотрудник"):
    # a number of something else ("250 человек", "89 минут полёта") is not its answer.
    counted: str | None = None

    @property
    def two_part(self) -> bool:
        return len(self.types) > 1


# "сколько [ещё] <noun>", "how many <noun>"; vague quantities ("несколько") are no number.
_COUNTED = re.compile(r"(?<!\w)(?:сколько|how\s+many)\s+(?:(?:ещё|еще|всего|more)\s+)?([^\W\d_]+)",
                      re.IGNORECASE)  # fmt: skip


def question_kind(question: str) -> QuestionKind:
    """The expected answer type(s): ``("place", "date")`` for "Где и когда ...?"."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern, kind in _COMPILED:
        for m in pattern.finditer(question):
            if any(a <= m.start() < b or m.start() <= a < m.end() for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), kind))
    found.sort()
    kinds = tuple(dict.fromkeys(k for _, k in found))
    if len(kinds) > 1 and not _TWO_PART.search(question):
        kinds = kinds[:1]  # "Кто и когда" asks two things; "Кто сообщил, когда ..." one
    counted = None
    if NUMBER in kinds and (unit := _COUNTED.search(question)):
        from rag.index.lexical import tokens

        stems = tokens(unit.group(1))
        counted = stems[0] if stems else None
    return QuestionKind(kinds[:2] or (OTHER,), counted)


def has_type(sentence: str, kind: str) -> bool:
    """Whether ``sentence`` contains something of the answer type ``kind``."""
    if kind == DATE:
        return bool(_DATE.search(sentence))
    if kind == NUMBER:
        return bool(_NUMBER.search(sentence))
    if kind == PLACE:
        return bool(_PLACE_PREP.search(sentence) or _PLACE_WORDS.search(sentence))
    if kind == PERSON:
        inner = sentence[1:]  # the first word is capitalised anyway
        return bool(
            _CAPITALISED.search(" " + inner) or _QUOTED.search(sentence)
            or _PERSON_WORDS.search(sentence)
        )  # fmt: skip
    return True


def type_match(sentence: str, kind: QuestionKind) -> float:
    """Share of the question's parts whose type the sentence has (1.0 for "other"); a
    "how many X" part counts half when the sentence's number is not of X (in the
    question's script: an English question's X cannot be looked for in Russian)."""
    score = 0.0
    for k in kind.types:
        if not has_type(sentence, k):
            continue
        score += 1.0
        if (
            k == NUMBER
            and kind.counted
            and detect_language(kind.counted) == detect_language(sentence)
        ):
            from rag.index.lexical import tokens

            if not any(t.startswith(kind.counted[:5]) for t in tokens(sentence)):
                score -= 0.5
    return score / len(kind.types)
