"""A sentence-transformers embedder (default: EmbeddingGemma-300M, loaded from a local folder)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.base import Embedder, Kind
from rag.errors import ModelError


class SentenceTransformerEmbedder(Embedder):
    """Uses the model's own prompts: ``encode_query`` for questions and the
    document prompt ``title: {title} | text: {passage}`` with the article title
    in the title slot (the model was trained with that slot)."""

    def __init__(
        self,
        path: Path,
        model_id: str,
        dimension: int = 768,
        batch_size: int = 8,
        max_seq_length: int = 512,
        threads: int | None = None,
        device: str = "auto",
    ) -> None:
        self.path = Path(path)
        self.model_id = model_id
        self.dimension = dimension
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.threads = threads
        self.device = device  # "auto" until the model loads, then the one it runs on
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            # No hub here: never let transformers try to reach one.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            # Imported lazily: torch + transformers take seconds to import.
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()  # "Loading weights" noise on stderr

            if self.threads:
                torch.set_num_threads(self.threads)
            if not (self.path / "modules.json").is_file():
                raise ModelError(
                    f"no sentence-transformers model at {self.path}; run `rag models fetch`"
                )
            from rag.embed.device import resolve_device

            self.device = resolve_device(self.device)
            try:
                model = SentenceTransformer(
                    str(self.path), device=self.device, truncate_dim=self.dimension
                )
            except Exception as exc:  # a broken folder: say so in one line
                raise ModelError(f"cannot load embedding model {self.path}: {exc}") from None
            model.max_seq_length = self.max_seq_length
            self._model = model
        return self._model

    def encode(
        self,
        texts: Sequence[str],
        kind: Kind,
        titles: Sequence[str] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        model = self.model
        if kind == "query":
            out = model.encode_query(
                list(texts), batch_size=self.batch_size, show_progress_bar=progress
            )
        elif kind == "word":
            # the model's similarity prompt: a word and its translation score 0.79-0.95,
            # a sibling ("Swede" for "датчанин") at most 0.78 (eval/experiments/honest.md)
            prompt = "STS" if "STS" in getattr(model, "prompts", {}) else None
            out = model.encode(list(texts), prompt_name=prompt, batch_size=64,
                               show_progress_bar=progress)  # fmt: skip
        else:
            titles = titles or ["none"] * len(texts)
            inputs = [
                f"title: {_title(t)} | text: {text}" for t, text in zip(titles, texts, strict=True)
            ]
            # prompt="" : the title prompt is already in the inputs.
            out = model.encode_document(
                inputs, prompt="", batch_size=self.batch_size, show_progress_bar=progress
            )
        return np.asarray(out, dtype=np.float32)


def _title(title: str) -> str:
    title = " ".join(title.split())
    return title or "none"
