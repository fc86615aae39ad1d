"""``create_app(pipeline, settings)``: the FastAPI app over one pipeline (no module globals).

Routes: the OpenAI-compatible chat API (``server.openai_api``), the REST API and
health (``server.rest``), the MCP tools as streamable HTTP at ``/mcp``
(``server.mcp_tools``), the OpenAPI schema at ``/openapi.json`` (no ``/docs`` page:
its assets would come from a CDN, and the server runs offline). Every request
passes ``server.guard`` first (Host, Origin, the API key on every route but
``/healthz``, read-only, cross-site writes), before its body is read; every route
that touches the model or the index queues in one ``server.admission.Admission``.
CORS is off unless ``settings.cors_origins`` names origins.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.routing import Route

from rag.config import ServerConfig
from rag.pipeline import Pipeline
from server import errors, openai_api, rest
from server.admission import Admission
from server.guard import Guard, policy_for


def create_app(pipeline: Pipeline, settings: ServerConfig, *, warm: bool = True) -> FastAPI:
    """The app. ``warm``: load the models in the background at start-up (``/readyz``
    says when they are ready); without it they load on the first question."""
    from mcp.server.transport_security import TransportSecuritySettings

    from server.mcp_tools import build_mcp

    ready = rest.Readiness()
    # (a stand-in pipeline, as the API benchmark's replay, may have no index to refresh)
    refresh = getattr(pipeline, "refresh", None)
    admission = Admission(settings.max_pending, settings.workers, refresh)
    mcp = build_mcp(pipeline, admission)
    # Host and Origin are checked for every route (the MCP SDK's own check included) by
    # server.guard, before the request reaches the SDK.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, transport_security=security
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=ready.run, args=(pipeline,), daemon=True).start()
        else:
            ready.state = "ready"
        async with mcp.session_manager.run():
            yield
        admission.close()

    app = FastAPI(
        title="kzspace-rag",
        summary="Cited answers from the article archive: OpenAI-compatible chat, REST, MCP.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # no /docs: Swagger UI loads its assets from a CDN
        redoc_url=None,
        openapi_url=None,  # served below (the guard checks the key like everywhere)
    )
    errors.install(app)
    app.include_router(rest.health_router(pipeline, ready))
    app.include_router(openai_api.router(pipeline, settings, admission))
    app.include_router(rest.router(pipeline, settings, admission))
    _openapi(app)
    for route in mcp_app.routes:  # the SDK's /mcp endpoint
        if isinstance(route, Route) and route.path == "/mcp":
            app.router.routes.append(Route("/mcp", route.app))
    _middleware(app, settings)
    app.state.pipeline, app.state.settings, app.state.ready = pipeline, settings, ready
    app.state.admission = admission
    return app


def _middleware(app: FastAPI, settings: ServerConfig) -> None:
    """Outermost first: CORS (answers preflights), the guard, the body limit."""
    uploads = "/v1/documents"
    app.add_middleware(
        errors.BodyLimit,
        limit_for=lambda path: (
            settings.max_upload_request_bytes if path == uploads else settings.max_body_bytes
        ),
    )
    app.add_middleware(Guard, policy=policy_for(settings))  # before any body is read
    if origins := [o.strip() for o in settings.cors_origins.split(",") if o.strip()]:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Mcp-Session-Id",
                           "Mcp-Protocol-Version", "X-Requested-With"],
        )  # fmt: skip


def _openapi(app: FastAPI) -> None:
    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())
