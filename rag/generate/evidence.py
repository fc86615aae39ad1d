"""Evidence at the sentence level: does this sentence state what the question asks?

A sentence (or two adjacent ones: a pronoun, a list) is evidence for a question when
it satisfies every constraint of the question (:mod:`rag.generate.constraints`):
each name by lemma, stem, abbreviation or transliteration (the article's title may
name the subject), each number exactly, enough of the qualifiers by lemma or close
synonym (each matched by :mod:`rag.generate.matching`); and when it states something
of the asked type that the question does not already contain (a number for
"сколько", a date for "когда", a name for "кто").
The bag of words of a whole passage never counts: "A, headed by B" assembled from
two sentences about other things is no evidence.

A publication date is not evidence for when an event happened: the date of an
answer must be in the sentence ("сегодня", "в этот день" date it relative to the
report, and count). Everything here costs microseconds to milliseconds per sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from rag.generate import constraints as C
from rag.generate import matching as M
from rag.generate.citations import CITATION, detect_language
from rag.types import Hit

# Share of the question's qualifiers a sentence must state (lemma or synonym). Fitted
# out of fold on the gold set and its near-miss variants: eval/experiments/honest.md.
MIN_COVERAGE = 0.34

_NUMBER_WORDS = re.compile(
    r"(?<!\w)(один|одна|одно|два|две|три|четыре|пять|шесть|семь|восемь|девять|десять|\w+дцать"
    r"|сорок|сто|двести|триста|\w+сот|тысяч\w*|миллион\w*|миллиард\w*|трлн|млрд|млн|тыс|дюжин\w*"
    r"|половин\w*|треть|четверть|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|\w+teen|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen)(?!\w)",
    re.I,
)
_MONTH_NAMES = (
    r"январ\w*|феврал\w*|март\w*|апрел\w*|ма[йяе]|июн\w*|июл\w*|август\w*|сентябр\w*"
    r"|октябр\w*|ноябр\w*|декабр\w*|january|february|march|april|may|june|july|august"
    r"|september|october|november|december"
)
_MONTHS = re.compile(rf"(?<!\w)({_MONTH_NAMES})(?!\w)", re.I)
_DATE_DIGITS = re.compile(r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b")
_RELATIVE = re.compile(r"(?<!\w)(сегодня|вчера|накануне|в\s+этот\s+день|на\s+этой\s+неделе"
                       r"|today|yesterday|this\s+week)(?!\w)", re.I)  # fmt: skip
_CENTURY = re.compile(r"(?<!\w)([IVXLC]+|\d{1,2})\s*(век|веке|века|century)(?!\w)", re.I)
# A purpose clause: "чтобы ...", "для запуска", "Целью является ...", "направлен на",
# "позволит"; "in order to", "aimed at"
_PURPOSE = re.compile(r"(?<!\w)(чтобы|дабы|для|ради|цел[ьиейяюям]\w*|направлен\w*|позвол\w*"
                      r"|призван\w*|in\s+order|so\s+that|aim\w*|purpose\w*|to\s+\w+)(?!\w)",
                      re.I)  # fmt: skip
_ORG_WORDS = re.compile(r"(?<!\w)(АО|ТОО|ОАО|ЗАО|ООО|НК|ГК|РК|МИИЦР|NASA|ESA)(?!\w)")
_PLACE_PREP = re.compile(
    rf"(?<!\w)(в|во|на|из|под|около|близ|in|at|from|near)\s+[«\"]?[{C._UPPER}]"
)


@dataclass(frozen=True)
class Verdict:
    """How a window of text measures up to a question's constraints."""

    unmet: tuple[C.Term, ...]  # names, numbers and the focus word it does not state
    missed: tuple[C.Term, ...]  # qualifiers it does not state
    coverage: float  # share of the qualifiers it states (1.0 when there are none)
    answers: tuple[str, ...]  # the asked types it states beyond the question
    adds: bool  # it says something the question does not
    near: int = 0  # unmet years (numbers) for which it states another year (number)
    named: bool = False  # it names a new entity of the asked kind ("кто": a person, an org)
    told: float = 0.0  # share of an English question's qualifiers it states in translation

    def ok(self, constraints: C.Constraints, min_coverage: float = MIN_COVERAGE) -> bool:
        # a two-part question ("где и когда") is answered part by part: one part will do
        typed = len(self.answers) == len(constraints.types) or (
            constraints.two_part and bool(self.answers)
        )
        return not self.unmet and self.adds and self.coverage >= min_coverage and typed

    def score(self, constraints: C.Constraints) -> float:
        """For ranking near misses: how much of the question the window states."""
        n = len(constraints.names) + len(constraints.numbers)
        strict = 1.0 - len(self.unmet) / n if n else 1.0
        typed = len(self.answers) / len(constraints.types)
        return (2.0 * strict + self.coverage + 0.5 * typed + 0.25 * self.adds + 0.5 * self.near
                + 0.25 * self.named + 0.5 * self.told)  # fmt: skip


