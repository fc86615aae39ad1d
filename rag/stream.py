"""An answer stream any thread may consume: one worker thread per answer owns the model.

``Pipeline.stream`` returns an :class:`AnswerStream`. Its worker thread takes the
pipeline's lock (llama.cpp and the index are not re-entrant), runs the whole answer
and puts each event on a queue; the reader takes them from any thread, a step at a
time (a Gradio generator, a server's thread pool). No lock is held while the reader
has an event. ``close()`` (or leaving a ``with`` block, or dropping the stream) sets
``cancelled``: the model stops at its next token and the worker ends, which frees
the lock for the next answer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

_E = TypeVar("_E")
_END = object()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class AnswerStream(Generic[_E]):
    """Events of ``produce(cancelled)``, produced under ``lock`` in a worker thread."""

    def __init__(
        self,
        produce: Callable[[threading.Event], Iterator[_E]],
        lock: AbstractContextManager[Any],
        name: str = "rag-answer",
    ) -> None:
        self._produce, self._lock, self._name = produce, lock, name
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.cancelled = threading.Event()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None
        self._finished = False

    def __iter__(self) -> AnswerStream[_E]:
        return self

    def __next__(self) -> _E:
        if self._finished or (self._thread is None and self.cancelled.is_set()):
            raise StopIteration
        with self._started:
            if self._thread is None:
                # The worker holds no reference to this stream: dropping it cancels.
                args = (self._produce, self._lock, self.cancelled, self._queue)
                self._thread = threading.Thread(target=_work, args=args, name=self._name,
                                                daemon=True)  # fmt: skip
                self._thread.start()
        item = self._queue.get()
        if item is _END:
            self._finished = True
            raise StopIteration
        if isinstance(item, _Failed):
            self._finished = True
            raise item.error
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the answer (the model stops at its next token); idempotent."""
        self.cancelled.set()

    def __enter__(self) -> AnswerStream[_E]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if (cancelled := getattr(self, "cancelled", None)) is not None:
            cancelled.set()


def _work(
    produce: Callable[[threading.Event], Iterator[Any]],
    lock: AbstractContextManager[Any],
    cancelled: threading.Event,
    out: queue.SimpleQueue[object],
) -> None:
    """The worker: every event of ``produce`` onto ``out`` under ``lock``, then _END."""
    try:
        with lock:
            events = produce(cancelled)
            try:
                for event in events:
                    if cancelled.is_set():
                        break
                    out.put(event)
            finally:
                if close := getattr(events, "close", None):
                    close()  # the producer's cleanup runs here, in this thread
    except BaseException as exc:  # handed to the reader, which raises it
        out.put(_Failed(exc))
    finally:
        out.put(_END)
