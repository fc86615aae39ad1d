"""A child process that builds an index with a slow fake embedder (for kill tests).

Usage: python -m tests.reliability.build_worker INDEX_DIR CORPUS_DIR [add | compact |
remove DOC_ID...]
The storage, chunking and loading are the real ones; only the model is fake,
slowed down so that kills land in every phase: loading, embedding, writing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.config import load_config
from rag.embed.base import Kind
from rag.pipeline import Pipeline
from tests.fakes import FakeEmbedder


class SlowEmbedder(FakeEmbedder):
    """The fake embedder, 10 ms a text ($RAG_TEST_SLOW seconds); with $RAG_TEST_EMBED_LOG
    it appends each text it starts to embed to that file (one JSON string a line)."""

    def encode(
        self,
        texts: Sequence[str],
        kind: Kind,
        titles: Sequence[str] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        out = []
        delay = float(os.environ.get("RAG_TEST_SLOW", "0.01"))
        log = os.environ.get("RAG_TEST_EMBED_LOG")
        for text in texts:
            if log and kind == "document":
                with open(log, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(text, ensure_ascii=False) + "\n")
            time.sleep(delay)
            out.append(super().encode([text], kind)[0])
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dimension)


def config_for(index_dir: Path):  # type: ignore[no-untyped-def]
    config = load_config(environ={})
    return replace(
        config,
        paths=replace(config.paths, index_dir=index_dir),
        embedding=replace(config.embedding, model_id=FakeEmbedder.model_id, sha256="",
                          dimension=64),
        retrieval=replace(config.retrieval, min_score=0.05),
        # the answer the crash test checks is a queued free-path reply
        generation=replace(config.generation, strategy="free"),
        index=replace(config.index, checkpoint_passages=int(
            os.environ.get("RAG_TEST_CHECKPOINT", config.index.checkpoint_passages))),
    )  # fmt: skip


def main(argv: list[str]) -> int:
    index_dir, corpus = Path(argv[0]), Path(argv[1])
    pipeline = Pipeline(config_for(index_dir), embedder=SlowEmbedder(64))
    if argv[2:] == ["add"]:
        pipeline.add([corpus])
    elif argv[2:] == ["compact"]:
        pipeline.compact()
    elif argv[2:3] == ["remove"]:
        pipeline.remove(argv[3:])
    else:
        pipeline.build([corpus])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
