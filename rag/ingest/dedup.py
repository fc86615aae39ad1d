"""Near-duplicate articles (reprints, lightly edited copies), found with MinHash/LSH.

Each article gets a MinHash signature (``datasketch``, 128 permutations) of its
word 4-gram shingles (lower-cased, ё folded to е); an LSH index over the
signatures proposes candidates, and a candidate whose estimated Jaccard
similarity to the article reaches the threshold (``index.near_duplicate_threshold``)
is a copy of it. A copy is not indexed: the kept article's ``Document.copies``
lists it, so an answer cites one copy and a source panel can list the others.

Word shingles, not stems: a reprint keeps the wording; an article that merely
covers the same event with other words is not a copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rag.types import Document

NUM_PERM = 128
SHINGLE = 4
SCHEME = "affine32"  # datasketch's default since 2.0; stored signatures say which they are
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    words = _WORD.findall(text.lower().replace("ё", "е"))
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def signature(text: str, num_perm: int = NUM_PERM) -> np.ndarray:
    """The MinHash signature of ``text`` (uint32, ``num_perm`` values)."""
    from datasketch import MinHash  # lazy: only a write needs it

    m = MinHash(num_perm=num_perm, scheme=SCHEME)
    m.update_batch(sorted(shingles(text)))
    return np.asarray(m.hashvalues, dtype=np.uint32)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the texts behind two signatures."""
    return float(np.mean(np.asarray(a) == np.asarray(b)))


class NearDuplicates:
    """An LSH index of signatures: ``find`` the indexed article a text copies, if any."""

    def __init__(self, threshold: float, num_perm: int = NUM_PERM) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh: Any = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._sigs: dict[str, np.ndarray] = {}
        self._permutations: Any = None

    def _minhash(self, sig: np.ndarray) -> Any:
        from datasketch import MinHash

        if self._permutations is None:
            self._permutations = MinHash(num_perm=self.num_perm, scheme=SCHEME).permutations
        # Given the permutations, a MinHash from stored values costs microseconds; making
        # them anew took 1 s per 10,000 articles (they are the same for every signature).
        return MinHash(
            num_perm=self.num_perm, hashvalues=sig, permutations=self._permutations, scheme=SCHEME
        )

    def __len__(self) -> int:
        return len(self._sigs)

    def add(self, doc_id: str, sig: np.ndarray) -> None:
        if doc_id not in self._sigs and len(sig) == self.num_perm:
            self._sigs[doc_id] = sig
            self._lsh.insert(doc_id, self._minhash(sig), check_duplication=False)

    def find(self, sig: np.ndarray) -> str | None:
        """The indexed article most similar to ``sig`` at or above the threshold."""
        if not self._sigs:
            return None
        best, best_j = None, self.threshold
        for doc_id in sorted(self._lsh.query(self._minhash(sig))):
            j = jaccard(self._sigs[doc_id], sig)
            if j >= best_j:
                best, best_j = doc_id, j
        return best


def fold(
    docs: Sequence[Document],
    signatures: dict[str, np.ndarray],
    known: NearDuplicates,
) -> tuple[list[Document], dict[str, str]]:
    """Split ``docs`` into those to index and the copies (doc_id -> the kept doc_id).

    An article copies an indexed one (``known``) or an earlier article of
    ``docs``; the kept ones are added to ``known``.
    """
    kept, copies = [], {}
    for doc in docs:
        sig = signatures[doc.doc_id]
        original = known.find(sig)
        if original is not None:
            copies[doc.doc_id] = original
            continue
        known.add(doc.doc_id, sig)
        kept.append(doc)
    return kept, copies


def signatures_of(docs: Iterable[Document], num_perm: int = NUM_PERM) -> dict[str, np.ndarray]:
    return {d.doc_id: signature(d.text, num_perm) for d in docs}  # the text opens with the title
