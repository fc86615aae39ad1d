"""Answer strategies by name (``generation.strategy``); see :mod:`rag.generate.strategy`."""

from __future__ import annotations

from rag.generate.free import FreeStrategy
from rag.generate.quote import QuoteStrategy
from rag.generate.select import SelectStrategy
from rag.generate.strategy import Strategy

STRATEGIES: dict[str, type[Strategy]] = {
    FreeStrategy.name: FreeStrategy,
    SelectStrategy.name: SelectStrategy,
    QuoteStrategy.name: QuoteStrategy,
}
