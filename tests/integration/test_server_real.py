"""`rag serve` and `rag mcp` as a user runs them, on the real models, with real clients.

One `rag serve` subprocess for the module, bound to 127.0.0.2 (not 127.0.0.1, so an
API key is required; Linux routes all of 127/8 to loopback) over copies of seeds/ and
the session index. The official `openai` client, the `mcp` SDK's client (streamable
HTTP against the server, stdio against `rag mcp`), plain httpx for auth and SSE.

Few real answers, to stay within a couple of minutes on two cores: the 16 concurrent
clients ask in extractive mode (the pipeline and its queue, without the LLM) except
two that ask the model.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from rag.config import Config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
KEY = "test-key-0123"
SPACESAIL = "Сколько спутников группировки SpaceSail находится на орбите?"
SPACESAIL_DOC = "002_c21ede6ce74cac7a.txt"
OBJECTS = "Сколько объектов на космодроме приняла казахстанская сторона?"
OBJECTS_DOC = "004_f38e6b3e54fcb9da.txt"
OUTSIDE = "Какая погода будет завтра в Париже?"  # nothing in the corpus says
AUTH = {"Authorization": f"Bearer {KEY}"}


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]
    log: Path


def _env(tmp: Path, real_config: Config) -> dict[str, str]:
    shutil.copytree(SEEDS, tmp / "corpus")
    shutil.copytree(real_config.index_dir, tmp / "index")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return {**clean, "RAG_PATHS__INDEX_DIR": str(tmp / "index"),
            "RAG_PATHS__CORPUS_DIR": str(tmp / "corpus")}  # fmt: skip


@pytest.fixture(scope="module")
def server(real_config: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve")
    with running_server(tmp, _env(tmp, real_config), "--api-key", KEY) as running:
        yield running


@contextlib.contextmanager
def running_server(tmp: Path, env: dict[str, str], *args: str) -> Iterator[Server]:
    """`rag serve` on 127.0.0.2 (a free port) in a subprocess, ready; its log must hold
    no traceback when it stops."""
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]
    log = tmp / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.2", "--port",
             str(port), *args],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.2:{port}"
    try:
        wait_ready(url, proc, log)
        yield Server(url, env, log)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until `rag serve` says it is ready (models loaded, an index), at most 600 s."""
    deadline = time.monotonic() + 600
    while True:
        assert proc.poll() is None, f"rag serve exited: {log.read_text()[-2000:]}"
        try:
            if httpx.get(f"{url}/readyz", headers=AUTH, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "rag serve was not ready in 600 s"
        time.sleep(0.5)


def _openai(server: Server) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{server.url}/v1", api_key=KEY, timeout=600, max_retries=0)


def test_openai_client_gets_a_cited_answer(server: Server) -> None:
    client = _openai(server)
    assert [m.id for m in client.models.list()] == ["kzspace-rag"]
    done = client.chat.completions.create(
        model="kzspace-rag", messages=[{"role": "user", "content": SPACESAIL}], temperature=0.2
    )
    choice = done.choices[0].model_dump()
    text = choice["message"]["content"]
    assert "108" in text and "[1]" in text and choice["abstained"] is False
    assert SPACESAIL_DOC in {s["doc_id"] for s in choice["sources"]}
    assert choice["sources"][0]["n"] == 1 and "108" in choice["sources"][0]["text"]


def test_openai_client_streams_with_sources_in_the_final_chunk(server: Server) -> None:
    stream = _openai(server).chat.completions.create(
        model="kzspace-rag", messages=[{"role": "user", "content": SPACESAIL}], stream=True
    )
    chunks = [c.model_dump() for c in stream]
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    final = chunks[-1]["choices"][0]
    assert len(chunks) > 3 and "108" in streamed and "[1]" in streamed
    assert final["finish_reason"] == "stop" and "108" in final["answer"]
    assert SPACESAIL_DOC in {s["doc_id"] for s in final["sources"]}
    assert all(not c["choices"][0].get("sources") for c in chunks[:-1])


def test_unanswerable_question_abstains(server: Server) -> None:
    done = _openai(server).chat.completions.create(
        model="kzspace-rag", messages=[{"role": "user", "content": OUTSIDE}]
    )
    choice = done.choices[0].model_dump()
    assert choice["abstained"] is True and choice["refusal"] and choice["sources"] == []


def test_every_route_but_healthz_needs_the_key(server: Server) -> None:
    routes = [("GET", "/v1/models", None), ("GET", "/readyz", None), ("GET", "/openapi.json", None),
              ("GET", "/v1/documents", None), ("POST", "/v1/search", {"query": "Байконур"}),
              ("POST", "/v1/ask", {"question": OUTSIDE}),
              ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]}),
              ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})]  # fmt: skip
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    for method, path, body in routes:
        r = httpx.request(method, server.url + path, json=body, timeout=60)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "invalid_api_key"
    for method, path, body in routes[:-2]:
        r = httpx.request(method, server.url + path, json=body, headers=AUTH, timeout=600)
        assert r.status_code == 200, (path, r.text)


