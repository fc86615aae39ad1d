"""The archive-scale test corpus: 1,000+ real Russian news articles, assembled by a script.

Sources (both are Russian Wikinews articles, published by their authors under
Creative Commons Attribution 2.5; see ``bench/ARCHIVE.md`` for the record):

- **NEREL** (github.com/nerel-ds/NEREL, v1.1): 933 Wikinews articles, the text files
  only (its annotations are not used). The first line of each file is the headline.
- **factRuEval-2016** (github.com/dialogue-evaluation/factRuEval-2016, MIT): 254 news
  texts of the OpenCorpora collection (Wikinews and Частный корреспондент), dev and
  test sets, text files only.

Nothing of these texts is committed: ``python -m bench.archive_corpus`` reads the two
repositories (a local clone or mirror, or ``git clone`` from GitHub) and writes one
``.txt`` file per article with a sidecar JSON naming its source, then the nested
scale sets (``scale-5``, ``scale-200``, ``scale-all``): folders of links that hold
the seeds, the eval corpus and a fixed sample of the archive, so the gold questions
run over each size with the same doc ids. The same repositories at the same commits
give the same files on any machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]  # the checkout (bench/ is top level)
EVAL_SETS = (PROJECT / "seeds", PROJECT / "eval" / "corpus")  # what the gold questions ask about


@dataclass(frozen=True)
class Source:
    """One repository of articles: where it is, which files are articles, how to name them."""

    name: str
    url: str
    licence: str
    label: str  # the ``source`` metadata of its articles
    prefix: str  # output file names start with it

    def articles(self, paths: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def out_name(self, path: str) -> str:
        parts = Path(path).parts
        return f"{self.prefix}_{parts[-2].lower()}_{Path(parts[-1]).stem}.txt"


class Nerel(Source):
    def articles(self, paths: Sequence[str]) -> list[str]:
        return sorted(p for p in paths if p.startswith("NEREL-v1.1/") and p.endswith("_text.txt"))

    def out_name(self, path: str) -> str:
        split, name = Path(path).parts[-2:]
        return f"{self.prefix}_{split}_{name.removesuffix('_text.txt')}.txt"


class FactRuEval(Source):
    def articles(self, paths: Sequence[str]) -> list[str]:
        return sorted(
            p for p in paths
            if p.startswith(("devset/", "testset/")) and Path(p).name.startswith("book_")
            and p.endswith(".txt")
        )  # fmt: skip


SOURCES = (
    Nerel(
        "NEREL",
        "https://github.com/nerel-ds/NEREL.git",
        "Russian Wikinews texts, CC BY 2.5 (the repository has no licence of its own)",
        "Викиновости (NEREL)",
        "nerel",
    ),
    FactRuEval(
        "factRuEval-2016",
        "https://github.com/dialogue-evaluation/factRuEval-2016.git",
        "repository MIT; texts from OpenCorpora (Wikinews CC BY 2.5, Частный корреспондент)",
        "OpenCorpora (factRuEval-2016)",
        "frueval",
    ),
)


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def read_files(repo: Path, paths: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of each file at HEAD, read in one ``git cat-file --batch`` (works on
    a bare mirror as on a clone)."""
    query = "".join(f"HEAD:{p}\n" for p in paths).encode()
    out = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"], input=query, check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    pos = 0
    for path in paths:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        if header[-1] == b"missing":
            raise SystemExit(f"error: {path} is missing from {repo}")
        size = int(header[2])
        yield path, out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1


def _repo(source: Source, given: Path | None, tmp: Path) -> Path:
    if given is not None:
        return given
    dest = tmp / source.name
    print(f"cloning {source.url} ...", file=sys.stderr)
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", source.url, str(dest)], check=True)
    return dest


def _text(data: bytes) -> str | None:
    text = data.decode("utf-8-sig", errors="strict").replace("\r\n", "\n").strip()
    return text + "\n" if len(text) >= 200 else None  # a stub is no article


def write_archive(out: Path, repos: dict[str, Path | None]) -> list[dict[str, str]]:
    """Write every article of every source into ``out``; returns the provenance rows."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in SOURCES:
            repo = _repo(source, repos.get(source.name), Path(tmp))
            commit = _git(repo, "rev-parse", "HEAD").decode().strip()
            listed = _git(repo, "ls-tree", "-r", "--name-only", "HEAD").decode().splitlines()
            for path, data in read_files(repo, source.articles(listed)):
                text = _text(data)
                if text is None:
                    continue
                name = source.out_name(path)
                (out / name).write_text(text, encoding="utf-8")
                side = {"source": source.label}
                (out / f"{name}.json").write_text(json.dumps(side, ensure_ascii=False) + "\n")
                rows.append({"file": name, "source": source.name, "path": path,
                             "commit": commit})  # fmt: skip
    (out / "provenance.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return rows


def sample_order(names: Sequence[str]) -> list[str]:
    """A fixed, source-mixing order of the archive files (by a hash of the name)."""
    return sorted(names, key=lambda n: hashlib.sha256(f"rag-archive:{n}".encode()).hexdigest())


def _link(target: Path, folder: Path) -> None:
    link = folder / target.name
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(target, folder))


def write_scale_sets(archive: Path, out: Path, sizes: Sequence[int]) -> dict[str, int]:
    """``scale-<n>`` folders of links (``scale-all`` for everything): the gold set's
    articles first (the seeds alone for n=5), then the archive in ``sample_order``."""
    gold = sorted(p for folder in EVAL_SETS for p in folder.glob("*.txt"))
    seeds = sorted((PROJECT / "seeds").glob("*.txt"))
    extra = [archive / n for n in sample_order([p.name for p in archive.glob("*.txt")])]
    made = {}
    for n in [*sizes, 0]:
        name = f"scale-{n}" if n else "scale-all"
        chosen = seeds[:n] if 0 < n <= len(seeds) else gold + extra[: n - len(gold) if n else None]
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for path in chosen:
            _link(path, folder)
            if (side := path.with_name(path.name + ".json")).is_file():
                _link(side, folder)
        made[name] = len(chosen)
    return made


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.archive_corpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=PROJECT / "bench" / "archive")
    parser.add_argument("--nerel", type=Path, help="a local clone or mirror of NEREL")
    parser.add_argument(
        "--factrueval", type=Path, help="a local clone or mirror of factRuEval-2016"
    )
    parser.add_argument("--sizes", default="5,25,200", help="scale sets besides scale-all")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be numbers, not {args.sizes!r}")
    try:
        rows = write_archive(args.out / "articles",
                             {"NEREL": args.nerel, "factRuEval-2016": args.factrueval})  # fmt: skip
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(exc.cmd[:4])} failed: {exc.stderr or ''}".strip(), file=sys.stderr)
        return 1
    made = write_scale_sets(args.out / "articles", args.out, sizes)
    print(f"{len(rows)} articles in {args.out / 'articles'}; "
          + ", ".join(f"{k}: {v}" for k, v in made.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
