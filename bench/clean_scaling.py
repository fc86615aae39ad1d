"""Ingestion time against input size, on adversarial files (issue 20, High 1).

Each case generates files of doubling sizes (nested and repeated markup, long
lines, pathological punctuation, mixed encodings, Markdown that has no closing
delimiters) and times the three steps that run before embedding: ``load`` (read,
decode, clean: ``rag.ingest.load.load_document``), ``clean`` (the cleaning alone,
on the decoded text) and ``chunk`` (``rag.ingest.chunk.chunk`` of the document).
Times are CPU seconds of this process, so other work on the machine does not
count. The run fails (exit 1) when a step grows superlinearly: the time at four
times the size above ``BOUND`` times the time at the size (timings under
``FLOOR`` seconds are raised to it, as timer noise).

    python bench/clean_scaling.py              # 0.25 .. 2 MB, about a minute
    python bench/clean_scaling.py --max-mb 4   # 0.25 .. 4 MB
    python bench/clean_scaling.py --case "md **a "   # one case
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root holds rag/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BOUND = 6.0  # t(4x size) may be at most this many times t(size): linear is 4
FLOOR = 0.02  # seconds: shorter timings are noise
MB = 1 << 20

_PARA = (
    "Космонавт Т. Мусабаев сообщил, что запуск спутника «KazSat-2» состоится 12 мая "
    "2025 г. на космодроме Байконур, сообщает агентство Kazinform. "
)


def _repeat(unit: str, size: int, head: str = "", tail: str = "") -> str:
    n = max(1, (size - len(head.encode()) - len(tail.encode())) // max(1, len(unit.encode())))
    return head + unit * n + tail


def _paragraphs(size: int, head: str = "") -> str:
    """Article paragraphs, each a little different (repeats in a row are dropped)."""
    n = max(1, size // len((_PARA + "\n\n").encode()))
    return head + "".join(f"{i}. {_PARA}\n\n" for i in range(n))


def _nested(open_tag: str, close_tag: str, inner: str, size: int) -> str:
    depth = max(1, size // (len(open_tag) + len(close_tag)))
    return "<html><body>" + open_tag * depth + inner + close_tag * depth + "</body></html>"


# name -> (file suffix, text of about ``size`` bytes)
CASES: dict[str, tuple[str, Callable[[int], str]]] = {
    "initials А. А. А.": (".txt", lambda n: _repeat("А. ", n)),
    "prose paragraphs": (".txt", lambda n: _paragraphs(n, "Заголовок новости\n\n")),
    "one long line": (".txt", lambda n: _repeat("слово ", n, "Заголовок новости\n\n")),
    "dots ....": (".txt", lambda n: _repeat(".", n, "Заголовок новости\n\n")),
    "punct !?… runs": (".txt", lambda n: _repeat("!?…» ", n, "Заголовок новости\n\n")),
    "short junk lines": (".txt", lambda n: _repeat("Домой › Новости › Космос\n0\n", n)),
    "underscores a_a_": (".txt", lambda n: _repeat("a_", n)),
    "spaced newlines": (".txt", lambda n: _repeat("Т.  \n \n\t", n, "Заголовок новости\n\n")),
    "blank-ish lines": (".txt", lambda n: _repeat("\u200b \n\ufeff\u00ad\n", n, "Заголовок\n")),
    "nested <article>": (".html", lambda n: _nested("<article><p>x", "</p></article>", _PARA, n)),
    "deep <div><nav>": (".html", lambda n: _nested("<div><nav>меню</nav>", "</div>", _PARA, n)),
    "deep <div> text": (".html", lambda n: _nested("<div>" + _PARA[:40], "</div>", _PARA, n)),
    "<span> </span> runs": (
        ".html",
        lambda n: _repeat("<span> </span>", n, "<html><body><article><h1>Заголовок</h1><p>", "x"),
    ),
    "many <p> paragraphs": (
        ".html",
        lambda n: _repeat(f"<p>{_PARA}</p>", n, "<html><body><article><h1>Заголовок</h1>"),
    ),
    "<span>s then <div>s": (
        ".html",
        lambda n: "<html><body>" + "<span>" * (n // 22) + "<div>x</div>" * (n // 22),
    ),
    "misnested <b><div></b>": (".html", lambda n: _repeat("<b><div>x</b>y", n, "<html><body>")),
    "unclosed <a> <table>": (".html", lambda n: _repeat("<a>x<table>y", n, "<html><body>")),
    "tag soup <<a <!--": (".html", lambda n: _repeat("<<a <!-- <x y='>' ", n, "<html><body>")),
    "md **a ": (".md", lambda n: _repeat("**a ", n, "# Заголовок\n\n")),
    "md _a *b ~~c ": (".md", lambda n: _repeat("_a *b ~~c __d ", n, "# Заголовок\n\n")),
    "md [[[ ![a]( ": (".md", lambda n: _repeat("[[ ![a]( [b][ <http://x ", n, "# Т\n\n")),
    "md heading spaces": (".md", lambda n: "# a" + " " * max(1, n - 5) + "b"),
    "md front matter": (".md", lambda n: "---\ntitle: a" + " " * max(1, n - 30) + "b\n---\nx"),
    "cp1251 + utf-8": (".txt", lambda n: _paragraphs(n * 9 // 5)),  # 1 byte a letter: _bytes
}


def _bytes(name: str, text: str) -> bytes:
    """The file's bytes: cp1251 with a stray UTF-8 line for the mixed-encoding case."""
    if name.startswith("cp1251"):
        return text.encode("cp1251", "replace") + "\nцитата «UTF-8»\n".encode()
    return text.encode("utf-8")


