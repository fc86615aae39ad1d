"""Choosing what the model reads: the best passages that fit the token budget.

On two cores the model reads about 100 prompt tokens a second, so the prompt
is the cost. Token counts are estimated from characters (Qwen's tokenizer
takes about 3 characters of Russian news text per token); the estimate only
has to be stable, not exact.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.types import Hit

CHARS_PER_TOKEN = 3.0


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def select(hits: Sequence[Hit], budget_tokens: int) -> list[Hit]:
    """Hits in rank order while they fit the budget; always at least the best one."""
    chosen: list[Hit] = []
    used = 0
    for hit in hits:
        cost = estimate_tokens(hit.chunk.text) + 12  # number, title line
        if chosen and used + cost > budget_tokens:
            continue
        chosen.append(hit)
        used += cost
    return chosen
