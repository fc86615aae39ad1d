"""The scale-out engine without Ray: config, CLI, one-line errors, and the RayEngine's
logic on a stand-in for ``ray.data`` that runs every step in this process."""

from __future__ import annotations

import builtins
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import Config, load_config
from rag.errors import BadInputError, MissingExtraError
from rag.index import store
from rag.index.checkpoint import Checkpoint
from rag.pipeline import Pipeline
from rag.scale import address_of, check_engine, require_ray
from tests.fakes import FakeEmbedder


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import ray`` fails, as where the scale extra is not installed."""
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_scale_config_from_toml_and_env(tmp_path: Path) -> None:
    toml = tmp_path / "rag.toml"
    toml.write_text('[scale]\nengine = "ray"\nembed_actors = 3\nray_address = "h:6379"\n')
    config = load_config(toml, environ={"RAG_SCALE__MAX_REPLICAS": "4"})
    s = config.scale
    assert (s.engine, s.embed_actors, s.ray_address, s.max_replicas) == ("ray", 3, "h:6379", 4)
    assert load_config(environ={}).scale.engine == "local"
    with pytest.raises(BadInputError, match="scale.embed_actors must be a int"):
        load_config(environ={"RAG_SCALE__EMBED_ACTORS": "many"})


def test_engine_names_and_the_cluster_address() -> None:
    assert check_engine("Ray") == "ray" and check_engine("") == "local"
    with pytest.raises(BadInputError, match="unknown engine 'spark'; use one of local, ray"):
        check_engine("spark")
    s = load_config(environ={}).scale
    assert address_of(s, None, {}) == ""  # a local Ray
    assert address_of(s, None, {"RAY_ADDRESS": "10.0.0.1:6379"}) == "10.0.0.1:6379"
    assert address_of(replace(s, ray_address="auto"), None, {"RAY_ADDRESS": "x:1"}) == "auto"
    assert address_of(replace(s, ray_address="auto"), "ray://h:10001", {}) == "ray://h:10001"


def test_without_ray_the_engine_says_how_to_install_it(no_ray: None) -> None:
    with pytest.raises(MissingExtraError) as err:
        require_ray()
    assert str(err.value) == (
        "--engine ray needs Ray, which is not installed: pip install -e '.[scale]'"
    )


@pytest.mark.parametrize(
    "args",
    [["index", "build", "--engine", "ray"], ["serve", "--engine", "ray", "--replicas", "2"]],
)
def test_cli_engine_ray_without_ray_is_one_line(
    no_ray: None, fake_pipeline: Pipeline, corpus: Path, args: list[str]
) -> None:
    if args[0] == "index":
        args = [*args, str(corpus)]
    result = CliRunner().invoke(main, args, obj={"pipeline": fake_pipeline})
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines == [
        "error: --engine ray needs Ray, which is not installed: pip install -e '.[scale]'"
    ]
    assert not fake_pipeline.config.index_dir.exists()  # nothing was built


def test_cli_engine_config_default_and_bad_name(
    no_ray: None, fake_pipeline: Pipeline, corpus: Path
) -> None:
    fake_pipeline.config = replace(
        fake_pipeline.config, scale=replace(fake_pipeline.config.scale, engine="ray")
    )
    result = CliRunner().invoke(
        main, ["index", "build", str(corpus)], obj={"pipeline": fake_pipeline}
    )
    assert result.exit_code == 1 and "pip install -e '.[scale]'" in result.output
    result = CliRunner().invoke(
        main, ["index", "build", "--engine", "local", str(corpus)], obj={"pipeline": fake_pipeline}
    )
    assert result.exit_code == 0 and "2 added" in result.output  # --engine beats the config
    result = CliRunner().invoke(
        main, ["index", "build", "--engine", "spark", str(corpus)], obj={"pipeline": fake_pipeline}
    )
    assert result.exit_code == 2 and "spark" in result.output


# -- the RayEngine on a stand-in for ray.data -------------------------------------------
class _Dataset:
    """What RayEngine uses of ray.data.Dataset, run in this process: rows in blocks."""

    def __init__(self, blocks: list[list[dict[str, Any]]], log: dict[str, Any]) -> None:
        self.blocks, self.log = blocks, log

    def map(self, fn: Any, fn_kwargs: dict[str, Any], num_cpus: float) -> _Dataset:
        self.log["map_cpus"] = num_cpus
        return _Dataset([[fn(r, **fn_kwargs) for r in b] for b in self.blocks], self.log)

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        for block in reversed(self.blocks):  # Ray gives no order: neither does this
            yield from block

    def map_batches(self, cls: Any, *, fn_constructor_kwargs: dict[str, Any],
                    batch_size: int, batch_format: str, compute: Any, num_cpus: float,
                    num_gpus: float) -> _Dataset:  # fmt: skip
        self.log.update(actors=compute, batch_size=batch_size, gpus=num_gpus, cpus=num_cpus)
        actor = cls(**fn_constructor_kwargs)
        out = []
        for block in self.blocks:
            for lo in range(0, len(block), batch_size):
                rows = block[lo : lo + batch_size]
                cols = {k: np.asarray([r[k] for r in rows]) for k in rows[0]}
                result = actor(cols)
                out.append(
                    [
                        {"i": i, "vector": v}
                        for i, v in zip(result["i"], result["vector"], strict=True)
                    ]
                )
        return _Dataset(out, self.log)

    def iter_batches(self, batch_size: None, batch_format: str) -> Iterator[dict[str, Any]]:
        self.log["shards"] = len(self.blocks)
        for n, block in enumerate(reversed(self.blocks), 1):
            yield {"i": np.asarray([r["i"] for r in block]),
                   "vector": np.vstack([r["vector"] for r in block])}  # fmt: skip
            if self.log.get("die_after") == n:
                raise KeyboardInterrupt  # killed once this many shards came back


class _FakeRay:
    def __init__(self, gpus: float = 0.0) -> None:
        self.log: dict[str, Any] = {}
        self.gpus = gpus
        log = self.log

        class _Context:
            enable_progress_bars = True
            print_on_execution_start = True

        class _Data:
            DataContext = type("DataContext", (), {"get_current": staticmethod(lambda: _Context)})

            @staticmethod
            def ActorPoolStrategy(size: int) -> int:  # noqa: N802 (Ray's name)
                return size

            @staticmethod
            def from_items(rows: list[dict[str, Any]], override_num_blocks: int) -> _Dataset:
                n = max(1, override_num_blocks)
                size = -(-len(rows) // n)
                return _Dataset([rows[i : i + size] for i in range(0, len(rows), size)], log)

        self.data = _Data

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 2.0, "GPU": self.gpus} if self.gpus else {"CPU": 2.0}


@pytest.fixture
def fake_actor_embedder(monkeypatch: pytest.MonkeyPatch) -> list[FakeEmbedder]:
    """EmbedBatch's actors get FakeEmbedders (the list holds each one made)."""
    made: list[FakeEmbedder] = []

    def make(config: Config) -> FakeEmbedder:
        made.append(FakeEmbedder(config.embedding.dimension))
        return made[-1]

    monkeypatch.setattr("rag.embed.make_embedder", make)
    monkeypatch.setattr("rag.models.verify_models", lambda *a, **k: None)
    return made


