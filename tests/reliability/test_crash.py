"""Crash safety: SIGKILL the index build at random points; the previous index survives."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.errors import LockedError
from rag.pipeline import Pipeline
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.reliability.build_worker import config_for

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20


def worker(index_dir: Path, corpus: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.build_worker", str(index_dir), str(corpus),
         *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


WORDS = (
    "орбита ракета станция запуск модуль антенна спутниковый связь сигнал телескоп топливо "
    "двигатель экипаж полёт миссия орбитальный наземный центр управления данные снимок "
    "карта прогноз погода зонд датчик панель батарея корпус ступень"
).split()


def write_corpus(folder: Path, n: int, tag: str) -> None:
    """``n`` articles; each sentence carries two words drawn for its article, so articles
    are not near-duplicates of each other (the ingest would fold them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = random.Random(f"{tag}-{i}")
        body = " ".join(
            f"Спутник {tag} номер {i} {rng.choice(WORDS)} {rng.choice(WORDS)} и предложение {j} "
            "о космодроме."
            for j in range(40)
        )
        (folder / f"{tag}-{i:03d}.txt").write_text(f"Статья {tag} {i}\n\n{body}\n", "utf-8")


def answers(index_dir: Path) -> tuple[set[str], str]:
    """Load the committed index as a user would, and answer from it."""
    pipe = Pipeline(
        config_for(index_dir), FakeEmbedder(64), FakeGenerator("Это предложение о космодроме [1].")
    )
    answer = pipe.ask("Спутник номер 3 о космодроме")
    assert {h.chunk.doc_id for h in answer.passages} <= set(pipe.index.documents)
    return set(pipe.index.documents), answer.answer


def test_sigkill_during_builds_never_loses_the_previous_index(tmp_path: Path) -> None:
    index_dir, corpus = tmp_path / "index", tmp_path / "corpus"
    write_corpus(corpus, 6, "old")
    t0 = time.perf_counter()
    first = worker(index_dir, corpus)
    assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
    full_build = time.perf_counter() - t0  # kill times scale with this machine's speed
    committed, _ = answers(index_dir)
    rng = random.Random(20261121)
    survived = 0
    for round_ in range(KILLS):
        write_corpus(corpus, 3, f"new{round_}")  # the build has new work to do each round
        proc = worker(index_dir, corpus)
        time.sleep(rng.uniform(0.1, 0.9) * full_build)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        docs, text = answers(index_dir)
        # either the old generation or the complete new one: never a mix, always usable
        assert docs == committed or docs == {p.name for p in corpus.iterdir()}, round_
        assert text == "Это предложение о космодроме [1]."
        committed = docs
        survived += killed
    print(f"killed mid-build in {survived} of {KILLS} rounds; every time the index loaded")
    assert survived >= KILLS // 2, f"only {survived} rounds were killed mid-build"
    final = worker(index_dir, corpus)
    assert final.wait(timeout=600) == 0
    docs, _ = answers(index_dir)
    assert docs == {p.name for p in corpus.iterdir()}
    leftovers = [p for p in index_dir.iterdir() if p.name.startswith((".staging-", ".manifest"))]
    assert leftovers == []  # a completed run cleans up after the killed ones


def test_sigkill_during_add_remove_compact_leaves_a_committed_index(tmp_path: Path) -> None:
    """Segments: an add (new segment), a remove (tombstones) or a compaction (merge)
    killed at a random point leaves the index before it or after it, never between."""
    index_dir, corpus = tmp_path / "index", tmp_path / "corpus"
    write_corpus(corpus, 6, "base")
    t0 = time.perf_counter()
    assert worker(index_dir, corpus).wait(timeout=300) == 0
    full = time.perf_counter() - t0
    committed, _ = answers(index_dir)
    rng = random.Random(20261201)
    killed = 0
    for round_ in range(9):
        op = ("add", "remove", "compact")[round_ % 3]
        if op == "add":
            new = tmp_path / f"new{round_}"
            write_corpus(new, 2, f"new{round_}")
            args, after = ["add"], committed | {p.name for p in new.iterdir()}
            proc = worker(index_dir, new, *args)
        elif op == "remove":
            gone = sorted(committed)[0]
            after = committed - {gone}
            proc = worker(index_dir, corpus, "remove", gone)
        else:
            after = committed
            proc = worker(index_dir, corpus, "compact")
        time.sleep(rng.uniform(0.1, 0.9) * full)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        docs, text = answers(index_dir)
        assert docs in (committed, after), (round_, op)
        assert text == "Это предложение о космодроме [1]."
        committed = docs
    print(f"killed {killed} of 9 add/remove/compact runs; every time the index loaded")
    assert killed >= 1
    assert worker(index_dir, corpus, "compact").wait(timeout=300) == 0
    assert answers(index_dir)[0] == committed
    manifest = json.loads((index_dir / "manifest.json").read_text())
    on_disk = {p.name for p in index_dir.iterdir() if p.name.startswith(("seg-", "gen-"))}
    assert {s["name"] for s in manifest["segments"]} <= on_disk
    assert len(on_disk) <= 2 * len(manifest["segments"]) + 2  # garbage is collected


def test_second_writer_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    index_dir, corpus = tmp_path / "index", tmp_path / "corpus"
    write_corpus(corpus, 30, "slow")
    slow = worker(index_dir, corpus)
    try:
        deadline = time.time() + 60
        lock = index_dir / ".lock"
        while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.05)
        second = worker(index_dir, corpus, "add")
        assert second.wait(timeout=60) != 0
        err = second.stderr.read() if second.stderr else ""
        assert "LockedError" in err and f"pid {slow.pid}" in err
        with pytest.raises(LockedError, match="try again when it ends"):
            Pipeline(config_for(index_dir), FakeEmbedder(64)).add([corpus])
    finally:
        slow.kill() if slow.poll() is None else None
        slow.wait()
