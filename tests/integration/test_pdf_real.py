"""The gold questions about the seed articles, on an index of the seeds as PDFs
(tests/fixtures/docs/seeds-pdf, made by make_fixtures.py), with the real models:
the same key facts as on the .txt index, and citations that name the right page.

Runs the gold set's seed questions of eval/subset-ci.txt (all 85 seed questions
with RAG_PDF_ALL=1; each costs an answer on each index).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from rag.eval.metrics import contains_span, key_fact_match
from rag.eval.runner import GOLD_PATH, load_gold
from rag.pipeline import Pipeline

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEEDS_PDF = ROOT / "tests" / "fixtures" / "docs" / "seeds-pdf"
SUBSET = ROOT / "eval" / "subset-ci.txt"


def _seed_questions() -> list:
    seeds = {p.name for p in (ROOT / "seeds").glob("*.txt")}
    wanted = {line.split("#")[0].strip() for line in SUBSET.read_text("utf-8").splitlines()}
    return [
        q
        for q in load_gold(GOLD_PATH)
        if q.answerable
        and q.supports
        and all(s.doc_id in seeds for s in q.supports)
        and (os.environ.get("RAG_PDF_ALL") == "1" or q.id in wanted)
    ]


@pytest.fixture(scope="module")
def pdf_pipeline(real_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """``real_pipeline``'s models on an index of the five seed PDFs only."""
    tmp = tmp_path_factory.mktemp("pdf")
    shutil.copytree(SEEDS_PDF, tmp / "corpus")
    paths = replace(real_pipeline.config.paths, corpus_dir=tmp / "corpus", index_dir=tmp / "index")
    pipe = Pipeline(
        replace(real_pipeline.config, paths=paths),
        embedder=real_pipeline.embedder,
        generator=real_pipeline.generator,
    )
    report = pipe.build([tmp / "corpus"])
    assert report.n_documents == 5 and not report.problems, report.problems
    return pipe


def test_seed_questions_on_pdfs_keep_their_facts_and_cite_the_page(
    real_pipeline: Pipeline, pdf_pipeline: Pipeline
) -> None:
    questions = _seed_questions()
    assert questions, "no seed questions selected"
    txt_facts = pdf_facts = 0
    checked_pages = 0
    for q in questions:
        on_txt = real_pipeline.ask(q.text)
        on_pdf = pdf_pipeline.ask(q.text)
        txt_facts += key_fact_match(on_txt.answer, q.key_facts)
        pdf_facts += key_fact_match(on_pdf.answer, q.key_facts)
        for c in on_pdf.citations:
            doc = pdf_pipeline.document(c.doc_id)
            assert doc is not None and c.doc_id.endswith(".pdf") and doc.pages, c
            assert c.page == doc.page_of(c.start, c.end), (q.id, c)
            for s in q.supports:
                span = " ".join(s.text.split())
                if Path(s.doc_id).stem != Path(c.doc_id).stem or not contains_span(c.text, span):
                    continue
                start = doc.text.find(span[:40])
                if start < 0:
                    continue  # the span's start is text the cleaner moved; no page to check
                page = doc.page_of(start, start + len(span))
                assert c.page is not None and page is not None
                assert set(page.split("-")) & set(c.page.split("-")), (q.id, page, c.page)
                checked_pages += 1
    print(f"\nkey facts: .txt {txt_facts}/{len(questions)}, .pdf {pdf_facts}/{len(questions)};"
          f" {checked_pages} cited supports on the right page")  # fmt: skip
    assert pdf_facts >= txt_facts - max(1, len(questions) // 10)
    assert checked_pages > 0