def _names_in(text: str) -> set[str]:
    """Lemmas of the names of ``text``: NER entities, else capitalised words."""
    found = {C.lemma(w) for _, span in C.entities(text) for w in C._WORD.findall(span)}
    return found | {C.lemma(w) for w in C._capitalised(text)}


def _counts(counted: str, text: str, asked: set[str]) -> bool:
    """A number of the counted thing: "108 спутников", "спутников — 108" (within three
    words either way), not "9 июля" for "Сколько лет"."""
    words = M.words_of(text)
    for i, w in enumerate(words):
        if not ((w.isdigit() and w not in asked) or _NUMBER_WORDS.fullmatch(w)):
            continue
        near = words[max(0, i - 3) : i] + words[i + 1 : i + 4]
        if any(C.lemma(n) == counted or M.prefix_match(counted, [C.lemma(n)], M.PREFIX + 1)
               for n in near):  # fmt: skip
            return True
    return False


_ENTITY_KINDS = {C.PERSON: ("PER", "ORG"), C.PLACE: ("LOC",)}


def _names_asked_kind(c: C.Constraints, text: str) -> bool:
    """Whether ``text`` names an entity (NER) of the kind asked for that the question
    does not: a person or organisation for "кто", a place for "где" (a rocket's or a
    ship's name answers neither)."""
    kinds = {k for t in c.types for k in _ENTITY_KINDS.get(t, ())}
    if not kinds:
        return False
    asked = {k for t in c.names for k in t.keys}
    return any(kind in kinds and not M.prefix_match(C.lemma(w), asked)
               for kind, span in C.entities(text) for w in C._WORD.findall(span))  # fmt: skip


def names_people(c: C.Constraints, text: str) -> bool:
    """Whether ``text`` names people by a common noun the question does not use
    ("военные строители", "инженеры": animate, not a first name or a surname)."""
    known = set(C.lemmas(c.question)) | C._VAGUE
    for word in C._WORD.findall(text):
        if not word.islower() or C.lemma(word) in known:
            continue
        tag = C._morph().parse(word)[0].tag
        if tag.POS == "NOUN" and "anim" in tag and not {"Name", "Surn", "Patr"} & tag.grammemes:
            return True
    return False


# "Кто из них", "Мамин или Рогозин", "кто из Мамина и Рогозина": the answer is one of
# the people the question names
_CHOOSING = re.compile(r"(?<!\w)(или|or|[Кк]то\s+из\s+(них|[А-ЯЁ])|[Ww]hich\s+of)(?!\w)")


def names_someone(c: C.Constraints, draft: str) -> bool:
    """Whether a draft sentence answering "кто" gives someone the question does not
    already name: a person or an organisation by name, or by what they are ("аким
    области"). "Аскар Мамин [1]." for "Кто ... участвовал во встрече Мамина с
    Рогозиным?" gives no one: it repeats the question. Russian drafts (the NER and
    the morphology are Russian); a question that offers its people to choose from
    ("кто из них", "или") is answered by one of them."""
    if c.types != (C.PERSON,) or c.parts or c.language != "ru" or _CHOOSING.search(c.question):
        return True
    if C.asks_organisation(c.question):
        return True  # "Какая компания": its name is often Latin ("Shanghai Spacesail"), no NER
    text = CITATION.sub("", draft)
    asked = {k for t in c.names for k in t.keys}
    for kind, span in C.entities(text):
        words = C._WORD.findall(span)
        if kind in ("PER", "ORG") and not any(M.prefix_match(C.lemma(w), asked) for w in words):
            return True
    text = text.strip()
    roles = text[:1].lower() + text[1:]  # "Аким области": a role, capitalised as it begins
    return names_people(c, roles) or bool(_ORG_WORDS.search(text))


def _names_a_body(c: C.Constraints, text: str) -> bool:
    """Whether ``text`` names an organisation by a kind the question does not use
    ("министерство обороны" for "Какое ведомство"): a name in lower case."""
    asked = set(C.lemmas(c.question))
    return any(C.lemma(m.group(0)) not in asked for m in C.BODY.finditer(text))


