"""PDF -> paragraphs with page starts (pypdfium2; chosen by bench/pdf_extract.py).

PDFium gives the characters in the order the producer wrote them (a column
before the next, a table row by row) with their boxes, splits lines where the
baseline changes and marks a word hyphenated at a line end (U+FFFE). From that:

- a running header or footer is a line in the top or bottom band of the page
  that repeats (digits ignored) on at least half the pages, or a page number,
  or the page's first or last line in smaller print than the body; they go;
- a hyphenated line end is joined ("косми-" + "ческий") when the next line
  goes on in lower case;
- lines join into paragraphs; a paragraph ends at a wider gap than the page's
  usual line pitch, a change of font size, a short line that ends a sentence,
  or an indented next line; it goes on across a column or page break when the
  sentence does;
- a scan (no text layer) is read by Tesseract where it is installed (rag.ingest.ocr);
- a wide gap inside a line (table cells, tab stops) becomes " ¦ " (not "|":
  the cleaner reads "a | b | c" as a breadcrumb).
"""

from __future__ import annotations

import re
import statistics
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rag.ingest.formats import Extracted, FormatError

MAX_PAGES = 2000  # a bound on the work for one file
# PDFium is not thread-safe (pypdfium2 says so): two uploads parsed at once take turns.
_PDFIUM = threading.Lock()
BAND = 0.1  # share of the page height at the top and bottom where headers/footers sit
CELL_GAP = 1.6  # a gap wider than this many line heights inside a line separates cells
_PAGE_NUMBER = re.compile(
    r"(?i)^(?:(?:стр(?:аница)?|с|page|p)\.?\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?"
    r"(?:\s*(?:из|of|/)\s*\d{1,4})?$"
)
_SENTENCE_END = re.compile(r"[.!?…:;][\"»”)]*$")
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")


@dataclass
class Line:
    text: str
    x0: float
    y0: float  # bottom (PDF y grows upwards)
    x1: float
    y1: float
    hyphen: bool  # the line ends with a word hyphenated across the line break
    page: int

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)

    @property
    def is_row(self) -> bool:
        return " ¦ " in self.text


Char = tuple[str, tuple[float, float, float, float]]  # a character and its box


def _line(chars: list[Char], hyphen: bool, page: int) -> Line | None:
    """One line from its characters, a wide gap between two of them made " ¦ "."""
    boxes = [b for ch, b in chars if not ch.isspace()]
    if not boxes:
        return None
    height = statistics.median(b[3] - b[1] for b in boxes) or 1.0
    out, last_right = [], None
    for ch, (left, _, right, _) in chars:
        if ch.isspace():
            out.append(" ")
            continue
        if last_right is not None and left - last_right > CELL_GAP * height:
            out.append(" ¦ ")
        out.append(ch)
        last_right = right
    text = re.sub(r"\s*¦\s*", " ¦ ", re.sub(r"\s+", " ", "".join(out))).strip()
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return Line(text, x0, y0, x1, y1, hyphen, page)


def _page_lines(page: Any, number: int) -> list[Line]:
    """The lines of one page, in the producer's order."""
    textpage = page.get_textpage()
    try:
        n = textpage.count_chars()
        text = textpage.get_text_range(0, n) if n else ""
        lines: list[Line] = []
        chars: list[Char] = []
        for i, ch in enumerate(text[:n]):
            if ch in "\r\n\ufffe\x02":
                if chars:
                    line = _line(chars, ch in "\ufffe\x02", number)
                    if line is not None:
                        lines.append(line)
                chars = []
                continue
            chars.append((ch, textpage.get_charbox(i, loose=True)))
        if chars and (line := _line(chars, False, number)) is not None:
            lines.append(line)
        return lines
    finally:
        textpage.close()


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.casefold().split()))


def _running(lines: list[Line], h: float, seen: Counter[str], repeats: int) -> set[int]:
    """Indexes of the page's running lines: in the top or bottom band, and repeated on
    other pages, or a page number, or the page's top or bottom line in small print."""
    body = statistics.median(x.height for x in lines) if lines else 0.0
    ends = {max(range(len(lines)), key=lambda i: lines[i].y0, default=-1),
            min(range(len(lines)), key=lambda i: lines[i].y0, default=-1)}  # fmt: skip
    out = set()
    for i, x in enumerate(lines):
        if not (x.y0 > h * (1 - BAND) or x.y1 < h * BAND):
            continue
        small = i in ends and x.height < 0.85 * body
        if small or seen[_key(x.text)] >= repeats or _PAGE_NUMBER.match(x.text):
            out.add(i)
    return out


