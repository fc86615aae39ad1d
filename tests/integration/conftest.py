"""Integration-layer fixtures: the real models on a fresh index of seeds/, built once.

``real_config`` is the project's config (defaults and rag.toml, no ``RAG_*``
environment) with the index and eval runs in a session tmp folder; the index is
built from ``seeds/`` with the real embedder the first time it is asked for.
``real_pipeline`` is the one Pipeline that built it, so the embedder loads once
per session and the LLM loads on the first ``ask``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rag.config import Config, load_config
from rag.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def _real_built(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    base = tmp_path_factory.mktemp("real")
    config = load_config(environ={})
    config = replace(
        config,
        paths=replace(config.paths, index_dir=base / "index", runs_dir=base / "runs"),
    )
    pipeline = Pipeline(config)
    report = pipeline.build([SEEDS])
    assert report.n_documents and not report.problems, report.problems
    return pipeline


@pytest.fixture(scope="session")
def real_config(_real_built: Pipeline) -> Config:
    """Real models, an index of seeds/ in a session tmp folder (built once)."""
    return _real_built.config


@pytest.fixture(scope="session")
def real_pipeline(_real_built: Pipeline) -> Pipeline:
    """One Pipeline on the real models and ``real_config``'s index, shared by the session."""
    return _real_built
