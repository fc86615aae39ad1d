"""Which device the embedder runs on: ``embedding.device`` ("auto" picks a GPU if any)."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.errors import BadInputError

_NAMED = re.compile(r"cpu|cuda(:\d+)?|mps")


@lru_cache(maxsize=8)
def resolve_device(name: str) -> str:
    """ "auto" -> "cuda" when torch sees a CUDA GPU, "mps" on Apple silicon, else "cpu";
    a named device is checked and returned as is."""
    name = (name or "auto").strip().lower()
    if name != "auto":
        if not _NAMED.fullmatch(name):
            raise BadInputError(
                f"config: embedding.device must be auto, cpu, cuda, cuda:N or mps, got {name!r}"
            )
        return name
    import torch  # lazy: seconds to import, and only a model load or status needs it

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"
