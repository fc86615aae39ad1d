"""Uploads into the index: the one path the chat UI and the HTTP API both take (no
Gradio here).

``add_uploads`` checks every file (name, type, size), writes them to a hidden staging
folder inside the corpus folder (each file fsynced), indexes them in one update, and
only then moves the accepted ones to ``corpus_dir/uploads/`` (renames, then an fsync of
the folder); files the index refused are deleted with the staging folder. Uploads live
in their own id namespace, ``uploads/NAME``: the id ``rag index build`` of the corpus
folder gives the same file, and never the id of an article of the indexed folder, so
an upload cannot replace one. ``remove_documents`` takes articles out of the index and
deletes an upload's file too, so a later build does not bring it back.
Messages name files by their upload names, never by server paths.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from rag.errors import BadInputError, RagError
from rag.ingest.load import SUPPORTED

UPLOADS = "uploads"  # the folder under corpus_dir, and the uploads' doc_id prefix
KINDS = ".txt, .md, .html, .pdf or .docx"  # what a person is told to choose
_CHUNK = 1 << 16

_UNSAFE = re.compile(r"[^\w.-]+")
_STEM_BYTES = 200  # file systems allow 255 bytes per name; a letter can take 4 of them


def safe_upload_name(name: str) -> str:
    """A file name that is safe to create in the uploads folder.

    Only the last path component survives (``../../etc/passwd.txt`` becomes
    ``passwd.txt``); characters other than letters, digits, ``.``, ``-`` and
    ``_`` become ``_``; no leading dots (no hidden files); a stem of at most
    100 characters and 200 UTF-8 bytes, so the name fits any file system.
    """
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._")[:100]
    stem = stem.encode()[:_STEM_BYTES].decode(errors="ignore") or "upload"
    suffix = _UNSAFE.sub("", suffix).lower()[:10]
    return f"{stem}.{suffix}" if suffix else stem


def store_upload(src: Path, name: str, uploads: Path, max_bytes: int) -> Path:
    """Copy an uploaded file into ``uploads`` under a sanitised name; refuse bad ones."""
    with src.open("rb") as data:
        return write_upload(data, name, uploads, max_bytes)


def write_upload(data: BinaryIO, name: str, folder: Path, max_bytes: int) -> Path:
    """Write ``data`` to ``folder`` under a sanitised name, fsynced; refuse a bad type,
    a name that would leave the folder, or more than ``max_bytes`` (counted while
    copying: a declared size is not trusted)."""
    safe = safe_upload_name(name)
    if Path(safe).suffix not in SUPPORTED:
        kinds = ", ".join(sorted(SUPPORTED))
        raise BadInputError(f"{safe}: not a supported file type (use {kinds})")
    folder.mkdir(parents=True, exist_ok=True)
    dest = (folder / safe).resolve()
    if dest.parent != folder.resolve():  # cannot happen after sanitising; never write outside
        raise BadInputError(f"{name}: not a usable file name")
    size = 0
    with dest.open("wb") as out:
        while block := data.read(_CHUNK):
            size += len(block)
            if size <= max_bytes:  # past the limit: only counted (the body limit bounds it)
                out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if size > max_bytes:
        dest.unlink()
        raise BadInputError(f"{safe}: {size:,} bytes is over the {max_bytes:,}-byte upload limit")
    return dest


@dataclass(frozen=True)
class UploadOutcome:
    """What one upload request did (doc_ids are ``uploads/NAME``)."""

    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    folded: tuple[str, ...]
    problems: tuple[tuple[str, str], ...]  # (file name, reason)
    n_documents: int
    n_chunks: int


def add_uploads(
    pipeline: Any, files: Sequence[tuple[str, BinaryIO]], config: Any = None
) -> UploadOutcome:
    """Stage, index in one update, then publish ``files`` ((name, data) pairs;
    ``config``: default the pipeline's). A file refused (its type, size, a repeated
    name, or unreadable) is a problem, named as it was given, with its reason."""
    config = config or pipeline.config
    if not files:
        raise BadInputError(f"no files to add (choose {KINDS} files)")
    corpus = config.corpus_dir
    corpus.mkdir(parents=True, exist_ok=True)
    # Hidden, so a build of the corpus folder skips it; inside it, so renames are atomic.
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=corpus))
    try:
        staged, refused = _stage(files, staging / UPLOADS, config.limits.max_upload_bytes)
        report = _index(pipeline, staging, staged, refused) if staged else None
        if report is not None:
            _publish([path for _, path in staged.values()], corpus / UPLOADS)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if report is None:
        return UploadOutcome((), (), (), tuple(refused), *_counts(pipeline))
    return UploadOutcome(tuple(report.added), tuple(report.unchanged), tuple(report.folded),
                         tuple(refused), report.n_documents, report.n_chunks)  # fmt: skip


def _index(
    pipeline: Any,
    staging: Path,
    staged: dict[str, tuple[str, Path]],
    refused: list[tuple[str, str]],
) -> Any:
    """Index the staging folder in one update (doc_ids relative to it: uploads/NAME).
    A file the index refused moves from ``staged`` to ``refused``; None: all were."""
    try:
        report = pipeline.add([staging])
    except BadInputError as exc:  # nothing readable
        refused += [(given, _hide(str(exc), staging)) for given, _ in staged.values()]
        return None
    for problem in report.problems:
        name = Path(problem.path).name
        if name in staged:
            refused.append((staged.pop(name)[0], _hide(problem.reason, staging)))
    return report


def _stage(
    files: Sequence[tuple[str, BinaryIO]], folder: Path, max_bytes: int
) -> tuple[dict[str, tuple[str, Path]], list[tuple[str, str]]]:
    """({safe name: (name given, file written to ``folder``)}, [(name given, why)] of
    those refused)."""
    staged: dict[str, tuple[str, Path]] = {}
    refused: list[tuple[str, str]] = []
    for name, data in files:
        safe = safe_upload_name(name)
        if safe in staged:
            refused.append((name, f"{safe}: another file in the request has this name"))
            continue
        try:
            staged[safe] = (name, write_upload(data, name, folder, max_bytes))
        except BadInputError as exc:
            refused.append((name, str(exc)))
    return staged, refused


def _counts(pipeline: Any) -> tuple[int, int]:
    try:
        status = pipeline.status()
    except RagError:  # no index yet
        return 0, 0
    return int(status["n_documents"]), int(status["n_chunks"])


def _publish(files: Sequence[Path], uploads: Path) -> None:
    uploads.mkdir(parents=True, exist_ok=True)
    for f in files:
        os.replace(f, uploads / f.name)
    _fsync_dir(uploads)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without directory handles (Windows)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hide(message: str, staging: Path) -> str:
    return message.replace(str(staging / UPLOADS) + os.sep, "").replace(str(staging), UPLOADS)


def remove_documents(pipeline: Any, doc_ids: Sequence[str], config: Any = None) -> Any:
    """Take articles out of the index (one update); an upload's file goes too."""
    report = pipeline.remove(list(doc_ids))
    uploads = ((config or pipeline.config).corpus_dir / UPLOADS).resolve()
    for doc_id in report.removed:
        prefix, _, name = doc_id.partition("/")
        path = (uploads / name).resolve()
        if prefix == UPLOADS and name and path.parent == uploads:
            path.unlink(missing_ok=True)
    if report.removed and uploads.is_dir():
        _fsync_dir(uploads)
    return report
