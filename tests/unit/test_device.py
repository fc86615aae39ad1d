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


def test_status_shows_the_device(fake_pipeline: Pipeline, corpus: Path) -> None:
    fake_pipeline.build([corpus])
    fake_pipeline.embedder.device = "cuda"  # type: ignore[attr-defined]  # as a loaded model says
    out = CliRunner().invoke(main, ["index", "status"], obj={"pipeline": fake_pipeline}).output
    assert "dims, on cuda)" in out
    status = CliRunner().invoke(
        main, ["index", "status", "--json"], obj={"pipeline": fake_pipeline}
    )
    assert json.loads(status.output)["embedding_device"] == "cuda"
