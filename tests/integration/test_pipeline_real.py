"""The assistant end to end on the real models (EmbeddingGemma + Qwen GGUF) over seeds/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Config
from rag.index import store
from rag.pipeline import Pipeline

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPACESAIL = "Сколько спутников группировки SpaceSail находится на орбите?"


def rag(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    """The installed `rag` entry point in a subprocess, as a user runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        env={**clean, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )


@pytest.mark.parametrize("strategy", ["free", "quote"])
def test_cli_ask_json_answers_108_citing_the_spacesail_article(
    real_config: Config, strategy: str
) -> None:
    env = {"RAG_PATHS__INDEX_DIR": str(real_config.index_dir),
           "RAG_GENERATION__STRATEGY": strategy}  # fmt: skip
    done = rag("ask", "--json", SPACESAIL, env=env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "108" in answer["answer"] and answer["abstained"] is False
    cited = {c["doc_id"] for c in answer["citations"]}
    assert "002_c21ede6ce74cac7a.txt" in cited
    for c in answer["citations"]:
        doc = store.load(real_config.index_dir).documents[c["doc_id"]]
        assert doc.text[c["start"] : c["end"]] == c["text"]
    timings = answer["timings_ms"]
    assert timings["total"] >= timings["first_token"] > timings["retrieve"] > 0
    assert answer["refusal"] is None and answer["strategy"] == strategy
    assert answer["mode"] == "generative" and answer["nearest"] == []
    assert "108" in answer["variant"]["text"]  # what the model wrote, before the checks
    if strategy == "free":
        assert answer["kind"] == "generated"
    else:
        # the draft's source sentence, quoted: source [1], the span of the article exactly
        assert answer["kind"] == "quoted" and "[1]" in answer["answer"]
        assert "108" in answer["citations"][0]["text"]
        # the evidence is shown before the model's first token
        assert timings["total"] >= timings["first_token"] >= timings["first_shown"] > 0


@pytest.mark.parametrize(
    "question",
    [
        "Какая погода будет завтра в Париже?",  # outside the corpus
        "Какой миномёт представила Сербия?",  # only in the sidebar junk of one page
    ],
)
def test_unanswerable_questions_abstain(real_pipeline: Pipeline, question: str) -> None:
    answer = real_pipeline.ask(question)
    assert answer.abstained is True
    assert answer.answer == "В источниках нет ответа на этот вопрос."
    assert answer.citations == ()
    assert answer.refusal in (
        "low score",
        "unknown name",
        "model",
        "unverified",
        "no answer sentence",
    )


def test_english_question_gets_an_english_cited_answer(real_pipeline: Pipeline) -> None:
    answer = real_pipeline.ask("How many SpaceSail satellites are in orbit today?")
    assert answer.language == "en"
    assert not answer.abstained, answer.to_json()
    assert "108" in answer.answer
    assert any(c.doc_id == "002_c21ede6ce74cac7a.txt" for c in answer.citations)


def test_batch_mode_answers_every_line(real_config: Config) -> None:
    env = {"RAG_PATHS__INDEX_DIR": str(real_config.index_dir)}
    done = rag(
        "ask", "--json", "--mode", "extractive", "-", env=env,
        stdin="Сколько объектов приняла казахстанская сторона на Байконуре?\n\n"
        "Какая погода будет завтра в Париже?\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 2
    assert "243" in rows[0]["answer"] and rows[0]["citations"]
    assert rows[1]["abstained"] is True


def test_rebuilding_an_unchanged_corpus_embeds_nothing(real_pipeline: Pipeline) -> None:
    before = store.read_manifest(real_pipeline.config.index_dir)
    report = real_pipeline.build([ROOT / "seeds"])
    assert report.added == () and len(report.unchanged) == 5
    assert store.read_manifest(real_pipeline.config.index_dir)["generation"] == before["generation"]
    assert before["settings"]["embedding_sha256"] == real_pipeline.config.embedding.sha256
    assert before["n_chunks"] == len(real_pipeline.index.chunks)


def test_errors_are_one_line(real_config: Config, tmp_path: Path) -> None:
    no_index = rag("ask", "Сколько спутников?", env={"RAG_PATHS__INDEX_DIR": str(tmp_path / "no")})
    assert no_index.returncode == 1
    assert no_index.stderr.strip().splitlines() == [
        f"error: no index at {tmp_path / 'no'}; run `rag index build` (default corpus: seeds/)"
    ]
    bad_model = tmp_path / "bad.gguf"
    bad_model.write_bytes(b"GGUF" + b"\0" * 4096)  # the right name would not help: sha differs
    corrupt = rag(
        "ask", SPACESAIL,
        env={"RAG_PATHS__INDEX_DIR": str(real_config.index_dir),
             "RAG_GENERATION__MODEL_PATH": str(bad_model)},
    )  # fmt: skip
    assert corrupt.returncode == 1
    # the evidence ("» «...»") is shown before the model loads; the error is one line
    errors = [x for x in corrupt.stderr.strip().splitlines() if not x.startswith("» «")]
    assert len(errors) == 1 and "corrupt" in errors[0] and "rag models fetch" in errors[0]
    assert "Traceback" not in corrupt.stderr


def test_the_embedder_tells_a_translation_from_a_sibling(real_pipeline: Pipeline) -> None:
    """English names found in Russian sentences by meaning (rag.generate.translated):
    the real word vectors put each translation above the threshold and each sibling of
    the same kind below it."""
    from rag.generate.translated import TRANSLATION_MIN

    pairs = [("dane", "датчанин", True), ("swede", "датчанин", False),
             ("wall", "стена", True), ("tower", "стена", False),
             ("international", "международный", True), ("national", "международный", False),
             ("beijing", "пекин", True), ("shanghai", "пекин", False)]  # fmt: skip
    vectors = real_pipeline.word_vectors([w for a, b, _ in pairs for w in (a, b)])
    for i, (a, b, same) in enumerate(pairs):
        cosine = float(vectors[2 * i] @ vectors[2 * i + 1])
        assert (cosine >= TRANSLATION_MIN) == same, (a, b, cosine)
