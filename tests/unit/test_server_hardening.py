"""Regression tests for the server findings of issue 20 (one or more per finding)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from rag.cli import main
from rag.config import Config, ServerConfig, public_dict
from rag.pipeline import Pipeline
from server.admission import Admission
from server.app import create_app
from server.auth import hashed_key, key_ok
from server.errors import ClientGone, describe
from tests.fakes import FakeEmbedder
from tests.unit.test_server import BASE, WRITE, assert_error, built_over, client


@pytest.fixture
def built(fake_pipeline: Pipeline, corpus: Path) -> Pipeline:
    return built_over(fake_pipeline, corpus)


ARTICLE = "Новый спутник\n\nKazSat-3R выведен на орбиту в 2026 году.\n".encode()


# -- High 3: Host, Origin, cross-site writes --------------------------------------------
@pytest.mark.parametrize("path", ["/healthz", "/v1/models", "/readyz", "/openapi.json", "/mcp"])
def test_a_foreign_host_name_is_refused_on_every_route(built: Pipeline, path: str) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 still sends its own name."""
    with client(built) as c:
        r = c.get(path, headers={"Host": "evil.example:8000"})
        assert_error(r, 403, "bad_host")
        if path != "/mcp":  # a GET of /mcp opens an event stream that stays open
            assert c.get(path, headers={"Host": "localhost:8000"}).status_code != 403


def test_allowed_hosts_and_a_public_bind(built: Pipeline) -> None:
    with client(built, allowed_hosts="rag.lan:8000") as c:
        assert c.get("/healthz", headers={"Host": "rag.lan:8000"}).status_code == 200
        assert_error(c.get("/healthz", headers={"Host": "rag.lan:9999"}), 403, "bad_host")
    with client(built, host="0.0.0.0", api_key="k") as c:  # the key protects it instead
        assert c.get("/healthz", headers={"Host": "10.0.0.5:8000"}).status_code == 200


def test_a_cross_site_origin_is_refused(built: Pipeline) -> None:
    with client(built) as c:
        evil = {"Origin": "http://evil.example"}
        assert_error(c.post("/v1/search", json={"query": "x"}, headers=evil), 403, "bad_origin")
        assert_error(c.get("/v1/documents", headers={"Origin": "null"}), 403, "bad_origin")
        same = {"Origin": BASE}
        assert c.post("/v1/search", json={"query": "Байтерек"}, headers=same).status_code == 200
    with client(built, cors_origins="http://app.example") as c:
        ok = {"Origin": "http://app.example"}
        assert c.post("/v1/search", json={"query": "Байтерек"}, headers=ok).status_code == 200


def test_a_simple_cross_site_upload_or_delete_is_refused(built: Pipeline) -> None:
    """A page can POST a multipart form or text/plain anywhere without a preflight."""
    with client(built) as c:
        files = [("files", ("kazsat.txt", ARTICLE, "text/plain"))]
        assert_error(c.post("/v1/documents", files=files), 403, "cross_site")
        assert_error(c.delete("/v1/documents/a.txt"), 403, "cross_site")
        plain = {"content-type": "text/plain"}
        r = c.post("/v1/search", content=b'{"query": "x"}', headers=plain)
        assert_error(r, 403, "cross_site")
        assert c.get("/v1/documents").json()["n_documents"] == 2  # nothing changed
        assert c.post("/v1/documents", files=files, headers=WRITE).status_code == 200
    with client(built, api_key="k") as c:  # the key alone is proof enough
        key = {"Authorization": "Bearer k"}
        assert c.delete("/v1/documents/uploads/kazsat.txt", headers=key).status_code == 200


def _run(coroutine: Any) -> None:
    """Run a coroutine to its end on an event loop of its own thread (in the full suite
    an earlier browser test leaves a loop running in the main thread)."""
    done: list[BaseException | None] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
            done.append(None)
        except BaseException as exc:  # re-raised in the test's thread
            done.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join(30)
    if done and done[0] is not None:
        raise done[0]
    assert done, "the coroutine did not finish"