def answered_types(c: C.Constraints, window: M.Window) -> tuple[str, ...]:
    """The asked types the window states something of, beyond what the question says."""
    asked_numbers = {k for t in c.numbers for k in t.keys}
    asked_names = {k for t in c.names for k in t.keys}
    new_numbers = window.numbers - asked_numbers
    out = []
    for kind in c.types:
        if kind == C.NUMBER:
            has = bool(new_numbers or _NUMBER_WORDS.search(window.text))
            if has and c.counted and c.language == detect_language(window.text):
                has = _counts(c.counted, window.text, asked_numbers)
        elif kind == C.DATE:
            years = {y for y in C.YEAR_RE.findall(window.text) if y not in asked_numbers}
            has = bool(years or _MONTHS.search(window.text) or _DATE_DIGITS.search(window.text)
                       or _RELATIVE.search(window.text)
                       or _CENTURY.search(window.text))  # fmt: skip
        elif kind in (C.PERSON, C.PLACE):
            fresh = {n for n in _names_in(window.text) if not M.prefix_match(n, asked_names)}
            has = bool(fresh) or bool(_ORG_WORDS.search(window.text))
            if kind == C.PERSON and not has and C.asks_organisation(c.question):
                has = _names_a_body(c, window.text)  # "министерство обороны"
            if kind == C.PLACE:
                has = has or bool(_PLACE_PREP.search(window.text))
        elif kind == C.PURPOSE:
            has = bool(_PURPOSE.search(window.text))
        else:
            has = True
        if has:
            out.append(kind)
    return tuple(out)


@lru_cache(maxsize=64)
def _setting(article: str) -> M.Window:
    """The text of an article the passages show, normalised once for all its windows."""
    return M.Window(article)


def check(c: C.Constraints, text: str, title: str = "", context: str = "",
          article: str = "") -> Verdict:  # fmt: skip
    """``text`` (a sentence or two) against the question's constraints; ``article``:
    the text of its article that the passages show. A question of two clauses is
    answered part by part: the verdict of the clause the text answers best."""
    if c.parts:
        verdicts = [(check(p, text, title, context, article), p) for p in c.parts]
        stated = [v for v, p in verdicts if v.ok(p)]
        return stated[0] if stated else max(verdicts, key=lambda x: x[0].score(x[1]))[0]
    window = M.Window(text, title, context)
    setting = _setting(article) if article else None  # where its article is set
    cross = c.language == "en" and _written_in(text) == "ru"
    # a place is set by its article beside another name or a number ("площадка № 1"),
    # which says what the question is about
    located = len(c.names) + len(c.numbers) > 1
    names, soft = _unstated_names(c, window, setting, cross, located)
    lacking = [t for t in c.numbers if not M.states_number(t, window)]
    lacking += [t for t in c.qualifiers if t.kind == "ordinal" and not M.states_ordinal(t, window)]
    years = set(C.YEAR_RE.findall(window.text))
    near = sum(1 for t in lacking if (years if C.YEAR_RE.fullmatch(t.text) else window.numbers))
    classes = frozenset(t.keys[0] for t in c.qualifiers if t.kind == "class")
    lacking += [t for t in c.qualifiers if t.kind == "class"
                and not M.states_class(t, window, setting, classes)]  # fmt: skip
    # "неудачным" where the window says "успешным": its opposite is stated
    lacking += [t for t in c.qualifiers if t.kind == "qualifier" and M.contradicted(t, window)]
    unmet = tuple(names + lacking)
    if c.focus and not cross:
        focus = C.Term(c.focus, "focus", (c.focus,))
        if not M.states_qualifier(focus, window, local=True):
            unmet += (focus,)
    told = 0.0
    if cross:  # qualifiers are words in another language: they rank windows, where
        # translated, and decide nothing (they would dilute the names' share)
        missed: tuple[C.Term, ...] = tuple(soft)
        total = len(c.names)
        if c.qualifiers:  # untranslated (no senses): they rank nothing
            pool = window.lemmas | window.title_lemmas
            told = sum(any(lemma in pool for _, lemma in t.senses)
                       for t in c.qualifiers) / len(c.qualifiers)  # fmt: skip
    else:
        # an ordinal or a class word is stated (else it is unmet): it counts as such
        missed = tuple(t for t in c.qualifiers if t.kind == "qualifier"
                       and not M.states_qualifier(t, window)) + tuple(soft)  # fmt: skip
        # what the question says its source article is about: said anywhere in it
        about = [w for w in (window, setting) if w is not None]
        missed += tuple(t for t in c.qualifiers if t.kind == "topic"
                        and not any(M.states_qualifier(t, w) for w in about))  # fmt: skip
        # a phase verb ("начал работать") counts where it is stated
        total = len(c.qualifiers) - sum(1 for t in c.qualifiers if t.kind == "phase"
                                        and not M.states_qualifier(t, window))  # fmt: skip
        total += sum(1 for t in c.names if t.label == "LOC") * located
        total += sum(1 for t in soft if t.label != "LOC")  # people its article names
    coverage = 1.0 - len(missed) / total if total else 1.0
    asked = set(C.lemmas(c.question))
    adds = bool(cross or (window.lemmas - asked - C._stop()) or window.numbers)
    named = _names_asked_kind(c, text)
    return Verdict(unmet, missed, coverage, answered_types(c, window), adds, near, named, told)


