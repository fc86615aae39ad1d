"""Metadata filters (date range, source) and the mild boost for a year the question names.

A filter keeps the passages of articles that match; an article without a date
(or a source) does not match a date (or source) filter. Retrieval searches
deeper until it has ``k`` passages that pass, so a narrow filter still fills
its ``k`` (``Retriever.search``).

A question that names a year ("в 2025 году", "in 2025", "2025 г.") is not a
filter: passages of articles dated that year move up (``YEAR_BOOST`` added to
the score used for ordering only; the reported score stays the cosine
similarity the refusal gate reads).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

import numpy as np

from rag.errors import BadInputError
from rag.types import Document, Hit, SearchFilters

YEAR_BOOST = 0.05
# "в 2025 году", "за 2025 год", "in 2025": when it happened. Not "к концу 2026 года" or
# "с 2020 года" (a deadline, a start), which say nothing of the article's date.
_YEAR = re.compile(
    r"(?i)\b(?:в|во|за|in|during)\s+(?P<a>(?:19|20)\d\d)\b(?!\s*год[аоу]в)"
    r"|\b(?P<b>(?:19|20)\d\d)\s+году\b"
)


def _iso(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise BadInputError(f"--{name} must be a date YYYY-MM-DD, got {value!r}") from None


def make_filters(
    since: str | None = None, until: str | None = None, source: str | None = None
) -> SearchFilters | None:
    """Checked filters from user input (None when nothing is set); a bad date is a
    one-line ``BadInputError``."""
    since, until = _iso(since, "since"), _iso(until, "until")
    if since and until and since > until:
        raise BadInputError(f"--since {since} is after --until {until}")
    source = (source or "").strip() or None
    if since is None and until is None and source is None:
        return None
    return SearchFilters(since, until, source)


def check(filters: SearchFilters | None) -> SearchFilters | None:
    """Filters given through the API, checked like the CLI's."""
    if filters is None:
        return None
    return make_filters(filters.since, filters.until, filters.source)


def matches(doc: Document | None, filters: SearchFilters) -> bool:
    if doc is None:
        return False
    if filters.since or filters.until:
        date = (doc.date or "")[:10]
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            return False
        if (filters.since and date < filters.since) or (filters.until and date > filters.until):
            return False
    if filters.source:
        if not doc.source or filters.source.casefold() not in doc.source.casefold():
            return False
    return True


def allowed_rows(
    documents: dict[str, Document], doc_ids: Sequence[str], filters: SearchFilters
) -> np.ndarray:
    """A mask over rows (row i belongs to ``doc_ids[i]``): the rows that pass."""
    ok = {k for k, d in documents.items() if matches(d, filters)}
    return np.fromiter((d in ok for d in doc_ids), dtype=bool, count=len(doc_ids))


def named_year(question: str) -> str | None:
    """The year a question names ("в 2025 году", "in 2025"), if exactly one."""
    years = {m.group("a") or m.group("b") for m in _YEAR.finditer(question)}
    return years.pop() if len(years) == 1 else None


def prefer_year(
    hits: Sequence[Hit], documents: dict[str, Document], year: str, k: int
) -> list[Hit]:
    """The best ``k`` hits when those of articles dated ``year`` get ``YEAR_BOOST``."""

    def boosted(hit: Hit) -> float:
        doc = documents.get(hit.chunk.doc_id)
        same = doc is not None and (doc.date or "").startswith(year)
        return hit.score + (YEAR_BOOST if same else 0.0)

    order = sorted(range(len(hits)), key=lambda i: (-boosted(hits[i]), i))
    return [hits[i] for i in order[:k]]
