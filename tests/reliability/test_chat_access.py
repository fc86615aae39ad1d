"""Issue 20, the chat: a password off loopback, a read-only mode that the served app
enforces (Gradio's API included), Host and Origin checks, a bounded queue, and a new
index generation picked up between questions. Over the fake pipeline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.pipeline import Pipeline
from tests.fakes import FakeEmbedder
from ui.app import ChatUI, launch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def built(fake_pipeline: Pipeline, corpus: Path, tmp_path: Path) -> Pipeline:
    fake_pipeline.build([corpus])
    config = fake_pipeline.config
    corpus_dir = tmp_path / "chat-corpus"
    fake_pipeline.config = replace(config, paths=replace(config.paths, corpus_dir=corpus_dir))
    return fake_pipeline


def _serve(pipeline: Pipeline, **kwargs: Any) -> Iterator[tuple[str, int]]:
    port = _free_port()
    demo = launch(pipeline, port=port, block=False, **kwargs)
    try:
        yield f"http://127.0.0.1:{port}/", port
    finally:
        demo.close()


@pytest.fixture
def read_only(built: Pipeline) -> Iterator[tuple[str, int]]:
    yield from _serve(built, read_only=True)


# -- High 2: credentials off loopback -----------------------------------------------------
@pytest.mark.parametrize("args", [["--host", "0.0.0.0"], ["--share"], []])
def test_chat_off_loopback_needs_a_password(
    built: Pipeline, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    launched: list[Any] = []
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: launched.append(kw))
    if not args:  # RAG_UI__HOST: the config's host
        built.config = replace(built.config, ui=replace(built.config.ui, host="192.168.1.9"))
    result = CliRunner().invoke(main, ["chat", *args], obj={"pipeline": built})
    assert result.exit_code == 2 and not launched
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "needs a password" in lines[0] and "RAG_UI__PASSWORD" in lines[0]

    built.config = replace(built.config, ui=replace(built.config.ui, password="pw"))
    monkeypatch.setattr(Pipeline, "warm", lambda self, generate=True: None)
    result = CliRunner().invoke(main, ["chat", *args], obj={"pipeline": built})
    assert result.exit_code == 0, result.output
    assert launched[-1]["auth"] == ("rag", "pw")


# -- High 2: read-only ----------------------------------------------------------------------
def test_read_only_chat_has_no_upload_or_removal(built: Pipeline, tmp_path: Path) -> None:
    ui = ChatUI(built, read_only=True)
    demo = ui.build()
    names = {getattr(fn, "api_name", None) for fn in demo.fns.values()}
    assert "_upload_with_progress" not in names and "remove" not in names
    assert "upload" not in {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    src = tmp_path / "x.txt"
    src.write_text("Статья\n\nТекст.", encoding="utf-8")
    assert "read-only" in ui.upload([str(src)])[0]
    assert "read-only" in ui.remove(["a.txt"])[0]
    assert built.status()["n_documents"] == 2
    writable = {getattr(fn, "api_name", None) for fn in ChatUI(built).build().fns.values()}
    assert {"_upload_with_progress", "remove"} <= writable  # the test can tell them apart


def test_a_read_only_chat_refuses_gradio_api_calls(
    read_only: tuple[str, int], built: Pipeline, tmp_path: Path
) -> None:
    from gradio_client import Client, handle_file

    url, _ = read_only
    api = Client(url, verbose=False)
    src = tmp_path / "x.txt"
    src.write_text("Статья\n\nТекст.", encoding="utf-8")
    for name, args in (("/_upload_with_progress", ([handle_file(str(src))],)),
                       ("/remove", (["a.txt"],))):  # fmt: skip
        with pytest.raises(Exception):  # noqa: B017 (no such endpoint: refused by the server)
            api.predict(*args, api_name=name)
    assert built.status()["n_documents"] == 2


# -- High 3: Host and Origin on the chat -----------------------------------------------------
def test_the_chat_refuses_foreign_hosts_and_origins(read_only: tuple[str, int]) -> None:
    url, port = read_only
    assert httpx.get(url, timeout=10).status_code == 200
    r = httpx.get(url, headers={"Host": f"evil.example:{port}"}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_host"
    r = httpx.post(f"{url}gradio_api/queue/join", json={}, timeout=10,
                   headers={"Origin": "http://evil.example"})  # fmt: skip
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_origin"


# -- Low: the queue is bounded; a new index generation is picked up --------------------------
def test_the_chat_queue_is_bounded(built: Pipeline) -> None:
    built.config = replace(built.config, ui=replace(built.config.ui, max_queue=7))
    assert ChatUI(built).build()._queue.max_size == 7  # noqa: SLF001


def test_the_chat_sees_a_new_generation_between_questions(
    built: Pipeline, fake_config: Any, tmp_path: Path
) -> None:
    served = Pipeline(built.config, embedder=FakeEmbedder(64), generator=built.generator)
    ui = ChatUI(served)
    assert "2 articles" in ui.articles()[0]
    _ = served.index  # loaded
    extra = tmp_path / "more" / "c.txt"
    extra.parent.mkdir()
    extra.write_text("Новый спутник\n\nKazSat-3R выведен на орбиту.", encoding="utf-8")
    built.add([extra])  # another process: `rag index add`
    assert "3 articles" in ui.articles()[0]
    assert served.document("c.txt") is not None
