"""The product's size: lines of rag/, server/ and ui/, the largest modules and functions.

``python -m bench.product_size [ROOT]`` (default: this checkout) prints the totals and
what breaks the limits (a module over 400 lines, a function over 60), so a change's
before and after can be compared: ``git worktree add /tmp/main main`` and run it on both.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PRODUCT = ("rag", "server", "ui")
MAX_MODULE, MAX_FUNCTION = 400, 60


def functions(tree: ast.AST) -> list[tuple[str, int]]:
    """``(name, lines)`` of every function and method, decorators included."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out.append((node.name, (node.end_lineno or start) - start + 1))
    return out


def measure(root: Path) -> dict[str, object]:
    modules: list[tuple[str, int]] = []
    funcs: list[tuple[str, int]] = []
    per_package = dict.fromkeys(PRODUCT, 0)
    for package in PRODUCT:
        for path in sorted((root / package).rglob("*.py")):
            text = path.read_text("utf-8")
            name = str(path.relative_to(root))
            lines = len(text.splitlines())
            per_package[package] += lines
            modules.append((name, lines))
            funcs += [(f"{name}::{f}", n) for f, n in functions(ast.parse(text))]
    modules.sort(key=lambda m: -m[1])
    funcs.sort(key=lambda f: -f[1])
    return {
        "lines": per_package,
        "total": sum(per_package.values()),
        "modules": len(modules),
        "largest_module": modules[0],
        "largest_function": funcs[0],
        "modules_over": [m for m in modules if m[1] > MAX_MODULE],
        "functions_over": [f for f in funcs if f[1] > MAX_FUNCTION],
    }


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1]
    got = measure(root)
    print(f"{root}: {got['total']} lines in {got['modules']} modules {got['lines']}")
    print(f"largest module {got['largest_module']}, largest function {got['largest_function']}")
    for key in ("modules_over", "functions_over"):
        print(f"{key.replace('_', ' ')}: {got[key] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
