"""The bench's report: the targets and each section's table, as Markdown and JSON.

Every function here is pure (a report dict in, lines out), so the formatting is tested
without running anything. Each section renders its own table and states its own
targets (``bench/contract.py``); the report puts them together in ``SECTIONS`` order.
A section that failed shows its error in place of its table.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench import SECTIONS, section
from bench.contract import Target
from bench.markdown import fmt, table

SCHEMA = 1


def _results(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(name, result)`` of each section the report holds, in report order."""
    found = report.get("sections", {})
    return [(name, found[name]) for name in SECTIONS if found.get(name) is not None]


def targets(report: dict[str, Any]) -> list[Target]:
    """Every section's targets with what this run measured and whether each is met."""
    return [
        t for name, result in _results(report) if "error" not in result
        for t in section(name).targets(result)
    ]  # fmt: skip


def section_lines(name: str, result: dict[str, Any]) -> list[str]:
    """One section's heading, table (or error) and cost line."""
    part = section(name)
    lines = ["", f"## {part.title}", ""]
    if "error" in result:
        return [*lines, f"Section failed: {result['error']}"]
    return [
        *lines,
        *part.render(result),
        "",
        f"_{fmt(result.get('seconds'), 0)} s; peak RSS {fmt(result.get('peak_rss_mb'))} MB._",
    ]


def machine_line(m: dict[str, Any]) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in m.get("libraries", {}).items())
    flags = ", ".join(m.get("cpu_flags", []))
    return (
        f"Machine: {m.get('cores')} cores ({m.get('cpu_model')}; {flags})"
        f", {fmt(m.get('memory_gb'))} GB RAM, {m.get('os')}, Python {m.get('python')}, "
        f"OMP_WAIT_POLICY {m.get('omp_wait_policy')}; load "
        f"average at start {m.get('load_average')}, at end {m.get('load_average_end')}. {libs}."
    )


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# rag bench ({report.get('mode')}), {report.get('created')}",
        "",
        f"`{report.get('command')}`, {fmt(report.get('seconds'), 0)} s.",
        "",
        machine_line(report.get("machine", {})),
    ]
    if met := targets(report):
        lines += ["", "## Targets", ""]
        lines += table(["target", "measured", "met"], [[t["target"], t["measured"], t["met"]]
                                                       for t in met])  # fmt: skip
    for name, result in _results(report):
        lines += section_lines(name, result)
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """``<out_dir>/<timestamp>[-quick].json`` and ``.md``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S") + ("-quick" if report.get("mode") == "quick" else "")
    base, n = out_dir / stem, 1
    while base.with_suffix(".json").exists():
        n += 1
        base = out_dir / f"{stem}-{n}"
    json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
    json_path.write_text(
        json.dumps(report, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8"
    )
    md_path.write_text(render_markdown(report), "utf-8")
    return json_path, md_path