def _many(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        body = " ".join(f"Статья {i} о спутнике номер {j}." for j in range(60))
        (folder / f"{i:03d}.txt").write_text(f"Заголовок {i}\n\n{body}\n", encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"")  # a problem, reported like the local build does
    return folder


def test_ray_engine_builds_what_the_local_build_builds(
    tmp_path: Path, fake_config: Config, fake_actor_embedder: list[FakeEmbedder]
) -> None:
    from rag.scale.ray_build import RayEngine

    docs = _many(tmp_path / "docs", 6)
    local = Pipeline(fake_config, embedder=FakeEmbedder(64))
    local_report = local.build([docs])
    config = replace(
        fake_config,
        paths=replace(fake_config.paths, index_dir=tmp_path / "ray-index"),
        index=replace(fake_config.index, checkpoint_passages=4),
        scale=replace(fake_config.scale, embed_actors=2, embed_cpus=2.0),
    )
    ray = _FakeRay(gpus=1.0)
    distributed = Pipeline(config, embedder=FakeEmbedder(64))
    report = distributed.build([docs], engine=RayEngine(config, ray))
    assert [p.reason for p in report.problems] == ["empty file"]
    assert report.added == local_report.added and report.n_chunks == local_report.n_chunks
    assert report.embedded == report.n_chunks > 8 and report.reused == 0
    a, b = local.index, distributed.index
    assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks]
    assert [(c.start, c.end, c.text) for c in a.chunks] == [
        (c.start, c.end, c.text) for c in b.chunks
    ]
    va = np.vstack([s.vectors() for s in a.segments])
    vb = np.vstack([s.vectors() for s in b.segments])
    np.testing.assert_allclose(va, vb, atol=1e-6)
    assert ray.log["actors"] == 2 and ray.log["batch_size"] == 4 and ray.log["gpus"] == 0.5
    assert ray.log["cpus"] == 2.0 and ray.log["shards"] == -(-report.n_chunks // 4)
    assert len(fake_actor_embedder) == 1 and not distributed._embedder.calls  # type: ignore[union-attr]
    assert distributed.search("спутнике номер 7")[0].chunk.doc_id.endswith(".txt")
    again = distributed.build([docs], engine=RayEngine(config, _FakeRay()))
    assert again.embedded == 0 and len(again.unchanged) == 6  # committed: nothing is sent


def test_a_killed_ray_build_resumes_from_the_shards_that_came_back(
    tmp_path: Path, fake_config: Config, fake_actor_embedder: list[FakeEmbedder]
) -> None:
    from rag.scale.ray_build import RayEngine

    docs = _many(tmp_path / "docs", 5)
    config = replace(fake_config, index=replace(fake_config.index, checkpoint_passages=3))
    ray = _FakeRay()
    ray.log["die_after"] = 1
    with pytest.raises(KeyboardInterrupt):
        Pipeline(config).build([docs], engine=RayEngine(config, ray))
    assert not (config.index_dir / "manifest.json").exists()  # no index yet
    pipe = Pipeline(config)
    committed = len(Checkpoint(config.index_dir / store.CHECKPOINT, pipe.settings))
    assert 0 < committed <= 3  # one shard came back before the kill
    report = pipe.build([docs], engine=RayEngine(config, _FakeRay()))
    assert report.reused == committed and report.embedded == report.n_chunks - committed
    assert not (config.index_dir / store.CHECKPOINT).exists()  # committed, then cleared


# -- rag serve --engine ray: the parts that need no running Ray ----------------------
def test_serve_deployment_options_fixed_and_autoscaling() -> None:
    ray_serve = pytest.importorskip("rag.scale.ray_serve")  # imports ray.serve: the extra
    s = load_config(environ={}).scale
    assert ray_serve.deployment_options(s, 2) == {
        "ray_actor_options": {"num_cpus": 1.0}, "num_replicas": 2,
    }  # fmt: skip
    auto = replace(s, min_replicas=1, max_replicas=4, replicas=2, replica_cpus=0.5)
    options = ray_serve.deployment_options(auto)
    assert options["ray_actor_options"] == {"num_cpus": 0.5}
    assert options["autoscaling_config"] == {
        "min_replicas": 1, "max_replicas": 4, "initial_replicas": 2,
        "target_ongoing_requests": 2.0,
    }  # fmt: skip
    with pytest.raises(BadInputError, match="replicas 5 must lie within min_replicas 1"):
        ray_serve.deployment_options(auto, 5)
    with pytest.raises(BadInputError, match="--replicas must be at least 1, got 0"):
        ray_serve.deployment_options(s, 0)
    assert ray_serve.replica_config(load_config(environ={})).threads == 1


def test_every_response_names_the_replica(fake_pipeline: Pipeline, corpus: Path) -> None:
    ray_serve = pytest.importorskip("rag.scale.ray_serve")
    from fastapi.testclient import TestClient

    from rag.config import ServerConfig
    from server.app import create_app

    fake_pipeline.build([corpus])
    app = ray_serve.ReplicaHeader(create_app(fake_pipeline, ServerConfig(), warm=False), "r-7")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:  # the guard: a loopback Host
        ok = client.get("/healthz")
        missing = client.get("/v1/documents/nope.txt")
        hits = client.post("/v1/search", json={"query": "SpaceSail спутников", "k": 1})
    assert ok.status_code == 200 and ok.headers["X-RAG-Replica"] == "r-7"
    assert missing.status_code == 404 and missing.headers["X-RAG-Replica"] == "r-7"
    assert hits.json()["hits"][0]["doc_id"] == "a.txt" and hits.headers["x-rag-replica"] == "r-7"


def test_serve_engine_ray_without_an_index_is_one_line(fake_pipeline: Pipeline) -> None:
    pytest.importorskip("rag.scale.ray_serve")
    result = CliRunner().invoke(
        main, ["serve", "--engine", "ray", "--replicas", "2"], obj={"pipeline": fake_pipeline}
    )
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "rag index build" in result.output or "no index" in result.output, result.output


def test_bench_scale_section_renders_and_skips_without_ray(no_ray: None, tmp_path: Path) -> None:
    from bench.common import quick_context
    from bench.sections import scale

    assert scale.run(quick_context(load_config(environ={}), tmp_path)) == {
        "skipped": "--engine ray needs Ray, which is not installed: pip install -e '.[scale]'"
    }
    out = {
        "cpus": 2, "ray_start_s": 4.2,
        "build": [
            {"engine": "local", "actors": 0, "articles": 26, "passages": 112, "seconds": 30.0,
             "passages_per_s": 3.73},
            {"engine": "ray", "actors": 1, "articles": 26, "passages": 112, "seconds": 33.0,
             "passages_per_s": 3.39, "overhead": 0.1, "overhead_s_per_article": 0.115},
        ],
        "answer": [{"replicas": 2, "clients": 8, "questions": 8, "questions_per_min": 9.5,
                    "latency_ms": {"p50": 25000.0, "p95": 40000.0}, "replicas_seen": 2,
                    "deploy_s": 30.1}],
    }  # fmt: skip
    lines = scale.render(out)
    assert any("| ray | 1 | 26 | 112 | 33.00 | 3.39 | +10.0% | 0.12 |" in x for x in lines)
    assert any("| 2 | 8 | 8 | 9.50 | 25,000.00 | 40,000.00 | 2 | 30.10 |" in x for x in lines)
    assert scale.render({"skipped": "no ray"}) == ["Not run: no ray"]
