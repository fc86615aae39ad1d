"""PDF and Word articles (rag/ingest/pdf.py, docx.py, formats.py) on the committed
fixtures (tests/fixtures/docs, made by make_fixtures.py there)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.errors import BadInputError
from rag.ingest import formats, ocr
from rag.ingest.chunk import chunk
from rag.ingest.dedup import NearDuplicates, fold, signatures_of
from rag.ingest.load import SUPPORTED, load_document, load_paths
from rag.pipeline import Pipeline
from rag.types import Document
from tests.fakes import FakeEmbedder, FakeGenerator
from ui import render

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "tests" / "fixtures" / "docs"
sys.path.insert(0, str(DOCS))
import make_fixtures as mf  # noqa: E402  (the text the fixtures were made from)


def _load(name: str) -> Document:
    return load_document(DOCS / name, DOCS)


@pytest.fixture(scope="module")
def bulletin() -> Document:
    return _load("bulletin-reportlab.pdf")


@pytest.fixture(scope="module")
def report_pdf() -> Document:
    return _load("report-writer.pdf")


def _paragraphs(doc: Document) -> list[str]:
    return doc.text.split("\n\n")


def test_pdf_and_docx_are_supported_everywhere() -> None:
    assert {".pdf", ".docx"} <= SUPPORTED  # the loader, the chat's and the API's uploads


def test_pdf_text_is_the_source_paragraphs_in_reading_order(bulletin: Document) -> None:
    source = [*mf.BULLETIN_P1, *mf.BULLETIN_COLUMNS, *mf.BULLETIN_P3]
    paragraphs = _paragraphs(bulletin)
    for p in source:  # each paragraph whole: hyphens joined, lines joined, no header inside
        assert p in paragraphs, p
    positions = [bulletin.text.index(p) for p in source]
    assert positions == sorted(positions)  # the left column before the right one


def test_two_columns_are_not_interleaved(bulletin: Document) -> None:
    left, right = mf.BULLETIN_COLUMNS[0], mf.BULLETIN_COLUMNS[2]
    assert bulletin.text.index(left) < bulletin.text.index(right)
    assert left + "\n\n" in bulletin.text and right in _paragraphs(bulletin)


def test_running_headers_footers_and_page_numbers_are_gone(
    bulletin: Document, report_pdf: Document
) -> None:
    for doc in (bulletin, report_pdf):
        assert "Стр." not in doc.text and "Страница" not in doc.text
        assert "космического агентства ·" not in doc.text
        assert "Отчёт геопортала" not in doc.text
        assert not any(p.strip().isdigit() for p in _paragraphs(doc))


def test_hyphenated_line_ends_are_joined(bulletin: Document) -> None:
    text = bulletin.text
    assert "двенадцать тысяч" in text and "лабораториях" in text and "поступало" in text
    assert "двена" not in text.replace("двенадцать", "")
    assert "\ufffe" not in text and "\xad" not in text
    assert "ракеты-носителя" in text  # a real hyphen stays


def test_tables_are_rows_of_cells(bulletin: Document, report_pdf: Document) -> None:
    lines = bulletin.text.split("\n")
    for row in mf.BULLETIN_TABLE:
        assert " ¦ ".join(row) in lines
    docx = _load("report.docx")
    for row in mf.REPORT_TABLE:
        assert " ¦ ".join(row) in docx.text.split("\n")
    assert "Земельный кадастр ¦ 870 ¦ 17 %" in report_pdf.text.split("\n")


def test_docx_keeps_headings_and_paragraphs_and_has_no_pages() -> None:
    doc = _load("report.docx")
    paragraphs = _paragraphs(doc)
    for heading, texts in mf.REPORT_SECTIONS:
        assert heading in paragraphs and all(t in paragraphs for t in texts)
    assert "Отчёт геопортала" not in doc.text  # the running header is another part
    assert doc.pages == () and all(c.page is None for c in chunk(doc))


def test_title_and_date_from_metadata_else_from_text(
    bulletin: Document, report_pdf: Document
) -> None:
    assert (bulletin.title, bulletin.date) == (mf.BULLETIN_TITLE, "2025-11-28")
    assert bulletin.text.startswith(mf.BULLETIN_TITLE)
    docx = _load("report.docx")
    assert (docx.title, docx.date) == (mf.REPORT_TITLE, "2025-12-15")
    # The export's metadata date is the day it was exported; the text's date wins.
    assert (report_pdf.title, report_pdf.date) == (mf.REPORT_TITLE, "2025-12-15")
    seed = _load("seeds-pdf/000_c933024764f0f509.pdf")
    assert seed.title == "Космические перспективы Казахстана" and seed.date is not None


@pytest.mark.parametrize(
    ("title", "usable"),
    [("Microsoft Word - отчет.docx", False), ("Untitled", False), ("report.pdf", False),
     ("", False), ("12", False), ("Отчёт о работе", True)],
)  # fmt: skip
def test_tool_written_titles_are_ignored(title: str, usable: bool) -> None:
    assert (formats.usable_title(title) is not None) is usable


def test_pages_of_chunks_and_citations(bulletin: Document) -> None:
    assert len(bulletin.pages) == 3 and bulletin.pages[0] == 0
    page_of = {
        "Главным событием месяца": "1",
        "Делегация агентства посетила": "2",
        "Сеансы связи ¦ 38 ¦ 42": "3",
    }
    chunks = chunk(bulletin, chunk_size=300, chunk_overlap=50)
    for needle, page in page_of.items():
        (c,) = [c for c in chunks if needle in c.text][:1]
        assert bulletin.page_of(c.start, c.end) == c.page
        assert c.page is not None and page in c.page.split("-"), (needle, c.page)
    two = bulletin.pages[1]
    assert bulletin.page_of(two - 5, two + 5) == "1-2"
    lo, hi = bulletin.page_span("2")
    page2 = bulletin.text[lo:hi]
    assert "Делегация агентства" in page2 and "Сеансы связи" not in page2


def test_a_page_that_starts_a_paragraph_starts_a_chunk(bulletin: Document) -> None:
    chunks = chunk(bulletin)
    starts = {c.start for c in chunks}
    assert bulletin.pages[1] in starts and bulletin.pages[2] in starts  # both on a paragraph
    assert all(c.page is not None and "-" not in c.page for c in chunks)
    contract = next(c for c in chunks if "четыре миллиона евро" in c.text)
    assert contract.page == "2"


def test_carry_pages_follows_lines_that_cleaning_drops() -> None:
    raw = (
        "Заголовок статьи о спутнике\n\nВойти\n\n"
        + "Первый абзац. " * 8
        + "\n\n"
        + ("Второй абзац. " * 8).strip()
    )
    page2 = raw.index("Второй")
    cleaned = formats.clean(formats.Extracted(raw, (0, page2), "Заголовок статьи о спутнике"))
    text, pages = cleaned[0].text, cleaned[1]
    assert "Войти" not in text and pages == (0, text.index("Второй"))


@pytest.mark.parametrize(
    ("name", "reason"),
    [("scan.pdf", "no text layer (a scanned image?)"),
     ("encrypted.pdf", "encrypted PDF (needs a password)"),
     ("truncated.pdf", "damaged or truncated PDF")],
)  # fmt: skip
def test_unreadable_files_get_a_one_line_reason(
    name: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "tesseract", lambda: None)  # as where Tesseract is missing
    with pytest.raises(BadInputError, match=re.escape(reason)) as info:
        _load(name)
    assert "\n" not in str(info.value)


def test_bad_files_are_skipped_and_the_rest_of_the_folder_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "tesseract", lambda: None)
    shutil.copytree(DOCS, tmp_path / "docs")
    (tmp_path / "docs" / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    docs, problems = load_paths([tmp_path / "docs"])
    reasons = {Path(p.path).name: p.reason for p in problems}
    assert set(reasons) == {"scan.pdf", "encrypted.pdf", "truncated.pdf", "broken.docx"}
    assert reasons["broken.docx"].startswith("damaged or not a .docx file")
    assert {"bulletin-reportlab.pdf", "report-writer.pdf", "report.docx"} <= {
        d.doc_id for d in docs
    }
    assert len([d for d in docs if d.doc_id.startswith("seeds-pdf/")]) == 5


@pytest.mark.skipif(ocr.tesseract() is None, reason="needs tesseract with Russian data")
def test_a_scan_is_read_by_tesseract_where_it_is_installed() -> None:
    doc = _load("scan.pdf")
    assert "Кызылорда-2" in doc.text and "завершилась без замечаний" in doc.text
    assert doc.pages == (0,) and doc.page_of(0, 10) == "1"


def test_a_pdf_and_the_txt_of_the_same_article_fold_as_copies() -> None:
    txt = load_document(ROOT / "seeds" / "000_c933024764f0f509.txt", ROOT / "seeds")
    pdf = _load("seeds-pdf/000_c933024764f0f509.pdf")
    other = _load("seeds-pdf/003_f811c8d17b2eac15.pdf")
    kept, copies = fold([txt, pdf, other], signatures_of([txt, pdf, other]), NearDuplicates(0.6))
    assert [d.doc_id for d in kept] == [txt.doc_id, other.doc_id]
    assert copies == {pdf.doc_id: txt.doc_id}


def test_the_viewer_shows_the_passage_in_its_page(bulletin: Document) -> None:
    c = next(c for c in chunk(bulletin) if "Делегация агентства" in c.text)
    html = render.passage_html(bulletin, c.start, c.end, c.text, c.title, "Citation [1]")
    assert "p. 2" in html and "<mark>" in html
    assert "Сеансы связи" not in html  # page 3 is not shown
    hit_row = render._page(c.page)
    assert hit_row == f" · p. {c.page}"


def test_ask_json_and_the_source_list_name_the_page(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, tmp_path: Path
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copyfile(DOCS / "bulletin-reportlab.pdf", folder / "bulletin.pdf")
    fake_pipeline.build([folder])
    question = "Сколько сеансов связи провели в Акколе?"
    reply = "В Акколе провели сорок два сеанса связи [1]."
    fake_generator.queue(reply, reply)
    out = CliRunner().invoke(main, ["ask", "--json", question], obj={"pipeline": fake_pipeline})
    (cite,) = json.loads(out.output)["citations"]
    assert cite["doc_id"] == "bulletin.pdf" and cite["page"] == "1"
    human = CliRunner().invoke(main, ["ask", question], obj={"pipeline": fake_pipeline})
    assert f"bulletin.pdf, published 2025-11-28, p. {cite['page']}, chars" in human.output
    found = CliRunner().invoke(
        main, ["search", question, "-k", "1"], obj={"pipeline": fake_pipeline}
    )
    assert f"bulletin.pdf (p. {cite['page']})" in found.output
    # The pages survive the index on disk (a fresh pipeline reads them back).
    fresh = Pipeline(fake_pipeline.config, embedder=FakeEmbedder(64), generator=FakeGenerator())
    doc = fresh.document("bulletin.pdf")
    assert doc is not None and len(doc.pages) == 3 and isinstance(doc.pages, tuple)
    assert {h.chunk.page for h in fresh.search("Сеансы связи", 10)} <= {"1", "1-2", "2", "2-3", "3"}


@pytest.mark.parametrize("name", ["bulletin-reportlab.pdf", "report-writer.pdf", "report.docx"])
def test_damaged_copies_are_a_document_or_a_one_line_reason(name: str, tmp_path: Path) -> None:
    data = (DOCS / name).read_bytes()
    step = len(data) // 12
    for i in range(1, 12):  # a run of bytes overwritten at eleven places, one at a time
        bad = data[: i * step] + b"\x00garbage\xff" * 8 + data[i * step + 80 :]
        path = tmp_path / f"{i}{Path(name).suffix}"
        path.write_bytes(bad)
        try:
            doc = load_document(path, tmp_path)
        except BadInputError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(str(path))
        else:
            assert doc.text.strip() and all(0 <= p <= len(doc.text) for p in doc.pages)
