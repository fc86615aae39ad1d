"""How one term of a question is found in a window of source text.

A window (:class:`Window`: a sentence or two, its title and the sentences just before
it) is normalised once; each kind of constraint (:mod:`rag.generate.constraints`) has
its matcher: a name by lemma, stem, surname, initials, a country's abbreviation or
(across scripts) its transliteration; a number exactly; a class word (a relational
adjective) by lemma, stem or its phrase's initials, never a synonym; a qualifier by
lemma, stem (a verb's prefix aside) or a close synonym (navec word vectors). Used by
:mod:`rag.generate.evidence`, which decides whether a window is evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.generate import constraints as C

SYNONYM_MIN = 0.55  # cosine of two lemmas' word vectors (navec) that count as one
PREFIX = 5  # stems agreeing on this many letters are one word ("командир"/"командует")
# The legal form before a company's name ("АО «Республиканский центр космической связи»"
# is "АО «РЦКС»": the name's initials are those of the words after it)
LEGAL_FORMS = frozenset("ао оао зао пао нао тоо ооо гп ргп фгуп ано нк jsc llp llc".split())


def words_of(text: str) -> list[str]:
    """Lower-case words, hyphenated ones also in parts ("казахстанско-китайской")."""
    out = []
    for w in C._WORD.findall(text.lower().replace("ё", "е")):
        out.append(w)
        if "-" in w:
            out += [p for p in w.split("-") if p]
    return out


@dataclass
class Window:
    """A sentence or two, normalised once for every check. ``title`` (the article's)
    and ``context`` (the sentences just before) may name a place or an organisation
    the sentence takes as known; a person, a number and the answer must be in it."""

    text: str
    title: str = ""
    context: str = ""

    def __post_init__(self) -> None:
        self.words = words_of(self.text)
        self.lemmas = {C.lemma(w) for w in self.words}
        self.title_words = words_of(f"{self.title} {self.context}")
        self.title_lemmas = {C.lemma(w) for w in self.title_words}
        self.numbers = {n.replace(",", ".") for n in C.NUMBER_RE.findall(self.text)}
        self._latin: list[str] | None = None
        self._written: tuple[set[str], list[str]] | None = None
        self._heading: set[str] | None = None

    @property
    def latin_words(self) -> list[str]:
        if self._latin is None:
            from rag.generate.translit import latin

            text = latin(f"{self.title} {self.context} {self.text}")
            self._latin = [_fold(w) for w in words_of(text)]
        return self._latin

    @property
    def by_letters(self) -> tuple[set[str], list[str]]:
        """The words written in Latin letters (folded; as they are), and the others
        transliterated (folded): "SpaceSail" is a word as written, "Рогозина" is
        "rogozina", an inflected form."""
        if self._written is None:
            from rag.generate.translit import latin

            words = words_of(f"{self.title} {self.context} {self.text}")
            self._written = (
                {_fold(w) for w in words if w.isascii()},
                [_fold(latin(w)) for w in words if not w.isascii()],
            )
        return self._written

    @property
    def heading_lemmas(self) -> set[str]:
        """Lemmas of the article's title alone (not the sentences before the window)."""
        if self._heading is None:
            self._heading = {C.lemma(w) for w in words_of(self.title)}
        return self._heading


def prefix_match(key: str, words: Any, need: int = PREFIX) -> bool:
    for w in words:
        n = min(len(key), len(w), need)
        if n >= 3 and key[:n] == w[:n] and abs(len(key) - len(w)) <= max(4, len(key) // 2):
            return True
    return False


_FOLD = str.maketrans("yjcwq", "iikvk")

# A transliterated Russian or Kazakh surname: its ending ("Rogozin", "Kharlamov",
# "Musabayev", "Aimbetov", "Malenchenko", "Tsiolkovsky", "Mamina").
SURNAME = re.compile(r"[a-z](ov|ev|in|yn|sky|skiy|enko|ova|eva|ina|uly|ovich|evich)$")


def is_surname(name: str) -> bool:
    """Whether an English name ends in a transliterated surname (:data:`SURNAME`) that is
    not a country ("China" ends like "Mamina")."""
    words = name.lower().split()
    return bool(words) and bool(SURNAME.search(words[-1])) and words[-1] not in COUNTRIES


def _fold(word: str) -> str:
    """Latin spelling variants of one Russian name folded together ("Baikonur" /
    "Baykonur", "Roscosmos" / "Roskosmos", "Zhezkazgan" / "Jezkazgan")."""
    return word.lower().replace("kh", "h").replace("zh", "j").translate(_FOLD)


def _initials(words: Sequence[str]) -> str:
    return "".join(w[0] for w in words if w)


def _one_word(key: str, raw: str, window: Window) -> bool:
    """One word of a name in the window, its title or the sentences just before it; a
    code ("ТМА-18М") exactly, hyphens aside."""
    if any(c.isdigit() for c in raw):
        flat = raw.replace("-", "")
        return any(w.replace("-", "") == flat for w in (*window.words, *window.title_words))
    pool = window.lemmas | window.title_lemmas
    return (key in pool or raw in window.words or prefix_match(key, pool)
            or _aliased(key, window) or _capital(key, window))  # fmt: skip


def _aliased(key: str, window: Window) -> bool:
    """A country by its abbreviation ("РК" for "Казахстан", "СССР" for "советский")."""
    aliases = C.ALIASES.get(key, ())
    return bool(aliases) and any(w in aliases for w in (*window.words, *window.title_words))


def _capital(key: str, window: Window) -> bool:
    """A capital by its country: "в столице Китая" (or "КНР", "в китайской столице")
    for "в Пекине"."""
    country = C.CAPITALS.get(key)
    if country is None:
        return False
    names = {country, *C.ALIASES.get(country, ())}
    for words in (window.words, window.title_words):
        for i, w in enumerate(words):
            if not w.startswith("столиц"):
                continue
            after = any(C.lemma(x) in names or x in names for x in words[i + 1 : i + 3])
            if after or (i > 0 and prefix_match(country, [C.lemma(words[i - 1])], 4)):
                return True
    return False


# A country by its lemma, its capital's ("пекин": "китай") or its abbreviation ("рк")
_COUNTRIES = frozenset(C.CAPITALS.values())
_ABBREVIATED = {a: country for country in _COUNTRIES for a in C.ALIASES.get(country, ())}
_PLACED = re.compile(r"(?<!\w)(?:[Вв]|[Вв]о|[Нн]а)\s+(?:столиц\w+\s+)?([А-ЯЁ][\w-]+)")


def _country(word: str) -> str | None:
    key = C.lemma(word)
    return C.CAPITALS.get(key) or _ABBREVIATED.get(key) or (key if key in _COUNTRIES else None)


def placed_elsewhere(term: C.Term, window: Window) -> bool:
    """Whether the window, the sentences just before it or its title put what they
    tell in another country ("В столице Китая прошло ... заседание
    казахстанско-китайской группы"), and nowhere in the question's ("в Казахстане", "в
    Астане", "в РК"): the event is not where the question puts it, whatever adjective
    ("казахстанской делегации") names that country."""
    mine = _country(term.keys[0])
    if mine is None:
        return False
    places = {_country(m.group(1)) for text in (window.title, window.context, window.text)
              for m in _PLACED.finditer(text)}  # fmt: skip
    return mine not in places and bool(places - {None})


def states_name(term: C.Term, window: Window, cross_script: bool) -> bool:
    """A person by the surname; a multi-word name by half its words or its initials
    ("ESV" for "Eurasian Space Ventures", "МКС" in "Международная космическая
    станция"); across scripts, by the transliteration's first letters."""
    raws = [w.lower().replace("ё", "е") for w in C._WORD.findall(term.text)]
    raws = [r for r in raws if C.lemma(r) in term.keys] or raws
    if not cross_script and len(raws) > 1 and C._relational(raws[0]):
        # "Российской корпорации ...": not when the window's is "Китайской корпорации"
        kind = C.Term(raws[0], "class", (C.lemma(raws[0]),), head=C.lemma(raws[1]))
        if _another_class(kind, window, frozenset()):
            return False
    if cross_script:
        hits = [_spelled(r, window) or _translated(r, term, window) for r in raws]
    else:
        hits = [_one_word(C.lemma(r), r, window) for r in raws]
    coded = [h for h, r in zip(hits, raws, strict=True) if any(c.isdigit() for c in r)]
    if coded and not all(coded):
        return False  # "Союз ТМА-18М" is not "Союз ТМ-19": the code must be there
    if term.label == "PER" and not cross_script and hits[-1] and _someone_else(term, window):
        return False
    if term.label == "PER" and len(hits) > 1:
        return hits[-1]
    if 2 * sum(hits) >= len(hits) and any(hits):
        return True
    all_words = [*window.words, *window.title_words]
    if len(raws) > 2 and raws[0] in LEGAL_FORMS:  # "АО «РЦКС»": the form is not abbreviated
        return _initials(raws) in all_words or _initials(raws[1:]) in all_words
    if len(raws) > 1:
        return _initials(raws) in all_words
    name = term.text
    return name.isupper() and 2 <= len(name) <= 6 and name.lower() in _initials(all_words)


def _spelled(word: str, window: Window) -> bool:
    """An English name's word spelled in the window: as a word written in Latin letters
    there (a plural aside: "Space" is not "Spacesail"), or as the transliteration's
    first letters of a Russian word ("Rogozin": "Рогозина")."""
    folded = _fold(word)
    written, transliterated = window.by_letters
    if folded in written or folded.rstrip("s") in {w.rstrip("s") for w in written}:
        return True
    return prefix_match(folded, transliterated, 4)


def _translated(word: str, term: C.Term, window: Window) -> bool:
    """An English name's word by a Russian lemma it translates to ("Dane": "датчанин"),
    in the window or its article's title: a translation names a kind of thing ("first
    Dane"), and the sentence before may name another thing of that kind."""
    mine = {lemma for w, lemma in term.senses if w == word}
    if not mine:
        return False
    return bool(mine & window.lemmas) or bool(mine & window.heading_lemmas)


def _someone_else(term: C.Term, window: Window) -> bool:
    """A person named only around the window (its title, the sentences before), while
    the window itself names another: the window is about that other person ("В 2012
    году Аймаханов уехал..." two sentences before "его выбрали... Аимбетов стартовал")."""
    surname = term.keys[-1]
    if surname in window.lemmas or prefix_match(surname, window.lemmas):
        return False
    others = {C.lemma(w) for kind, span in C.entities(window.text) if kind == "PER"
              for w in C._WORD.findall(span)}  # fmt: skip
    return any(not prefix_match(w, term.keys) for w in others)


def another_named(term: C.Term, window: Window) -> bool:
    """Whether the window names another thing of the kind the question names this one
    by (its ``head``: "с космодрома Байконур" for "с космодрома Восточный"), while it
    states this name only by a stem it shares with another word ("Восток"): then it is
    about something else. A name the window states as it is counts, whatever else it
    names."""
    if not term.head or term.label == "PER" or any(k in window.lemmas for k in term.keys):
        return False
    words = C._WORD.findall(window.text)
    return any(
        C.lemma(w) == term.head and not w[0].isupper() and nxt[0].isupper()
        and not any(C.lemma(nxt) == k or nxt.lower() == k for k in term.keys)
        for w, nxt in zip(words, words[1:], strict=False)
    )  # fmt: skip


def named_otherwise(term: C.Term, window: Window) -> bool:
    """Whether each time the window (its title, the sentences before it) says the name
    of a place the question gives a kind (its ``head``: "космодром Сырдарья"), it gives
    it to another kind of place ("к северу от реки Сырдарьи", "город Ленинск"): then
    it is about something else."""
    if not term.head or term.label != "LOC":
        return False
    first = C.lemma(C._WORD.findall(term.text)[0])
    words = C._WORD.findall(f"{window.title}. {window.context} {window.text}")
    kinds = [C.lemma(before) if before.islower() and C._pos(before) == "NOUN" else ""
             for before, w in zip(["", *words], words, strict=False)
             if w[0].isupper() and C.lemma(w) == first]  # fmt: skip
    return bool(kinds) and all(k and k != term.head for k in kinds)


def states_ordinal(term: C.Term, window: Window) -> bool:
    """An ordinal exactly ("третье": no synonyms), in the window, the sentences before
    it or its title; not where each time it is said it numbers another noun ("второе
    полугодие" for "втором заседании")."""
    if term.keys[0] not in window.lemmas | window.title_lemmas:
        return False
    if not term.head:
        return True
    words = C._WORD.findall(f"{window.title}. {window.context} {window.text}")
    for i, word in enumerate(words):
        if C.lemma(word) != term.keys[0]:
            continue
        nouns = [C.lemma(w) for w in words[i + 1 : i + 4] if C._pos(w) == "NOUN"]
        if not nouns or nouns[0] == term.head:
            return True
    return False


def states_number(term: C.Term, window: Window) -> bool:
    return any(k in window.numbers for k in term.keys)


@lru_cache(maxsize=1)
def _vectors() -> Any:
    try:
        from natasha import NewsEmbedding
    except ImportError:
        return None
    return NewsEmbedding()


@lru_cache(maxsize=65536)
def similar(a: str, b: str) -> float:
    """Cosine of two lemmas' word vectors (0.0 when either is unknown)."""
    emb = _vectors()
    if emb is None or a not in emb or b not in emb:
        return 0.0
    import numpy as np

    va, vb = np.asarray(emb[a], dtype=float), np.asarray(emb[b], dtype=float)
    denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / denom if denom else 0.0


_VERB_PREFIX = re.compile(
    r"^(пере|при|пре|под|над|раз|рас|вз|вс|воз|вос|из|ис|об|от|до|за|на|вы"
    r"|по|про|со|с|у|в)(?=\w{5})"
)


def _bare(word: str) -> str:
    """A word without its verbal prefix ("пристыковаться" -> "стыковаться")."""
    return _VERB_PREFIX.sub("", word, count=1)


def states_qualifier(term: C.Term, window: Window, local: bool = False) -> bool:
    """By lemma, by a shared stem (verbal prefixes aside), or by a close synonym; in
    the window or, unless ``local``, the sentences just before it and the title (news
    states its subject once: "Прошло третье заседание ... Принимающей стороной
    выступила ...")."""
    key = term.keys[0]
    pool = window.lemmas if local else window.lemmas | window.title_lemmas
    if key in pool or prefix_match(key, pool):
        return True
    bare = pool | {_bare(w) for w in pool}  # "пристыковался" / "стыковка"
    if any(prefix_match(k, bare) for k in {key, _bare(key)}):
        return True
    return any(similar(key, other) >= SYNONYM_MIN and negated(key) == negated(other)
               for other in pool if len(other) > 2)  # fmt: skip


def contradicted(term: C.Term, window: Window) -> bool:
    """Whether the window says the opposite of a qualifier and not the qualifier: a
    close word negated where it is not, or the reverse ("успешным" for "неудачным")."""
    key = term.keys[0]
    if states_qualifier(term, window, local=True):
        return False
    return any(negated(key) != negated(other) and similar(key, other) >= SYNONYM_MIN
               for other in window.lemmas if len(other) > 2)  # fmt: skip


@lru_cache(maxsize=65536)
def negated(key: str) -> bool:
    """A lemma negated by its prefix ("неудачный": "удачный", "невыполнимый"). Word
    vectors put a word beside its opposite ("неудачный" / "успешный": 0.63), so a
    negated word is no synonym of a word that is not."""
    rest = key[2:]
    if not key.startswith("не") or len(rest) < 4:
        return False
    morph = C._morph()
    return bool(morph.word_is_known(rest)) and morph.parse(rest)[0].tag.POS == C._pos(key)


_ABBREVIATION = re.compile(rf"(?<!\w)[{C._UPPER}]{{2,6}}(?!\w)")


def states_class(term: C.Term, window: Window, setting: Window | None,
                 classes: frozenset[str] = frozenset()) -> bool:  # fmt: skip
    """A relational adjective ("казахстанский", "геосинхронный") by lemma or stem, in
    the window, the sentences before it, its title or (the article's setting) the rest
    of its article the passages show; never by a synonym. Or its phrase by its initials
    ("ЦКС" for "центр космической связи", "КРК" in "КРКН"), three letters at least:
    two-letter ones ("РК") stand for too much. Not when the window gives its noun
    another class ("Китайской корпорации" for "российской корпорации": a sibling,
    whatever the rest of the article says; ``classes``: the question's class words)."""
    key, initials = term.keys[0], set(term.keys[1:])
    if _another_class(term, window, classes):
        return False
    for w in (window, setting):
        if w is None:
            continue
        pool = w.lemmas | w.title_lemmas
        if key in pool or prefix_match(key, pool) or _aliased(key, w):
            return True
        for abbreviation in _ABBREVIATION.findall(f"{w.title} {w.context} {w.text}"):
            low = abbreviation.lower()
            if any(len(i) > 2 and i in low for i in initials):  # "РК" is everywhere
                return True
    return False


def invented_names(draft: str, sources: str) -> list[str]:
    """The surnames of an English ``draft`` ("Semytov", "Kozakov": a transliterated
    Russian or Kazakh name, see :func:`is_surname`) that no word of ``sources`` is, by its
    transliteration's first letters: names the model made up or garbled (the source
    says "Севастьянов"); and the countries it names that ``sources`` do not
    (:data:`COUNTRIES`: "of Russia" where the source says "РК"). Another translated
    name ("Beijing", "European Space Agency") is not judged: it has no transliteration
    to compare."""
    from rag.generate.translit import latin

    known = [_fold(w) for w in words_of(latin(sources))]
    said = [w for w in re.findall(r"(?<![\w-])[A-Z][a-z]+(?:-[A-Z][a-z]+)?", draft)
            if is_surname(w)]  # fmt: skip
    invented = [w for w in dict.fromkeys(said) if not prefix_match(_fold(w), known)]
    return invented + _other_countries(draft, sources)


# A country as an English sentence names it, and the stems Russian text names it by
# (the adjective and the abbreviation too): "of Russia" where the source says "РК" is
# a detail the model got wrong.
COUNTRIES: dict[str, tuple[str, ...]] = {
    "russia": ("росси", "рф"), "russian": ("росси", "рф"),
    "kazakhstan": ("казах", "рк", "қазақ"), "kazakh": ("казах", "рк", "қазақ"),
    "china": ("кита", "кнр"), "chinese": ("кита", "кнр"),
    "france": ("франц",), "french": ("франц",), "japan": ("япон",), "japanese": ("япон",),
    "germany": ("герман", "немец"), "german": ("герман", "немец"),
    "usa": ("сша", "америк"), "american": ("сша", "америк"), "america": ("сша", "америк"),
    "ukraine": ("украин",), "ukrainian": ("украин",), "india": ("инди",), "indian": ("инди",),
    "soviet": ("совет", "ссср"), "ussr": ("совет", "ссср"),
}  # fmt: skip


def is_country(name: str) -> bool:
    return name.lower() in COUNTRIES


def names_country(name: str, window: Window) -> bool:
    """Whether the window (its title, the sentences before it) names an English
    question's country by a Russian stem ("Russia": "России", "российской", "РФ")."""
    stems = COUNTRIES[name.lower()]
    return any(w.lower().startswith(stem) for stem in stems
               for w in (*window.words, *window.title_words))  # fmt: skip


def _other_countries(draft: str, sources: str) -> list[str]:
    """The countries an English draft names that the sources do not (by any stem)."""
    words = words_of(sources)
    said = [w for w in re.findall(r"(?<!\w)[A-Z][A-Za-z]+", draft) if w.lower() in COUNTRIES]
    stems = {w: (w.lower(), *COUNTRIES[w.lower()]) for w in said}  # the question's own too
    return [w for w in dict.fromkeys(said)
            if not any(x.startswith(stem) for stem in stems[w] for x in words)]  # fmt: skip


def _another_class(term: C.Term, window: Window, classes: frozenset[str]) -> bool:
    """Whether the window (with its title and the sentences before it, where its
    subject may be named) names the class word's noun with another class word, and the
    class word nowhere: "Китайской промышленной корпорации" when "российской
    корпорации" was asked (the adjectives just before the noun; ones the question also
    asks are no others)."""
    if not term.head or prefix_match(term.keys[0], window.lemmas):
        return False  # no noun to compare, or the window says it (of the noun or not)
    text = f"{window.title} {window.context} {window.text}".lower()
    words = [w.replace("ё", "е") for w in C._WORD.findall(text)]
    for i, word in enumerate(words):
        if C.lemma(word) != term.head:
            continue
        before = []
        for w in reversed(words[max(0, i - 3) : i]):
            if not C._relational(w):
                break
            before.append(C.lemma(w))
        if before and not prefix_match(term.keys[0], before) and set(before) - classes:
            return True
    return False
