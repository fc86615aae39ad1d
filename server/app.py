"""``create_app(pipeline, settings)``: the FastAPI app over one pipeline (no module globals).

Routes: the OpenAI-compatible chat API (``server.openai_api``), the REST API and
health (``server.rest``), the MCP tools as streamable HTTP at ``/mcp``
(``server.mcp_tools``), the OpenAPI page at ``/docs``. Every route but
``/healthz`` checks the API key when there is one (``server.auth``). CORS is off
unless ``settings.cors_origins`` names origins.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from rag.config import ServerConfig
from rag.pipeline import Pipeline
from server import errors, openai_api, rest
from server.auth import RequireKey, authenticator, is_loopback
from server.streaming import Slots


def create_app(pipeline: Pipeline, settings: ServerConfig, *, warm: bool = True) -> FastAPI:
    """The app. ``warm``: load the models in the background at start-up (``/readyz``
    says when they are ready); without it they load on the first question."""
    from mcp.server.transport_security import TransportSecuritySettings

    from server.mcp_tools import build_mcp

    ready = rest.Readiness()
    mcp = build_mcp(pipeline)
    if is_loopback(settings.host):  # DNS-rebinding protection: only this machine's names
        security = TransportSecuritySettings(
            allowed_hosts=[f"{settings.host}:*", "127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=[f"http://{settings.host}:*", "http://127.0.0.1:*",
                             "http://localhost:*", "http://[::1]:*"],
        )  # fmt: skip
    else:  # reachable from elsewhere, so there is an API key, which a browser cannot forge
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

    app = FastAPI(
        title="kzspace-rag",
        summary="Cited answers from the article archive: OpenAI-compatible chat, REST, MCP.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below, behind the API key like every route but /healthz
        redoc_url=None,
        openapi_url=None,
    )
    errors.install(app)
    auth = authenticator(settings.api_key)
    slots = Slots(settings.max_pending)
    app.include_router(rest.health_router())
    app.include_router(openai_api.router(pipeline, settings, slots, auth))
    app.include_router(rest.router(pipeline, settings, slots, auth, ready))
    _docs(app, auth)
    for route in mcp_app.routes:  # the SDK's /mcp endpoint, behind the same key
        if isinstance(route, Route) and route.path == "/mcp":
            app.router.routes.append(Route("/mcp", RequireKey(route.app, settings.api_key)))
    uploads = "/v1/documents"
    app.add_middleware(
        errors.BodyLimit,
        limit_for=lambda path: (
            settings.max_upload_request_bytes if path == uploads else settings.max_body_bytes
        ),
    )
    if origins := [o.strip() for o in settings.cors_origins.split(",") if o.strip()]:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Mcp-Session-Id",
                           "Mcp-Protocol-Version"],
        )  # fmt: skip
    app.state.pipeline, app.state.settings, app.state.ready = pipeline, settings, ready
    return app


def _docs(app: FastAPI, auth: Any) -> None:
    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(auth)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(auth)])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="kzspace-rag API")
