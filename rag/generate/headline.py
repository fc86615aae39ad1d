"""The asked content first: the count, the date, the one new person or place of the
evidence sentence, as the sentence words it (never re-spelled by the model)."""

from __future__ import annotations

import re

from rag.generate import constraints as C
from rag.generate.evidence import _MONTH_NAMES

_DATE_PHRASE = re.compile(
    rf"(?:\b\d{{1,2}}\s+)?(?<!\w)(?:{_MONTH_NAMES})(?!\w)(?:\s+\d{{4}}(?:\s+год[ау]?)?)?"
    r"|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|(?<!\d)(?:1[89]|20)\d\d(?:\s*(?:год[ауе]?|г\.))?",
    re.I,
)


def short_answer(c: C.Constraints, text: str) -> str | None:
    """The asked content of an evidence window, as the window words it: the count
    ("108 спутников"), the date ("20 ноября 2025 года"), the one new person or place.
    None when the window holds none, or more than one candidate (then the quote alone
    answers: a headline that picked the wrong one would be a confident wrong answer)."""
    if c.two_part:
        return None
    kind = c.types[0]
    asked = {k for t in (*c.names, *c.numbers) for k in t.keys}
    if kind == C.NUMBER and c.counted:
        words = text.split()
        found = [
            " ".join(words[i : i + 2]).strip(",.;:()«»")
            for i, w in enumerate(words)
            if w.strip(",.;:()").isdigit() and w.strip(",.;:()") not in asked and i + 1 < len(words)
            and C.lemma(words[i + 1].strip(",.;:()«»")) == c.counted
        ]  # fmt: skip
        return found[0] if len(found) == 1 else None
    if kind == C.DATE:
        found = [m.group(0) for m in _DATE_PHRASE.finditer(text)
                 if not any(k in m.group(0) for k in asked if k.isdigit())]  # fmt: skip
        return found[0].strip() if len(found) == 1 else None
    label = {C.PERSON: ("PER",), C.PLACE: ("LOC",)}.get(kind)
    if label is None:
        return None
    fresh = [span for t, span in C.entities(text) if t in label
             and not {C.lemma(w) for w in C._WORD.findall(span)} & asked]  # fmt: skip
    return fresh[0] if len(set(fresh)) == 1 else None
