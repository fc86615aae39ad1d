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

    def option_logprobs(self, messages: Sequence[Message], options: Sequence[str]) -> list[float]:
        """Log-probability of each option (one token each) as the first token of the
        reply, normalised over the whole vocabulary: the model as a judge, read from
        its distribution rather than from what it would write (optional)."""
        raise NotImplementedError(f"{type(self).__name__} cannot score options")

    def stream_reply(
        self,
        messages: Sequence[Message],
        reply_prefix: str,
        max_tokens: int,
        grammar: str | None = None,
    ) -> Iterator[str]:
        """Continue the reply after ``reply_prefix`` (not repeated in the output), up to
        the end of the line; ``grammar`` (GBNF) constrains what may be written (optional)."""
        raise NotImplementedError(f"{type(self).__name__} cannot continue a reply")

    def prefill(self, prefix: Sequence[Message], cache_dir: Path | None = None) -> None:
        """Read a prompt prefix ahead of time, where the backend can reuse it (optional)."""
        return None  # backends without a prompt cache have nothing to do
