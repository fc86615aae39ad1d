"""embedding.device: "auto" takes the GPU when torch sees one; status shows the device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.embed.device import resolve_device
from rag.errors import BadInputError
from rag.pipeline import Pipeline


def test_named_devices_and_bad_ones() -> None:
    assert resolve_device("cpu") == "cpu" and resolve_device("CUDA:1") == "cuda:1"
    with pytest.raises(BadInputError, match="embedding.device must be auto, cpu"):
        resolve_device("gpu0")


def test_auto_prefers_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    resolve_device.cache_clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    resolve_device.cache_clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    resolve_device.cache_clear()


def test_a_cpu_build_of_torch_is_known_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util
    import sys
    from types import SimpleNamespace

    from rag.embed import device

    (tmp_path / "torch").mkdir()
    version = tmp_path / "torch" / "version.py"
    spec = SimpleNamespace(origin=str(tmp_path / "torch" / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    monkeypatch.setattr(sys, "platform", "linux")
    version.write_text("cuda: Optional[str] = None\nhip: Optional[str] = None\n")
    assert device._cpu_only_build() is True
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # as in a fresh process
    resolve_device.cache_clear()
    assert resolve_device("auto") == "cpu" and "torch" not in sys.modules  # not imported
    resolve_device.cache_clear()
    version.write_text("cuda: Optional[str] = '12.8'\nhip: Optional[str] = None\n")
    assert device._cpu_only_build() is False


def test_status_shows_the_device(fake_pipeline: Pipeline, corpus: Path) -> None:
    fake_pipeline.build([corpus])
    fake_pipeline.embedder.device = "cuda"  # type: ignore[attr-defined]  # as a loaded model says
    out = CliRunner().invoke(main, ["index", "status"], obj={"pipeline": fake_pipeline}).output
    assert "dims, on cuda)" in out
    status = CliRunner().invoke(
        main, ["index", "status", "--json"], obj={"pipeline": fake_pipeline}
    )
    assert json.loads(status.output)["embedding_device"] == "cuda"
