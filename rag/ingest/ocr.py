"""OCR of a scanned PDF (no text layer), when Tesseract with Russian is installed.

Optional and detected at run time: a ``tesseract`` on PATH whose ``--list-langs``
has ``rus`` (Debian: ``apt-get install tesseract-ocr tesseract-ocr-rus``). PDFium
renders each page at 300 dpi; ``tesseract - - -l rus+eng`` reads it (a blank line
between paragraphs); lines are joined into paragraphs, hyphenated line ends joined,
and a page's first or last line that is a page number or repeats on at least half the
pages goes, as for PDFs with text. Without Tesseract a scan is skipped with a reason.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections import Counter
from functools import lru_cache
from typing import Any

from rag.ingest.formats import Extracted, FormatError

MAX_PAGES = 50  # OCR takes seconds a page: a bound on the work for one file
PAGE_TIMEOUT_S = 120
DPI = 300


@lru_cache(maxsize=1)
def tesseract() -> str | None:
    """The tesseract executable if it is installed with Russian data, else None."""
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    try:
        langs = subprocess.run(
            [exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return exe if "rus" in langs else None


def render(pdf: Any) -> list[bytes]:
    """Each page as a PNG (the caller holds PDFium's lock)."""
    if len(pdf) > MAX_PAGES:
        raise FormatError(f"a scan of {len(pdf)} pages (OCR limit {MAX_PAGES})")
    pngs = []
    for i in range(len(pdf)):
        page = pdf[i]
        buf = io.BytesIO()
        page.render(scale=DPI / 72).to_pil().convert("L").save(buf, format="PNG")
        page.close()
        pngs.append(buf.getvalue())
    return pngs


def _read(exe: str, png: bytes) -> list[str]:
    """One page's text lines ("" between paragraphs)."""
    try:
        done = subprocess.run(
            [exe, "stdin", "stdout", "-l", "rus+eng"],
            input=png, capture_output=True, timeout=PAGE_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise FormatError("OCR took too long on a page of this scan") from None
    if done.returncode != 0:
        raise FormatError(f"OCR failed on this scan (tesseract exit status {done.returncode})")
    lines = [" ".join(x.split()) for x in done.stdout.decode("utf-8", "replace").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _paragraphs(lines: list[str]) -> list[str]:
    out, current = [], ""
    for line in [*lines, ""]:
        if not line:
            if current:
                out.append(current)
            current = ""
        elif re.search(r"[^\W\d_]-$", current) and line[:1].islower():
            current = current[:-1] + line  # "заверши-" + "лась"
        else:
            current = f"{current} {line}".strip()
    return out


def extract(exe: str, pngs: list[bytes], title: str | None, date: str | None) -> Extracted:
    """The scan's text (paragraphs, page starts) as ``rag.ingest.pdf.extract`` gives it."""
    from rag.ingest.pdf import _PAGE_NUMBER, _key

    pages = [_read(exe, png) for png in pngs]
    ends = Counter(_key(x) for lines in pages for x in {lines[0], lines[-1]} if lines)
    repeats = max(2, (len(pages) + 1) // 2)
    text, starts = "", []
    for lines in pages:
        kept = [
            x
            for i, x in enumerate(lines)
            if not (
                i in (0, len(lines) - 1) and (_PAGE_NUMBER.match(x) or ends[_key(x)] >= repeats)
            )
        ]
        paragraphs = _paragraphs(kept)
        starts.append(len(text) + (2 if text and paragraphs else 0))
        if paragraphs:
            text = "\n\n".join(filter(None, [text, *paragraphs]))
    if len(text) < 20:
        raise FormatError("no text layer, and OCR found no text (a blank scan?)")
    return Extracted(text, tuple(min(s, len(text)) for s in starts), title, date)
