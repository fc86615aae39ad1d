"""`rag eval` as a group: a run of the gold set by default, `curves RUN` a subcommand."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rag.cli import main
from rag.eval.cli import RUN_OPTIONS, EvalArgs, eval_command
from rag.pipeline import Pipeline


def test_help_lists_the_run_options_and_the_curves_subcommand() -> None:
    result = CliRunner().invoke(main, ["eval", "--help"])
    assert result.exit_code == 0
    for option in ("--retrieval-only", "--baseline", "--ids", "--modes", "--index"):
        assert option in result.output
    assert "curves" in result.output and "--calibrate" not in result.output
    assert "--curves" not in result.output


def test_every_run_option_is_a_field_of_the_arguments() -> None:
    names = {p.name for p in eval_command.params}
    assert len(RUN_OPTIONS) == len(names) == len(EvalArgs.__dataclass_fields__)
    assert names == set(EvalArgs.__dataclass_fields__)


def test_curves_needs_an_existing_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "curves", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert CliRunner().invoke(main, ["eval", "curves"]).exit_code == 2


def test_curves_of_a_folder_without_a_report_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "curves", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: cannot read the eval report {tmp_path / 'report.json'}: [Errno 2] No such "
        f"file or directory: '{tmp_path / 'report.json'}'"
    ]


def test_side_by_side_rejects_an_unknown_mode_or_strategy_in_one_line(
    fake_pipeline: Pipeline,
) -> None:
    for args, message in (
        (["--modes", "dense,semantic"], "error: config: retrieval.mode must be one of dense, "
         "lexical, hybrid, got 'semantic'"),
        (["--strategies", "nope"], "error: unknown answer strategy 'nope'"),
    ):  # fmt: skip
        result = CliRunner().invoke(
            main, ["eval", "--index", "pipeline", *args], obj={"pipeline": fake_pipeline}
        )
        assert result.exit_code == 2
        assert result.output.strip().splitlines()[-1].startswith(message), result.output
