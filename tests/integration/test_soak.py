"""A bounded soak of `rag serve` on loopback, on the real models (issue 20).

One `rag serve` subprocess (127.0.0.2, the key from the environment, never argv) over
copies of seeds/ and the session index, plus a marker article whose text names its
version. 16 clients run a fixed number of operations each, mixing questions (the
openai client, REST /v1/ask, the MCP client), searches (REST and MCP), uploads,
deletes of their own uploads and clients that hang up mid-answer; half-way through,
another process commits a new index generation (`rag index add` of the marker's
version 2). A prober reads /healthz every 50 ms throughout.

Asserted: no 5xx; /healthz p99 under 100 ms; every upload indexed (then listed) or
refused with a reason; nothing lost (what was added and not deleted is listed, what
was deleted is not, the seeds' articles all remain); no answer or search result
mixing two generations (the marker's passages in one response name one version).
The figures are printed. Questions run in extractive mode except the MCP ones, so
the soak takes minutes, not hours, on two cores.
"""

from __future__ import annotations

import collections
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from rag.config import Config
from tests.integration.test_server_real import (
    AUTH,
    KEY,
    OBJECTS,
    ROOT,
    SPACESAIL,
    Server,
    _env,
    running_server,
)

pytestmark = pytest.mark.integration

CLIENTS = 16
OPS_PER_CLIENT = 14  # 224 operations in all, a fixed number
MARKER = "soak_marker.txt"
MARKER_Q = "Какой код у маркера нагрузочного теста?"
KINDS = ("openai", "rest_ask", "mcp", "search", "upload", "delete", "disconnect")


def _marker(version: int) -> str:
    head = "Маркер нагрузочного теста\n\nКод маркера нагрузочного теста"
    return f"{head}: версия {version}, число {version * 111}. Маркер версии {version}.\n"


def _index_add(env: dict[str, str], path: Path) -> None:
    """`rag index add` in another process; while the server writes (an upload), the
    index is locked: try again."""
    for _ in range(60):
        command = [sys.executable, "-m", "rag.cli", "index", "add", str(path)]
        done = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        if done.returncode == 0:
            return
        busy = "being written" in done.stderr or "lock" in done.stderr.lower()
        assert busy, done.stderr[-2000:]
        time.sleep(1)
    raise AssertionError("the index stayed locked for a minute")


