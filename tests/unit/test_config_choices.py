"""Settings with a fixed set of values are checked once, when the Config is made."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.config import CHOICES, load_config
from rag.errors import BadInputError


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_RETRIEVAL__MODE": "semantic"}, "retrieval.mode must be one of dense, lexical"),
        ({"RAG_GENERATION__MODE": "creative"}, "generation.mode must be one of generative"),
        ({"RAG_GENERATION__FALLBACK": "maybe"}, "generation.fallback must be one of abstain"),
        ({"RAG_SCALE__ENGINE": "spark"}, "scale.engine must be one of local, ray"),
    ],
)
def test_a_bad_choice_fails_when_the_config_loads(env: dict[str, str], message: str) -> None:
    with pytest.raises(BadInputError, match=message) as info:
        load_config(environ=env)
    assert "\n" not in str(info.value)


def test_a_bad_choice_in_a_file_or_a_replace_fails_too(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[generation]\nfallback = "sometimes"\n')
    with pytest.raises(BadInputError, match="'sometimes'"):
        load_config(path, environ={})
    config = load_config(environ={})
    with pytest.raises(BadInputError, match="retrieval.mode"):
        replace(config, retrieval=replace(config.retrieval, mode="Dense"))


def test_every_allowed_value_loads() -> None:
    for (section, name), allowed in CHOICES.items():
        for value in allowed:
            env = {f"RAG_{section.upper()}__{name.upper()}": value}
            assert getattr(getattr(load_config(environ=env), section), name) == value
    # --engine ignores case and spaces; so does the setting
    assert load_config(environ={"RAG_SCALE__ENGINE": " Ray "}).scale.engine == " Ray "


def test_the_choices_match_the_code_that_uses_them() -> None:
    from rag.retrieve.hybrid import MODES
    from rag.scale import ENGINES

    assert set(CHOICES["retrieval", "mode"]) == set(MODES)
    assert set(CHOICES["scale", "engine"]) == set(ENGINES)


def test_the_cli_reports_a_bad_choice_in_one_line() -> None:
    from rag.cli import main

    result = CliRunner().invoke(main, ["index", "status"], env={"RAG_GENERATION__FALLBACK": "x"})
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: config: generation.fallback must be one of abstain, extractive, got 'x'"
    ]
