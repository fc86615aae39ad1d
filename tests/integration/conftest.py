"""Integration-layer fixtures: the real models on a fresh index of seeds/, built once.

``real_config`` is the project's config (defaults and rag.toml, no ``RAG_*``
environment) with the index and eval runs in a session tmp folder; the index is
built from ``seeds/`` with the real embedder the first time it is asked for.
``real_pipeline`` is the one Pipeline that built it, so the embedder loads once
per session and the LLM loads on the first ``ask``. ``eval_pipeline`` is the same
models on the index `rag eval` runs on (seeds/ + eval/corpus/), made from a copy of
the seeds index so that only eval/corpus/ is embedded.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from rag import passive_openmp
from rag.config import Config, load_config
from rag.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


def pytest_configure(config: pytest.Config) -> None:
    """The models load in this process, as they do under the `rag` command: OpenMP
    waits passively (the product sets it where a process starts, not on import)."""
    passive_openmp()


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


@pytest.fixture(scope="session")
def eval_pipeline(real_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """``real_pipeline``'s models on an index of seeds/ + eval/corpus/ (``rag eval``'s
    own index), built once per session on a copy of the seeds index."""
    from rag.eval.runner import EVAL_CORPUS
    from rag.eval.runner import eval_pipeline as on_eval_index

    base = tmp_path_factory.mktemp("eval")
    shutil.copytree(real_pipeline.config.index_dir, base / "index")
    config = real_pipeline.config
    config = replace(config, paths=replace(config.paths, eval_index_dir=base / "index"))
    pipe, report = on_eval_index(real_pipeline.with_config(config))
    seeds = {p.name for p in SEEDS.glob("*.txt")}
    corpus = {p.name for p in EVAL_CORPUS[1].glob("*.txt")}
    assert set(report.unchanged) == seeds and set(report.added) == corpus, report
    return pipe


# -- the served UI -----------------------------------------------------------
# Module-scoped: each UI test module gets its own app over its own copies of the
# corpus and index, so one module's uploads and removals never reach another.
@pytest.fixture(scope="module")
def ui_pipeline(real_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """A pipeline for the served UI: ``real_pipeline``'s loaded models, its own copy
    of seeds/ (uploads stay in tmp) and a copy of the session index, so building
    it re-embeds only what changed (nothing, normally)."""
    tmp = tmp_path_factory.mktemp("ui")
    shutil.copytree(SEEDS, tmp / "corpus")
    shutil.copytree(real_pipeline.config.index_dir, tmp / "index")
    paths = replace(real_pipeline.config.paths, corpus_dir=tmp / "corpus", index_dir=tmp / "index")
    pipe = Pipeline(
        replace(real_pipeline.config, paths=paths),
        embedder=real_pipeline.embedder,
        generator=real_pipeline.generator,
    )
    report = pipe.build([pipe.config.corpus_dir])
    assert report.n_documents and not report.problems, report.problems
    _ = getattr(pipe.generator, "llm", None)  # load the LLM now, not during the first answer
    return pipe


@pytest.fixture(scope="module")
def app_url(ui_pipeline: Pipeline) -> Iterator[str]:
    """The real app (``ui.app.launch``) on 127.0.0.1 and a free port, in this process."""
    from ui.app import launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = launch(ui_pipeline, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
