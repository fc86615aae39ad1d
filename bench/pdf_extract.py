"""Which PDF library extracts our articles best, and how fast (issue 21).

    python bench/pdf_extract.py [--repeat 3]

Runs each installed library on the PDF fixtures (tests/fixtures/docs: a
reportlab bulletin with running header/footer, hyphenated line ends, a
two-column page and a table; a LibreOffice export of a Word report; the five
seed articles typeset as PDFs) and prints, per library, pages per second and a
quality score against the text the fixtures were made from:

- sentences: share of the source's sentences found verbatim (whitespace
  collapsed): lost by unjoined hyphens, interleaved columns, a running header
  inside a paragraph, broken Cyrillic;
- order: share of consecutive found sentences that come in the source's order;
- no running: share of pages whose running header, footer or page number is gone;
- table: share of table rows whose cells come on one line, in order.

The score is the mean of the four. Then: the share of an index build that
extraction takes on a mixed folder (.txt, .pdf, .docx). "pypdfium2" etc. are each library's plain
text call; "ours" is rag.ingest.pdf (pypdfium2 plus our layout pass: headers,
footers, hyphens, paragraphs, cells) and the same cleaning as any article.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "tests" / "fixtures" / "docs"
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def _pypdfium2(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    pages = []
    for page in pdf:
        tp = page.get_textpage()
        pages.append(tp.get_text_range())
    return pages


def _pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def _pdfminer(path: Path) -> list[str]:
    from pdfminer.high_level import extract_text

    return extract_text(str(path)).split("\f")


def _pdfplumber(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


def _ours(path: Path) -> list[str]:
    from rag.ingest import formats

    cleaned, pages = formats.clean(formats.extract(".pdf", path.read_bytes()))
    bounds = [*pages, len(cleaned.text)]
    return [cleaned.text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


LIBRARIES: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "pypdfium2": ("pypdfium2", _pypdfium2),
    "pypdf": ("pypdf", _pypdf),
    "pdfminer.six": ("pdfminer", _pdfminer),
    "pdfplumber": ("pdfplumber", _pdfplumber),
    "ours (pypdfium2 + layout)": ("pypdfium2", _ours),
}


def _flat(text: str) -> str:
    return " ".join(text.split())


def _sources() -> list[tuple[Path, list[str], list[list[str]], list[re.Pattern[str]]]]:
    """(pdf, source paragraphs, table rows, running-line patterns) for each fixture."""
    import make_fixtures as mf

    from rag.ingest.clean import clean_text
    from rag.ingest.load import decode_bytes

    bulletin = [mf.BULLETIN_TITLE, *mf.BULLETIN_P1, *mf.BULLETIN_COLUMNS, *mf.BULLETIN_P3]
    report = [mf.REPORT_TITLE, *(p for _, ps in mf.REPORT_SECTIONS for p in ps), mf.REPORT_CLOSING]
    out = [
        (DOCS / "bulletin-reportlab.pdf", bulletin, mf.BULLETIN_TABLE,
         [re.compile(r"Бюллетень Национального"), re.compile(r"Стр\. \d+ из \d+")]),
        (DOCS / "report-writer.pdf", report, mf.REPORT_TABLE,
         [re.compile(r"Отчёт геопортала"), re.compile(r"Страница \d+")]),
    ]  # fmt: skip
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        cleaned = clean_text(decode_bytes(seed.read_bytes()))
        out.append(
            (DOCS / "seeds-pdf" / f"{seed.stem}.pdf", cleaned.text.split("\n\n"), [],
             [re.compile(r"^\s*\d{1,3}\s*$", re.M), re.compile(r"^.{1,80} · .{1,60}$", re.M)])
        )  # fmt: skip
    return out


def score(
    pages: list[str], paragraphs: list[str], table: list[list[str]], running: list, joint: str
) -> dict:
    """The quality parts and their mean; ``joint`` joins the pages into the text."""
    text = _flat(joint.join(pages))
    sentences = list(dict.fromkeys(s for p in paragraphs for s in _SENTENCE.split(_flat(p)) if s))
    found = [text.find(s) for s in sentences]
    hits = [f for f in found if f >= 0]
    order = sum(b >= a for a, b in zip(hits, hits[1:], strict=False)) / max(len(hits) - 1, 1)
    clean_pages = sum(not any(r.search(p) for r in running) for p in pages) / max(len(pages), 1)
    lines = joint.join(pages).split("\n")
    rows = sum(
        any(re.search(".*".join(map(re.escape, row)), line) for line in lines) for row in table
    )
    parts = {
        "sentences": len(hits) / max(len(sentences), 1),
        "order": order if hits else 0.0,
        "no running": clean_pages,
        "table": rows / len(table) if table else 1.0,
    }
    return {**parts, "score": sum(parts.values()) / len(parts)}


def mixed_folder_share(embed_rate: float) -> None:
    """Extraction's share of building an index of a mixed folder: the seeds as .txt plus
    every readable fixture (PDF, Word). Loading and chunking are timed here; embedding
    is estimated from ``embed_rate`` passages/s (no model is loaded)."""
    import shutil
    import tempfile

    from rag.ingest import ocr
    from rag.ingest.chunk import chunk
    from rag.ingest.dedup import NearDuplicates, fold, signatures_of
    from rag.ingest.load import load_paths

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mixed"
        shutil.copytree(DOCS, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
        for seed in (ROOT / "seeds").glob("*.txt"):
            shutil.copyfile(seed, folder / seed.name)
        t0 = time.perf_counter()
        docs, problems = load_paths([folder])
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        kept, copies = fold(docs, signatures_of(docs), NearDuplicates(0.6))
        passages = sum(len(chunk(d)) for d in kept)
        chunk_s = time.perf_counter() - t0
    pages = sum(len(d.pages) for d in docs)
    ocr_state = "tesseract" if ocr.tesseract() else "not installed (the scan is skipped)"
    embed_s = passages / embed_rate
    total = load_s + chunk_s + embed_s
    print(
        f"\nmixed folder: {len(docs)} articles ({pages} PDF pages), {len(problems)} skipped, "
        f"{len(copies)} folded as copies, {passages} passages; OCR of the scan: {ocr_state}\n"
        f"  load+extract+clean {load_s:.2f} s, fold+chunk {chunk_s:.2f} s, embed ~{embed_s:.0f} s "
        f"(at {embed_rate} passages/s): extraction is {load_s / total:.1%} of the build"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument(
        "--embed-rate", type=float, default=5.6,
        help="passages/s of the embedder for the build-share estimate (default: EmbeddingGemma "
        "on 2 CPU cores, bench/results/20261202-003652.md)",
    )  # fmt: skip
    parser.add_argument("--no-ocr", action="store_true", help="skip scans even with Tesseract")
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(DOCS)]  # this checkout's rag/, and the fixtures' script
    if args.no_ocr:
        from rag.ingest import ocr

        ocr.tesseract = lambda: None  # type: ignore[assignment]
    sources = _sources()
    n_pages = None
    print(f"{'library':28} {'pages/s':>8} {'score':>6} {'sent.':>6} {'order':>6} "
          f"{'no run':>6} {'table':>6}")  # fmt: skip
    for name, (module, run) in LIBRARIES.items():
        if importlib.util.find_spec(module) is None:
            print(f"{name:28} (not installed)")
            continue
        best = float("inf")
        for _ in range(max(args.repeat, 1)):
            t0 = time.perf_counter()
            outputs = [run(pdf) for pdf, *_ in sources]
            best = min(best, time.perf_counter() - t0)
        if n_pages is None:
            n_pages = sum(len(_pypdfium2(pdf)) for pdf, *_ in sources)
        joint = "" if run is _ours else "\n"  # our pages are slices of one text
        scores = [score(out, *src[1:], joint) for out, src in zip(outputs, sources, strict=True)]
        mean = {k: sum(s[k] for s in scores) / len(scores) for k in scores[0]}
        print(
            f"{name:28} {n_pages / best:8.1f} {mean['score']:6.3f} {mean['sentences']:6.3f} "
            f"{mean['order']:6.3f} {mean['no running']:6.3f} {mean['table']:6.3f}"
        )
    print(f"({len(sources)} files, {n_pages} pages; best of {args.repeat} runs)")
    mixed_folder_share(args.embed_rate)


if __name__ == "__main__":
    main()
