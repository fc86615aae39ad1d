"""Bad questions through the CLI: a clear one-line message or an answer, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.pipeline import Pipeline

BAD = {
    "empty": "",
    "whitespace": " \t  \u00a0 ",
    "huge": "Сколько спутников? " * 6000,  # ~100k characters
    "control": "Сколько\x00\x07 спутников\x1b[31m на орбите?\x7f",
    "punctuation": "?!…—«»,.;:()",
    "chinese": "轨道上有多少颗卫星？",
    "arabic": "كم عدد الأقمار الصناعية في المدار؟",
    "emoji": "🚀🛰️?",
    "rtl-override": "\u202eСколько спутников?",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_question_gets_a_message_or_an_answer(
    name: str, fake_pipeline: Pipeline, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    for args in (["ask", BAD[name]], ["ask", "--json", BAD[name]], ["search", BAD[name]]):
        result = CliRunner().invoke(main, args, obj={"pipeline": fake_pipeline})
        assert result.exception is None or isinstance(result.exception, SystemExit), name
        assert "Traceback" not in result.output
        if result.exit_code:
            assert result.exit_code == 2
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) < 200
        elif "--json" in args:
            assert isinstance(json.loads(result.output)["abstained"], bool)


def test_stdin_batch_survives_every_bad_line(fake_pipeline: Pipeline, corpus: Path) -> None:
    fake_pipeline.build([corpus])
    stdin = "\n".join(v.replace("\n", " ") for v in BAD.values()) + "\n"
    result = CliRunner().invoke(main, ["ask", "--json", "-"], obj={"pipeline": fake_pipeline},
                                input=stdin)  # fmt: skip
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == sum(1 for v in BAD.values() if v.strip())  # blank lines are skipped
    assert all(("error" in r) or isinstance(r["abstained"], bool) for r in rows)
