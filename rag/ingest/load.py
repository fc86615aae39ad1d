"""Read article files (text, Markdown, HTML; PDF and Word through ``rag.ingest.formats``)
from disk into cleaned ``Document``s.

Loading a corpus must not stop at the first bad file: ``load_paths`` returns
what it could load plus one ``LoadProblem`` per file it could not, so the CLI
can index the rest and say what was skipped and why.
"""

from __future__ import annotations

import codecs
import datetime
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from rag.errors import BadInputError
from rag.ingest import formats
from rag.ingest.clean import CleanedText, clean_text, extract_html
from rag.ingest.markdown import FRONT_MATTER, markdown_to_text
from rag.types import Document

# Every file type the index reads (uploads accept the same): text, then formats.LOADERS.
SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", *formats.LOADERS}
MAX_BYTES = 20 * 1024 * 1024  # one article is kilobytes; 20 MB is a mistake or a dump
# Old Russian sites and Windows tools still write these single-byte encodings.
CYRILLIC_ENCODINGS = ["cp1251", "koi8_r"]
_UNPRINTABLE_MAX = 0.1  # share of control characters above which text is "binary"


@dataclass(frozen=True)
class LoadProblem:
    """A file that was skipped, and why (one line)."""

    path: str
    reason: str


class _Skip(Exception):
    """Internal: the file cannot be loaded; ``reason`` is the one-line why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- bytes -> text -------------------------------------------------------------


def _looks_binary(text: str) -> bool:
    """Too many control characters for text: a binary file that decoded anyway."""
    sample = text[:100_000]
    bad = sum(
        1
        for ch in sample
        if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    )
    return bad > _UNPRINTABLE_MAX * max(len(sample), 1)


def decode_bytes(data: bytes) -> str:
    """Decode a text file: UTF-8 (BOM or not), else cp1251/koi8-r, else refuse.

    Strict UTF-8 first, because a valid UTF-8 file is almost never anything
    else; charset-normalizer then only has to tell the Cyrillic 8-bit
    encodings apart, which it does from letter frequencies.
    """
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                raise BadInputError(f"not valid {encoding} text") from None
            break
    else:
        if b"\x00" in data:
            raise BadInputError("not valid text (binary?)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":  # a scrape cut mid-character
                return decode_bytes(data[: exc.start])
            best = from_bytes(data, cp_isolation=CYRILLIC_ENCODINGS).best()
            if best is None:
                raise BadInputError("not valid text (binary?)") from None
            text = str(best)
    if _looks_binary(text):
        raise BadInputError("not valid text (binary?)")
    return text


# --- files -> documents ---------------------------------------------------------


def _clean(text: str, suffix: str) -> CleanedText:
    """Dispatch on the file type; a .txt that is really a saved page counts as HTML."""
    if suffix in {".html", ".htm"} or re.match(r"(?i)\s*<(?:!doctype html|html)", text):
        title, text = extract_html(text)
        return clean_text(text, title_hint=title)
    if suffix in {".md", ".markdown"}:
        title, text = markdown_to_text(text)
        return clean_text(text, title_hint=title)
    return clean_text(text)


def _read(path: Path) -> bytes:
    """The file's bytes, after the checks that need no reading."""
    try:
        if not path.is_file():
            raise _Skip("does not exist" if not path.exists() else "not a file")
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED:
            raise _Skip(f"unsupported type {suffix or '(no extension)'}")
        size = path.stat().st_size
        if size > MAX_BYTES:
            mb, limit = size / 2**20, MAX_BYTES / 2**20
            raise _Skip(f"too large ({mb:.1f} MB, limit {limit:.0f} MB)")
        return path.read_bytes()
    except OSError as exc:
        raise _Skip(f"cannot read ({exc.strerror or exc})") from None


