"""Which device the embedder runs on: ``embedding.device`` ("auto" picks a GPU if any)."""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path

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
    if "torch" not in sys.modules and _cpu_only_build():
        return "cpu"  # a CPU build of torch sees no GPU; known without importing it
    import torch  # lazy: seconds to import

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _cpu_only_build() -> bool:
    """torch/version.py of a CPU build says ``cuda = None`` (and no ROCm): no GPU to find.
    Apple's MPS needs no CUDA, so on macOS torch is asked."""
    if sys.platform == "darwin":
        return False
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return True  # no torch at all: the embedder cannot use a GPU either
    try:
        text = (Path(spec.origin).parent / "version.py").read_text(encoding="utf-8")
    except OSError:
        return False
    cuda = re.search(r"^cuda\b[^=]*=\s*(.+)$", text, re.MULTILINE)
    hip = re.search(r"^hip\b[^=]*=\s*(.+)$", text, re.MULTILINE)
    return all(m is not None and m.group(1).strip() == "None" for m in (cuda, hip))
