"""The REST API: search, ask (exactly ``rag ask --json``), the articles, health and readiness."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rag.config import ServerConfig
from rag.errors import BadInputError, IndexMissingError
from rag.index import store
from rag.pipeline import Pipeline
from rag.types import Article
from server.errors import ApiError
from server.openai_api import answer_options
from server.streaming import PipelineRun, Slots
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
from ui.uploads import store_upload


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


def router(
    pipeline: Pipeline, settings: ServerConfig, slots: Slots, auth: Any, ready: Readiness
) -> APIRouter:
    api = APIRouter(dependencies=[Depends(auth)])
    config = pipeline.config

    @api.post("/v1/search", tags=["REST"])
    async def search(body: SearchRequest) -> SearchResponse:
        """The best passages for a query, with their cosine scores (``rag search --json``)."""
        filters = body.filters.to_filters() if body.filters else None
        hits = await run_in_threadpool(pipeline.search, body.query, body.k, filters=filters)
        return SearchResponse(
            query=body.query,
            hits=[SearchHit.model_validate(h.to_json(i)) for i, h in enumerate(hits, start=1)],
        )

    @api.post("/v1/ask", tags=["REST"])
    async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """A cited answer: exactly the object ``rag ask --json`` prints."""
        history = [(t.question, t.answer) for t in body.history]
        options = answer_options(body.k, body.language, body.mode, body.filters)
        run = PipelineRun(lambda: pipeline.stream(body.question, history, **options), slots)
        answer = await run.begin().answer(None, request.is_disconnected)
        return answer.to_json()

    @api.get("/v1/documents", tags=["REST"])
    async def documents() -> DocumentList:
        """The indexed articles."""
        try:
            status = await run_in_threadpool(pipeline.status)
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
    async def document(doc_id: str) -> DocumentText:
        """One article's cleaned text (citations' ``start``/``end`` index into it)."""
        doc = await run_in_threadpool(pipeline.document, doc_id)
        if doc is None:
            raise ApiError(404, f"no article {doc_id!r} in the index", "no_document")
        return DocumentText(doc_id=doc.doc_id, title=doc.title, date=doc.date, source=doc.source,
                            text=doc.text, pages=list(doc.pages))  # fmt: skip

    @api.post("/v1/documents", tags=["REST"])
    async def upload(files: list[UploadFile] = File(...)) -> UploadReport:  # noqa: B008
        """Add or update articles (.txt, .md, .html, .pdf, .docx): cleaned, chunked and indexed like
        ``rag index add``; unchanged articles are not re-embedded."""
        _writable(settings)
        return await run_in_threadpool(_add_uploads, pipeline, files)

    @api.delete("/v1/documents/{doc_id:path}", tags=["REST"])
    async def remove(doc_id: str) -> RemoveReport:
        """Remove an article from the index (its file, if any, stays on disk)."""
        _writable(settings)
        if await run_in_threadpool(pipeline.document, doc_id) is None:
            raise ApiError(404, f"no article {doc_id!r} in the index", "no_document")
        report = await run_in_threadpool(pipeline.remove, [doc_id])
        return RemoveReport(removed=list(report.removed), n_documents=report.n_documents,
                            n_chunks=report.n_chunks)  # fmt: skip

    @api.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """200 when the models are loaded and there is an index; 503 (with why) otherwise."""
        has_index = store.exists(config.index_dir)
        ok = has_index and ready.state == "ready"
        body = {"ready": ok, "models": ready.state, "index": has_index}
        if ready.error:
            body["error"] = ready.error
        return JSONResponse(body, status_code=200 if ok else 503)

    return api


def health_router() -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process answers (no API key needed)."""
        return {"status": "ok"}

    return api


def _writable(settings: ServerConfig) -> None:
    if settings.read_only:
        raise ApiError(403, "the server is read-only: uploads and deletes are off", "read_only")


def _add_uploads(pipeline: Pipeline, files: list[UploadFile]) -> UploadReport:
    """Check every file first (name, type, size: ``ui.uploads.store_upload``), then move
    them into corpus_dir/uploads and index them in one update."""
    config = pipeline.config
    if not files:
        raise BadInputError("no files in the request (send multipart field 'files')")
    uploads = config.corpus_dir / "uploads"
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
        staged: list[Path] = []
        for i, f in enumerate(files):
            raw = Path(tmp) / f"raw-{i}"
            with raw.open("wb") as out:
                shutil.copyfileobj(f.file, out)
            staged.append(
                store_upload(raw, f.filename or "upload", Path(tmp) / "checked",
                             config.limits.max_upload_bytes)
            )  # fmt: skip
        names = [p.name for p in staged]
        if len(set(names)) != len(names):
            raise BadInputError("two files in the request have the same name")
        uploads.mkdir(parents=True, exist_ok=True)
        dests = [Path(shutil.move(p, uploads / p.name)) for p in staged]
    try:
        report = pipeline.add(dests)
    except BadInputError as exc:  # nothing readable: keep no copy, hide server paths
        for d in dests:
            d.unlink(missing_ok=True)
        message = str(exc)
        for d in dests:
            message = message.replace(str(d), d.name)
        raise BadInputError(message.replace(str(uploads), "uploads")) from None
    problems = []
    for p in report.problems:
        Path(p.path).unlink(missing_ok=True)
        problems.append(Problem(file=Path(p.path).name, reason=p.reason))
    return UploadReport(added=list(report.added), unchanged=list(report.unchanged),
                        problems=problems, n_documents=report.n_documents,
                        n_chunks=report.n_chunks)  # fmt: skip
