"""Russian names in English answers: one transliteration, the Cyrillic original once.

One rule set for every name: iuliia's ``WIKIPEDIA`` schema (a simplified
BGN/PCGN: "Жумагалиев" -> "Zhumagaliyev", "Байтерек" -> "Bayterek"), the
spelling English-language news and Wikipedia use, so it is what a reader
would search for. Plain BGN/PCGN writes "Dachzh·e" with a middle dot; the
passport standard (ICAO 9303) writes "Iurii" for Юрий, which no reader types.
Kazakh letters are folded to their Russian neighbours first (Қ -> К), since
the schema knows only Russian.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_KAZAKH = str.maketrans("ӘәҒғҚқҢңӨөҰұҮүҺһІі", "АаГгКкНнОоУуУуХхИи")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_WORD = re.compile(r"[^\W\d_][\w-]*")


@lru_cache(maxsize=1)
def _schema() -> Any:
    import iuliia  # lazy: only English answers need it

    return iuliia.WIKIPEDIA


def fold_kazakh(text: str) -> str:
    """Kazakh letters as their Russian neighbours ("Тоқтар Әубәкіров" -> "Токтар Аубакиров")."""
    return text.translate(_KAZAKH)


def latin(text: str) -> str:
    """``text`` with every Cyrillic letter transliterated; Latin text is unchanged."""
    if not _CYRILLIC.search(text):
        return text
    return str(_schema().translate(fold_kazakh(text)))


def has_cyrillic(text: str) -> bool:
    return bool(_CYRILLIC.search(text))


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3  # lazy: only English answers need it (dictionaries load in ~0.1 s)

    return pymorphy3.MorphAnalyzer()


_NAME_TAGS = ("Surn", "Name", "Patr", "Geox", "Orgn")


def lemma(word: str) -> str:
    """The nominative of a Russian name ("Атамкуловым" -> "Атамкулов"; a feminine
    adjective stays feminine: "Ледяной" -> "Ледяная"), capitalised as
    given: English does not inflect names, so neither may their transliteration."""
    parses = _morph().parse(word)
    named = [p for p in parses if any(t in p.tag for t in _NAME_TAGS)]
    nouns = [p for p in parses if p.tag.POS == "NOUN"]
    best = (named or nouns or parses or [None])[0]
    if best is None:
        return word
    base = str(best.normal_form)
    if best.tag.POS == "ADJF" and {"femn", "sing"} <= best.tag.grammemes:
        nominative = best.inflect({"nomn"})  # "станция Ледяная", not "Ледяной"
        base = str(nominative.word) if nominative is not None else base
    return base[:1].upper() + base[1:] if word[:1].isupper() else base


def glossary(text: str) -> dict[str, str]:
    """Proper names of a Russian ``text`` (capitalised words that do not start it), in
    the nominative, mapped to their transliteration: the spellings an English answer
    uses ("Атамкуловым" -> "Атамкулов": "Atamkulov")."""
    out: dict[str, str] = {}
    words = _WORD.findall(text)
    for i, word in enumerate(words):
        if has_cyrillic(word) and word[0].isupper() and (i > 0 or len(words) == 1):
            base = lemma(word)
            out.setdefault(base, latin(base))
    return out


def latinise_answer(answer: str, names: dict[str, str] | None = None) -> str:
    """An English answer with no Cyrillic left in any word ("Baiterек" -> "Baiterek"),
    the names of ``names`` (original -> transliteration, from :func:`glossary`) in
    that one spelling (the model's "Baiterek" becomes "Bayterek", its inflected
    "Oralmagambetovym" becomes "Oralmagambetov"), and the Cyrillic original after
    each name's first mention: "Busygin (Бусыгин)"."""
    from difflib import SequenceMatcher

    fixed = _WORD.sub(lambda m: latin(m.group(0)) if has_cyrillic(m.group(0)) else m.group(0),
                      answer)  # fmt: skip
    table = {t.lower(): (t, o) for o, t in (names or {}).items() if t and t != o}
    annotated: set[str] = set()

    def one(m: re.Match[str]) -> str:
        word = m.group(0)
        if not word[0].isupper() or not table:
            return word
        low = word.lower()
        best = max(table, key=lambda t: SequenceMatcher(None, low, t).ratio())
        if best[0] != low[0] or SequenceMatcher(None, low, best).ratio() < 0.75:
            return word
        word, original = table[best]  # the same name: its one standard spelling
        if original in annotated or original.lower() == word.lower():
            return word
        annotated.add(original)
        return f"{word} ({original})"

    return _one_gloss(_WORD.sub(one, fixed))


# "Baubek (Баубек) Oralmagambetov (Оралмагамбетов)" -> one name, one gloss
_GLOSSED_PAIR = re.compile(
    r"([A-Z][\w'-]*(?: [A-Z][\w'-]*)*) \(([^()]+)\) ([A-Z][\w'-]*) \(([^()]+)\)"
)


def _one_gloss(text: str) -> str:
    """Adjacent glossed words of one name share one gloss: "Baubek Oralmagambetov
    (Баубек Оралмагамбетов)", not a gloss after every word."""
    while (joined := _GLOSSED_PAIR.sub(r"\1 \3 (\2 \4)", text)) != text:
        text = joined
    return text
