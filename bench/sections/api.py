"""API: what the HTTP layer (``rag serve``) adds over calling the pipeline directly.

Same process, same questions. The app (``server.app.create_app``) is served by
uvicorn on 127.0.0.1 in a thread of this process; one httpx client (keep-alive)
sends the requests, as an OpenAI client would.

- **Overhead**: the pipeline is replaced by a stand-in that replays a real
  answer's events (retrieval, the answer's tokens, the checked answer) at once,
  so what is timed is the HTTP stack alone: ``/v1/chat/completions``
  (non-streaming and streaming) against iterating the same events in-process.
- **Real model**: for a few gold questions, ``Pipeline.stream``'s time to the
  first token and to the answer, against the API stream's time to the first
  byte, to the first answer token and to ``[DONE]``, in ABBA pairs (see ``run``).
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from bench import machine
from bench.common import BenchContext, gold_questions, seeds_pipeline
from bench.contract import Result, Section, Target
from bench.markdown import fmt, get, table

OVERHEAD_REQUESTS = 200  # quick: 50


class Replay:
    """Duck-types the part of Pipeline the chat route uses; yields recorded events."""

    def __init__(self, config: Any, events: Sequence[Any]) -> None:
        self.config, self.events = config, list(events)

    def stream(self, question: str, history: Sequence[tuple[str, str]] = (), k: Any = None,
               language: Any = None, mode: Any = None, *, filters: Any = None,
               ) -> Iterator[Any]:  # fmt: skip
        yield from self.events


class Served:
    """``create_app(pipeline)`` on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, pipeline: Any) -> None:
        import uvicorn

        from rag.config import ServerConfig
        from server.app import create_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        app = create_app(pipeline, ServerConfig(port=self.port), warm=False)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start in 30 s")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def chat_body(question: str, stream: bool) -> dict[str, Any]:
    return {"model": "kzspace-rag", "messages": [{"role": "user", "content": question}],
            "stream": stream}  # fmt: skip


def timed_api_stream(client: Any, url: str, question: str) -> dict[str, float]:
    """Milliseconds to the first SSE byte, the first answer token and ``[DONE]``."""
    started = time.perf_counter()
    first_byte = first_token = None
    with client.stream("POST", f"{url}/v1/chat/completions", json=chat_body(question, True)) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            now = time.perf_counter()
            if first_byte is None:
                first_byte = now
            if first_token is None and line.startswith("data: {") and '"content": "' in line:
                if '"content": ""' not in line:
                    first_token = now
            if line == "data: [DONE]":
                break
    total = time.perf_counter() - started
    return {
        "first_byte_ms": round(((first_byte or started) - started) * 1000, 1),
        "first_token_ms": round(((first_token or started + total) - started) * 1000, 1),
        "total_ms": round(total * 1000, 1),
    }


def timed_direct(pipeline: Any, question: str, events: list[Any]) -> dict[str, float]:
    """Milliseconds to the first answer token and to the answer; ``events`` gets the events."""
    from rag.pipeline import Token

    started = time.perf_counter()
    first = None
    for event in pipeline.stream(question):
        if first is None and isinstance(event, Token) and event.text.strip():
            first = time.perf_counter()
        events.append(event)
    total = time.perf_counter() - started
    return {"first_token_ms": round(((first or started + total) - started) * 1000, 1),
            "total_ms": round(total * 1000, 1)}  # fmt: skip


def overhead(config: Any, events: Sequence[Any], question: str, requests: int) -> dict[str, Any]:
    """p50 of the HTTP round trip minus p50 of the same events in-process."""
    import httpx

    replay = Replay(config, events)
    direct, plain, streamed = [], [], []
    with Served(replay) as url, httpx.Client(timeout=60) as client:
        for _ in range(5):  # warm-up: connection, first-request imports
            client.post(f"{url}/v1/chat/completions", json=chat_body(question, False))
        for _ in range(requests):
            t = time.perf_counter()
            list(replay.stream(question))
            direct.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            r = client.post(f"{url}/v1/chat/completions", json=chat_body(question, False))
            r.raise_for_status()
            plain.append((time.perf_counter() - t) * 1000)
            streamed.append(timed_api_stream(client, url, question)["total_ms"])
    d50 = statistics.median(direct)
    return {
        "requests": requests,
        "tokens_per_answer": sum(1 for e in events if type(e).__name__ == "Token"),
        "direct_ms": machine.percentiles(direct),
        "api_ms": machine.percentiles(plain),
        "api_stream_ms": machine.percentiles(streamed),
        "overhead_p50_ms": round(statistics.median(plain) - d50, 3),
        "stream_overhead_p50_ms": round(statistics.median(streamed) - d50, 3),
    }


