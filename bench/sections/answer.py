"""Answer: time to first token and total time of `rag ask`, in one process, over fixed questions.

The models load once (timed), the fixed prompt prefix (system prompt and
worked examples) is read into llama.cpp's KV cache by ``Pipeline.warm()``,
and one warm-up question runs before the measured ones (its numbers are
reported apart as the cold question). Then each question goes through
``Pipeline.stream``: TTFT is the time from the call to the first answer token
(retrieval, prompt reading, first generated token); total is the time to the
checked answer. Prompt tokens are counted with the LLM's own tokenizer on the
ChatML text the model reads; the prefix is the part shared by every question.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bench import machine
from bench.common import BenchContext, gold_questions, seeds_pipeline
from bench.contract import Result, Section, Target
from bench.markdown import fmt, get, table

WARM_UP = "Какой космодром упоминается в статьях?"


def chatml(messages: Sequence[Any], reply: bool = True) -> str:
    """The text Qwen's chat template makes of ``messages`` (ChatML), with the reply's opener."""
    body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return body + ("<|im_start|>assistant\n" if reply else "")


def prompt_messages(pipeline: Any, answer: Any) -> list[Any]:
    from rag.generate import prompts
    from rag.retrieve import context

    # the passages' headers as the pipeline makes them
    numbered = context.headers(answer.passages, pipeline.index.documents)
    return list(prompts.answer_messages(answer.query, numbered, answer.language))


def timed_stream(pipeline: Any, question: str) -> dict[str, Any]:
    from rag.pipeline import Done, Token

    started = time.perf_counter()
    first: float | None = None
    answer = None
    for event in pipeline.stream(question):
        if isinstance(event, Token) and first is None:
            first = time.perf_counter() - started
        elif isinstance(event, Done):
            answer = event.answer
    total = time.perf_counter() - started
    assert answer is not None
    return {
        "question": question,
        "ttft_ms": round((first if first is not None else total) * 1000, 1),
        "total_ms": round(total * 1000, 1),
        "retrieve_ms": round(answer.timings_ms.get("retrieve", 0.0), 1),
        "generated_tokens": answer.tokens_generated,
        "abstained": answer.abstained,
        "answer": answer.answer,
        "_answer": answer,
    }


def _model_ids(pipeline: Any) -> tuple[int, int]:
    """Identities of the loaded models: a reload would make new objects."""
    embedder, generator = pipeline.embedder, pipeline.generator
    return id(getattr(embedder, "model", embedder)), id(getattr(generator, "llm", generator))


def run(ctx: BenchContext, pipeline: Any = None) -> dict[str, Any]:
    from rag.generate import prompts

    questions = [q.text for q in gold_questions(ctx)][: ctx.answer_questions]
    pipeline = pipeline or seeds_pipeline(ctx)
    with machine.timer() as t:
        pipeline.embedder.embed_query("warm-up")
    embed_load = t["s"]
    with machine.timer() as t:
        generator = pipeline.generator
        getattr(generator, "llm", None)  # the GGUF loads here
    llm_load = t["s"]
    with machine.timer() as t:
        pipeline.warm()  # reads the fixed prefix into the KV cache
    prefill = t["s"]
    models = _model_ids(pipeline)

    cold = timed_stream(pipeline, WARM_UP)
    cold.pop("_answer")
    rows = [timed_stream(pipeline, q) for q in questions]
    reloaded = models != _model_ids(pipeline)

    count = getattr(pipeline.generator, "count_tokens", None)
    prefix_tokens = count(chatml(prompts.prefix_messages(), reply=False)) if count else None
    for row in rows:
        answer = row.pop("_answer")
        row["prompt_tokens"] = count(chatml(prompt_messages(pipeline, answer))) if count else None
        gen_s = (row["total_ms"] - row["ttft_ms"]) / 1000
        row["tokens_per_s"] = round(row["generated_tokens"] / gen_s, 2) if gen_s > 0 else None
    ttft = [r["ttft_ms"] for r in rows]
    total = [r["total_ms"] for r in rows]
    prompt = [r["prompt_tokens"] for r in rows if r["prompt_tokens"] is not None]
    generated = [r["generated_tokens"] for r in rows]
    return {
        "questions": len(rows),
        "embedder_load_s": round(embed_load, 2),
        "llm_load_s": round(llm_load, 2),
        "prefix_prefill_s": round(prefill, 2),
        "prefix_tokens": prefix_tokens,
        "cold": cold,
        "ttft_ms": machine.percentiles(ttft),
        "total_ms": machine.percentiles(total),
        "prompt_tokens_mean": round(sum(prompt) / len(prompt), 1) if prompt else None,
        "prompt_tokens_max": max(prompt) if prompt else None,
        "generated_tokens_mean": round(sum(generated) / len(generated), 1) if generated else None,
        "models_reloaded": reloaded,
        "per_question": rows,
        "peak_rss_mb": machine.peak_rss_mb(),
    }


# -- the report ------------------------------------------------------------------
TARGET_TTFT_MS = 4000.0


def targets(a: Result) -> list[Target]:
    """Time to first token (median) and models loaded once."""
    out: list[Target] = []
    if (ttft := get(a, "ttft_ms", "p50")) is not None:
        out.append({
            "target": f"rag ask time to first token, median < {TARGET_TTFT_MS / 1000:.0f} s",
            "measured": f"{ttft / 1000:.2f} s over {a.get('questions')} questions",
            "met": ttft < TARGET_TTFT_MS,
        })  # fmt: skip
    if (reloaded := a.get("models_reloaded")) is not None:
        out.append({
            "target": "models load once per process",
            "measured": "reloaded" if reloaded else "no reload across the questions",
            "met": not reloaded,
        })  # fmt: skip
    return out


def render(a: Result) -> list[str]:
    cold = a.get("cold", {})
    row = [
        a.get("questions"), get(a, "ttft_ms", "p50"), get(a, "ttft_ms", "p95"),
        get(a, "total_ms", "p50"), get(a, "total_ms", "p95"), a.get("prompt_tokens_mean"),
        a.get("prompt_tokens_max"), a.get("prefix_tokens"), a.get("generated_tokens_mean"),
        cold.get("ttft_ms"),
    ]  # fmt: skip
    return [
        *table(["questions", "TTFT p50 ms", "TTFT p95 ms", "total p50 ms", "total p95 ms",
                "prompt tokens mean", "prompt tokens max", "cached prefix tokens",
                "generated tokens mean", "warm-up question TTFT ms"], [row]),
        "",
        f"Loads: embedder {fmt(a.get('embedder_load_s'))} s, LLM {fmt(a.get('llm_load_s'))} s, "
        f"prefix prefill {fmt(a.get('prefix_prefill_s'))} s; models reloaded during the "
        f"questions: {fmt(a.get('models_reloaded'))}.",
    ]  # fmt: skip


SECTION = Section("answer", "Answer (`rag ask`)", run, render, targets)
