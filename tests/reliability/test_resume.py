"""Resumable build: SIGKILL a build at random points; each rerun continues from the
checkpoint without embedding again what was checkpointed, the committed index stays
usable throughout, and the result equals an uninterrupted build."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rag.index import store
from rag.index.checkpoint import key
from rag.ingest.load import load_paths
from rag.pipeline import Pipeline
from tests.fakes import FakeEmbedder
from tests.reliability.build_worker import config_for
from tests.reliability.test_crash import ROOT, answers, write_corpus

KILLS = 5
CHECKPOINT = 8  # passages per shard


def build(index_dir: Path, corpus: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "RAG_TEST_CHECKPOINT": str(CHECKPOINT), "RAG_TEST_EMBED_LOG": str(log),
           "RAG_TEST_SLOW": "0.02"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.build_worker", str(index_dir), str(corpus)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def checkpointed(index_dir: Path) -> set[str]:
    """The keys committed to the checkpoint (shards with their .json)."""
    out: set[str] = set()
    for meta in (index_dir / store.CHECKPOINT).glob("shard-*.json"):
        out.update(json.loads(meta.read_text(encoding="utf-8"))["keys"])
    return out


def test_killed_builds_resume_and_end_identical_to_an_uninterrupted_one(tmp_path: Path) -> None:
    old, corpus = tmp_path / "old", tmp_path / "corpus"
    write_corpus(old, 2, "old")
    write_corpus(corpus, 2, "old")
    write_corpus(corpus, 24, "new")
    config = config_for(tmp_path / "reference")
    docs, _ = load_paths([corpus])
    pipe = Pipeline(config, embedder=FakeEmbedder(64))
    text_of = {key(c): c.text for d in docs for c in pipe.chunk(d)}
    assert len(text_of) > 6 * CHECKPOINT

    # the uninterrupted build, from the same starting index
    pipe.build([old])
    pipe.build([corpus])
    reference = store.load(config.index_dir)

    index_dir, log = tmp_path / "index", tmp_path / "embedded.jsonl"
    first = build(index_dir, old, log)
    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    committed, _ = answers(index_dir)
    log.unlink()
    whole = 60.0  # seconds a run may take to reach its kill point

    rng = random.Random(20261201)
    rounds, total_embedded = 0, 0
    while True:
        before = checkpointed(index_dir)
        proc = build(index_dir, corpus, log)
        if rounds < KILLS:
            # a random point: the first while loading, the others after 1-3 more
            # shards, then up to about a shard's time more
            target = len(before) + CHECKPOINT * (rng.randint(1, 3) if rounds else 0)
            deadline = time.time() + whole
            while proc.poll() is None and len(checkpointed(index_dir)) < target:
                if time.time() > deadline:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.2))
        killed = rounds < KILLS and proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=300) == (-signal.SIGKILL if killed else 0)
        embedded = (
            [json.loads(x) for x in log.read_text("utf-8").splitlines()] if log.exists() else []
        )
        log.unlink(missing_ok=True)
        total_embedded += len(embedded)
        # nothing committed to the checkpoint before this run was embedded again
        assert not {text_of[k] for k in before} & set(embedded), rounds
        if not killed:
            break
        rounds += 1
        # the committed index is the old one, usable, until the build commits
        assert answers(index_dir)[0] == committed
        assert len(checkpointed(index_dir)) >= len(before)
    assert rounds == KILLS
    # each kill loses at most the batch it was embedding
    to_embed = sum(1 for k in text_of if k.startswith("new-"))  # the old articles are reused
    assert to_embed <= total_embedded <= to_embed + KILLS * CHECKPOINT
    resumed = store.load(index_dir)
    assert [c.chunk_id for c in resumed.chunks] == [c.chunk_id for c in reference.chunks]
    assert [c.doc_id for c in resumed.chunks] == [c.doc_id for c in reference.chunks]
    np.testing.assert_array_equal(resumed.vectors(), reference.vectors())
    assert not (index_dir / store.CHECKPOINT).exists()  # removed once committed
