"""UI safety: where the app listens, and what an upload can and cannot do.

Unit layer (fake pipeline, no models). ``tests/unit/test_ui.py`` already checks
a few sanitised names, the default ``launch`` arguments and one mixed upload;
this file goes further:

* the default bind is loopback even with Gradio's own ``GRADIO_SERVER_NAME``
  set, and a real server started without a host listens on 127.0.0.1 only;
* hostile upload names (traversal, absolute paths, backslashes, NUL and
  control characters, very long and unicode names, dots only), as a fixed
  list and as generated names: the file always lands directly in
  ``<corpus_dir>/uploads`` with its bytes intact, or is refused;
* oversize and wrong-type uploads are refused with a one-line message and
  leave nothing behind, both in ``ChatUI.upload`` and in the served app
  (Gradio's ``max_file_size`` and ``file_types`` checks).
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.config import Config, load_config
from rag.errors import BadInputError
from rag.ingest.load import SUPPORTED
from rag.pipeline import Pipeline
from ui.app import ChatUI, launch, safe_upload_name, store_upload

LIMIT = 2_000  # bytes: the upload limit these tests set
CONTENT = "Луноход «Жулдыз»\n\nИнженеры испытают луноход на полигоне в 2031 году.\n".encode()
NAME_MAX = 255  # bytes per file name on Linux file systems


def limited(config: Config, corpus_dir: Path, limit: int = LIMIT) -> Config:
    """``config`` with its corpus in ``corpus_dir`` and a small upload limit."""
    return replace(
        config,
        paths=replace(config.paths, corpus_dir=corpus_dir),
        limits=replace(config.limits, max_upload_bytes=limit),
    )


def tree(root: Path) -> set[str]:
    """Every file and folder under ``root``, relative to it."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def assert_stored_safely(dest: Path, uploads: Path, content: bytes) -> None:
    assert dest.parent == uploads.resolve(), dest  # directly inside uploads/, nowhere else
    assert dest.is_file() and not dest.is_symlink()
    assert dest.read_bytes() == content  # the original bytes, untouched
    name = dest.name
    assert not name.startswith(".") and name not in {".", ".."}
    assert len(name.encode()) <= NAME_MAX
    assert all(ch.isprintable() and ch not in "/\\" for ch in name), repr(name)
    assert dest.suffix in SUPPORTED


