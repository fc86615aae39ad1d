"""LlamaGenerator.close: the model is freed in order, never under a running decode."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.generate import llama
from rag.generate.llama import LlamaGenerator


class _FakeLlama:
    """What ``stream`` uses of llama_cpp.Llama: a streamed chat completion and close()."""

    def __init__(self) -> None:
        self.closed = False
        self.completions_closed = 0

    def create_chat_completion(self, **_: Any) -> Iterator[dict[str, Any]]:
        try:
            for piece in ("Байконур", " [1]"):
                assert not self.closed, "decoding on a freed model"
                yield {"choices": [{"delta": {"content": piece}}]}
        finally:
            self.completions_closed += 1

    def close(self) -> None:
        self.closed = True


def _generator() -> tuple[LlamaGenerator, _FakeLlama]:
    gen = LlamaGenerator(Path("/nonexistent.gguf"), "fake")
    fake = _FakeLlama()
    gen._llm = fake
    return gen, fake


def test_close_frees_an_idle_model_and_forgets_it() -> None:
    gen, fake = _generator()
    assert gen.complete([{"role": "user", "content": "?"}], 8) == "Байконур [1]"
    assert gen.close(timeout=1)
    assert fake.closed and gen._llm is None and fake.completions_closed == 1


def test_close_waits_for_the_answer_under_way() -> None:
    gen, fake = _generator()
    pieces = gen.stream([{"role": "user", "content": "?"}], 8)
    assert next(pieces) == "Байконур"  # a decode is under way, suspended mid-answer
    assert not gen.close(timeout=0.05)  # not freed under it
    assert not fake.closed and gen._llm is fake

    closer = threading.Thread(target=gen.close, kwargs={"timeout": 5})
    closer.start()
    assert list(pieces) == [" [1]"]  # the answer ends ...
    closer.join(5)
    assert fake.closed and fake.completions_closed == 1  # ... and only then is it freed


def test_an_abandoned_stream_releases_the_model() -> None:
    gen, fake = _generator()
    pieces = gen.stream([{"role": "user", "content": "?"}], 8)
    next(pieces)
    pieces.close()  # what dropping an answer does
    assert fake.completions_closed == 1
    assert gen.close(timeout=0.05) and fake.closed


def test_every_live_generator_is_closed_at_exit() -> None:
    gen, fake = _generator()
    assert gen in llama._LIVE
    llama.close_all()
    assert fake.closed
