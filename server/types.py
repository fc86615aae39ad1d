"""Request and response shapes of the HTTP API (pydantic: they are also the OpenAPI schema).

OpenAI-shaped requests accept and ignore fields they do not know (clients send many);
the REST requests refuse unknown fields, so a misspelt option is an error, not a no-op.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.types import SearchFilters


class Filters(BaseModel):
    """Restrict the passages searched: article date range (inclusive) and source."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, description="ISO date YYYY-MM-DD, inclusive")
    until: str | None = Field(None, description="ISO date YYYY-MM-DD, inclusive")
    source: str | None = Field(
        None, max_length=200, description="case-insensitive substring of the article's source"
    )

    @field_validator("since", "until")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD") from None
            if len(value) != 10:
                raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
        return value

    def to_filters(self) -> SearchFilters | None:
        """The pipeline's filters, or None when the client set none."""
        if self.since is None and self.until is None and not self.source:
            return None
        return SearchFilters(since=self.since, until=self.until, source=self.source or None)


# -- OpenAI: chat completions -------------------------------------------------
class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    # A string, or OpenAI's list of content parts ({"type": "text", "text": ...}).
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(
                str(p.get("text", "")) for p in self.content if p.get("type") in ("text", None)
            )
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; ``k``, ``language``, ``mode`` and ``filters`` are our extensions
    (``extra_body`` in the openai client)."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    n: int | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    k: int | None = Field(None, ge=1, le=50)
    language: Literal["ru", "en"] | None = None
    mode: Literal["generative", "extractive"] | None = None
    filters: Filters | None = None


class Source(BaseModel):
    """A passage the answer cites as ``[n]`` (the names of ``rag ask --json`` citations)."""

    n: int
    doc_id: str
    title: str
    chunk_id: str
    start: int
    end: int
    text: str
    page: str | None = None  # "3" or "3-4" for a PDF passage; null otherwise


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str = "stop"
    sources: list[Source]  # the citations; with a refusal, the nearest evidence
    abstained: bool
    refusal: str | None
    kind: str | None = None  # what the answer is (``rag ask --json``'s kind)
    missing: str | None = None  # with a refusal: what the sources do not state


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "kzspace-rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


# -- REST ------------------------------------------------------------------------
class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    k: int = Field(5, ge=1, le=50)
    filters: Filters | None = None


class SearchHit(BaseModel):
    """One passage (the names of ``rag search --json``)."""

    rank: int
    score: float
    doc_id: str
    chunk_id: str
    title: str
    start: int
    end: int
    text: str
    page: str | None = None  # "3" or "3-4" for a PDF passage; null otherwise


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    answer: str


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    history: list[Turn] = Field(default_factory=list, max_length=50)
    k: int | None = Field(None, ge=1, le=50)
    language: Literal["ru", "en"] | None = None
    mode: Literal["generative", "extractive"] | None = None
    filters: Filters | None = None


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    chunks: int


class DocumentList(BaseModel):
    n_documents: int
    n_chunks: int
    documents: list[DocumentInfo]


class DocumentText(BaseModel):
    doc_id: str
    title: str
    date: str | None
    source: str | None
    text: str
    pages: list[int] = []  # a PDF's page starts in ``text`` (page i + 1 at pages[i]); [] if none


class Problem(BaseModel):
    file: str
    reason: str


class UploadReport(BaseModel):
    added: list[str]
    unchanged: list[str]
    problems: list[Problem]
    n_documents: int
    n_chunks: int


class RemoveReport(BaseModel):
    removed: list[str]
    n_documents: int
    n_chunks: int


class ErrorBody(BaseModel):
    message: str
    type: str
    code: str | None = None


class Error(BaseModel):
    """Every error: ``{"error": {"message", "type", "code"}}`` (OpenAI's shape)."""

    error: ErrorBody
