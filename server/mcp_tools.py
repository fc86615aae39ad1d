"""The MCP server: the pipeline's search and answers as tools, on the official SDK.

Each tool is a plain typed function (its signature and docstring are the tool's
schema) whose body calls the pipeline. ``rag mcp`` serves them over stdio;
``rag serve`` mounts them as streamable HTTP at ``/mcp``. The SDK (mcp 2.x, where
v1's ``FastMCP`` is named ``MCPServer``) runs sync tools in a worker thread; the
answer itself runs in the pipeline's own thread (``rag.stream.AnswerStream``).
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.types import Article
from server.types import Filters

INSTRUCTIONS = (
    "Cited answers from a local archive of Russian news articles about the Kazakhstan "
    "space industry. `ask` answers a question with [n] citations and their passages; "
    "`search_articles` returns passages; `get_passage` and `list_articles` look things up."
)


def build_mcp(pipeline: Pipeline) -> MCPServer:
    # WARNING: the SDK configures the root logger at this level (INFO would log every request)
    mcp: MCPServer = MCPServer("kzspace-rag", instructions=INSTRUCTIONS, log_level="WARNING")

    @mcp.tool()
    def search_articles(query: str, k: int = 5, filters: Filters | None = None) -> dict[str, Any]:
        """The k passages of the articles closest to the query (Russian or English), best
        first, each with its article, character span (and page, for a PDF) and cosine
        score. ``filters``:
        ``since``/``until`` (YYYY-MM-DD, inclusive) and ``source`` (a substring)."""
        if not 1 <= k <= 50:
            raise ToolError("k must be between 1 and 50")
        try:
            hits = pipeline.search(query, k, filters=filters.to_filters() if filters else None)
        except RagError as exc:
            raise ToolError(str(exc)) from None
        return {"query": query, "hits": [h.to_json(i) for i, h in enumerate(hits, start=1)]}

    @mcp.tool()
    def ask(question: str) -> dict[str, Any]:
        """Answer a question from the articles. ``answer`` cites passages as [n];
        ``citations`` lists them (doc_id, title, chunk_id, start, end, text);
        ``abstained`` is true (and ``refusal`` says why) when the articles do not say;
        then ``nearest`` lists the nearest evidence and ``missing`` what is not stated."""
        try:
            answer = pipeline.ask(question)
        except RagError as exc:
            raise ToolError(str(exc)) from None
        out = answer.to_json()
        keep = ("question", "answer", "abstained", "refusal", "kind", "citations", "nearest",
                "missing", "language", "query")  # fmt: skip
        return {key: out[key] for key in keep}

    @mcp.tool()
    def list_articles() -> dict[str, Any]:
        """Every indexed article: doc_id, title and number of passages."""
        try:
            docs = pipeline.status()["documents"]
        except RagError as exc:
            raise ToolError(str(exc)) from None
        articles = [a.to_json() for a in Article.listed(docs)]
        return {"n_documents": len(articles), "articles": articles}

    @mcp.tool()
    def get_passage(chunk_id: str) -> dict[str, Any]:
        """One passage by its chunk_id (from a citation or a search hit), with its
        article's title, date and source."""
        try:
            index = pipeline.index
            (row,) = index.rows_of([chunk_id])
        except KeyError:
            raise ToolError(f"no passage {chunk_id!r} in the index") from None
        except RagError as exc:
            raise ToolError(str(exc)) from None
        c = index.chunks[row]
        doc = index.documents.get(c.doc_id)
        return {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "start": c.start,
                "end": c.end, "text": c.text, "page": c.page, "date": doc.date if doc else None,
                "source": doc.source if doc else None}  # fmt: skip

    return mcp
