"""The scale-out engine on a real local Ray (2 CPUs) with the real models.

One Ray for the module, started here on 127.0.0.1 and shut down at the end; the
CLI runs as subprocesses that join it through $RAY_ADDRESS.

- ``rag index build --engine ray`` of seeds/ + eval/corpus/ gives the local build's
  chunk ids and vectors (cosine >= 0.9999 for every chunk), and the index answers;
- a distributed build killed mid-way and run again embeds only what no shard holds;
- ``rag serve --engine ray --replicas 2``: concurrent clients are answered by both
  replicas (``X-RAG-Replica``), each answer correct and cited.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.eval.runner import EVAL_CORPUS
from rag.index import store
from rag.index.checkpoint import Checkpoint
from rag.index.data import IndexData
from rag.pipeline import Pipeline

pytestmark = pytest.mark.integration
ray = pytest.importorskip("ray", reason="the scale extra is not installed")

ROOT = Path(__file__).resolve().parents[2]
SPACESAIL = "Сколько спутников группировки SpaceSail находится на орбите?"
SPACESAIL_DOC = "002_c21ede6ce74cac7a.txt"
# What `rag eval` indexes (the eval_pipeline fixture): the articles of seeds/ and eval/corpus/
ARTICLES = sorted(p for folder in EVAL_CORPUS for p in folder.glob("*.txt"))


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray of 2 CPUs on loopback; its address for the subprocesses. Ray turns
    token authentication on for a new local cluster; this one, for tests on loopback,
    runs without (the subprocesses that join say so too, in ``_env``)."""
    assert not ray.is_initialized()
    before = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             logging_level=logging.WARNING)  # fmt: skip
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if before is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = before


def _env(address: str, index_dir: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "RAY_"))}
    return {**clean, "RAY_ADDRESS": address, "RAY_AUTH_MODE": "disabled",
            "RAG_PATHS__INDEX_DIR": str(index_dir), **extra}  # fmt: skip


def _vectors(index: IndexData) -> dict[tuple[str, str], np.ndarray]:
    out = {}
    for seg, dead in zip(index.segments, index.deleted, strict=True):
        for c, v in zip(seg.chunks, seg.vectors(), strict=True):
            if c.doc_id not in dead:
                out[(c.doc_id, c.chunk_id)] = v
    return out


@pytest.fixture(scope="module")
def ray_built(
    ray_address: str, real_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory
) -> Pipeline:
    """seeds/ + eval/corpus/ built with the Ray engine (this process is the driver and
    the one writer; one embedding actor), on the session's loaded models."""
    from rag.scale import ray_build

    index_dir = tmp_path_factory.mktemp("ray") / "index"
    config = real_pipeline.config
    config = replace(
        config,
        paths=replace(config.paths, index_dir=index_dir),
        scale=replace(config.scale, embed_actors=1, embed_cpus=2.0),  # the actor: both cores
    )
    pipe = real_pipeline.with_config(config)
    report = ray_build.run(pipe, ARTICLES, True, None)
    assert report.n_chunks > 80 and report.embedded == report.n_chunks and not report.reused
    return pipe


def test_ray_build_equals_the_local_build_and_answers(
    ray_built: Pipeline, eval_pipeline: Pipeline
) -> None:
    mine, local = _vectors(ray_built.index), _vectors(eval_pipeline.index)
    assert mine.keys() == local.keys()  # the same content-hash chunk ids, article by article
    cosines = np.array([float(np.dot(mine[k], local[k])) for k in local])
    assert cosines.min() >= 0.9999, sorted(zip(cosines, local, strict=True))[:3]
    spans = {(c.doc_id, c.chunk_id): (c.start, c.end, c.text) for c in eval_pipeline.index.chunks}
    assert all(spans[(c.doc_id, c.chunk_id)] == (c.start, c.end, c.text)
               for c in ray_built.index.chunks)  # fmt: skip
    answer = ray_built.ask(SPACESAIL)
    assert "108" in answer.answer and not answer.abstained
    assert answer.citations[0].doc_id == SPACESAIL_DOC


def test_a_killed_ray_build_run_again_embeds_nothing_committed(
    ray_address: str, ray_built: Pipeline, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    env = _env(ray_address, index_dir, RAG_INDEX__CHECKPOINT_PASSAGES="12",
               RAG_SCALE__EMBED_CPUS="2")  # fmt: skip
    cmd = [sys.executable, "-m", "rag.cli", "index", "build", "--engine", "ray", "--json",
           *map(str, ARTICLES)]  # fmt: skip
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)  # fmt: skip
    shards = index_dir / store.CHECKPOINT
    deadline = time.monotonic() + 300
    while len(list(shards.glob("shard-*.json"))) < 2:
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "no shard came back in 300 s"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the driver and the writer, mid-build
    first.wait(30)
    assert not (index_dir / "manifest.json").exists()
    committed = len(Checkpoint(shards, ray_built.settings))
    total = len(ray_built.index.chunks)
    assert 0 < committed < total

    again = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    report = json.loads(again.stdout)
    assert report["n_chunks"] == total
    assert report["reused"] == committed and report["embedded"] == total - committed
    assert not shards.exists()  # committed into the index, the checkpoint is gone


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_two_replicas_answers_concurrent_clients(
    ray_address: str, ray_built: Pipeline, tmp_path: Path
) -> None:
    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    env = _env(ray_address, ray_built.config.index_dir)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--engine", "ray", "--replicas", "2",
             "--port", str(port)],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while "serving http" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the replicas did not start in 600 s"
            time.sleep(0.5)
        assert httpx.get(f"{url}/readyz", timeout=30).status_code == 200

        def ask(_: int) -> Any:
            return httpx.post(f"{url}/v1/ask", json={"question": SPACESAIL}, timeout=300)

        seen: set[str] = set()
        for _round in range(3):  # concurrent clients until both replicas have answered
            with ThreadPoolExecutor(4) as pool:
                replies = list(pool.map(ask, range(4)))
            for reply in replies:
                assert reply.status_code == 200, reply.text
                body = reply.json()
                assert "108" in body["answer"] and not body["abstained"], body
                assert body["citations"][0]["doc_id"] == SPACESAIL_DOC
                seen.add(reply.headers["X-RAG-Replica"])
            if len(seen) == 2:
                break
        assert len(seen) == 2, seen
        delete = httpx.delete(f"{url}/v1/documents/{SPACESAIL_DOC}", timeout=30)
        assert delete.status_code == 403  # the replicas share a read-only index
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0, log_path.read_text()[-3000:]
    assert "Traceback" not in log_path.read_text(), log_path.read_text()[-3000:]
