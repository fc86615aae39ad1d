"""The answer layer's contract: the typed request a strategy gets, the shared steps,
and a stream any thread may read and close."""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from rag.generate import steps
from rag.generate.base import Generator, Message
from rag.generate.registry import STRATEGIES
from rag.generate.strategy import AnswerRequest, Done, Event, Strategy
from rag.pipeline import Pipeline, Token
from rag.retrieve import context
from rag.types import AnswerKind, Chunk, Hit, Refusal
from tests.fakes import FakeEmbedder

Q = "Сколько спутников SpaceSail на орбите?"


def _hit(n: int) -> Hit:
    return Hit(Chunk(f"c{n}", f"d{n}.txt", "T", f"text {n}", 0, 6), 0.5)


def test_cite_never_points_outside_the_passages() -> None:
    passages = [_hit(1), _hit(2)]
    assert [c.n for c in steps.cite("a [0]. b [3]. c [2]. d [1].", passages)] == [2, 1]
    assert steps.cite("a [1].", []) == ()  # n=0 passages: nothing wraps around


def test_refusals_say_whether_retrieval_decided() -> None:
    gated = {r for r in Refusal if r.before_generation}
    assert gated == {Refusal.NO_PASSAGES, Refusal.LOW_SCORE, Refusal.UNKNOWN_NAME}
    assert Refusal.NOT_STATED == "not stated" and AnswerKind.FALLBACK == "extractive-fallback"


def test_strategies_import_neither_each_other_nor_the_pipeline() -> None:
    modules = {Path(__import__(s.__module__, fromlist=["_"]).__file__ or "") for s in
               STRATEGIES.values()}  # fmt: skip
    names = {s.__module__ for s in STRATEGIES.values()}
    for path in modules:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        assert not imported & (names - {f"rag.generate.{path.stem}"}), path
        assert "rag.pipeline" not in imported, path


class _Echo(Strategy):
    """A new strategy: one class on the shared steps (registered by the test)."""

    name = "echo"
    seen: list[AnswerRequest] = []

    def answer(self, request: AnswerRequest) -> Iterator[Event]:
        self.seen.append(request)
        checked = yield from steps.draft_and_check(request)
        yield Done(steps.finish(request, self.name, checked))


def test_a_strategy_gets_packed_passages_and_its_tools_in_the_request(
    fake_pipeline: Pipeline, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(STRATEGIES, "echo", _Echo)
    fake_pipeline.build([corpus])
    fake_pipeline.generator.queue("На орбите 108 спутников [1].")  # type: ignore[attr-defined]
    answer = fake_pipeline.ask(Q, strategy_name="echo")
    (request,) = _Echo.seen
    g = fake_pipeline.config.generation
    packed = context.pack(request.query, request.hits, g.context_budget_tokens, g.trim_context)
    assert list(request.passages) == packed and answer.passages == request.passages
    assert [t for _, t in request.headers] == [h.chunk.text for h in request.passages]
    assert len(request.similarity("108", request.passages)) == len(request.passages)
    assert answer.strategy == "echo" and answer.kind is AnswerKind.GENERATED
    assert answer.variant is not None and answer.variant.text == "На орбите 108 спутников [1]."


class _Slow(Generator):
    """Yields many pieces slowly and counts them."""

    model_id = "fake/slow"

    def __init__(self) -> None:
        self.made = 0

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        for _ in range(2000):
            self.made += 1
            time.sleep(0.002)
            yield "слово "


def test_the_stream_is_read_from_any_thread_and_closing_it_stops_the_model(
    fake_config: object, corpus: Path
) -> None:
    slow = _Slow()
    pipe = Pipeline(fake_config, embedder=FakeEmbedder(64), generator=slow)  # type: ignore[arg-type]
    pipe.build([corpus])
    events = pipe.stream(Q, strategy_name="free")
    got: list[object] = []
    while not any(isinstance(e, Token) for e in got):  # each step on a thread of its own
        t = threading.Thread(target=lambda: got.append(next(events)))
        t.start()
        t.join(10)
    assert pipe.lock.acquire(timeout=0.05) is False  # the answer's worker holds the model
    events.close()
    assert list(events) == [] or all(not isinstance(e, Done) for e in events)
    assert pipe.lock.acquire(timeout=5), "closing the stream did not free the model"
    pipe.lock.release()
    made = slow.made
    time.sleep(0.05)
    assert slow.made == made < 2000  # stopped at the next token, not at the end


def test_a_bad_question_fails_at_once_and_a_closed_stream_is_empty(
    fake_pipeline: Pipeline,
) -> None:
    from rag.errors import BadInputError

    with pytest.raises(BadInputError, match="empty"):
        fake_pipeline.stream("   ")
    events = fake_pipeline.stream(Q)
    events.close()  # before the first event: nothing runs
    assert list(events) == []


def test_dropping_a_stream_stops_its_answer(fake_config: object, corpus: Path) -> None:
    import gc

    slow = _Slow()
    pipe = Pipeline(fake_config, embedder=FakeEmbedder(64), generator=slow)  # type: ignore[arg-type]
    pipe.build([corpus])
    events = pipe.stream(Q, strategy_name="free")
    while not isinstance(next(events), Token):
        pass
    del events  # a reader that went away without closing
    gc.collect()
    assert pipe.lock.acquire(timeout=5), "the dropped stream kept the model"
    pipe.lock.release()
    assert slow.made < 2000
