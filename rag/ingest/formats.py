"""Binary article formats (PDF, Word): one module per format, one contract.

A format module has ``extract(data: bytes) -> Extracted``: the document's text
as paragraphs (one per line, a blank line between them; a table's rows are
lines of one paragraph), where each page starts in that text, and the title
and date its metadata gives. It raises ``FormatError`` with a one-line reason
for a file it cannot read (a scan, an encrypted or damaged file).

``clean`` then runs the same cleaning as for web pages and text files (so the
title and date come from the text when the metadata has none) and carries the
page starts over to the cleaned text, whose paragraphs are the extracted ones
verbatim.
"""

from __future__ import annotations

import bisect
import importlib
import re
from dataclasses import dataclass

from rag.ingest.clean import CleanedText, clean_text

# suffix -> the module that reads it (imported on first use: each pulls a parser)
LOADERS = {".pdf": "rag.ingest.pdf", ".docx": "rag.ingest.docx"}
# Titles that tools write for you: not the document's title.
_JUNK_TITLE = re.compile(
    r"(?i)^(?:untitled|без названия|документ\d*|document\d*|microsoft word\b.*"
    r"|.*\.(?:docx?|odt|pdf|rtf|txt))$"
)


class FormatError(Exception):
    """The file cannot be read as its format; ``str(exc)`` is the one-line reason."""


@dataclass(frozen=True)
class Extracted:
    """What a format module read: paragraph text, page starts, metadata."""

    text: str
    pages: tuple[int, ...] = ()  # offset in ``text`` where page i + 1 starts
    title: str | None = None
    date: str | None = None  # ISO YYYY-MM-DD


def usable_title(title: str | None) -> str | None:
    """A metadata title worth showing, or None (empty, a file name, "Untitled")."""
    title = " ".join((title or "").split())
    if len(title) < 3 or not re.search(r"[^\W\d_]{2}", title) or _JUNK_TITLE.match(title):
        return None
    return title


def extract(suffix: str, data: bytes) -> Extracted:
    """Read ``data`` with the module registered for ``suffix``."""
    module = importlib.import_module(LOADERS[suffix])
    try:
        result: Extracted = module.extract(data)
    except FormatError:
        raise
    except Exception as exc:  # a parser's own error on a hostile file: skip the file, go on
        raise FormatError(f"cannot read the file ({type(exc).__name__}: {exc})") from None
    return result


def _line_starts(text: str) -> list[int]:
    starts, at = [], 0
    for line in text.split("\n"):
        starts.append(at)
        at += len(line) + 1
    return starts


def carry_pages(raw: str, pages: tuple[int, ...], cleaned: str) -> tuple[int, ...]:
    """Page starts in ``raw`` moved to ``cleaned``, whose lines are lines of ``raw``.

    Each cleaned line is matched to the next equal raw line (cleaning keeps
    lines verbatim and in order, and only drops or adds some); a page that
    starts inside a matched line starts at the same place in the cleaned one,
    a page whose lines were all dropped starts where the next kept line does.
    """
    if not pages:
        return ()
    raw_lines, raw_starts = raw.split("\n"), _line_starts(raw)
    where: dict[str, list[int]] = {}
    for i, line in enumerate(raw_lines):
        where.setdefault(line, []).append(i)
    matched: list[tuple[int, int, int]] = []  # (raw offset, cleaned offset, length)
    cursor = 0
    for line, at in zip(cleaned.split("\n"), _line_starts(cleaned), strict=True):
        found = where.get(line, [])
        k = bisect.bisect_left(found, cursor)
        if line and k < len(found):
            matched.append((raw_starts[found[k]], at, len(line)))
            cursor = found[k] + 1
    out = []
    for page in pages:
        k = bisect.bisect_right(matched, (page, len(cleaned), 0)) - 1
        if k >= 0 and page < matched[k][0] + matched[k][2]:
            out.append(matched[k][1] + page - matched[k][0])  # inside a kept line
        elif k + 1 < len(matched):
            out.append(matched[k + 1][1])
        else:
            out.append(len(cleaned))
    out[0] = 0  # the title, where cleaning put it on top, is on the first page
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1])
    return tuple(out)


def clean(extracted: Extracted) -> tuple[CleanedText, tuple[int, ...]]:
    """The cleaned text (metadata title and date first) and its page starts."""
    title = usable_title(extracted.title)
    cleaned = clean_text(extracted.text, title_hint=title)
    # A date printed at the top of the text is the publication date; a file's
    # metadata date is when the file was made (an export can be years later).
    date = cleaned.date or extracted.date
    cleaned = CleanedText(cleaned.title, cleaned.text, date, cleaned.source)
    return cleaned, carry_pages(extracted.text, extracted.pages, cleaned.text)
