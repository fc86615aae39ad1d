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


class SegmentedBM25:
    """BM25 over several segments' ``BM25`` tables, minus deleted rows, scored as one.

    The statistics BM25 depends on (the number of rows, each term's document
    frequency, the average length) are taken over the live rows of all segments
    together, so the scores equal those of one ``BM25`` over the live rows in
    segment order (``tests/unit/test_segments.py``). Rows are numbered in that
    order too: live row ``i`` of the whole index.
    """

    def __init__(self, parts: Sequence[tuple[BM25, Any]], k1: float = 1.2, b: float = 0.75) -> None:
        import numpy as np

        self.k1, self.b = k1, b
        self.parts = [(bm, np.asarray(live, dtype=bool)) for bm, live in parts]
        self.n = int(sum(int(live.sum()) for _, live in self.parts))
        total = sum(float(np.asarray(bm.lengths, dtype=np.float64)[live].sum())
                    for bm, live in self.parts)  # fmt: skip
        self.avg = total / self.n if self.n else 1.0
        self._norm = [
            k1 * (1 - b + b * np.asarray(bm.lengths, dtype=np.float64) / self.avg)
            for bm, _ in self.parts
        ]
        offsets = np.cumsum([0] + [int(live.sum()) for _, live in self.parts])
        # local row -> live row of the whole index (-1: deleted)
        self._to_live = []
        for (_, live), start in zip(self.parts, offsets[:-1], strict=True):
            to_live = np.full(len(live), -1, dtype=np.int64)
            to_live[live] = np.arange(start, start + int(live.sum()))
            self._to_live.append(to_live)

    def __len__(self) -> int:
        return self.n

    def idf(self, term: str) -> float:
        """The term's IDF over the live rows of all segments (as ``BM25.idf``)."""
        df = 0
        for bm, live in self.parts:
            posting = bm._posting(term)
            if posting is not None:
                df += int(live[posting[0]].sum())
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best live rows, best first; equal scores in row order."""
        import numpy as np

        terms = set(tokens(query))
        postings: dict[str, list[tuple[Any, Any]]] = {}
        idf: dict[str, float] = {}
        for term in terms:
            per_part = []
            df = 0
            for bm, live in self.parts:
                posting = bm._posting(term)
                if posting is None:
                    per_part.append((None, None))
                    continue
                rows, tf = posting
                keep = live[rows]
                per_part.append((rows[keep], tf[keep]))
                df += int(keep.sum())
            postings[term] = per_part
            idf[term] = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
        all_rows, all_scores = [], []
        for p, (bm, _) in enumerate(self.parts):
            total = np.zeros(len(bm))
            touched = np.zeros(len(bm), dtype=bool)
            for term in terms:
                rows, tf = postings[term][p]
                if rows is None or not len(rows):
                    continue
                norm = self._norm[p][rows]
                total[rows] += idf[term] * tf * (self.k1 + 1) / (tf + norm)
                touched[rows] = True
            local = np.flatnonzero(touched)
            all_rows.append(self._to_live[p][local])
            all_scores.append(total[local])
        if not all_rows:
            return []
        rows = np.concatenate(all_rows)
        scores = np.concatenate(all_scores)
        order = np.lexsort((rows, -scores))[:k]
        return [(int(rows[i]), float(scores[i])) for i in order]
