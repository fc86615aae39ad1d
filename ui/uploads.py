"""Uploaded files into the corpus folder, safely (no Gradio here: the HTTP API uses it too)."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

from rag.errors import BadInputError
from rag.ingest.load import SUPPORTED

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
    safe = safe_upload_name(name)
    if Path(safe).suffix not in SUPPORTED:
        kinds = ", ".join(sorted(SUPPORTED))
        raise BadInputError(f"{safe}: not a supported file type (use {kinds})")
    size = src.stat().st_size
    if size > max_bytes:
        raise BadInputError(f"{safe}: {size:,} bytes is over the {max_bytes:,}-byte upload limit")
    uploads.mkdir(parents=True, exist_ok=True)
    dest = (uploads / safe).resolve()
    if dest.parent != uploads.resolve():  # cannot happen after sanitising; never write outside
        raise BadInputError(f"{name}: not a usable file name")
    shutil.copyfile(src, dest)
    return dest
