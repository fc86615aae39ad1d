"""The contract of a bench section: a name, a title, ``run``, ``render`` and ``targets``.

Each module under ``bench/sections/`` ends with one ``SECTION = Section(...)``. ``run``
returns plain JSON data (it runs in a child process, so its peak memory is its own);
``render`` and ``targets`` are pure functions of that data, so the report is made, and
tested, without running anything. A section knows its own JSON; nothing else does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

Result = dict[str, Any]


class Target(TypedDict):
    """One target with what a run measured and whether it is met."""

    target: str
    measured: str
    met: bool


def no_targets(result: Result) -> list[Target]:
    return []


@dataclass(frozen=True)
class Section:
    name: str  # the key in the report's "sections" and in --sections
    title: str  # the report's heading
    run: Callable[..., Result]  # run(ctx: BenchContext, ...) -> JSON data
    render: Callable[[Result], list[str]]  # Markdown lines of a successful result
    targets: Callable[[Result], list[Target]] = no_targets