def _doc_id(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with "/" on every OS, so ids are portable."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


# --- metadata a user gives: a sidecar JSON, Markdown front matter ----------------

META_KEYS = ("date", "source", "title")
# (.*) and rstrip, not a lazy (.*?)\s*$: that re-reads each run of spaces per character.
_FRONT_LINE = re.compile(r"^\s*(date|source|title)\s*:\s*(.*)$", re.IGNORECASE)


def _meta_date(value: str) -> str | None:
    """An ISO date from a metadata value ("2025-03-04", "2025-03-04T10:00Z", "4 марта 2025")."""
    from rag.ingest.clean import _date_from_line

    m = re.match(r"\s*(\d{4}-\d{2}-\d{2})", value)
    if m:
        try:
            return datetime.date.fromisoformat(m.group(1)).isoformat()
        except ValueError:
            return None
    return _date_from_line(value)


def _checked_meta(raw: dict[str, object], where: str) -> dict[str, str]:
    meta = {}
    for k in META_KEYS:
        value = raw.get(k)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise _Skip(f"{where}: {k} must be a string")
        if k == "date":
            date = _meta_date(value)
            if date is None:
                raise _Skip(f"{where}: date {value!r} is not a date (use YYYY-MM-DD)")
            value = date
        meta[k] = " ".join(value.split())
    return meta


def _sidecar(path: Path) -> dict[str, str]:
    """``article.html.json`` beside ``article.html``: {"date", "source", "title"} (any)."""
    side = path.with_name(path.name + ".json")
    if not side.is_file():
        return {}
    try:
        raw = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _Skip(f"sidecar {side.name} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise _Skip(f"sidecar {side.name} must hold a JSON object")
    return _checked_meta(raw, f"sidecar {side.name}")


def _front_matter(text: str) -> dict[str, str]:
    """``date:``/``source:``/``title:`` lines of a Markdown file's front matter."""
    m = FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not m:
        return {}
    raw = {}
    for line in m.group(0).split("\n")[1:-2]:
        if fm := _FRONT_LINE.match(line):
            raw[fm.group(1).lower()] = fm.group(2).rstrip().strip("'\"")
    return _checked_meta(raw, "front matter")


def _load(path: Path, root: Path) -> Document:
    """One file to a Document; raises _Skip with the reason it cannot be used.

    Metadata given with the file (a sidecar JSON, else Markdown front matter)
    takes precedence over what the text states; it is part of the document's
    hash, so changing it re-indexes the article.
    """
    data, suffix = _read(path), path.suffix.lower()
    text, pages = "", tuple[int, ...]()
    try:
        if suffix in formats.LOADERS:  # a binary format: its own module reads it
            cleaned, pages = formats.clean(formats.extract(suffix, data))
        elif not (text := decode_bytes(data)).strip():
            raise _Skip("empty file")
        else:
            cleaned = _clean(text, suffix)
    except (BadInputError, formats.FormatError) as exc:
        raise _Skip(str(exc)) from None
    meta = _sidecar(path) or (_front_matter(text) if suffix in {".md", ".markdown"} else {})
    if not cleaned.text.strip():
        raise _Skip("empty after cleaning")
    digest = cleaned.text if not meta else f"{cleaned.text}\0{json.dumps(meta, sort_keys=True)}"
    digest += f"\0pages {pages}" if pages else ""  # new page breaks: new chunk pages
    return Document(
        doc_id=_doc_id(path, root),
        title=meta.get("title") or cleaned.title,
        text=cleaned.text,
        sha256=hashlib.sha256(digest.encode("utf-8")).hexdigest(),
        date=meta.get("date") or cleaned.date,
        source=meta.get("source") or cleaned.source,
        path=str(path),
        pages=pages,
    )


def load_document(path: Path, root: Path) -> Document:
    """Load one file; ``doc_id`` is its path relative to ``root`` (POSIX separators).

    Raises BadInputError("<path>: <reason>") when the file cannot be used.
    """
    try:
        return _load(Path(path), Path(root))
    except _Skip as skip:
        raise BadInputError(f"{path}: {skip.reason}") from None


def _walk(folder: Path) -> tuple[list[Path], list[LoadProblem]]:
    """Supported, non-hidden files under ``folder``, sorted by relative path."""
    problems: list[LoadProblem] = []

    def on_error(exc: OSError) -> None:
        problems.append(LoadProblem(str(exc.filename), f"cannot read folder ({exc.strerror})"))

    files = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=on_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED:
                files.append(Path(dirpath) / name)
    return sorted(files, key=lambda f: f.relative_to(folder).as_posix()), problems


def load_item(path: Path, root: Path) -> Document | LoadProblem:
    """One file: its Document, or the LoadProblem that says why it was skipped (never
    raises for a bad file; what a parallel loader maps over the files)."""
    try:
        return _load(Path(path), Path(root))
    except _Skip as skip:
        return LoadProblem(str(path), skip.reason)


def list_files(paths: Sequence[Path]) -> tuple[list[tuple[Path, Path]], list[LoadProblem]]:
    """(file, the root its doc_id is relative to) for each file the paths name, in order
    (folders walked), and the folders that could not be read."""
    items: list[tuple[Path, Path]] = []
    problems: list[LoadProblem] = []
    for arg in map(Path, paths):
        if arg.is_dir():
            files, walk_problems = _walk(arg)
            problems += walk_problems
            items += [(f, arg) for f in files]
        else:
            items.append((arg, arg.parent))
    return items, problems


LoadMany = Callable[[Sequence[tuple[Path, Path]]], Sequence["Document | LoadProblem"]]


def _load_each(items: Sequence[tuple[Path, Path]]) -> list[Document | LoadProblem]:
    return [load_item(path, root) for path, root in items]


def load_paths(
    paths: Sequence[Path], load_many: LoadMany | None = None
) -> tuple[list[Document], list[LoadProblem]]:
    """Load files and folders (walked recursively); never raises for one bad file.

    A folder's files get doc_ids relative to that folder; a file given directly
    gets its file name. Two different files with the same doc_id would overwrite
    each other in the index, so the second one is reported instead.
    ``load_many`` loads the files (``load_item`` over each, in order; a distributed
    engine maps it over the files in parallel); the default loads them one by one.
    """
    items, problems = list_files(paths)
    unique = list({path.resolve(): (path, root) for path, root in items}.items())
    loaded = (load_many or _load_each)([item for _, item in unique])
    results = {where: result for (where, _), result in zip(unique, loaded, strict=True)}
    docs: list[Document] = []
    seen: dict[str, Path] = {}  # doc_id -> the file it came from
    for path, root in items:
        doc_id = _doc_id(path, root)
        where = path.resolve()
        first = seen.get(doc_id)
        if first is not None:
            if first != where:  # the same file given twice is no problem
                problems.append(LoadProblem(str(path), f"duplicate doc_id {doc_id} (also {first})"))
            continue
        result = results[where]
        if isinstance(result, LoadProblem):
            problems.append(result)
            continue
        docs.append(result)
        seen[doc_id] = where
    return docs, problems