def test_bad_requests_are_one_line_errors_and_the_server_keeps_serving(server: Server) -> None:
    url = f"{server.url}/v1/chat/completions"
    bad = [
        httpx.post(url, content=b"{not json", headers={**AUTH, "content-type": "application/json"}),
        httpx.post(url, content=b"x" * 2_000_000, headers=AUTH),
        httpx.post(url, json={"messages": [{"role": "user", "content": "я" * 5000}]}, headers=AUTH),
        httpx.post(url, json={"messages": [{"role": "user", "content": "q"}], "n": 3},
                   headers=AUTH),
        httpx.post(f"{server.url}/v1/documents", headers=AUTH,
                   files=[("files", ("../../../etc/x.pdf", b"%PDF-1.4"))]),
    ]  # fmt: skip
    assert [r.status_code for r in bad] == [400, 413, 400, 400, 400]
    for r in bad:
        assert "\n" not in r.json()["error"]["message"]
    article = "Тестовая статья\n\nСпутник KazTest-1 выведен на орбиту 5 мая 2026 года.\n"
    up = httpx.post(f"{server.url}/v1/documents", headers=AUTH, timeout=120,
                    files=[("files", ("../../evil/имя статьи.txt", article.encode()))])  # fmt: skip
    assert up.status_code == 200 and up.json()["added"] == ["uploads/имя_статьи.txt"], up.text
    found = httpx.post(f"{server.url}/v1/search", headers=AUTH, timeout=120,
                       json={"query": "KazTest-1", "k": 1}).json()  # fmt: skip
    assert found["hits"][0]["doc_id"] == "uploads/имя_статьи.txt"
    gone = httpx.delete(
        f"{server.url}/v1/documents/uploads/имя_статьи.txt", headers=AUTH, timeout=120
    )
    assert gone.status_code == 200
    assert not (Path(server.env["RAG_PATHS__CORPUS_DIR"]).parent / "evil").exists()


def test_a_client_that_disconnects_mid_stream_frees_the_model(server: Server) -> None:
    body = {"messages": [{"role": "user", "content": OBJECTS}], "stream": True}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, headers=AUTH,
                      timeout=600) as r:  # fmt: skip
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: ") and '"content": "' in line and '"content": ""' not in line:
                break  # the first token: hang up
    started = time.monotonic()
    r = httpx.post(f"{server.url}/v1/ask", headers=AUTH, timeout=600,
                   json={"question": OBJECTS, "mode": "extractive"})  # fmt: skip
    assert r.status_code == 200 and OBJECTS_DOC in {c["doc_id"] for c in r.json()["citations"]}
    assert time.monotonic() - started < 120


def test_sixteen_concurrent_clients_each_get_their_own_answer(server: Server) -> None:
    n = 16
    asks = [(SPACESAIL, SPACESAIL_DOC, "108") if i % 2 == 0 else (OBJECTS, OBJECTS_DOC, "243")
            for i in range(n)]  # fmt: skip
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def client(i: int) -> None:
        question, _, _ = asks[i]
        mode = "generative" if i < 2 else "extractive"
        body = {"messages": [{"role": "user", "content": question}], "stream": True, "mode": mode}
        try:
            barrier.wait(60)
            with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body,
                              headers=AUTH, timeout=600) as r:  # fmt: skip
                lines = [ln[6:] for ln in r.iter_lines() if ln.startswith("data: ")]
            assert lines[-1] == "[DONE]", lines[-3:]
            chunks = [json.loads(x) for x in lines[:-1]]
            text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
            results[i] = (text, chunks[-1]["choices"][0])
        except BaseException as exc:  # reported below, with the client's number
            results[i] = exc

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(900)
    assert not any(t.is_alive() for t in threads)
    for i, (question, doc, fact) in enumerate(asks):
        assert not isinstance(results[i], BaseException), (i, results[i])
        text, final = results[i]
        docs = {s["doc_id"] for s in final["sources"]}
        assert docs == {doc} or doc in docs, (i, question, docs)
        other = SPACESAIL_DOC if doc == OBJECTS_DOC else OBJECTS_DOC
        assert other not in docs, (i, docs)
        assert fact in final["answer"], (i, final["answer"])
        assert final["answer"].split()[0] in text  # the stream is this answer's own


def test_mcp_over_streamable_http(server: Server) -> None:
    from mcp import Client
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

    async def session() -> tuple[set[str], Any, Any]:
        http = create_mcp_http_client(headers=AUTH)
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as c:
            tools = {t.name for t in (await c.list_tools()).tools}
            hits = await c.call_tool("search_articles", {"query": SPACESAIL, "k": 3})
            answer = await c.call_tool("ask", {"question": OBJECTS})
            return tools, hits, answer

    tools, hits, answer = anyio.run(session)
    assert tools == {"search_articles", "ask", "list_articles", "get_passage"}
    assert not hits.is_error and hits.structured_content["hits"][0]["doc_id"] == SPACESAIL_DOC
    out = answer.structured_content
    assert not answer.is_error and "243" in out["answer"] and not out["abstained"]
    assert OBJECTS_DOC in {c["doc_id"] for c in out["citations"]}


def test_mcp_over_stdio(server: Server) -> None:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rag.cli", "mcp"], env=server.env, cwd=str(ROOT)
    )

    async def session() -> tuple[set[str], Any, Any, Any]:
        async with Client(params, read_timeout_seconds=600) as c:
            tools = {t.name for t in (await c.list_tools()).tools}
            hits = await c.call_tool("search_articles", {"query": OBJECTS, "k": 2})
            answer = await c.call_tool("ask", {"question": OUTSIDE})
            articles = await c.call_tool("list_articles", {})
            return tools, hits, answer, articles

    tools, hits, answer, articles = anyio.run(session)
    assert tools == {"search_articles", "ask", "list_articles", "get_passage"}
    assert hits.structured_content["hits"][0]["doc_id"] == OBJECTS_DOC
    assert answer.structured_content["abstained"] is True
    assert articles.structured_content["n_documents"] >= 5
