"""Citations and refusals in the model's output, checked while it streams.

The streamed text and the final answer are the same: citation markers that
point at no passage are dropped as they complete, ``[1, 2]`` is written
``[1][2]``, and a reply that is the ``NO_ANSWER`` marker is recognised before
any of it reaches the user.
"""

from __future__ import annotations

import re

from rag.generate.prompts import NO_ANSWER

# [1]  [1, 2]  [1;3]  [Passage 2]  [источник 3]
CITATION = re.compile(r"\[\s*(?:[^\W\d_]+\s*)?(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_OPEN_MAX = 24  # an unclosed "[" longer than this is plain text


# Refusals the model words itself instead of saying NO_ANSWER.
_REFUSAL = re.compile(
    r"\b(не\s+(указан\w*|упомина\w*|сообща\w*|приводи\w*|содерж\w*|говорит\w*)"
    r"|нет\s+(информации|данных|сведений|ответа)|информаци\w+\s+нет"
    r"|not\s+(mentioned|specified|stated|provided|given|say|state)"
    r"|(does|do)\s+not\s+(say|state|mention|specify|contain)"
    r"|no\s+information)\b",
    re.IGNORECASE,
)


def looks_like_refusal(text: str) -> bool:
    """True for "Бюджет не указан [1]."-style replies: the model saying it cannot answer."""
    return bool(_REFUSAL.search(CITATION.sub(" ", text)))


def detect_language(text: str) -> str:
    """'ru' for Cyrillic, 'en' for Latin script, 'other' for anything else."""
    cyr = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    lat = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    letters = sum(1 for ch in text if ch.isalpha())
    if cyr and cyr >= lat:
        return "ru"
    if lat and lat >= 0.5 * letters:
        return "en"
    return "other" if letters else "ru"


def _rewrite(match: re.Match[str], n_passages: int) -> str:
    numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
    return "".join(f"[{n}]" for n in numbers if 1 <= n <= n_passages)


def clean_citations(text: str, n_passages: int) -> str:
    return CITATION.sub(lambda m: _rewrite(m, n_passages), text)


def cited_numbers(text: str) -> list[int]:
    """Passage numbers in order of first citation."""
    seen: list[int] = []
    for match in CITATION.finditer(text):
        for x in re.split(r"\s*[,;]\s*", match.group(1)):
            if int(x) not in seen:
                seen.append(int(x))
    return seen


class StreamFilter:
    """Feed model pieces in, get user-visible text out."""

    def __init__(self, n_passages: int) -> None:
        self.n_passages = n_passages
        self.raw = ""
        self._pending = ""
        self._started = False
        self.out = ""

    @property
    def abstained(self) -> bool:
        return self.raw.strip().upper().startswith(NO_ANSWER)

    def feed(self, piece: str) -> str:
        self.raw += piece
        if not self._started:
            head = self.raw.lstrip()
            if not head or NO_ANSWER.startswith(head.upper()[: len(NO_ANSWER)]):
                if len(head) < len(NO_ANSWER) or self.abstained:
                    return ""  # could still be (or is) the marker: hold it back
            self._started = True
            self._pending = head
        else:
            self._pending += piece
        return self._emit(final=False)

    def flush(self) -> str:
        if not self._started:
            if self.abstained:
                return ""
            self._started = True
            self._pending = self.raw.lstrip()
        return self._emit(final=True)

    def _emit(self, final: bool) -> str:
        text = self._pending
        hold = ""
        if not final:
            cut = text.rfind("[")
            if cut >= 0 and "]" not in text[cut:] and len(text) - cut < _OPEN_MAX:
                text, hold = text[:cut], text[cut:]
        self._pending = hold
        text = clean_citations(text, self.n_passages).replace(NO_ANSWER, "")
        self.out += text
        return text


def attach(sentence: str, numbers: list[int] | tuple[int, ...]) -> str:
    """Citations go before the final punctuation: "… 108 спутников [1]."."""
    marks = "".join(f"[{n}]" for n in numbers)
    stripped = sentence.rstrip(".!?… ")
    ending = sentence[len(stripped) :].strip()
    return f"{stripped} {marks}{ending}"
