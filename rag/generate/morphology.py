"""Russian morphology (pymorphy3, loaded once on first use) and English stems: the
lemma and the part of speech every question and sentence check is made of."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

WORD = re.compile(r"[^\W_][\w-]*", re.UNICODE)  # a word, with its hyphens ("ТМА-18М")


@lru_cache(maxsize=1)
def morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """The dictionary form of a word, lower case, ё as е; English words stemmed."""
    low = word.lower().replace("ё", "е")
    if any("а" <= ch <= "я" for ch in low):
        parses = morph().parse(low)
        # an ordinal is one before any other reading ("второе": not the noun "второе")
        best = next((p for p in parses if "Anum" in p.tag), parses[0])
        return str(best.normal_form).replace("ё", "е")
    if low.isascii() and low.isalpha():
        from rag.index.lexical import _stemmer

        return str(_stemmer("english").stemWord(low))
    return low


@lru_cache(maxsize=65536)
def pos(word: str) -> str:
    """A Russian word's part of speech by its first reading ("NOUN", "INFN", ...); ""
    for a word in another script."""
    if not any("а" <= ch <= "я" for ch in word.lower()):
        return ""
    return str(morph().parse(word.lower())[0].tag.POS or "")
