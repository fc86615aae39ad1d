"""``Pipeline.stream`` read from the event loop without blocking it.

The pipeline runs each answer in its own thread (:class:`rag.stream.AnswerStream`).
A request's run is one job on the admission's threads (:mod:`server.admission`): it
reads the stream to the end and hands each event to the loop
(``call_soon_threadsafe``), so the run holds its slot until the model has really let
go, and never waits on the loop's shared thread pool. When the client goes away the
stream is closed, which stops the model at its next token; a run still queued never
starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from rag.generate.strategy import Done
from rag.stream import AnswerStream
from rag.types import Answer
from server.admission import Admission
from server.errors import ClientGone

Slots = Admission  # the name the routes knew

_END = object()


@dataclass
class _Failed:
    error: BaseException


class PipelineRun:
    """One answer in a slot; ``await next()`` gives its events, None at the end."""

    def __init__(self, start: Callable[[], Iterator[Any]], slots: Admission) -> None:
        self._start, self._slots = start, slots
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stop = threading.Event()
        self._stream: Iterator[Any] | None = None
        self._getter: asyncio.Future[object] | None = None
        self._work_done: Future[None] | None = None

    def begin(self) -> PipelineRun:
        """Queue the run on the admission's threads (its slot is held until it ends;
        over the limit: 503 here)."""
        self._work_done = self._slots.submit(self._work, asyncio.get_running_loop())
        return self

    def _work(self, loop: asyncio.AbstractEventLoop) -> None:
        def put(item: object) -> None:
            try:
                loop.call_soon_threadsafe(self._queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody listens any more
                self._stop.set()

        try:
            if self._stop.is_set():  # the client left while this run was starting
                return
            self._stream = stream = self._start()
            if self._stop.is_set():
                _close(stream)
            try:
                for event in stream:
                    put(event)
                    if self._stop.is_set():
                        break
            finally:
                _finish(stream)
        except BaseException as exc:  # handed to the request, which answers it
            put(_Failed(exc))
        finally:
            put(_END)

    async def next(
        self, disconnected: Callable[[], Awaitable[bool]] | None = None, poll_s: float = 0.5
    ) -> Any:
        """The next event; None at the end. With ``disconnected``, raises ClientGone
        (and stops the run) when the client has gone while waiting."""
        while True:
            if self._getter is None:
                self._getter = asyncio.ensure_future(self._queue.get())
            done, _ = await asyncio.wait({self._getter}, timeout=poll_s if disconnected else None)
            if not done:
                assert disconnected is not None
                if await disconnected():
                    self.cancel()
                    raise ClientGone()
                continue
            item = self._getter.result()
            self._getter = None
            if item is _END:
                return None
            if isinstance(item, _Failed):
                self.cancel()
                raise item.error
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
        """Stop generating (the model stops at its next token); a run still queued never
        starts. Its slot is free once its job has let go of the model. Idempotent."""
        self._stop.set()
        if self._stream is not None:
            _close(self._stream)
        if self._work_done is not None:
            self._work_done.cancel()
        if self._getter is not None:
            self._getter.cancel()
            self._getter = None


def _close(stream: Iterator[Any]) -> None:
    """Stop an AnswerStream from any thread (a plain generator is closed by _finish)."""
    if isinstance(stream, AnswerStream):
        stream.close()


def _finish(stream: Iterator[Any]) -> None:
    """Close the stream and wait until its worker has let go of the model's lock, so
    the job (and its slot) ends only then."""
    if close := getattr(stream, "close", None):
        close()  # a generator's cleanup runs here, in this thread
    if isinstance(stream, AnswerStream):
        with contextlib.suppress(Exception):  # raised after the close: nobody reads it
            for _ in stream:  # the worker stops at its next token, then ends the stream
                pass