@pytest.fixture(scope="module")
def soak_server(real_config: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("soak")
    env = {**_env(tmp, real_config), "RAG_SERVER__API_KEY": KEY}
    marker = tmp / "marker" / MARKER
    marker.parent.mkdir()
    marker.write_text(_marker(1), encoding="utf-8")
    _index_add(env, marker)  # generation with version 1
    with running_server(tmp, env) as running:  # the key from the environment only
        yield Server(running.url, {**env, "MARKER": str(marker)}, running.log)


@dataclass
class Tally:
    """What the clients saw (appended from many threads: list.append is atomic)."""

    statuses: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # 5xx and broken responses
    mixed: list[str] = field(default_factory=list)  # responses naming two marker versions
    added: dict[str, bool] = field(default_factory=dict)  # doc_id -> still there?
    refused: list[str] = field(default_factory=list)  # upload refusals' reasons
    health_ms: list[float] = field(default_factory=list)
    done: int = 0


def _versions(texts: list[str]) -> set[str]:
    return {t.split("версия ", 1)[1][:1] for t in texts if "версия " in t and "маркер" in t.lower()}


def _check_mix(tally: Tally, what: str, texts: list[str]) -> None:
    if len(_versions(texts)) > 1:
        tally.mixed.append(f"{what}: {sorted(_versions(texts))}")


def _record(tally: Tally, kind: str, r: httpx.Response) -> None:
    tally.statuses.append((kind, r.status_code))
    if r.status_code >= 500:
        tally.errors.append(f"{kind}: {r.status_code} {r.text[:300]}")


# -- the operations ------------------------------------------------------------------------
def _openai(server: Server, tally: Tally, i: int) -> None:
    from openai import APIStatusError, OpenAI

    client = OpenAI(base_url=f"{server.url}/v1", api_key=KEY, timeout=600, max_retries=0)
    question = MARKER_Q if i % 2 else SPACESAIL
    try:
        done = client.chat.completions.create(
            model="kzspace-rag", messages=[{"role": "user", "content": question}],
            extra_body={"mode": "extractive"},
        )  # fmt: skip
    except APIStatusError as exc:
        tally.statuses.append(("openai", exc.status_code))
        if exc.status_code >= 500:
            tally.errors.append(f"openai: {exc.status_code} {exc.message[:300]}")
        return
    tally.statuses.append(("openai", 200))
    _check_mix(tally, "openai", [s["text"] for s in done.choices[0].model_dump()["sources"]])


def _rest_ask(server: Server, tally: Tally, i: int) -> None:
    history = [{"question": SPACESAIL, "answer": "108 [1]."}] if i % 3 == 0 else []
    body = {"question": MARKER_Q, "mode": "extractive", "history": history}
    r = httpx.post(f"{server.url}/v1/ask", json=body, headers=AUTH, timeout=600)
    _record(tally, "rest_ask", r)
    if r.status_code == 200:
        _check_mix(tally, "rest_ask", [c["text"] for c in r.json()["citations"]])


def _mcp(server: Server, tally: Tally, i: int) -> None:
    from mcp import Client
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

    async def session() -> Any:
        http = create_mcp_http_client(headers=AUTH)
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as c:
            if i % 4 == 0:  # the model, through MCP: a few only (seconds each)
                return await c.call_tool("ask", {"question": OBJECTS})
            return await c.call_tool("search_articles", {"query": MARKER_Q, "k": 5})

    try:
        result = anyio.run(session)
    except Exception as exc:  # a transport failure counts as an error
        tally.errors.append(f"mcp: {type(exc).__name__}: {exc}"[:300])
        return
    tally.statuses.append(("mcp", 200 if not result.is_error else 400))
    if result.is_error and "busy" not in str(result.content):
        tally.errors.append(f"mcp tool error: {str(result.content)[:300]}")
    out = result.structured_content or {}
    texts = [h["text"] for h in out.get("hits", [])] + [c["text"] for c in out.get("citations", [])]
    _check_mix(tally, "mcp", texts)


def _search(server: Server, tally: Tally, i: int) -> None:
    r = httpx.post(f"{server.url}/v1/search", json={"query": MARKER_Q, "k": 8}, headers=AUTH,
                   timeout=600)  # fmt: skip
    _record(tally, "search", r)
    if r.status_code == 200:
        _check_mix(tally, "search", [h["text"] for h in r.json()["hits"]])


def _upload(server: Server, tally: Tally, i: int, client: int) -> None:
    name = f"soak_{client}_{i}.txt"
    text = f"Статья нагрузочного теста {client}-{i}\n\nКлиент {client} загрузил статью {i}.\n"
    files = [("files", (name, text.encode(), "text/plain"))]
    if i % 5 == 4:  # now and then a file the server must refuse, with its reason
        files.append(("files", (f"bad_{client}_{i}.pdf", b"%PDF-1.4", "application/pdf")))
    r = httpx.post(f"{server.url}/v1/documents", files=files, headers=AUTH, timeout=600)
    _record(tally, "upload", r)
    body = r.json()
    if r.status_code == 200:
        for doc_id in body["added"] + body["unchanged"]:
            tally.added[doc_id] = True
        tally.refused += [p["reason"] for p in body["problems"]]
        if f"uploads/{name}" not in body["added"] + body["unchanged"]:
            tally.errors.append(f"upload {name}: neither indexed nor refused: {body}")
    elif r.status_code < 500:
        tally.refused.append(body["error"]["message"])
        if not body["error"]["message"]:
            tally.errors.append(f"upload {name}: refused without a reason")


def _delete(server: Server, tally: Tally, client: int) -> None:
    mine = [d for d, there in list(tally.added.items()) if there and f"soak_{client}_" in d]
    if not mine:
        return
    r = httpx.delete(f"{server.url}/v1/documents/{mine[0]}", headers=AUTH, timeout=600)
    _record(tally, "delete", r)
    if r.status_code == 200:
        tally.added[mine[0]] = False


def _disconnect(server: Server, tally: Tally) -> None:
    body = {"messages": [{"role": "user", "content": OBJECTS}], "stream": True,
            "mode": "extractive"}  # fmt: skip
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, headers=AUTH,
                      timeout=600) as r:  # fmt: skip
        tally.statuses.append(("disconnect", r.status_code))
        for _ in r.iter_lines():
            break  # hang up after the first line


