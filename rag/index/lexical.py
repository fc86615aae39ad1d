"""Lexical retrieval: BM25 over Russian-normalised tokens.

Tokens are lower-cased, ё folded to е, split on word characters (numbers are
kept whole: "108", "2026", "kazsat-3r" -> "kazsat", "3r"), stop words dropped,
and stemmed with the Snowball stemmer of their script (Russian for Cyrillic,
English for Latin), so "Байконуре" finds "Байконур" and "спутников" finds
"спутники". Each chunk's term counts are stored beside the FAISS index
(``lexical.jsonl``) and the postings are rebuilt from them on load; adding an
article only tokenises that article.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

WORD = re.compile(r"[^\W_]+", re.UNICODE)

STOP = frozenset(
    """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее её мне было вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или ни
    быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть
    надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто
    этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас были
    куда зачем всех никогда можно при наконец два об другой хоть после над больше тот через эти
    нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше
    чуть том нельзя такой им более всегда конечно всю между также это какие каких каким сколько
    который которые которая которое также
    the a an of in on at to for from by with and or is are was were be been what which who whom
    when where how many much does did do has have had it its this that these those as into about
    """.split()
)


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Any:
    import Stemmer  # PyStemmer: Snowball stemmers in C

    return Stemmer.Stemmer(language)


def tokens(text: str) -> list[str]:
    """Normalised, stemmed tokens of ``text`` (stop words removed)."""
    out = []
    for word in WORD.findall(text.lower().replace("ё", "е")):
        if word in STOP:
            continue
        if word.isdigit():
            out.append(word)
        elif any("а" <= ch <= "я" for ch in word):
            out.append(_stemmer("russian").stemWord(word))
        else:
            out.append(_stemmer("english").stemWord(word))
    return out


def term_counts(text: str) -> dict[str, int]:
    return dict(Counter(tokens(text)))


class BM25:
    """Okapi BM25 over rows of term counts (row i <-> chunk i).

    The postings are one CSR-style table (for each term, its rows and counts as
    slices of two numpy arrays), and a query adds each term's slice into one
    score array: at 100k passages a query took 124 ms as a Python loop over
    postings (``rag bench``, hybrid section).
    """

    def __init__(self, rows: Sequence[dict[str, int]], k1: float = 1.2, b: float = 0.75) -> None:
        import numpy as np

        self.k1, self.b = k1, b
        self.rows = list(rows)
        self.lengths = [sum(r.values()) for r in self.rows]
        self.avg = (sum(self.lengths) / len(self.rows)) if self.rows else 1.0
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        row_ids: list[int] = []
        counts: list[int] = []
        for i, row in enumerate(self.rows):
            for term, tf in row.items():
                term_ids.append(vocab.setdefault(term, len(vocab)))
                row_ids.append(i)
                counts.append(tf)
        terms = np.array(term_ids, dtype=np.int64)
        order = np.argsort(terms, kind="stable")
        self._vocab = vocab
        self._rows = np.array(row_ids, dtype=np.int64)[order]
        self._tf = np.array(counts, dtype=np.float64)[order]
        self._start = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(vocab)), out=self._start[1:])
        lengths = np.array(self.lengths, dtype=np.float64)
        self._norm = self.k1 * (1 - self.b + self.b * lengths / self.avg)

    def __len__(self) -> int:
        return len(self.rows)

    def _posting(self, term: str) -> tuple[Any, Any] | None:
        """The rows holding ``term`` and its counts there (None: no row holds it)."""
        t = self._vocab.get(term)
        if t is None:
            return None
        a, b = self._start[t], self._start[t + 1]
        return self._rows[a:b], self._tf[a:b]

    def idf(self, term: str) -> float:
        posting = self._posting(term)
        n = 0 if posting is None else len(posting[0])
        return math.log(1 + (len(self.rows) - n + 0.5) / (n + 0.5))

    def _score_array(self, query_terms: Iterable[str]) -> tuple[Any, Any]:
        """Scores of every row, and which rows hold at least one query term."""
        import numpy as np

        total = np.zeros(len(self.rows))
        touched = np.zeros(len(self.rows), dtype=bool)
        for term in set(query_terms):
            posting = self._posting(term)
            if posting is None:
                continue
            rows, tf = posting
            total[rows] += self.idf(term) * tf * (self.k1 + 1) / (tf + self._norm[rows])
            touched[rows] = True
        return total, touched

    def scores(self, query_terms: Iterable[str]) -> dict[int, float]:
        import numpy as np

        total, touched = self._score_array(query_terms)
        return {int(i): float(total[i]) for i in np.flatnonzero(touched)}

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best rows, best first; equal scores in row order."""
        import numpy as np

        total, touched = self._score_array(tokens(query))
        rows = np.flatnonzero(touched)
        order = rows[np.lexsort((rows, -total[rows]))][:k]
        return [(int(i), float(total[i])) for i in order]

    def extended(self, rows: Sequence[dict[str, int]]) -> BM25:
        return BM25([*self.rows, *rows], self.k1, self.b)

    def subset(self, keep: Sequence[int]) -> BM25:
        return BM25([self.rows[i] for i in keep], self.k1, self.b)
