"""Documents -> chunks. The only module that imports langchain-text-splitters.

Splitting is sentence-aware for Russian: paragraphs first, then sentence ends,
then clause punctuation, then spaces that do not sit between two digits (so
"1 000" and "42, 43 и 45" are never cut), never inside a word. Chunks keep their
character span in the cleaned text; ids are content-addressed (document hash
plus position), so re-chunking an unchanged article yields the same ids.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from rag.types import Chunk, Document

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

# Regex separators, tried in order; each is whitespace *between* units, so
# chunks stay exact substrings of the text.
SEPARATORS = (
    r"\n\s*\n",  # paragraphs
    r"\n",  # lines
    # sentence ends, not after an initial ("Т. Мусабаев") or a lone capital
    r"(?<=[.!?…])(?<!\b\w\.)\s+",
    r"(?<=[;:,»)])\s+",  # clauses
    r"(?<!\d)\s+|\s+(?!\d)",  # any space not between two digits
)


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    # Imported here so the CLI's --help and unit tests without chunking stay fast.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=list(SEPARATORS),
        is_separator_regex=True,
        keep_separator=True,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,  # 0 here: overlap is added by whole sentences below
        strip_whitespace=True,
        length_function=len,
    )


def chunk(document: Document, chunk_size: int = 700, chunk_overlap: int = 120) -> list[Chunk]:
    """Split a cleaned document into overlapping passages with exact spans."""
    if chunk_overlap >= chunk_size:
        raise ValueError("chunk_overlap must be smaller than chunk_size")
    text = document.text
    # langchain overlaps whole splits only, and a paragraph is usually longer
    # than the overlap, so it would give none; we split to (size - overlap) and
    # then extend each chunk backwards by whole sentences of the previous one.
    # A PDF page that starts with a paragraph starts a chunk (no overlap back into the
    # page before), so a passage, and its citation, stays on one page where it can.
    cuts = [p for p in document.pages[1:] if text[max(p - 2, 0) : p] == "\n\n"]
    bounds = [0, *cuts, len(text)]
    pieces = [
        (piece, lo)
        for lo, hi in zip(bounds, bounds[1:], strict=False)
        for piece in _splitter(chunk_size - chunk_overlap, 0).split_text(text[lo:hi])
    ]
    chunks: list[Chunk] = []
    cursor = 0
    for piece, floor in pieces:
        start = text.find(piece, cursor)
        if start < 0:
            raise AssertionError(f"chunk not found in {document.doc_id}: {piece[:40]!r}")
        end = start + len(piece)
        cursor = end
        if chunks and start > floor:
            start = _overlap_start(text, start, chunk_overlap, floor)
        chunks.append(
            Chunk(
                chunk_id=f"{document.sha256[:12]}:{len(chunks)}",
                doc_id=document.doc_id,
                title=document.title,
                text=text[start:end],
                start=start,
                end=end,
                page=document.page_of(start, end),
            )
        )
    return chunks


_SENTENCE_START = re.compile(r"(?:(?<=[.!?…])(?<!\b\w\.)\s+|\n\s*)(?=\S)")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text[start:end]``, whitespace trimmed."""
    end = len(text) if end is None else end
    # No sentence starts in trailing whitespace; searching it would try each of its
    # newlines against the whole run (quadratic in a run of "\n \n \n").
    stop = max(start, len(text[:end].rstrip()))
    spans = []
    cursor = start
    for match in _SENTENCE_START.finditer(text, start, stop):
        if text[cursor : match.start()].strip():
            spans.append((cursor, match.start()))
        cursor = match.end()
    if text[cursor:end].strip():
        spans.append((cursor, stop))
    return spans


def _overlap_start(text: str, start: int, overlap: int, floor: int = 0) -> int:
    """The earliest sentence start in ``[start - overlap, start)`` (not before ``floor``),
    else ``start``."""
    window_from = max(floor, start - overlap)
    for match in _SENTENCE_START.finditer(text, window_from, start):
        return match.end()
    return start
