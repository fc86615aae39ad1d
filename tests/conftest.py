from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rag.config import Config, load_config
from rag.pipeline import Pipeline
from tests.fakes import FakeEmbedder, FakeGenerator

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Once every test has run and been reported, end the process with pytest's exit
    status, skipping the interpreter's teardown of what the suite loaded into this one
    process (torch, llama.cpp, Ray's client, Playwright, gradio's threads): that teardown
    is not under test, and one CI run died there with a segmentation fault after all
    its tests had passed. The product frees its models in order at exit
    (``rag.generate.llama``); this only keeps a crash of the test process's teardown
    from turning a green run red. ``-X faulthandler`` (``make test``) still prints the
    stacks of any crash while the tests run."""
    status = config.stash.get(_EXIT_STATUS, None)
    if status is None or os.environ.get("RAG_TEST_KEEP_TEARDOWN"):
        return  # pytest ended before a session ran, or teardown asked for: the usual exit
    from rag.generate.llama import close_all

    close_all()  # the models, freed in order, as the product does at exit
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or env overrides."""
    for key in list(__import__("os").environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)


@pytest.fixture
def fake_config(tmp_path: Path) -> Config:
    """Config for the unit layer: index in tmp, fake model identity, no sha checks."""
    config = load_config(environ={})
    return replace(
        config,
        paths=replace(
            config.paths,
            index_dir=tmp_path / "index",
            runs_dir=tmp_path / "runs",
            eval_index_dir=tmp_path / "eval-index",
        ),
        embedding=replace(
            config.embedding, model_id=FakeEmbedder.model_id, sha256="", dimension=64
        ),
        retrieval=replace(config.retrieval, min_score=0.05),
    )  # the default answer strategy ("quote"), unless a test says otherwise


@pytest.fixture
def fake_generator() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def fake_pipeline(fake_config: Config, fake_generator: FakeGenerator) -> Pipeline:
    return Pipeline(fake_config, embedder=FakeEmbedder(64), generator=fake_generator)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A tiny corpus of two articles in a folder."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "Спутники SpaceSail\n\nНа орбите находится 108 спутников группировки SpaceSail. "
        "К концу 2026 года их будет 324.\n",
        encoding="utf-8",
    )
    (folder / "b.txt").write_text(
        "Байтерек на Байконуре\n\nСтороны обсудили проект «Байтерек» на космодроме Байконур. "
        "Казахстанской стороной приняты 243 объекта.\n",
        encoding="utf-8",
    )
    return folder
