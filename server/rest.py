"""The REST API: search, ask (exactly ``rag ask --json``), the articles, health and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse

from rag.config import ServerConfig
from rag.errors import BadInputError, IndexMissingError
from rag.index import store
from rag.pipeline import Pipeline
from rag.types import Article
from server.admission import Admission
from server.errors import ApiError, hide_paths
from server.openai_api import answer_options, bounded_history
from server.streaming import PipelineRun
from server.types import (
    AskRequest,
    DocumentInfo,
    DocumentList,
    DocumentText,
    Problem,
    RemoveReport,
    SearchHit,
    SearchRequest,
    SearchResponse,
    UploadReport,
)
from ui.uploads import add_uploads, remove_documents


class Readiness:
    """Whether the models have loaded (``rag serve`` warms them in the background)."""

    def __init__(self) -> None:
        self.state, self.error = "loading", ""

    def run(self, pipeline: Pipeline) -> None:
        try:
            pipeline.warm()
            self.state = "ready"
        except Exception as exc:
            self.state, self.error = "failed", " ".join(str(exc).split())[:300]


def router(pipeline: Pipeline, settings: ServerConfig, admission: Admission) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/search", tags=["REST"])
    async def search(body: SearchRequest, request: Request) -> SearchResponse:
        """The best passages for a query, with their cosine scores (``rag search --json``)."""
        filters = body.filters.to_filters() if body.filters else None
        hits = await admission.run(
            lambda: pipeline.search(body.query, body.k, filters=filters),
            disconnected=request.is_disconnected,
        )
        return SearchResponse(
            query=body.query,
            hits=[SearchHit.model_validate(h.to_json(i)) for i, h in enumerate(hits, start=1)],
        )

    @api.post("/v1/ask", tags=["REST"])
    async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """A cited answer: exactly the object ``rag ask --json`` prints."""
        history = bounded_history([(t.question, t.answer) for t in body.history], settings)
        options = answer_options(body.k, body.language, body.mode, body.filters)
        run = PipelineRun(lambda: pipeline.stream(body.question, history, **options), admission)
        answer = await run.begin().answer(None, request.is_disconnected)
        return answer.to_json()

    @api.get("/v1/documents", tags=["REST"])
    async def documents(request: Request) -> DocumentList:
        """The indexed articles."""
        try:
            status = await admission.run(pipeline.status, disconnected=request.is_disconnected)
        except IndexMissingError:
            return DocumentList(n_documents=0, n_chunks=0, documents=[])
        return DocumentList(
            n_documents=status["n_documents"],
            n_chunks=status["n_chunks"],
            documents=[
                DocumentInfo.model_validate(a.to_json())
                for a in Article.listed(status["documents"])
            ],
        )

    @api.get("/v1/documents/{doc_id:path}", tags=["REST"])
    async def document(doc_id: str, request: Request) -> DocumentText:
        """One article's cleaned text (citations' ``start``/``end`` index into it)."""
        doc = await admission.run(pipeline.document, doc_id, disconnected=request.is_disconnected)
        if doc is None:
            raise ApiError(404, f"no article {doc_id!r} in the index", "no_document")
        return DocumentText(doc_id=doc.doc_id, title=doc.title, date=doc.date, source=doc.source,
                            text=doc.text, pages=list(doc.pages))  # fmt: skip

    api.include_router(_writes(pipeline, settings, admission))
    return api


def _writes(pipeline: Pipeline, settings: ServerConfig, admission: Admission) -> APIRouter:
    """Uploads and removals (refused by a read-only server)."""
    api = APIRouter()

    @api.post("/v1/documents", tags=["REST"])
    async def upload(files: list[UploadFile] = File(...)) -> UploadReport:  # noqa: B008
        """Add or update articles (.txt, .md, .html, .pdf, .docx) as ``uploads/NAME``:
        cleaned, chunked and indexed like ``rag index add``; unchanged articles are not
        re-embedded. Without an API key, send the header ``X-Requested-With`` (any value)."""
        _writable(settings)  # the guard refused it already; kept for direct callers
        incoming = [(f.filename or "upload", f.file) for f in files]
        out = await admission.run(add_uploads, pipeline, incoming)
        if out.problems and not (out.added or out.unchanged or out.folded):
            raise BadInputError("; ".join(why for _, why in out.problems))  # nothing taken
        return UploadReport(added=list(out.added), unchanged=list(out.unchanged),
                            problems=[Problem(file=f, reason=r) for f, r in out.problems],
                            n_documents=out.n_documents, n_chunks=out.n_chunks)  # fmt: skip

    @api.delete("/v1/documents/{doc_id:path}", tags=["REST"])
    async def remove(doc_id: str) -> RemoveReport:
        """Remove an article from the index (an upload's file too)."""
        _writable(settings)
        report = await admission.run(_remove_one, pipeline, doc_id)
        return RemoveReport(removed=list(report.removed), n_documents=report.n_documents,
                            n_chunks=report.n_chunks)  # fmt: skip

    return api


def health_router(pipeline: Pipeline, ready: Readiness) -> APIRouter:
    api = APIRouter(tags=["health"])
    index_dir = pipeline.config.index_dir

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process answers (no API key needed; on the event loop, so it never waits
        for a thread behind questions)."""
        return {"status": "ok"}

    @api.get("/readyz")
    async def readyz() -> JSONResponse:
        """200 when the models are loaded and there is an index; 503 (with why) otherwise."""
        has_index = store.exists(index_dir)
        ok = has_index and ready.state == "ready"
        body = {"ready": ok, "models": ready.state, "index": has_index}
        if ready.error:
            body["error"] = hide_paths(ready.error)
        return JSONResponse(body, status_code=200 if ok else 503)

    return api


def _remove_one(pipeline: Pipeline, doc_id: str) -> Any:
    if pipeline.document(doc_id) is None:
        raise ApiError(404, f"no article {doc_id!r} in the index", "no_document")
    return remove_documents(pipeline, [doc_id])


def _writable(settings: ServerConfig) -> None:
    if settings.read_only:
        raise ApiError(403, "the server is read-only: uploads and deletes are off", "read_only")
