"""``Pipeline.stream`` read from the event loop without blocking it.

The pipeline runs each answer in its own thread (:class:`rag.stream.AnswerStream`),
so its events may be read from any thread: each ``await next()`` takes one from the
thread pool. When the client goes away the stream is closed, which stops the model
at its next token and releases it for the next request in the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from rag.generate.strategy import Done
from rag.stream import AnswerStream
from rag.types import Answer
from server.errors import ApiError, ClientGone


class Slots:
    """Answers in flight (running or waiting for the model); over ``limit``: 503."""

    def __init__(self, limit: int) -> None:
        self.limit, self.taken = limit, 0

    def take(self) -> None:
        if self.taken >= self.limit:
            raise ApiError(
                503, f"the server is busy ({self.taken} answers queued); retry later", "busy"
            )
        self.taken += 1

    def give(self) -> None:
        self.taken -= 1


def _next(stream: AnswerStream[Any]) -> Any:
    return next(stream, None)


class PipelineRun:
    """One answer in a slot; ``await next()`` gives its events, None at the end."""

    def __init__(self, start: Callable[[], AnswerStream[Any]], slots: Slots) -> None:
        self._start, self._slots = start, slots
        self._stream: AnswerStream[Any] | None = None
        self._getter: asyncio.Future[Any] | None = None
        self._held = False

    def begin(self) -> PipelineRun:
        """Take a slot and start the answer (a bad question raises here, freeing it)."""
        self._slots.take()
        self._held = True
        try:
            self._stream = self._start()
        except BaseException:
            self._release()
            raise
        return self

    async def next(
        self, disconnected: Callable[[], Awaitable[bool]] | None = None, poll_s: float = 0.5
    ) -> Any:
        """The next event; None at the end. With ``disconnected``, raises ClientGone
        (and stops the run) when the client has gone while waiting."""
        assert self._stream is not None, "begin() first"
        while True:
            if self._getter is None:
                self._getter = asyncio.ensure_future(run_in_threadpool(_next, self._stream))
            done, _ = await asyncio.wait({self._getter}, timeout=poll_s if disconnected else None)
            if not done:
                assert disconnected is not None
                if await disconnected():
                    self.cancel()
                    raise ClientGone()
                continue
            getter, self._getter = self._getter, None
            try:
                item = getter.result()
            except BaseException:
                self.cancel()
                raise
            if item is None:
                self._release()
            return item

    async def answer(
        self, first: Any = None, disconnected: Callable[[], Awaitable[bool]] | None = None
    ) -> Answer:
        """Read to the end (after ``first``, an event already read); the Done's Answer."""
        answer, event = None, first
        while True:
            if isinstance(event, Done):
                answer = event.answer
            event = await self.next(disconnected)
            if event is None:
                break
        if answer is None:
            raise RuntimeError("the pipeline ended without an answer")
        return answer

    def cancel(self) -> None:
        """Stop generating (after the current token) and free the slot; idempotent."""
        if self._stream is not None:
            self._stream.close()
        if self._getter is not None:
            self._getter.cancel()
            self._getter = None
        self._release()

    def _release(self) -> None:
        if self._held:
            self._held = False
            self._slots.give()
