"""``POST /v1/chat/completions`` and ``GET /v1/models``: OpenAI's shapes over ``Pipeline.stream``.

The last user message is the question; earlier user/assistant pairs are the
follow-up history. Each choice carries the cited passages (``sources``, the
names of ``rag ask --json`` citations), ``abstained`` and ``refusal``; in a stream
they come in the final chunk, with ``answer``, the checked text (the pipeline
drops unsupported sentences after streaming them).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from rag.config import ServerConfig
from rag.pipeline import Done, Pipeline, Token
from rag.types import Answer
from server.admission import Admission
from server.errors import ApiError, describe, error_body
from server.streaming import PipelineRun
from server.types import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    Model,
    ModelList,
    Source,
    Usage,
)

# An earlier question or answer, as history: enough to resolve a follow-up. The rewrite
# reads the last three turns, which must fit the model's context with its prompt.
HISTORY_CHARS = 1000


def split_conversation(
    messages: Sequence[ChatMessage], settings: ServerConfig
) -> tuple[str, list[tuple[str, str]]]:
    """(question, history pairs) from OpenAI messages; system messages are ignored.
    Over the server's limits (messages, characters of one message): 400."""
    if len(messages) > settings.max_messages:
        raise ApiError(400, f"{len(messages)} messages; the limit is {settings.max_messages}",
                       "too_many")  # fmt: skip
    if any(len(m.text()) > settings.max_turn_chars for m in messages):
        raise ApiError(400, f"a message is over {settings.max_turn_chars:,} characters",
                       "message_too_long")  # fmt: skip
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question", "no_question")
    history: list[tuple[str, str]] = []
    for prev, cur in zip(turns[:-1], turns[1:-1], strict=False):
        if prev.role == "user" and cur.role == "assistant":
            history.append((prev.text(), cur.text()))
    return turns[-1].text(), bounded_history(history[-settings.max_history_turns :], settings)


def bounded_history(
    history: Sequence[tuple[str, str]], settings: ServerConfig
) -> list[tuple[str, str]]:
    """The follow-up history within the server's limits (400 beyond them), each turn
    cut to what resolving a follow-up needs."""
    if len(history) > settings.max_history_turns:
        raise ApiError(400, f"{len(history)} earlier turns; the limit is "
                       f"{settings.max_history_turns}", "history_too_long")  # fmt: skip
    limit = settings.max_turn_chars
    if any(len(q) > limit or len(a) > limit for q, a in history):
        raise ApiError(400, f"an earlier question or answer is over {limit:,} characters",
                       "history_too_long")  # fmt: skip
    return [(q.strip()[:HISTORY_CHARS], a.strip()[:HISTORY_CHARS]) for q, a in history if q.strip()]


def answer_options(
    k: int | None, language: str | None, mode: str | None, filters: Any
) -> dict[str, Any]:
    """``Pipeline.stream``'s options from a request's fields."""
    return {"k": k, "language": language, "mode": mode,
            "filters": filters.to_filters() if filters else None}  # fmt: skip


def sources(answer: Answer) -> list[Source]:
    """The answer's citations (with a refusal: the nearest evidence), as ``rag ask --json``
    names them."""
    return [Source(n=c.n, doc_id=c.doc_id, title=c.title, chunk_id=c.chunk_id, start=c.start,
                   end=c.end, text=c.text, page=c.page)
            for c in answer.shown_citations]  # fmt: skip


def router(pipeline: Pipeline, settings: ServerConfig, admission: Admission) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
    started = int(time.time())

    @api.get("/models")
    def models() -> ModelList:
        """The assistant, as the one model."""
        return ModelList(data=[Model(id=settings.model_name, created=started)])

    @api.get("/models/{model}")
    def model(model: str) -> Model:
        if model != settings.model_name:
            raise ApiError(
                404, f"no model {model!r}; the model is {settings.model_name}", "no_model"
            )
        return Model(id=settings.model_name, created=started)

    @api.post("/chat/completions", response_model=ChatCompletion)
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        """Answer the last user message from the articles, with ``[n]`` citations.

        ``stream: true`` streams SSE chunks (``data: {...}``, then ``data: [DONE]``);
        the sources come in the final chunk. ``n`` > 1 and tools are refused (400);
        other OpenAI parameters are accepted and ignored (the answer is deterministic).
        """
        if body.n is not None and body.n != 1:
            raise ApiError(400, "n > 1 is not supported: one answer per question", "unsupported")
        if body.tools or body.functions:
            why = "the assistant answers from its articles (its tools are served over MCP, /mcp)"
            raise ApiError(400, f"tools are not supported: {why}", "unsupported")
        question, history = split_conversation(body.messages, settings)
        options = answer_options(body.k, body.language, body.mode, body.filters)
        run = PipelineRun(lambda: pipeline.stream(question, history, **options), admission)
        run.begin()
        # The first event (after retrieval) comes before any byte of the answer, so a bad
        # question, a missing index or a busy server still gets its own status code.
        first = await run.next(request.is_disconnected)
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            return StreamingResponse(
                _sse(run, first, ident, created, settings.model_name),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        answer = await run.answer(first, request.is_disconnected)
        choice = Choice(message=AssistantMessage(content=answer.answer), **outcome(answer))
        tokens = answer.tokens_generated
        return ChatCompletion(id=ident, created=created, model=settings.model_name,
                              choices=[choice], usage=Usage(completion_tokens=tokens,
                                                            total_tokens=tokens))  # fmt: skip

    return api


def outcome(answer: Answer) -> dict[str, Any]:
    """What a choice carries beside the text: its sources and how the answer came out."""
    return {"sources": sources(answer), "abstained": answer.abstained,
            "refusal": answer.refusal, "kind": answer.kind, "missing": answer.missing}  # fmt: skip


def _chunk(ident: str, created: int, model: str, delta: dict[str, Any], **extra: Any) -> bytes:
    choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None, **extra}
    body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [choice]}  # fmt: skip
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()


async def _sse(
    run: PipelineRun, first: Any, ident: str, created: int, model: str
) -> AsyncIterator[bytes]:
    """The SSE body: a role chunk, one chunk per token, the final chunk with the sources."""
    try:
        yield _chunk(ident, created, model, {"role": "assistant", "content": ""})
        answer: Answer | None = None
        event = first
        try:
            while event is not None:
                if isinstance(event, Token) and event.text:
                    yield _chunk(ident, created, model, {"content": event.text})
                elif isinstance(event, Done):
                    answer = event.answer
                event = await run.next()
        except Exception as exc:  # after the headers: the error goes in the stream
            status, message, code = describe(exc)
            yield f"data: {json.dumps(error_body(status, message, code))}\n\n".encode()
            return
        if answer is not None:
            final = {"finish_reason": "stop", "answer": answer.answer, **outcome(answer)}
            final["sources"] = [s.model_dump() for s in final["sources"]]
            yield _chunk(ident, created, model, {}, **final)
        yield b"data: [DONE]\n\n"
    finally:
        run.cancel()  # the client went away, or the stream ended: free the model
