"""The generator contract: one required method, ``stream``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypedDict


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class Generator(ABC):
    model_id: str

    @abstractmethod
    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        """Yield the reply to ``messages`` piece by piece (greedy decoding)."""

    def complete(self, messages: Sequence[Message], max_tokens: int) -> str:
        return "".join(self.stream(messages, max_tokens))

    def prefill(self, prefix: Sequence[Message], cache_dir: Path | None = None) -> None:
        """Read a prompt prefix ahead of time, where the backend can reuse it (optional)."""
        return None  # backends without a prompt cache have nothing to do
