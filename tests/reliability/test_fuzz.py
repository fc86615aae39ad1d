"""Bad files: generated inputs through the real loader, cleaner and chunker (Hypothesis)."""

from __future__ import annotations

import hashlib
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.errors import BadInputError
from rag.ingest.chunk import chunk
from rag.ingest.clean import clean_text, html_to_text
from rag.ingest.load import decode_bytes
from rag.pipeline import Pipeline
from rag.types import Document

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RUSSIAN = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
SOUP = st.lists(
    st.sampled_from(
        ["<p>", "</p>", "<div class=x>", "</div>", "<script>alert(1)</script>", "<nav>Войти</nav>",
         "<h1>", "</h1>", "<!--", "-->", "&nbsp;", "&amp;", "<br>", "\x00", "\u202e", "<style>",
         "Спутник 108.", " ", "\n", "<article>", "</article>", "<", ">", "«", "»"]
    ) | st.text(alphabet=RUSSIAN + " .,\n0123456789", max_size=40),
    max_size=60,
).map("".join)  # fmt: skip


@FUZZ
@given(st.binary(max_size=2000))
def test_decode_random_bytes_returns_text_or_a_clear_error(data: bytes) -> None:
    try:
        assert isinstance(decode_bytes(data), str)
    except BadInputError as exc:
        assert str(exc) and "\n" not in str(exc)


@FUZZ
@given(st.text(max_size=3000))
def test_clean_any_text(raw: str) -> None:
    cleaned = clean_text(raw)
    assert isinstance(cleaned.text, str) and isinstance(cleaned.title, str)


@FUZZ
@given(SOUP)
def test_html_soup(html: str) -> None:
    text = html_to_text(html)
    assert "<script" not in text and "alert(1)" not in text


@FUZZ
@given(st.text(alphabet=RUSSIAN + " .,!?\n\t0123456789«»—-\x0b\x1f", min_size=1, max_size=4000))
def test_chunk_spans_are_exact_for_any_text(text: str) -> None:
    doc = Document("f.txt", "T", text, hashlib.sha256(text.encode()).hexdigest())
    for c in chunk(doc, 200, 50):
        assert text[c.start : c.end] == c.text and c.text.strip()


def test_a_folder_of_bad_files_indexes_the_good_ones(
    tmp_path: Path, fake_pipeline: Pipeline
) -> None:
    rng = random.Random(7)
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = "Спутник KazSat\n\nНа орбите находится 108 спутников группировки SpaceSail."
    (folder / "good-utf8.txt").write_text(good, "utf-8")
    (folder / "good-cp1251.txt").write_bytes(good.replace("108", "109").encode("cp1251"))
    (folder / "good.html").write_text(
        f"<html><body><article><h1>Т</h1><p>{good}</p></article><script>x()</script></body></html>",
        "utf-8",
    )
    (folder / "empty.txt").write_bytes(b"")
    (folder / "random.txt").write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    (folder / "nul.md").write_bytes(b"\x00" * 100 + "текст".encode())
    (folder / "only-junk.txt").write_text("Войти\n\n3816\n0\n0\nОставить комментарий\n", "utf-8")
    (folder / "huge-line.txt").write_text("Спутник " * 200_000, "utf-8")  # one 1.6 MB line
    with (folder / "fifty-mb.txt").open("wb") as fh:  # a 50 MB file
        fh.write(("Спутник на орбите. " * 1000 + "\n").encode() * 1400)
    report = fake_pipeline.build([folder])
    loaded = set(report.added) | set(report.folded)  # good.html repeats good-utf8.txt: a copy
    problems = {p.path.split("/")[-1]: p.reason for p in report.problems}
    assert {"good-utf8.txt", "good-cp1251.txt", "good.html", "huge-line.txt"} <= loaded
    assert {"empty.txt", "random.txt", "nul.md", "fifty-mb.txt"} <= problems.keys()
    assert "too large" in problems["fifty-mb.txt"]
    assert loaded.isdisjoint(problems)
    doc = fake_pipeline.document("good-cp1251.txt")
    assert doc is not None and "109 спутников" in doc.text
    assert loaded | problems.keys() >= {p.name for p in folder.iterdir()} - {"only-junk.txt"}


DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["bulletin-reportlab.pdf", "report-writer.pdf", "report.docx"]),
    st.floats(0, 1),
    st.binary(max_size=64),
    st.integers(0, 64),
)
def test_a_damaged_pdf_or_docx_is_a_document_or_a_one_line_reason(
    name: str, where: float, junk: bytes, cut: int
) -> None:
    from unittest import mock

    from rag.ingest import ocr
    from rag.ingest.load import load_document

    data = (DOCS / name).read_bytes()
    at = int(where * len(data))
    bad = data[:at] + junk + data[at + cut :]
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(ocr, "tesseract", lambda: None):
        path = Path(tmp) / name
        path.write_bytes(bad)
        try:
            doc = load_document(path, Path(tmp))
        except BadInputError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(str(path))
        else:
            assert doc.text.strip() and list(doc.pages) == sorted(doc.pages)
