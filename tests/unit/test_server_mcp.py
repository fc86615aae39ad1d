"""The MCP tools in-process (the SDK's own client), the worker-thread stream, `rag serve` checks."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.errors import BadInputError
from rag.pipeline import Pipeline
from rag.stream import AnswerStream
from server.auth import check_bind, is_loopback
from server.errors import ApiError, ClientGone
from server.mcp_tools import build_mcp
from server.streaming import PipelineRun, Slots
from tests.fakes import FakeGenerator

TOOLS = {"search_articles", "ask", "list_articles", "get_passage"}
# The default strategy's answer to the fake model's draft: the source sentence, verbatim
QUOTED = "108 спутников [1].\nНа орбите находится 108 спутников группировки SpaceSail [1]."


def _in_fresh_thread(run: Any, *args: Any) -> Any:
    """Run an event loop in a thread of its own: an earlier test in the same process
    (the browser tests' sync Playwright) may have left one running in this thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run, *args).result()


def eventually(check: Any, seconds: float = 2.0) -> bool:
    """Whether ``check()`` becomes true within ``seconds`` (a slot is given back by
    the work thread, just after the consumer has seen the end)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _payload(result: Any) -> Any:
    assert not result.is_error, result
    return json.loads(result.content[0].text)


def test_mcp_tools_list_and_call(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    from mcp import Client

    fake_pipeline.build([corpus])
    fake_generator.queue("На орбите 108 спутников [1].")

    async def session() -> dict[str, Any]:
        async with Client(build_mcp(fake_pipeline), raise_exceptions=True) as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            hits = _payload(await c.call_tool("search_articles", {"query": "Байтерек", "k": 1}))
            answer = _payload(
                await c.call_tool("ask", {"question": "Сколько спутников SpaceSail на орбите?"})
            )
            articles = _payload(await c.call_tool("list_articles", {}))
            chunk_id = answer["citations"][0]["chunk_id"]
            passage = _payload(await c.call_tool("get_passage", {"chunk_id": chunk_id}))
            missing = await c.call_tool("get_passage", {"chunk_id": "nope"})
            empty = await c.call_tool("ask", {"question": "   "})
            return {"tools": tools, "hits": hits, "answer": answer, "articles": articles,
                    "passage": passage, "missing": missing, "empty": empty}  # fmt: skip

    out = _in_fresh_thread(anyio.run, session)
    assert set(out["tools"]) == TOOLS
    schema = out["tools"]["search_articles"].input_schema
    assert {"query", "k", "filters"} <= set(schema["properties"]) and schema["required"] == [
        "query"
    ]
    assert [h["doc_id"] for h in out["hits"]["hits"]] == ["b.txt"]
    assert out["answer"]["answer"] == QUOTED and not out["answer"]["abstained"]
    assert out["answer"]["kind"] == "quoted" and out["answer"]["nearest"] == []
    assert out["answer"]["citations"][0]["doc_id"] == "a.txt"
    assert [a["doc_id"] for a in out["articles"]["articles"]] == ["a.txt", "b.txt"]
    assert out["passage"]["doc_id"] == "a.txt" and "108" in out["passage"]["text"]
    assert out["missing"].is_error and "no passage" in out["missing"].content[0].text
    assert out["empty"].is_error and "empty" in out["empty"].content[0].text


def _slow_stream(closed: threading.Event, produced: list[int]) -> Iterator[int]:
    try:
        for i in range(1000):
            produced.append(i)
            time.sleep(0.01)
            yield i
    finally:
        closed.set()


def _stream(produce: Any) -> AnswerStream[Any]:
    """``produce()``'s items as the pipeline streams them: from a worker thread."""
    return AnswerStream(lambda _cancelled: produce(), threading.Lock())


def test_run_stops_generating_when_the_client_goes() -> None:
    closed, produced = threading.Event(), []
    slots = Slots(2)

    async def consume() -> None:
        run = PipelineRun(lambda: _stream(lambda: _slow_stream(closed, produced)), slots).begin()
        assert slots.taken == 1
        assert [await run.next() for _ in range(3)] == [0, 1, 2]
        run.cancel()  # what the SSE body does when the client disconnects
        assert eventually(lambda: slots.taken == 0)

    _in_fresh_thread(asyncio.run, consume())
    assert closed.wait(2), "the stream was not closed"
    assert len(produced) < 10  # stopped after the next event, not at the end


def test_run_notices_a_disconnect_while_waiting() -> None:
    closed, produced = threading.Event(), []

    async def consume() -> None:
        run = PipelineRun(lambda: _stream(lambda: _slow_stream(closed, produced)), Slots(1)).begin()
        await run.next()

        async def gone() -> bool:
            return True

        with pytest.raises(ClientGone):
            while True:  # events arrive every 10 ms; the poll runs when none is ready
                await run.next(gone, poll_s=0.001)

    _in_fresh_thread(asyncio.run, consume())
    assert closed.wait(2) and len(produced) < 100


def test_a_cancelled_run_holds_its_slot_until_the_model_is_free() -> None:
    """The slot comes back only when the stream's worker has let go of the lock: a
    token being generated when the client left finishes first."""
    lock, in_token, finish = threading.Lock(), threading.Event(), threading.Event()

    def produce(cancelled: threading.Event) -> Iterator[int]:
        yield 0
        in_token.set()
        finish.wait(2)  # the model is inside a token; it sees the cancel after it
        yield 1

    async def consume() -> None:
        slots = Slots(1)
        run = PipelineRun(lambda: AnswerStream(produce, lock), slots).begin()
        assert await run.next() == 0
        assert await asyncio.to_thread(in_token.wait, 2)
        run.cancel()
        await asyncio.sleep(0.1)
        assert slots.taken == 1 and lock.locked()  # still generating: slot held
        finish.set()
        assert await asyncio.to_thread(eventually, lambda: slots.taken == 0)
        assert not lock.locked()

    _in_fresh_thread(asyncio.run, consume())


def test_run_passes_errors_and_bounds_the_queue() -> None:
    release = threading.Event()

    def failing() -> Iterator[int]:
        release.wait(2)  # holds its slot (as a run waiting for the model does)
        raise BadInputError("bad question")
        yield 0

    async def consume() -> None:
        slots = Slots(1)
        run = PipelineRun(lambda: _stream(failing), slots).begin()
        with pytest.raises(ApiError, match="busy"):
            PipelineRun(lambda: _stream(failing), slots).begin()
        release.set()
        with pytest.raises(BadInputError, match="bad question"):
            await run.next()
        assert eventually(lambda: slots.taken == 0)

    _in_fresh_thread(asyncio.run, consume())


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        check_bind(host, "")
    else:
        with pytest.raises(BadInputError, match="needs an API key"):
            check_bind(host, "")
        check_bind(host, "key")


def test_serve_refuses_a_public_bind_without_a_key(fake_pipeline: Pipeline) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--host", "0.0.0.0"], obj={"pipeline": fake_pipeline}
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: binding to 0.0.0.0")


def test_serve_passes_its_options_to_the_app_and_uvicorn(
    fake_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, host: str, port: int, **kwargs: Any) -> None:
        seen.update(settings=app.state.settings, host=host, port=port)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    args = ["serve", "--host", "127.0.0.2", "--port", "8123", "--api-key", "k", "--read-only"]
    result = CliRunner().invoke(main, args, obj={"pipeline": fake_pipeline})
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"]) == ("127.0.0.2", 8123)
    s = seen["settings"]
    assert (s.host, s.port, s.api_key, s.read_only) == ("127.0.0.2", 8123, "k", True)
    assert "API key required" in result.output and "read-only" in result.output


def test_server_settings_come_from_the_environment() -> None:
    from rag.config import load_config

    env = {"RAG_SERVER__API_KEY": "from-env", "RAG_SERVER__READ_ONLY": "yes",
           "RAG_SERVER__PORT": "9001", "RAG_UI__TITLE": "My archive"}  # fmt: skip
    config = load_config(environ=env)
    assert config.server.api_key == "from-env" and config.server.read_only is True
    assert config.server.port == 9001 and config.ui.title == "My archive"
    assert load_config(environ={}).server.host == "127.0.0.1"
    assert load_config(environ={}).server.cors_origins == ""
