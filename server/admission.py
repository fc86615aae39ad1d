"""One admission control for every route that touches the model or the index.

A request takes a slot (over ``limit`` in flight: 503 at once) and its work runs on
this object's own few threads, never on the event loop's shared pool, so ``/healthz``
(async, on the loop) answers while questions and searches queue. Work that has not
started when its client goes away is dropped from the queue, and a slot is given back
only when its work has really finished: no thread is left waiting for the model's
lock after its slot was freed. Before each piece of work the pipeline picks up an
index generation another process committed (``Pipeline.refresh``), so a request
sees one generation from start to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from server.errors import ApiError, ClientGone

_T = TypeVar("_T")
Disconnected = Callable[[], Awaitable[bool]]


class Admission:
    def __init__(
        self, limit: int, workers: int = 4, refresh: Callable[[], object] | None = None
    ) -> None:
        self.limit, self.taken = limit, 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="rag-work")
        self._refresh = refresh

    # -- slots ------------------------------------------------------------------
    def take(self) -> None:
        with self._lock:
            if self.taken >= self.limit:
                raise ApiError(
                    503, f"the server is busy ({self.taken} requests queued); retry later", "busy"
                )
            self.taken += 1

    def give(self) -> None:
        with self._lock:
            self.taken -= 1

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """A slot for work that runs on the caller's thread (the MCP tools)."""
        self.take()
        try:
            self.fresh()
            yield
        finally:
            self.give()

    def fresh(self) -> None:
        """The request boundary: pick up a newly committed index generation."""
        if self._refresh is not None:
            self._refresh()

    # -- work ------------------------------------------------------------------
    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        """Take a slot and queue ``fn`` on the work threads; the slot is given back
        when it has finished or was cancelled before it started."""
        self.take()
        try:
            future = self._pool.submit(self._fresh_call, fn, *args)
        except BaseException:
            self.give()
            raise
        future.add_done_callback(lambda _: self.give())
        return future

    def _fresh_call(self, fn: Callable[..., _T], *args: Any) -> _T:
        self.fresh()
        return fn(*args)

    async def run(
        self, fn: Callable[..., _T], *args: Any, disconnected: Disconnected | None = None
    ) -> _T:
        """``fn(*args)`` on a work thread; with ``disconnected``, a client that goes
        away while it waits gets ClientGone and its queued work is dropped."""
        future = self.submit(fn, *args)
        return await wait(future, disconnected)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


async def wait(
    future: Future[_T], disconnected: Disconnected | None = None, poll_s: float = 0.25
) -> _T:
    waiting = asyncio.wrap_future(future)
    waiting.add_done_callback(lambda f: f.cancelled() or f.exception())  # read, never logged
    while True:
        done, _ = await asyncio.wait({waiting}, timeout=poll_s if disconnected else None)
        if done:
            return waiting.result()
        assert disconnected is not None
        if await disconnected():
            future.cancel()  # not started: it never runs; started: it ends on its own
            raise ClientGone()