def run(ctx: BenchContext, pipeline: Any = None) -> dict[str, Any]:
    import httpx

    n = max(2, ctx.answer_questions // 2 * 2)  # an even number: the runs go in pairs
    questions = [q.text for q in gold_questions(ctx)][:n]
    questions = questions[: len(questions) // 2 * 2]
    pipeline = pipeline or seeds_pipeline(ctx)
    pipeline.warm()
    from bench.sections.answer import WARM_UP

    timed_direct(pipeline, WARM_UP, [])  # the first question after loading is slower
    recorded: list[Any] = []  # the first answer's events, for the replay
    direct: list[dict[str, float]] = [{} for _ in questions]
    api: list[dict[str, float]] = [{} for _ in questions]
    with Served(pipeline) as url, httpx.Client(timeout=600) as client:
        # In pairs, ABBA: direct a, API b, API a, direct b. Consecutive runs never ask the
        # same question (llama.cpp would reuse the last prompt's KV cache), and a change
        # of machine load during a pair weighs on both sides alike.
        for a, b in zip(range(0, len(questions), 2), range(1, len(questions), 2), strict=True):
            direct[a] = timed_direct(pipeline, questions[a], recorded if a == 0 else [])
            api[b] = timed_api_stream(client, url, questions[b])
            api[a] = timed_api_stream(client, url, questions[a])
            direct[b] = timed_direct(pipeline, questions[b], [])
    requests = 50 if ctx.quick else OVERHEAD_REQUESTS
    result: dict[str, Any] = {"overhead": overhead(pipeline.config, recorded, questions[0],
                                                   requests)}  # fmt: skip
    rows = [{"question": q, "direct": d, "api": a} for q, d, a in zip(questions, direct, api,
                                                                       strict=True)]  # fmt: skip
    p50 = statistics.median
    result["real"] = {
        "questions": len(questions),
        "direct_first_token_ms": machine.percentiles([d["first_token_ms"] for d in direct]),
        "direct_total_ms": machine.percentiles([d["total_ms"] for d in direct]),
        "api_first_byte_ms": machine.percentiles([a["first_byte_ms"] for a in api]),
        "api_first_token_ms": machine.percentiles([a["first_token_ms"] for a in api]),
        "api_total_ms": machine.percentiles([a["total_ms"] for a in api]),
        "first_token_delta_p50_ms": round(
            p50([a["first_token_ms"] - d["first_token_ms"] for a, d in zip(api, direct,
                                                                          strict=True)]), 1),
        "total_delta_p50_ms": round(
            p50([a["total_ms"] - d["total_ms"] for a, d in zip(api, direct, strict=True)]), 1),
        "per_question": rows,
    }  # fmt: skip
    result["peak_rss_mb"] = machine.peak_rss_mb()
    return result


# -- the report ------------------------------------------------------------------
TARGET_API_MS = 20.0


def targets(a: Result) -> list[Target]:
    """The HTTP stack's overhead over the pipeline (median, non-streaming)."""
    api = get(a, "overhead", "overhead_p50_ms")
    if api is None:
        return []
    return [{
        "target": f"API overhead over the pipeline, p50 <= {TARGET_API_MS:.0f} ms",
        "measured": f"{fmt(api)} ms non-streaming, "
        f"{fmt(get(a, 'overhead', 'stream_overhead_p50_ms'))} ms streaming "
        f"({get(a, 'overhead', 'requests')} requests); real model: first token "
        f"{fmt(get(a, 'real', 'first_token_delta_p50_ms'))} ms later",
        "met": api <= TARGET_API_MS,
    }]  # fmt: skip


def render(a: Result) -> list[str]:
    o, r = a.get("overhead", {}), a.get("real", {})
    rows = [
        ["direct (events in-process)", get(o, "direct_ms", "p50"), get(o, "direct_ms", "p95")],
        ["POST /v1/chat/completions", get(o, "api_ms", "p50"), get(o, "api_ms", "p95")],
        ["same, stream: true", get(o, "api_stream_ms", "p50"), get(o, "api_stream_ms", "p95")],
    ]
    real = [
        [r.get("questions"), get(r, "direct_first_token_ms", "p50"),
         get(r, "api_first_byte_ms", "p50"), get(r, "api_first_token_ms", "p50"),
         r.get("first_token_delta_p50_ms"), get(r, "direct_total_ms", "p50"),
         get(r, "api_total_ms", "p50"), r.get("total_delta_p50_ms")],
    ]  # fmt: skip
    return [
        f"HTTP stack alone: a stand-in replays a real answer's events ({o.get('tokens_per_answer')}"
        f" tokens) at once; {o.get('requests')} requests, uvicorn on 127.0.0.1 in this process, "
        "one keep-alive httpx client.",
        "",
        *table(["", "p50 ms", "p95 ms"], rows),
        "",
        f"Overhead p50: {fmt(o.get('overhead_p50_ms'))} ms non-streaming, "
        f"{fmt(o.get('stream_overhead_p50_ms'))} ms streaming.",
        "",
        "Real model, the same gold questions through `Pipeline.stream` and through the API "
        "stream (first byte: the role chunk, sent after retrieval):",
        "",
        *table(["questions", "pipeline first token p50 ms", "API first byte p50 ms",
                "API first token p50 ms", "first token later by p50 ms",
                "pipeline total p50 ms", "API total p50 ms", "total later by p50 ms"], real),
    ]  # fmt: skip


SECTION = Section("api", "API (`rag serve`) over the pipeline", run, render, targets)