# -- Medium 8: auth and read-only before the body is read --------------------------------
def _call_without_reading(app: Any, method: str, path: str, headers: list[Any]) -> int:
    """Send a request whose body must never be read; the status answered."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read before the request was refused")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"127.0.0.1:8000"), *headers]}  # fmt: skip
    _run(app(scope, receive, send))
    return int(sent[0]["status"])


def test_key_and_read_only_are_checked_before_the_body(built: Pipeline) -> None:
    multipart = [(b"content-type", b"multipart/form-data; boundary=x"),
                 (b"content-length", b"900000"), (b"x-requested-with", b"t")]  # fmt: skip
    keyed = create_app(built, ServerConfig(api_key="k"), warm=False)
    assert _call_without_reading(keyed, "POST", "/v1/documents", multipart) == 401
    read_only = create_app(built, ServerConfig(read_only=True), warm=False)
    assert _call_without_reading(read_only, "POST", "/v1/documents", multipart) == 403
    assert _call_without_reading(read_only, "DELETE", "/v1/documents/a.txt", multipart) == 403


def test_serve_runs_uvicorn_with_limits_and_reads_the_key_from_a_file(
    fake_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    key = tmp_path / "key"
    key.write_text("from-a-file\n", encoding="utf-8")
    args = ["serve", "--host", "0.0.0.0", "--api-key-file", str(key)]
    result = CliRunner().invoke(main, args, obj={"pipeline": fake_pipeline})
    assert result.exit_code == 0, result.output
    assert seen["app"].state.settings.api_key == "from-a-file"
    s = ServerConfig()
    assert seen["limit_concurrency"] == s.max_connections
    assert seen["timeout_keep_alive"] == s.keep_alive_s
    assert seen["h11_max_incomplete_event_size"] == s.max_header_bytes
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["serve", "--api-key-file", str(empty)],
                             obj={"pipeline": fake_pipeline})  # fmt: skip
    assert bad.exit_code == 2 and "is empty" in bad.output and str(tmp_path) not in bad.output


# -- Medium 5: one admission control; /healthz never waits -------------------------------
def test_healthz_answers_while_searches_wait_for_the_model(built: Pipeline) -> None:
    with client(built, max_pending=100) as c:
        built.lock.acquire()  # the model is busy: every search waits
        search = {"json": {"query": "Байтерек"}}
        workers = [
            threading.Thread(target=c.post, args=("/v1/search",), kwargs=search) for _ in range(45)
        ]
        try:
            for w in workers:
                w.start()
            time.sleep(0.5)
            answered: list[int] = []
            probe = threading.Thread(target=lambda: answered.append(c.get("/healthz").status_code))
            probe.start()
            probe.join(5)
            assert answered == [200], "/healthz waited behind the searches"
        finally:
            built.lock.release()
            for w in workers:
                w.join(10)


def test_searches_and_mcp_tools_take_admission_slots(built: Pipeline) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    from server.mcp_tools import build_mcp

    with client(built, max_pending=0) as c:  # no slot at all: every model route is busy
        assert_error(c.post("/v1/search", json={"query": "Байтерек"}), 503, "busy")
        assert_error(c.get("/v1/documents"), 503, "busy")
        assert c.get("/healthz").status_code == 200
    mcp = build_mcp(built, Admission(0))
    tool = mcp._tool_manager.get_tool("search_articles")  # noqa: SLF001
    with pytest.raises(ToolError, match="busy"):
        tool.fn(query="Байтерек")


def test_a_dropped_client_frees_its_queued_work() -> None:
    ran: list[str] = []
    gate = threading.Event()
    admission = Admission(limit=3, workers=1)

    async def scenario() -> None:
        blocker = admission.submit(gate.wait, 5)  # the one work thread is busy

        async def gone() -> bool:
            return True

        with pytest.raises(ClientGone):
            await admission.run(ran.append, "late", disconnected=gone)
        assert admission.taken == 1  # the dropped request's slot is free at once
        gate.set()
        blocker.result(5)

    _run(scenario())
    time.sleep(0.05)
    assert ran == [] and admission.taken == 0  # its work never ran
    admission.close()


# -- Medium 6: bounded history -----------------------------------------------------------
def test_history_is_bounded(built: Pipeline) -> None:
    with client(built, max_history_turns=3, max_turn_chars=500) as c:
        turns = [{"question": f"q{i}?", "answer": "a"} for i in range(4)]
        r = c.post("/v1/ask", json={"question": "Сколько?", "history": turns})
        assert_error(r, 400, "history_too_long")
        long = [{"question": "q?", "answer": "я" * 501}]
        assert_error(c.post("/v1/ask", json={"question": "Сколько?", "history": long}), 400)
        messages = [{"role": "user", "content": "x" * 501}, {"role": "assistant", "content": "a"},
                    {"role": "user", "content": "Сколько?"}]  # fmt: skip
        r = c.post("/v1/chat/completions", json={"messages": messages})
        assert_error(r, 400, "message_too_long")


def test_history_reaching_the_pipeline_is_cut(built: Pipeline) -> None:
    from server.openai_api import HISTORY_CHARS, bounded_history

    cut = bounded_history([("q?", "я" * 5000)], ServerConfig())
    assert cut == [("q?", "я" * HISTORY_CHARS)]


# -- Medium 7: uploads in their own namespace --------------------------------------------
def test_an_upload_cannot_replace_an_indexed_article(built: Pipeline) -> None:
    before = built.document("a.txt")
    with client(built) as c:
        files = [("files", ("a.txt", ARTICLE, "text/plain"))]
        report = c.post("/v1/documents", files=files, headers=WRITE).json()
        assert report["added"] == ["uploads/a.txt"] and report["n_documents"] == 3
        assert c.get("/v1/documents/a.txt").json()["text"] == before.text  # untouched
        assert "KazSat-3R" in c.get("/v1/documents/uploads/a.txt").json()["text"]
        c.delete("/v1/documents/uploads/a.txt", headers=WRITE)
    assert not (built.config.corpus_dir / "uploads" / "a.txt").exists()
    report = built.build([built.config.corpus_dir])  # a rebuild does not bring it back
    assert "uploads/a.txt" not in built.status()["documents"] and report.n_documents == 2


def test_a_truncated_chunked_upload_indexes_nothing(built: Pipeline) -> None:
    with client(built, max_upload_request_bytes=3000) as c:
        boundary = "b0undary"

        def body() -> Iterator[bytes]:  # no Content-Length: the limit trips while reading
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            yield (head + 'filename="part.txt"\r\nContent-Type: text/plain\r\n\r\n').encode()
            yield ARTICLE
            yield b"x" * 5000
            yield f"\r\n--{boundary}--\r\n".encode()

        headers = {"content-type": f"multipart/form-data; boundary={boundary}", **WRITE}
        assert_error(c.post("/v1/documents", content=body(), headers=headers), 413)
        assert c.get("/v1/documents").json()["n_documents"] == 2
    corpus = built.config.corpus_dir
    assert not (corpus / "uploads").exists() and not list(corpus.glob(".upload-*"))


def test_the_ui_and_the_api_share_one_upload_path() -> None:
    import server.rest
    import ui.articles

    assert server.rest.add_uploads is ui.articles.add_uploads
    assert server.rest.remove_documents is ui.articles.remove_documents


# -- Low ----------------------------------------------------------------------------------
def test_secrets_stay_out_of_reprs_and_records() -> None:
    config = replace(Config(), server=ServerConfig(api_key="s3cret-key"))
    config = replace(config, ui=replace(config.ui, password="pa55word"))
    assert "s3cret-key" not in repr(config) and "pa55word" not in repr(config)
    record = str(public_dict(config))
    assert "s3cret-key" not in record and "pa55word" not in record and "<redacted>" in record
    shipped = hashed_key("s3cret-key")  # what a Ray replica receives
    assert "s3cret-key" not in shipped
    assert key_ok("Bearer s3cret-key", shipped) and not key_ok("Bearer " + shipped, shipped)


def test_no_server_paths_reach_clients(fake_pipeline: Pipeline) -> None:
    where = str(fake_pipeline.config.index_dir.parent)
    with client(fake_pipeline) as c:
        message = assert_error(c.post("/v1/search", json={"query": "x"}), 503, "no_index")
        assert where not in message and "index" in message
    ready = TestClient(create_app(fake_pipeline, ServerConfig()), base_url=BASE)
    with ready as c:
        app_ready = c.app.state.ready  # type: ignore[attr-defined]
        app_ready.state, app_ready.error = "failed", f"no model at {where}/models/x.gguf"
        assert where not in c.get("/readyz").text and "x.gguf" in c.get("/readyz").text


def test_a_client_disconnect_is_no_500_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from starlette.requests import ClientDisconnect

    with caplog.at_level(logging.ERROR, logger="server"):
        for exc in (ClientGone(), ClientDisconnect()):
            status, _, code = describe(exc)
            assert status < 500 and code == "client_gone"
    assert not caplog.records


def test_a_running_server_picks_up_a_new_generation(
    fake_config: Config, fake_pipeline: Pipeline, corpus: Path, tmp_path: Path
) -> None:
    fake_pipeline.build([corpus])
    served = Pipeline(fake_config, embedder=FakeEmbedder(64), generator=fake_pipeline.generator)
    with client(served) as c:
        assert c.post("/v1/search", json={"query": "Байтерек"}).status_code == 200  # loaded
        extra = tmp_path / "more"
        extra.mkdir()
        (extra / "c.txt").write_bytes(ARTICLE)
        fake_pipeline.add([extra / "c.txt"])  # another process: `rag index add`
        assert c.get("/v1/documents/c.txt").status_code == 200
        hits = c.post("/v1/search", json={"query": "KazSat-3R выведен на орбиту"}).json()["hits"]
        assert hits[0]["doc_id"] == "c.txt"
