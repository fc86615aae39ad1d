"""Run the bench's sections, each in a fresh process, and gather one report.

A section runs in a spawned child process by default: its peak memory
(``ru_maxrss``) is its own, a model it loads is freed when it ends, and one
section's crash is a line in the report, not the end of the run. Sections run
one after another, never two at once (2 cores). ``embed`` runs first because
it writes the seeds index that ``search`` and ``answer`` read.
"""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench import FULL_ONLY, SECTIONS, machine, report, section
from bench.common import BenchContext
from rag import passive_openmp

QUICK_SECTIONS = tuple(s for s in SECTIONS if s not in FULL_ONLY)
# embed first (it builds the seeds index the others use)
RUN_ORDER = ("embed", *(s for s in SECTIONS if s != "embed"))


def run_section(name: str, ctx: BenchContext) -> dict[str, Any]:
    """One section in this process; an exception becomes ``{"error": ...}``."""
    run = section(name).run
    started = time.perf_counter()
    try:
        result = dict(run(ctx))
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}"}
    result["seconds"] = round(time.perf_counter() - started, 1)
    result.setdefault("peak_rss_mb", machine.peak_rss_mb())
    return result


def _isolated(name: str, ctx: BenchContext) -> dict[str, Any]:
    import multiprocessing

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(run_section, name, ctx).result()
        except Exception as exc:  # the child died (killed, out of memory)
            return {"error": f"the section's process ended: {type(exc).__name__}: {exc}"}


def settings(ctx: BenchContext) -> dict[str, Any]:
    out = asdict(ctx)
    out.pop("config")
    out["embedding"] = asdict(ctx.config.embedding)
    out["generation_model"] = ctx.config.generation.model_id
    out["threads"] = ctx.config.threads
    return dict(json.loads(json.dumps(out, default=str)))  # paths as text


def run_bench(
    ctx: BenchContext,
    sections: Sequence[str] = SECTIONS,
    isolate: bool = True,
    say: Callable[[str], None] = lambda _: None,
    command: str | None = None,
) -> dict[str, Any]:
    """Run the sections (in ``RUN_ORDER``) and return the report (not yet written)."""
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    started = time.perf_counter()
    # the sections (child processes) inherit it; threads.py measures the other setting
    passive_openmp()
    facts = machine.facts()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        ctx = replace(ctx, work_dir=Path(tmp)) if ctx.work_dir == Path() else ctx
        for name in [s for s in RUN_ORDER if s in sections]:
            say(f"bench: {name} ...")
            results[name] = _isolated(name, ctx) if isolate else run_section(name, ctx)
            error = results[name].get("error")
            say(f"bench: {name} {'FAILED: ' + error if error else 'done'} "
                f"({results[name]['seconds']} s)")  # fmt: skip
    facts["load_average_end"] = machine.load_average()
    return {
        "schema": report.SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": "quick" if ctx.quick else "full",
        "command": command or " ".join(shlex.quote(a) for a in ["rag", *sys.argv[1:]]),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": facts,
        "settings": settings(ctx),
        "sections": {name: results[name] for name in SECTIONS if name in results},
    }
