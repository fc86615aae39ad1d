"""Answer strategies by name (``generation.strategy``); see :mod:`rag.generate.strategy`.

A new strategy is one module (a :class:`~rag.generate.strategy.Strategy` subclass
built on :mod:`rag.generate.steps`) and one line here.
"""

from __future__ import annotations

from rag.generate.free import FreeStrategy
from rag.generate.quote import QuoteStrategy
from rag.generate.strategy import Strategy

STRATEGIES: dict[str, type[Strategy]] = {
    FreeStrategy.name: FreeStrategy,
    QuoteStrategy.name: QuoteStrategy,
}