@dataclass(frozen=True)
class Row:
    case: str
    step: str
    size: int
    seconds: float


def _cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def _time_case(name: str, size: int, folder: Path) -> list[Row]:
    from rag.errors import BadInputError
    from rag.ingest.chunk import chunk
    from rag.ingest.load import _clean, decode_bytes, load_document
    from rag.types import Document

    suffix, make = CASES[name]
    path = folder / f"case{suffix}"
    path.write_bytes(_bytes(name, make(size)))
    real = path.stat().st_size
    text = decode_bytes(path.read_bytes())
    rows = [Row(name, "clean", real, _cpu(lambda: _clean(text, suffix)))]
    docs: list[Document] = []

    def load() -> None:
        try:
            docs.append(load_document(path, folder))
        except BadInputError:  # nothing left after cleaning: there is nothing to chunk
            pass

    rows.append(Row(name, "load", real, _cpu(load)))
    if docs:
        rows.append(Row(name, "chunk", real, _cpu(lambda: chunk(docs[0]))))
    return rows


def _best_of(name: str, sizes: list[int], folder: Path, runs: int) -> list[Row]:
    """Each step's least time over ``runs`` runs at each size."""
    best: dict[tuple[str, int], Row] = {}
    for _ in range(runs):
        for size in sizes:
            for row in _time_case(name, size, folder):
                old = best.get((row.step, size))
                best[row.step, size] = row if old is None or row.seconds < old.seconds else old
    return sorted(best.values(), key=lambda r: (r.size, "clean load chunk".index(r.step)))


def _sizes(max_mb: float) -> list[int]:
    sizes: list[int] = []
    size = int(max_mb * MB)
    while size >= MB // 4 and len(sizes) < 5:
        sizes.append(size)
        size //= 2
    return sorted(sizes)


def _check(rows: list[Row]) -> list[str]:
    """Steps whose time at 4x the size is above BOUND x the time at the size."""
    by = {(r.case, r.step, r.size): r.seconds for r in rows}
    failures = []
    for case, step, size in by:
        big = [s for c, st, s in by if c == case and st == step and s >= 3.5 * size]
        for other in big[:1]:
            small, large = max(by[case, step, size], FLOOR), max(by[case, step, other], FLOOR)
            if large > BOUND * small * (other / size) / 4:
                failures.append(
                    f"{case} / {step}: {large:.2f} s at {other / MB:.2f} MB vs "
                    f"{small:.2f} s at {size / MB:.2f} MB (bound {BOUND:g}x per 4x size)"
                )
    return failures


def _table(rows: list[Row]) -> str:
    ref: dict[tuple[str, str], Row] = {}  # the row nearest 1 MB of each case and step
    for r in rows:
        near = ref.get((r.case, r.step))
        if near is None or abs(r.size - MB) < abs(near.size - MB):
            ref[r.case, r.step] = r
    lines = [f"{'case':22} {'step':6} {'MB':>6} {'seconds':>8} {'MB/s':>8} {'x t(1MB)':>9}"]
    for r in rows:
        ratio = f"{r.seconds / max(ref[r.case, r.step].seconds, 1e-3):9.2f}"
        rate = r.size / MB / max(r.seconds, 1e-6)
        lines.append(
            f"{r.case:22} {r.step:6} {r.size / MB:6.2f} {r.seconds:8.3f} {rate:8.1f} {ratio}"
        )
    return "\n".join(lines)


def _summary(rows: list[Row]) -> str:
    """One line a case: its worst growth per 4x size (CPU time above FLOOR) and rate."""
    lines = [f"{'case':22} {'worst t(4x)/t(x)':>17} {'step':6} {'MB/s at largest':>16}"]
    for case in dict.fromkeys(r.case for r in rows):
        mine = [r for r in rows if r.case == case]
        growth = [
            (max(b.seconds, FLOOR) / max(a.seconds, FLOOR), a.step)
            for a in mine
            for b in mine
            if b.step == a.step and 3.5 * a.size <= b.size <= 4.5 * a.size
        ]
        worst, step = max(growth, default=(float("nan"), "-"))
        largest = max(r.size for r in mine)
        rate = min(r.size / MB / max(r.seconds, 1e-6) for r in mine if r.size == largest)
        lines.append(f"{case:22} {worst:17.2f} {step:6} {rate:16.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-mb", type=float, default=2.0, help="largest file (MB)")
    parser.add_argument("--case", action="append", help="only these cases (by name)")
    args = parser.parse_args(argv)
    names = args.case or list(CASES)
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        _time_case(names[0], 1024, Path(tmp))  # imports (langchain, selectolax) untimed
        for name in names:
            rows += _best_of(name, _sizes(args.max_mb), Path(tmp), 1)
        failures = _check(rows)
        for name in {line.split(" / ")[0] for line in failures}:  # timer noise? twice more
            rows = [r for r in rows if r.case != name] + _best_of(
                name, _sizes(args.max_mb), Path(tmp), 3
            )
    print(_table(rows))
    print()
    print(_summary(rows))
    failures = _check(rows)
    print(f"\n{len(names)} cases, {time.perf_counter() - started:.1f} s wall")
    for line in failures:
        print("SUPERLINEAR:", line)
    print("FAIL" if failures else f"OK: every step within {BOUND:g}x time per 4x size")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
