"""The product apart from its tooling: no import of the bench, no import-time side
effects, OpenMP's waiting set where a process starts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner

from rag.config import PROJECT_ROOT

PRODUCT = ("rag", "server", "ui")


def test_the_product_never_imports_the_bench() -> None:
    found = []
    for package in PRODUCT:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                if re.match(r"\s*(from|import) bench\b", line):
                    found.append(f"{path.relative_to(PROJECT_ROOT)}:{n}")
    # rag bench imports it from the checkout, inside one function
    assert found == ["rag/cli.py:" + str(_line_of("rag/cli.py", "from bench.cli import"))]


def _line_of(path: str, text: str) -> int:
    lines = (PROJECT_ROOT / path).read_text("utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_the_bench_is_not_installed_with_the_product() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == ["rag*", "ui*", "server*"]
    assert not (PROJECT_ROOT / "rag" / "bench").exists()


def _fresh(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.strip()


def test_importing_rag_sets_nothing() -> None:
    code = "import os, rag, rag.cli, rag.config; print(os.environ.get('OMP_WAIT_POLICY'))"
    assert _fresh(code) == "None"


def test_the_rag_command_sets_passive_openmp_before_any_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rag.cli import main

    monkeypatch.setenv("OMP_WAIT_POLICY", "x")
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert CliRunner().invoke(main, ["models", "--help"]).exit_code == 0
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # an explicit setting wins
    assert CliRunner().invoke(main, ["models", "--help"]).exit_code == 0
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_rag_help_lists_bench_without_loading_it() -> None:
    from rag.cli import main

    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom rag.cli import main\n"
        "out = CliRunner().invoke(main, ['--help']).output\n"
        "assert 'bench' in out and 'eval' in out, out\n"
        "heavy = [m for m in ('numpy', 'torch', 'bench.runner', 'bench.sections') "
        "if m in sys.modules]\n"
        "print(heavy)"
    )
    assert _fresh(code) == "[]"
    assert main.get_command(None, "bench") is not None  # type: ignore[arg-type]
