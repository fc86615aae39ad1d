"""``Pipeline.stream`` driven from the event loop without blocking it.

The pipeline holds a thread-owned lock across its yields (llama.cpp is not
re-entrant), so one generator must run start to end on one thread: each answer
gets a worker thread that runs the whole stream and hands the events to the
loop (``call_soon_threadsafe``). Starlette's ``iterate_in_threadpool`` would
advance the generator on a different pool thread each step. When the client
goes away the worker stops after the next event and closes the stream, which
releases the model for the next request in the queue.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from rag.errors import BadInputError
from server.admission import Admission
from server.errors import ClientGone

Slots = Admission  # the name the routes knew

_END = object()


@dataclass
class _Failed:
    error: BaseException


class PipelineRun:
    """One ``Pipeline.stream`` in its own thread; ``await next()`` gives its events."""

    def __init__(self, start: Callable[[], Iterator[Any]], slots: Admission) -> None:
        self._start, self._slots = start, slots
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stop = threading.Event()
        self._getter: asyncio.Future[object] | None = None
        self._work_done: Future[None] | None = None

    def begin(self) -> PipelineRun:
        """Queue the run on the admission's threads (its slot is held until it ends)."""
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
            stream = self._start()
            try:
                for event in stream:
                    put(event)
                    if self._stop.is_set():
                        break
            finally:
                if close := getattr(stream, "close", None):
                    close()  # runs the generator's cleanup (the lock) in this thread
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

    def cancel(self) -> None:
        """Stop generating (after the current token); a run still queued never starts.
        Its slot is free once its thread has let go of the model. Idempotent."""
        self._stop.set()
        if self._work_done is not None:
            self._work_done.cancel()
        if self._getter is not None:
            self._getter.cancel()
            self._getter = None


def filter_kwargs(method: Callable[..., Any], filters: Any) -> dict[str, Any]:
    """``{"filters": filters}`` when the client gave some and the pipeline takes them."""
    if filters is None:
        return {}
    if "filters" not in inspect.signature(method).parameters:
        raise BadInputError("filters are not supported by this index yet")
    return {"filters": filters}