# -- where the app listens --------------------------------------------------------
def test_launch_without_a_host_binds_loopback_even_with_gradio_env(
    fake_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gradio reads GRADIO_SERVER_NAME when server_name is None; launch() never passes None."""
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SHARE", "True")
    assert load_config(environ={}).ui.host == "127.0.0.1"
    seen: dict[str, Any] = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    launch(fake_pipeline, block=False)
    assert seen["server_name"] == "127.0.0.1" and seen["share"] is False
    launch(fake_pipeline, host=None, port=None, share=False, block=False)
    assert seen["server_name"] == "127.0.0.1" and seen["share"] is False
    assert seen["max_file_size"] == fake_pipeline.config.limits.max_upload_bytes
    assert seen["show_error"] is False  # no server tracebacks in the browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _outside_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if any."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            address = str(s.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.fixture
def served(
    fake_pipeline: Pipeline, corpus: Path, tmp_path: Path
) -> Iterator[tuple[str, Any, Pipeline]]:
    """The real app over the fake pipeline, started with no host, on a free port."""
    fake_pipeline.config = limited(fake_pipeline.config, tmp_path / "served-corpus")
    fake_pipeline.build([corpus])
    port = _free_port()
    demo = launch(fake_pipeline, port=port, block=False)  # no host: the config's default
    try:
        yield f"http://127.0.0.1:{port}/", demo, fake_pipeline
    finally:
        demo.close()


def test_served_app_listens_on_loopback_only(served: tuple[str, Any, Pipeline]) -> None:
    url, demo, _ = served
    assert demo.server_name == "127.0.0.1" and demo.server.config.host == "127.0.0.1"
    assert demo.share_url is None
    assert httpx.get(url, timeout=10).status_code == 200
    if outside := _outside_address():  # the same port on the machine's own address: closed
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        with socket.socket() as s:
            s.settimeout(3)
            assert s.connect_ex((outside, port)) != 0, f"app reachable on {outside}:{port}"


# -- hostile names ------------------------------------------------------------------
STORED = [
    "../../x.txt",
    "../../../../../../../../etc/cron.d/x.txt",
    "/etc/passwd.txt",
    "..\\..\\x.md",
    "C:\\Windows\\System32\\drivers\\etc\\hosts.txt",
    "uploads/../../../x.html",
    "./x.htm",
    "....//....//x.markdown",
    "..././x.txt",
    "x.txt/../../y.md",
    "a\x00b.txt",
    "\x00.txt",
    "evil.txt\x00",
    "line\nbreak\r.txt",
    "tab\there\x1b[31m.md",
    "\x7f\x85\u2028.txt",
    "bidi\u202etxt.md",
    "zero\u200bwidth.txt",
    "x" * 300 + ".txt",
    "я" * 300 + ".md",
    "\U00020000" * 120 + ".txt",  # 4-byte letters: 480 bytes before sanitising
    "e\u0301\u0301\u0301" * 80 + ".md",  # combining marks
    "статья о Байконуре.TXT",
    "中文文件名.html",
    "عربي.md",
    "emoji 🚀🛰.txt",
    ".hidden.txt",
    "..txt",
    ".txt",
    " .txt ",
    "x.txt.",
    "x.txt. . .",
    "CON.txt",
    "nul.md",
    "$(rm -rf ~).txt",
    "`id`;|&<>.md",
    "%2e%2e%2fx.txt",
    "x\u2215..\u2215y.txt",  # a division slash is not a separator
    "x\uff0e\uff0e\uff0fy.txt",  # fullwidth dots and slash
    "x.TXT",
    "x.MarkDown",
]
REFUSED = [
    "",
    ".",
    "..",
    "...",
    "." * 300,
    "/",
    "\\",
    "../",
    "../../etc/passwd",
    "x.txt/..",
    "/etc/passwd.txt/.",
    "x.txt\x00.exe",
    "x.txt.exe",
    "x.odt",
    "x.svg",
    "x.php",
    "x.ｔｘｔ",  # fullwidth extension
    "x.tхt",  # Cyrillic х
    "x." + "t" * 50,
    "txt",
    "\x00",
    "\U00020000" * 300,
]


@pytest.mark.parametrize("name", STORED, ids=lambda name: ascii(name)[:40])
def test_hostile_name_lands_inside_uploads_with_its_content(name: str, tmp_path: Path) -> None:
    src = tmp_path / "incoming" / "file"
    src.parent.mkdir()
    src.write_bytes(CONTENT)
    uploads = tmp_path / "corpus" / "uploads"
    dest = store_upload(src, name, uploads, LIMIT)
    assert_stored_safely(dest, uploads, CONTENT)
    assert tree(tmp_path) == {"incoming", "incoming/file", "corpus", "corpus/uploads",
                              f"corpus/uploads/{dest.name}"}  # fmt: skip


@pytest.mark.parametrize("name", REFUSED, ids=lambda name: ascii(name)[:40])
def test_name_without_a_supported_type_is_refused_and_nothing_written(
    name: str, tmp_path: Path
) -> None:
    src = tmp_path / "file"
    src.write_bytes(CONTENT)
    with pytest.raises(BadInputError, match="not a supported file type") as info:
        store_upload(src, name, tmp_path / "corpus" / "uploads", LIMIT)
    assert "\n" not in str(info.value) and "\x00" not in str(info.value)
    assert tree(tmp_path) == {"file"}


PIECES = st.sampled_from(
    ["..", ".", "/", "\\", "\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u202e", "\u200b",
     "\U00020000", "я", "Ё", "a", "Z", "0", " ", "~", "$", "%2e", ":", "*", "?", "|",
     "\u2215", "\uff0f", "e\u0301", "🚀", "-", "_", "'", '"']
)  # fmt: skip
NAMES = st.tuples(
    st.lists(PIECES | st.text(max_size=6), max_size=80).map("".join),
    st.sampled_from([".txt", ".md", ".markdown", ".html", ".htm", ".TXT", ".Md", ".pdf", ".odt",
                     ".exe", "", ".txt.", ".txt\x00.sh", ".tx", "/.txt"]),
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NAMES)
def test_generated_names_never_escape_the_uploads_folder(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "src"
        src.write_bytes(CONTENT)
        uploads = root / "corpus" / "uploads"
        safe = safe_upload_name(name)
        assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
        assert len(safe.encode()) <= NAME_MAX
        try:
            dest = store_upload(src, name, uploads, LIMIT)
        except BadInputError as exc:
            assert Path(safe).suffix not in SUPPORTED, (name, safe)
            assert "not a supported file type" in str(exc)
            assert tree(root) == {"src"}
        else:
            assert_stored_safely(dest, uploads, CONTENT)
            assert tree(root) == {"src", "corpus", "corpus/uploads", f"corpus/uploads/{dest.name}"}


def test_a_symlink_planted_in_uploads_is_not_followed(tmp_path: Path) -> None:
    """Even a link already in uploads/ (not made by the app) cannot redirect a write."""
    src = tmp_path / "src.txt"
    src.write_bytes(CONTENT)
    target = tmp_path / "outside.txt"
    target.write_text("do not touch", encoding="utf-8")
    uploads = tmp_path / "corpus" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "x.txt").symlink_to(target)
    with pytest.raises(BadInputError, match="not a usable file name"):
        store_upload(src, "x.txt", uploads, LIMIT)
    assert target.read_text(encoding="utf-8") == "do not touch"


# -- size and type, through the upload callback -------------------------------------
@pytest.fixture
def ui(fake_pipeline: Pipeline, corpus: Path, tmp_path: Path) -> ChatUI:
    fake_pipeline.build([corpus])
    chat = ChatUI(fake_pipeline)
    chat.config = limited(fake_pipeline.config, tmp_path / "ui-corpus")
    return chat


def _incoming(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "incoming" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _article(size: int) -> bytes:
    head = "Большая статья\n\n".encode()
    return head + b"x" * (size - len(head))


def test_upload_at_the_limit_is_taken_one_byte_over_is_refused(ui: ChatUI, tmp_path: Path) -> None:
    uploads = ui.config.corpus_dir / "uploads"
    before = ui.pipeline.status()["n_documents"]
    over = _incoming(tmp_path, "big.txt", _article(LIMIT + 1))
    log, summary, *_ = ui.upload([str(over)])
    assert log == f"⚠ big.txt: big.txt: {LIMIT + 1:,} bytes is over the {LIMIT:,}-byte upload limit"
    assert not uploads.exists() or not any(uploads.iterdir())  # nothing left behind
    assert ui.pipeline.status()["n_documents"] == before and f"{before} articles" in summary

    exact = _incoming(tmp_path, "exact.txt", _article(LIMIT))
    log, *_ = ui.upload([str(exact)])
    assert log == "✓ added uploads/exact.txt"
    assert (uploads / "exact.txt").read_bytes() == exact.read_bytes()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("paper.odt", b"PK\x03\x04"),
        ("run.exe", b"MZ\x90\x00" * 10),
        ("article.txt.exe", b"MZ"),
        ("page.php", b"<?php system($_GET['c']); ?>"),
        ("image.svg", b"<svg onload=alert(1)></svg>"),
        ("archive.zip", b"PK\x03\x04"),
        ("noextension", "Статья без расширения\n\nТекст.".encode()),
        ("..\\..\\evil.sh", b"#!/bin/sh\nrm -rf /\n"),
    ],
)
def test_wrong_type_upload_is_refused_and_leaves_nothing(
    ui: ChatUI, tmp_path: Path, name: str, data: bytes
) -> None:
    before = ui.pipeline.status()
    src = _incoming(tmp_path, name, data)
    log, *_ = ui.upload([str(src)])
    assert log.startswith(f"⚠ {name}: ") and "not a supported file type" in log
    assert "\n" not in log and "Traceback" not in log and str(tmp_path) not in log
    uploads = ui.config.corpus_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert ui.pipeline.status()["documents"] == before["documents"]


def test_hostile_names_through_the_upload_callback(ui: ChatUI, tmp_path: Path) -> None:
    """Names a browser could send (Linux allows anything but / and NUL in a file name)."""
    names = ["..\\..\\win.md", " .hidden article .txt", "a\nb\x1b.txt", "\U00020000" * 60 + ".md",
             "статья\u202e.txt", "x" * 240 + ".html"]  # fmt: skip
    uploads = ui.config.corpus_dir / "uploads"
    for i, name in enumerate(names):
        text = f"Статья {i}\n\nУникальный факт номер {i} о космодроме.\n"
        log, *_ = ui.upload([str(_incoming(tmp_path, name, text.encode()))])
        assert log.startswith("✓ added "), (name, log)
        dest = ui.config.corpus_dir / log.removeprefix("✓ added ")  # the id: uploads/NAME
        assert_stored_safely(dest.resolve(), uploads, text.encode())
    assert len(list(uploads.iterdir())) == len(names)
    assert tree(ui.config.corpus_dir) == {
        "uploads",
        *(f"uploads/{p.name}" for p in uploads.iterdir()),
    }


# -- size and type, through the served app ------------------------------------------
def test_served_app_refuses_oversize_and_wrong_type_uploads(
    served: tuple[str, Any, Pipeline], tmp_path: Path
) -> None:
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    url, _, pipeline = served
    marker = f"oversize-{uuid.uuid4().hex}.txt"
    reply = httpx.post(
        f"{url}gradio_api/upload",
        files={"files": (marker, _article(LIMIT + 1), "text/plain")},
        timeout=30,
    )
    assert reply.status_code == 413 and f"maximum allowed size of {LIMIT} bytes" in reply.text
    cache = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    assert not cache.exists() or not list(cache.rglob(marker))  # no copy kept on disk

    client = Client(url, verbose=False)
    odt = _incoming(tmp_path, "paper.odt", b"PK\x03\x04")
    with pytest.raises(AppError, match="Invalid file type"):
        client.predict([handle_file(str(odt))], api_name="/_upload_with_progress")
    good = _incoming(tmp_path, "ok.md", "Ок\n\nНебольшая статья.".encode())
    log = client.predict([handle_file(str(good))], api_name="/_upload_with_progress")[0]
    assert log == "✓ added uploads/ok.md"
    assert tree(pipeline.config.corpus_dir) == {"uploads", "uploads/ok.md"}
