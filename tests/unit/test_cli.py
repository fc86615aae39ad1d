import json
from pathlib import Path

from click.testing import CliRunner

from rag.cli import main
from rag.pipeline import Pipeline
from tests.fakes import FakeGenerator, use_extractive_fallback

# The README's JSON section lists these (rag.types.Answer.to_json)
KEYS = {
    "question", "answer", "abstained", "refusal", "kind", "mode", "citations", "nearest",
    "missing", "passages", "timings_ms", "language", "query", "tokens_generated", "strategy",
    "variant", "sentences",
}  # fmt: skip
CITATION_KEYS = {"n", "doc_id", "title", "chunk_id", "start", "end", "text", "date", "page"}


def run(pipe: Pipeline, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), obj={"pipeline": pipe}, input=stdin)


def test_index_build_status_and_search(fake_pipeline: Pipeline, corpus: Path) -> None:
    result = run(fake_pipeline, "index", "build", str(corpus), "--json")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.output)["added"]) == ["a.txt", "b.txt"]
    status = json.loads(run(fake_pipeline, "index", "status", "--json").output)
    assert status["n_documents"] == 2 and status["index_bytes"] > 0
    lines = run(fake_pipeline, "search", "спутников SpaceSail", "-k", "2", "--json").output
    hits = [json.loads(x) for x in lines.splitlines()]
    assert len(hits) == 2 and hits[0]["doc_id"] == "a.txt" and hits[0]["score"] >= hits[1]["score"]


def test_ask_json_has_the_stable_shape(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    fake_generator.queue("108 спутников [1].")
    result = run(fake_pipeline, "ask", "--json", "Сколько спутников SpaceSail?")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert KEYS == obj.keys() and set(obj["timings_ms"]) >= {"retrieve", "generate", "total"}
    assert CITATION_KEYS == obj["citations"][0].keys()
    assert obj["citations"][0]["doc_id"] == "a.txt" and obj["abstained"] is False
    assert obj["kind"] == "quoted" and obj["mode"] == "generative" and obj["refusal"] is None
    assert obj["variant"] == {"text": "108 спутников [1].", "checked": "108 спутников [2]."}
    assert obj["nearest"] == [] and obj["missing"] is None


def test_ask_stdin_batch_one_object_per_line(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    fake_generator.queue("108 [1].", "NO_ANSWER")
    stdin = "Сколько спутников SpaceSail?\n\n???\nСколько объектов на Байконуре?\n"
    result = run(fake_pipeline, "ask", "--json", "-", stdin=stdin)
    rows = [json.loads(x) for x in result.output.splitlines()]
    assert [("error" in r) for r in rows] == [False, True, False]
    assert rows[1]["error"] == "the question has no words in it"
    assert rows[2]["abstained"] is True
    assert result.exit_code == 2  # one line failed


def test_human_ask_streams_answer_and_lists_sources(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    fake_generator.queue("На орбите 108 спутников [1].")
    out = run(fake_pipeline, "ask", "Сколько спутников SpaceSail?").output
    # the evidence sentence first (at once), then the draft as it streams
    first, second = out.splitlines()[:2]
    assert first.startswith("» «На орбите находится 108 спутников") and "(a.txt)" in first
    assert second == "На орбите 108 спутников [1]."
    assert "Sources:" in out and "[1] Спутники SpaceSail (a.txt" in out


def test_human_ask_says_when_the_answer_is_the_extractive_fallback(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    use_extractive_fallback(fake_pipeline)
    fake_pipeline.build([corpus])
    fake_generator.queue("На орбите 500 спутников [1].")
    out = run(fake_pipeline, "ask", "Сколько спутников SpaceSail на орбите?").output
    draft, note = out.split("\n\nThe generated answer was not supported by the passages")
    assert draft.strip().endswith("\nНа орбите 500 спутников [1].")  # after the evidence
    assert "108 спутников" in note and "Sources:" in note


def test_errors_are_one_line_with_exit_codes(fake_pipeline: Pipeline, corpus: Path) -> None:
    result = run(fake_pipeline, "ask", "Сколько спутников?")
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: no index at")
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    fake_pipeline.build([corpus])
    result = run(fake_pipeline, "ask", "   ")
    assert result.exit_code == 2 and result.output.strip() == (
        "error: the question is empty; type a question about the articles"
    )
    result = run(fake_pipeline, "index", "add", str(corpus / "missing.txt"))
    assert result.exit_code == 2 and "no readable articles" in result.output


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "rag.toml"
    bad.write_text("[retrieval]\nk = 'many'\n")
    result = CliRunner().invoke(main, ["--config", str(bad), "index", "status"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: config: retrieval.k must be a int, got 'many'"


def test_help_lists_the_commands() -> None:
    out = CliRunner().invoke(main, ["--help"]).output
    for command in ("ask", "search", "index", "models", "chat"):
        assert command in out


def test_a_refusal_lists_its_nearest_evidence_and_what_is_missing(capsys) -> None:  # type: ignore[no-untyped-def]
    from rag.cli import _print_answer
    from rag.types import Answer, AnswerKind, Citation, Refusal

    near = Citation(3, "a.txt", "Спутники", "a:0", 10, 40, "На орбите 108 спутников.", "2025-01-02")
    refused = Answer("q", "В источниках нет ответа на этот вопрос.", (), (), AnswerKind.REFUSED,
                     Refusal.NOT_STATED, nearest=(near,), missing="the launch date")  # fmt: skip
    _print_answer(refused, refused.answer)
    out = capsys.readouterr().out
    assert "Not stated in the sources: the launch date" in out
    assert "Nearest evidence:" in out and "Sources:" not in out
    assert "[3] Спутники (a.txt, published 2025-01-02, chars 10-40)" in out
    _print_answer(Answer("q", "x", (), (), AnswerKind.REFUSED, Refusal.LOW_SCORE), "x")
    assert "evidence" not in capsys.readouterr().out  # no nearest: no list
