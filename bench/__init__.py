"""The benchmark suite: every stage of the pipeline timed against a baseline, in one run.

Not part of the installed package: it runs from a checkout, as ``python -m bench`` (or
``rag bench``, which imports it from there). One module per section under
``bench/sections/``, each ending with a :class:`bench.contract.Section` (name, title,
``run(ctx) -> dict``, ``render``, ``targets``); ``runner`` runs the sections (each in a
fresh process, so its peak memory is its own), ``report`` puts the sections' tables and
targets into the printed report and the ``bench/results/<timestamp>.{json,md}`` files.
Corpora are generated reproducibly from the seeds' real sentences (``corpus``); vectors
for the large search sizes are synthetic and clustered (``vectors``), and the report
says so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.contract import Section

# The sections, in report order; importable without loading any of them (the CLI).
SECTIONS = ("build", "embed", "search", "answer", "api", "baseline", "resume", "threads", "scale",
            "archive")  # fmt: skip
# threads runs the slow setting on purpose, scale starts a Ray of its own, archive reads
# the 1,000-article corpus: full runs only, never in --quick
FULL_ONLY = ("threads", "scale", "archive")


def section(name: str) -> Section:
    """The section called ``name`` (its module is imported now, not before)."""
    if name not in SECTIONS:
        raise ValueError(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
    found: Section = importlib.import_module(f"bench.sections.{name}").SECTION
    return found