def _client(server: Server, tally: Tally, client: int, halfway: Callable[[], None]) -> None:
    for i in range(OPS_PER_CLIENT):
        kind = KINDS[(client + i) % len(KINDS)]
        try:
            if kind == "openai":
                _openai(server, tally, i)
            elif kind == "rest_ask":
                _rest_ask(server, tally, i)
            elif kind == "mcp":
                _mcp(server, tally, i)
            elif kind == "search":
                _search(server, tally, i)
            elif kind == "upload":
                _upload(server, tally, i, client)
            elif kind == "delete":
                _delete(server, tally, client)
            else:
                _disconnect(server, tally)
        except httpx.TransportError as exc:
            tally.errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
        tally.done += 1
        halfway()


def _probe(server: Server, tally: Tally, stop: threading.Event) -> None:
    with httpx.Client(timeout=10) as http:
        while not stop.is_set():
            t = time.perf_counter()
            r = http.get(f"{server.url}/healthz")
            tally.health_ms.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                tally.errors.append(f"healthz: {r.status_code}")
            stop.wait(0.05)


def test_soak(soak_server: Server) -> None:
    tally, stop = Tally(), threading.Event()
    total = CLIENTS * OPS_PER_CLIENT
    rebuilt = threading.Event()
    lock = threading.Lock()

    def halfway() -> None:  # the first client past half the operations commits generation 2
        with lock:
            if rebuilt.is_set() or tally.done < total // 2:
                return
            rebuilt.set()
        marker = Path(soak_server.env["MARKER"])
        marker.write_text(_marker(2), encoding="utf-8")
        env = {k: v for k, v in soak_server.env.items() if k != "MARKER"}
        _index_add(env, marker)

    prober = threading.Thread(target=_probe, args=(soak_server, tally, stop), daemon=True)
    prober.start()
    started = time.monotonic()
    clients = [threading.Thread(target=_client, args=(soak_server, tally, n, halfway))
               for n in range(CLIENTS)]  # fmt: skip
    for c in clients:
        c.start()
    for c in clients:
        c.join(3600)
    seconds = time.monotonic() - started
    stop.set()
    prober.join(10)

    listed = httpx.get(f"{soak_server.url}/v1/documents", headers=AUTH, timeout=600).json()
    ids = {d["doc_id"] for d in listed["documents"]}
    marker = httpx.post(f"{soak_server.url}/v1/search", json={"query": MARKER_Q, "k": 3},
                        headers=AUTH, timeout=600).json()  # fmt: skip
    health = sorted(tally.health_ms)
    p99 = health[int(0.99 * (len(health) - 1))]
    figures = {
        "operations": tally.done, "seconds": round(seconds, 1),
        "by_kind_status": dict(collections.Counter(f"{k}:{s}" for k, s in tally.statuses)),
        "healthz": {"n": len(health), "p50_ms": round(statistics.median(health), 1),
                    "p99_ms": round(p99, 1), "max_ms": round(health[-1], 1)},
        "uploads_indexed": len(tally.added), "uploads_refused": len(tally.refused),
        "deleted": sum(not v for v in tally.added.values()), "errors": tally.errors[:10],
        "mixed": tally.mixed[:10], "documents_at_end": listed["n_documents"],
    }  # fmt: skip
    print("\nsoak figures:", json.dumps(figures, ensure_ascii=False, indent=1))

    assert tally.done == total and rebuilt.is_set()
    assert not tally.errors, tally.errors[:10]  # no 5xx, no broken response
    assert p99 < 100, f"/healthz p99 {p99:.1f} ms"
    assert not tally.mixed, tally.mixed[:10]
    assert all(reason.strip() for reason in tally.refused)
    assert tally.added and tally.refused  # both outcomes were exercised
    for doc_id, there in tally.added.items():  # nothing lost, nothing resurrected
        assert (doc_id in ids) is there, doc_id
    seeds = {p.name for p in (ROOT / "seeds").iterdir() if p.suffix in {".txt", ".md", ".html"}}
    assert seeds <= ids and MARKER in ids
    assert _versions([h["text"] for h in marker["hits"]]) == {"2"}  # the new generation
