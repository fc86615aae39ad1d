"""The first answer design: the model writes freely from the passages, then every
sentence is checked against the passage it cites (``generation.strategy = "free"``).

Kept for comparison (``rag eval --strategies free,quote``) and for the
``extractive`` mode (the passages' best sentences, no LLM).
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.generate import steps
from rag.generate.strategy import AnswerRequest, Done, Event, Strategy


class FreeStrategy(Strategy):
    name = "free"

    def answer(self, request: AnswerRequest) -> Iterator[Event]:
        checked = yield from steps.draft_and_check(request)
        yield Done(steps.finish(request, self.name, checked))