def _drop_running(pages: list[list[Line]], heights: list[float]) -> list[list[Line]]:
    """Pages without their running headers, footers and page numbers."""
    seen: Counter[str] = Counter()
    for lines, h in zip(pages, heights, strict=True):
        seen.update({_key(x.text) for x in lines if x.y0 > h * (1 - BAND) or x.y1 < h * BAND})
    repeats = max(2, (len(pages) + 1) // 2)
    out = []
    for lines, h in zip(pages, heights, strict=True):
        drop = _running(lines, h, seen, repeats)
        out.append([x for i, x in enumerate(lines) if i not in drop])
    return out


def _breaks(a: Line, b: Line, pitch: float, right: float) -> bool:
    """Does a new paragraph start at line ``b`` (after ``a``)?"""
    if a.is_row or b.is_row:
        return True
    if abs(a.height - b.height) > 0.1 * max(a.height, b.height):
        return True  # a heading and its text
    ends = bool(_SENTENCE_END.search(a.text[-8:]))
    if b.page != a.page or b.y0 > a.y0:  # a new column or page: go on mid-sentence only
        return ends or not b.text[:1].islower()
    if a.y0 - b.y0 > 1.3 * pitch:
        return True
    if ends and a.x1 < right - 2 * a.height:
        return True  # the last, short line of a paragraph
    return b.x0 > a.x0 + a.height  # an indented first line


def _pitch(lines: list[Line]) -> float:
    steps = [
        a.y0 - b.y0
        for a, b in zip(lines, lines[1:], strict=False)
        if 0 < a.y0 - b.y0 < 4 * a.height
    ]
    return statistics.median(steps) if steps else 1e9


def _joint(prev: Line, line: Line, pitch: float, right: float) -> str:
    """What goes between ``prev`` and ``line``: nothing (a hyphenated word), a space,
    a line break (table rows) or a paragraph break."""
    hyphen = prev.hyphen or re.search(r"[^\W\d_][-\xad]$", prev.text) is not None
    if hyphen and line.text[:1].islower():
        return ""
    dash = "-" if prev.hyphen and not line.text[:1].islower() else ""
    if _breaks(prev, line, pitch, right):
        return dash + ("\n" if prev.is_row and line.is_row else "\n\n")
    return dash + " "


def _paragraphs(pages: list[list[Line]]) -> tuple[str, tuple[int, ...]]:
    """The text (paragraphs one per line, blank lines between) and each page's start."""
    out: list[str] = []
    starts: list[int] = []
    size = 0  # characters in out so far
    prev: Line | None = None
    for lines in pages:
        pitch, right = _pitch(lines), max((x.x1 for x in lines), default=0.0)
        starts.append(size)
        for i, line in enumerate(lines):
            text = line.text
            joint = "" if prev is None else _joint(prev, line, pitch, right)
            if prev is not None and not joint and out[-1].endswith(("-", "\xad")):
                out[-1], size = out[-1][:-1], size - 1  # "косми-" + "ческий"
            if i == 0:
                starts[-1] = size + len(joint)
            out.append(joint + text)
            size += len(joint) + len(text)
            prev = line
    return "".join(out), tuple(starts)


def _open(data: bytes) -> Any:
    import pypdfium2 as pdfium  # lazy: only a PDF needs it

    if b"%%EOF" not in data[-2048:]:
        raise FormatError("damaged or truncated PDF (no end-of-file marker)")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise FormatError("encrypted PDF (needs a password)") from None
        raise FormatError(f"damaged PDF ({exc})") from None


def _date(value: str | None) -> str | None:
    m = _PDF_DATE.match(value or "")
    if not m or not (1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31):
        return None
    return f"{m[1]}-{m[2]}-{m[3]}"


def extract(data: bytes) -> Extracted:
    """A PDF's text in reading order, its page starts, and its info title and date."""
    from rag.ingest import ocr

    with _PDFIUM:
        pages, heights, meta, scan = _read_pages(data)
    title, date = meta.get("Title") or None, _date(meta.get("CreationDate"))
    if scan:  # no text layer: read the page images, if Tesseract is there
        exe = ocr.tesseract()
        assert exe is not None
        return ocr.extract(exe, scan, title, date)
    if sum(len(x.text) for lines in pages for x in lines) < 20:
        raise FormatError(
            "no text layer (a scanned image?); OCR needs tesseract with Russian "
            "(apt-get install tesseract-ocr tesseract-ocr-rus)"
        )
    text, starts = _paragraphs(_drop_running(pages, heights))
    return Extracted(text, starts, title, date)


def _read_pages(data: bytes) -> tuple[list[list[Line]], list[float], dict[str, str], list[bytes]]:
    """Each page's lines and height, the document's info dictionary, and for a scan
    (no text) with Tesseract installed, the pages as images to OCR."""
    from rag.ingest import ocr

    pdf = _open(data)
    try:
        if len(pdf) > MAX_PAGES:
            raise FormatError(f"too many pages ({len(pdf)}, limit {MAX_PAGES})")
        pages, heights = [], []
        for i in range(len(pdf)):
            page = pdf[i]
            heights.append(page.get_height())
            pages.append(_page_lines(page, i))
            page.close()
        no_text = sum(len(x.text) for lines in pages for x in lines) < 20
        scan = ocr.render(pdf) if no_text and ocr.tesseract() else []
        return pages, heights, pdf.get_metadata_dict(), scan
    finally:
        pdf.close()
