"""Resume: a build SIGKILLed at random points continues from its checkpoint.

A child process builds a generated corpus with a slowed, deterministic hashing
embedder (the model is not what is measured here: the checkpoint is) and is
killed ``KILLS`` times (``QUICK_KILLS`` with --quick) at random points: the
first while it starts, each other after 1-3 more committed shards and a random
delay. Each rerun is the same command. Reported: whether any rerun embedded a
passage that was committed to the checkpoint before it started (must be 0),
the passages embedded twice because a kill lost the shard in progress (at most
one shard per kill), and whether the final index equals an uninterrupted build
(same chunk ids, same vectors).

Run as ``python -m bench.sections.resume INDEX_DIR CORPUS_DIR LOG`` it is that child.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import BenchContext
from bench.contract import Result, Section, Target
from rag.config import PROJECT_ROOT, Config, load_config
from rag.embed.base import Embedder, Kind

KILLS, QUICK_KILLS = 20, 3
SHARD = 16  # passages per checkpoint shard
DELAY_S = 0.01  # per passage: the slowed embedder
DIMENSION = 64
_WORD = re.compile(r"\w+")


class HashEmbedder(Embedder):
    """Bag of words hashed into 64 buckets (deterministic); ``delay`` seconds a text;
    with ``log`` it appends each document text it starts on (one JSON string a line)."""

    model_id = "bench/hashed-bag-of-words"
    dimension = DIMENSION

    def __init__(self, delay: float = 0.0, log: Path | None = None) -> None:
        self.delay, self.log = delay, log

    def encode(
        self,
        texts: Sequence[str],
        kind: Kind,
        titles: Sequence[str] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            if self.log is not None and kind == "document":
                with self.log.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(text, ensure_ascii=False) + "\n")
            time.sleep(self.delay)
            for word in _WORD.findall(text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMENSION] += 1.0
        return out


def resume_config(base: Config, index_dir: Path) -> Config:
    return replace(
        base,
        paths=replace(base.paths, index_dir=index_dir),
        embedding=replace(base.embedding, model_id=HashEmbedder.model_id, sha256="",
                          dimension=DIMENSION),
        index=replace(base.index, checkpoint_passages=SHARD),
    )  # fmt: skip


def _child(index_dir: Path, corpus: Path, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bench.sections.resume", str(index_dir), str(corpus), str(log)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _checkpointed(index_dir: Path) -> set[str]:
    from rag.index import store

    out: set[str] = set()
    for meta in (index_dir / store.CHECKPOINT).glob("shard-*.json"):
        try:
            out.update(json.loads(meta.read_text(encoding="utf-8"))["keys"])
        except (OSError, ValueError, KeyError):
            continue  # being written this instant: counted at the next look
    return out


def _kill(proc: subprocess.Popen[str], index_dir: Path, before: int, rng: random.Random,
          first: bool) -> bool:  # fmt: skip
    """Wait until the child has checkpointed 1 to 3 more shards (the first round: none),
    then SIGKILL it a random moment later; False when it had finished by then."""
    target = before + SHARD * (0 if first else rng.randint(1, 3))
    deadline = time.time() + 120
    while proc.poll() is None and len(_checkpointed(index_dir)) < target:
        if time.time() > deadline:
            break
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.2))
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    return True


def run(ctx: BenchContext) -> dict[str, Any]:
    from bench.corpus import generate_articles, seed_sentences, write_corpus
    from rag.index import store
    from rag.index.checkpoint import key
    from rag.ingest.load import load_paths
    from rag.pipeline import Pipeline

    kills = QUICK_KILLS if ctx.quick else KILLS
    corpus = ctx.work_dir / "resume-corpus"
    n_articles = 30 if ctx.quick else 320  # more passages than the kills can get through
    write_corpus(corpus, generate_articles(seed_sentences([ctx.seeds_dir]), n_articles, ctx.seed))
    reference = Pipeline(resume_config(ctx.config, ctx.work_dir / "resume-ref"), HashEmbedder())
    with_ref = reference.build([corpus])
    docs, _ = load_paths([corpus])
    text_of = {key(c): c.text for d in docs for c in reference.chunk(d)}

    index_dir, log = ctx.work_dir / "resume-index", ctx.work_dir / "resume-embedded.jsonl"
    rng = random.Random(f"rag-bench-resume:{ctx.seed}")
    started = time.perf_counter()
    rounds, mid_embedding, embedded_total, reembedded = 0, 0, 0, 0
    while True:
        before = _checkpointed(index_dir)
        proc = _child(index_dir, corpus, log)
        killed = rounds < kills and _kill(proc, index_dir, len(before), rng, first=rounds == 0)
        code = proc.wait(timeout=600)
        if not killed and code != 0:
            err = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
            raise RuntimeError(f"the build failed: {err[-1] if err else code}")
        texts = [json.loads(x) for x in log.read_text("utf-8").splitlines()] if log.exists() else []
        log.unlink(missing_ok=True)
        embedded_total += len(texts)
        # a text may be the passage of several articles: count, per text, more embeddings
        # than passages with that text that were not yet checkpointed
        open_texts = Counter(t for k, t in text_of.items() if k not in before)
        reembedded += sum(max(0, n - open_texts[t]) for t, n in Counter(texts).items())
        mid_embedding += bool(killed and texts)
        if not killed:
            break
        rounds += 1
    resumed, ref = store.load(index_dir), store.load(reference.config.index_dir)
    identical = [c.chunk_id for c in resumed.chunks] == [c.chunk_id for c in ref.chunks] and bool(
        np.array_equal(resumed.vectors(), ref.vectors())
    )
    to_embed = len({key(c) for c in ref.chunks})
    return {
        "kills": rounds,
        "killed_while_embedding": mid_embedding,
        "passages": to_embed,
        "articles": with_ref.n_documents,
        "shard_passages": SHARD,
        "embedded_total": embedded_total,
        "embedded_twice": embedded_total - to_embed,
        "reembedded_after_checkpoint": reembedded,
        "identical_to_uninterrupted": identical,
        "rounds_s": round(time.perf_counter() - started, 1),
    }


def targets(r: Result) -> list[Target]:
    """Nothing checkpointed embedded again, and the final index as if never killed."""
    if "kills" not in r:
        return []
    return [{
        "target": "a killed build resumes: nothing checkpointed re-embedded, final index "
        "identical",
        "measured": f"{r['kills']} kills, {r['reembedded_after_checkpoint']} re-embedded, "
        f"identical: {r['identical_to_uninterrupted']}",
        "met": r["reembedded_after_checkpoint"] == 0 and r["identical_to_uninterrupted"],
    }]  # fmt: skip


def render(r: Result) -> list[str]:
    return [
        f"A build of {r['articles']} generated articles ({r['passages']} passages, slowed "
        f"hashing embedder, shards of {r['shard_passages']}) SIGKILLed {r['kills']} times "
        f"({r['killed_while_embedding']} while embedding), then run to the end: passages "
        f"embedded again although checkpointed **{r['reembedded_after_checkpoint']}**; embedded "
        f"twice because a kill lost its shard in progress {r['embedded_twice']} (at most "
        f"{r['kills'] * r['shard_passages']}); final index identical to an uninterrupted build: "
        f"**{'yes' if r['identical_to_uninterrupted'] else 'NO'}** ({r['rounds_s']} s).",
    ]


SECTION = Section("resume", "Resume: a build killed at random points", run, render, targets)


def main(argv: list[str]) -> int:
    index_dir, corpus, log = Path(argv[0]), Path(argv[1]), Path(argv[2])
    from rag.pipeline import Pipeline

    config = resume_config(load_config(), index_dir)
    Pipeline(config, embedder=HashEmbedder(DELAY_S, log)).build([corpus])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
