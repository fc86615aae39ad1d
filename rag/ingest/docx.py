"""Word (.docx) -> paragraphs (python-docx): body paragraphs and tables in document
order; headers and footers are separate parts of the file and are not read.

A table row becomes one line, its cells joined with " ¦ " (as for PDFs); a
document has no pages until it is laid out, so there are no page starts.
"""

from __future__ import annotations

import zipfile
from typing import Any

from rag.ingest.formats import Extracted, FormatError

MAX_BLOCKS = 200_000  # a bound on the work for one file


def _blocks(body: Any) -> list[str]:
    """Paragraph texts and table rows, in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    for item in body.iter_inner_content():
        if len(out) > MAX_BLOCKS:
            raise FormatError(f"too large (over {MAX_BLOCKS} paragraphs)")
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            if text:
                out.append(text)
        elif isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                unique = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]
                if unique:  # a merged cell repeats in each grid column it spans
                    rows.append(" ¦ ".join(unique))
            if rows:
                out.append("\n".join(rows))
    return out


def extract(data: bytes) -> Extracted:
    """A .docx file's paragraphs and tables, and its core properties' title and date."""
    import io

    from docx import Document  # lazy: only a .docx needs it
    from docx.opc.exceptions import PackageNotFoundError

    try:
        doc = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:
        raise FormatError(f"damaged or not a .docx file ({exc})") from None
    props = doc.core_properties
    created = props.created
    return Extracted(
        "\n\n".join(_blocks(doc)),
        title=props.title or None,
        date=created.date().isoformat() if created is not None else None,
    )