def _written_in(text: str) -> str:
    """The language of a sentence by its lower-case words (a Russian sentence may name
    more in Latin letters than it says in Cyrillic: "руководитель АО «РЦКС» провёл
    встречи с компаниями China Great Wall Industry Corporation, ...")."""
    plain = " ".join(w for w in C._WORD.findall(text) if w.islower())
    return detect_language(plain) if plain else detect_language(text)


def _unstated_names(c: C.Constraints, window: M.Window, setting: M.Window | None,
                    cross: bool, located: bool) -> tuple[list[C.Term], list[C.Term]]:  # fmt: skip
    """The question's names the window does not state: those that are unmet, and those
    that count with the qualifiers instead (``soft``)."""
    names = [t for t in c.names if not M.states_name(t, window, cross)
             or (not cross and (M.another_named(t, window) or M.named_otherwise(t, window)))
             or (t.label == "LOC" and _located(t, c.question)
                 and M.placed_elsewhere(t, window))]  # fmt: skip
    if cross:
        # English names of Russian things are often translations ("International
        # Astronautical Congress", "Dane"), not transliterations: only a code and a
        # Russian or Kazakh surname ("Rogozin", "Musabayev": never translated) must be
        # found; the others count with the qualifiers.
        soft = [t for t in names if not any(ch.isdigit() for ch in t.text)
                and not M.is_surname(t.text) and not M.is_country(t.text)]  # fmt: skip
        # a country is named in its own words ("России", "РФ"): in the window or its article
        names = [t for t in names if not (M.is_country(t.text)
                 and any(M.names_country(t.text, w) for w in (window, setting) if w))]  # fmt: skip
        # one its article names ("Eurasian Space Ventures", said in its first sentence)
        # is the setting the sentence takes as known; by its letters: a translation
        # ("first Dane") names a kind of thing the article may say of someone else
        set_here = [t for t in soft if setting is not None
                    and M.states_name(replace(t, senses=()), setting, True)]  # fmt: skip
        names = [t for t in names if t not in set_here]
        soft = [t for t in soft if t not in set_here]
    else:
        # A place the question names is often the setting the sentence takes as known
        # ("в Казахстане", "в Пекине"): when its article names it (and it is not all
        # the question is about), it counts with the qualifiers.
        soft = [t for t in names if t.label == "LOC" and located
                and setting is not None and M.states_name(t, setting, False)]  # fmt: skip
    soft += [t for t in _actors(c, names, setting, cross) if t not in soft]
    return [t for t in names if t not in soft], soft


def _located(term: C.Term, question: str) -> bool:
    """Whether the question puts what it asks in this place ("в Казахстане")."""
    return bool(re.search(rf"(?<!\w)(в|во|на)\s+{re.escape(term.text)}(?!\w)", question, re.I))


def _actors(c: C.Constraints, names: list[C.Term], setting: M.Window | None,
            cross: bool) -> list[C.Term]:  # fmt: skip
    """The question's people the window does not name but its article does: news
    names an event's people once ("Министр ... Атамкулов ... встретился с ...") and
    then takes them as known ("На встрече приняли участие ..."). Only beside another
    of the question's names that the window states itself: it is about the question's
    subject, not just from the same article."""
    if setting is None or len(names) == len(c.names):
        return []
    people = [t for t in names if t.label == "PER" or (cross and M.is_surname(t.text))]
    return [t for t in people if M.states_name(replace(t, senses=()), setting, cross)]


@dataclass(frozen=True)
class Found:
    """A window of source sentences and its verdict."""

    sentences: tuple[Hit, ...]
    verdict: Verdict

    def rank(self, c: C.Constraints) -> float:
        """The verdict's score, a single sentence preferred to two."""
        return self.verdict.score(c) - 0.1 * (len(self.sentences) - 1)

    @property
    def text(self) -> str:
        return " ".join(h.chunk.text for h in self.sentences)


CONTEXT = 2  # sentences before a window that may name its place or organisation


def _follows(prev: Hit, hit: Hit) -> bool:
    return prev.chunk.doc_id == hit.chunk.doc_id and 0 <= hit.chunk.start - prev.chunk.end <= 3


@dataclass(frozen=True)
class Candidate:
    """A window of sentences, the sentences just before it, and the rest of its
    article the passages show (where a place the question names may be set)."""

    sentences: tuple[Hit, ...]
    context: str
    article: str

    @property
    def text(self) -> str:
        return " ".join(h.chunk.text for h in self.sentences)

    def check(self, c: C.Constraints) -> Verdict:
        return check(c, self.text, self.sentences[-1].chunk.title, self.context, self.article)


def windows(sentences: Sequence[Hit]) -> list[Candidate]:
    """Each sentence alone and with the one before it in the same text (a pronoun's
    antecedent, a list's lead-in), with the up to CONTEXT sentences just before it."""
    articles: dict[str, list[str]] = {}
    for h in sentences:
        articles.setdefault(h.chunk.doc_id, []).append(h.chunk.text)
    # the sentences in text order, wherever their passages ranked: a sentence and the
    # one before it may come from two passages (a passage boundary between them)
    ordered = sorted(sentences, key=lambda h: (h.chunk.doc_id, h.chunk.start))
    place = {id(h): i for i, h in enumerate(ordered)}
    out: list[Candidate] = []
    for hit in sentences:
        i = place[id(hit)]
        run = [hit]
        for j in range(i - 1, max(-1, i - 2 - CONTEXT), -1):
            if not _follows(ordered[j], run[0]):
                break
            run.insert(0, ordered[j])
        before = [h.chunk.text for h in run[:-1]]
        article = " ".join(articles[hit.chunk.doc_id])
        out.append(Candidate((hit,), " ".join(before[-CONTEXT:]), article))
        if len(run) > 1:
            out.append(Candidate((run[-2], hit), " ".join(before[:-1][-CONTEXT:]), article))
    return out


def search(c: C.Constraints, sentences: Sequence[Hit], min_coverage: float = MIN_COVERAGE
           ) -> tuple[Found | None, Found | None]:  # fmt: skip
    """(the best window that is evidence, the nearest window that is not): the first
    is None when no window satisfies the question; the second when none comes close."""
    best: Found | None = None
    nearest: Found | None = None
    for cand in windows(sentences):
        found = Found(cand.sentences, cand.check(c))
        if found.verdict.ok(c, min_coverage):
            if best is None or found.rank(c) > best.rank(c):
                best = found
        elif nearest is None or found.rank(c) > nearest.rank(c):
            nearest = found
    return best, nearest


def names_all(c: C.Constraints, sentences: Sequence[Hit]) -> bool:
    """Whether a window states every name, number and ordinal of the question (its
    subject: "о третьем заседании"), whatever else it says."""
    return any(not cand.check(c).unmet for cand in windows(sentences))


TYPE_WORDS = {
    "ru": {
        C.PERSON: "кто",
        C.DATE: "когда",
        C.NUMBER: "сколько",
        C.PLACE: "где",
        C.PURPOSE: "зачем",
    },
    "en": {
        C.PERSON: "who",
        C.DATE: "when",
        C.NUMBER: "how many",
        C.PLACE: "where",
        C.PURPOSE: "what for",
    },
}


def missing(c: C.Constraints, verdict: Verdict, language: str) -> str:
    """What the nearest evidence does not state, for a person: the question's own
    words ("2028", "дублирующего") or the asked type ("дата")."""
    if verdict.unmet:
        return ", ".join(t.text for t in verdict.unmet)
    if verdict.missed and verdict.coverage < MIN_COVERAGE:
        return ", ".join(t.text for t in verdict.missed)
    words = TYPE_WORDS.get(language, TYPE_WORDS["en"])
    lacking = [words[t] for t in c.types if t not in verdict.answers and t in words]
    return ", ".join(lacking) or ", ".join(t.text for t in verdict.missed)
