"""One-line JSON errors (OpenAI's shape) with the right status, and the body size limit.

Every failure a client can cause answers ``{"error": {"message", "type", "code"}}``
with a 4xx; anything else is a 500 whose message names the exception type only (the
traceback goes to the server log, never to the client).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.errors import (
    BadInputError,
    IndexCorruptError,
    IndexMissingError,
    LockedError,
    ModelError,
    RagError,
)

log = logging.getLogger("server")

# status -> OpenAI's error type
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    503: "service_unavailable",
}
# RagError subclass -> (status, code)
_RAG = [
    (BadInputError, 400, "bad_input"),
    (LockedError, 409, "index_locked"),
    (IndexMissingError, 503, "no_index"),
    (IndexCorruptError, 503, "index_corrupt"),
    (ModelError, 503, "model_unavailable"),
]


class ApiError(Exception):
    """An error answered as it is: status, one-line message, code."""

    def __init__(
        self, status: int, message: str, code: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


class BodyTooLarge(Exception):
    """Raised into the app while it reads a body past the limit, so it stops reading
    (and indexes nothing of a truncated upload)."""


# An absolute path (POSIX or Windows) in a message: only its last part reaches clients.
_PATH = re.compile(r"(?<![\w.:/\\])(?:/|[A-Za-z]:\\)(?:[^\s/\\'\"]+[/\\])+([^\s/\\'\"]*)")


def hide_paths(text: str) -> str:
    """``text`` without the server's folders: ``/srv/rag/index`` becomes ``index``."""
    return _PATH.sub(lambda m: m.group(1) or "folder", text)


def one_line(text: object, limit: int = 500) -> str:
    return " ".join(str(text).split())[:limit]


def error_body(status: int, message: str, code: str | None) -> dict[str, Any]:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": one_line(message), "type": kind, "code": code}}


def error_response(
    status: int, message: str, code: str | None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)


def rag_status(exc: RagError) -> tuple[int, str]:
    for kind, status, code in _RAG:
        if isinstance(exc, kind):
            return status, code
    return 500, "rag_error"


def describe(exc: BaseException) -> tuple[int, str, str]:
    """(status, message, code) for any exception (the message is safe to show)."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message, exc.code
    if isinstance(exc, RagError):
        status, code = rag_status(exc)
        return status, hide_paths(str(exc)), code
    if isinstance(exc, ClientGone | ClientDisconnect):  # nobody reads the answer: no noise
        return 499, "the client closed the connection", "client_gone"
    if isinstance(exc, BodyTooLarge):
        return 413, str(exc), "body_too_large"
    log.error("request failed", exc_info=exc)
    return 500, f"internal error ({type(exc).__name__}); the server log has details", "internal"


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    errors = list(exc.errors())
    if not errors:
        return "the request is not valid", "invalid_request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the body is not valid JSON", "invalid_json"
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {first.get('msg', 'invalid')}{more}", "invalid_request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into one JSON error."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        status, message, code = describe(exc)
        return error_response(status, message, code, getattr(exc, "headers", None))

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, str(exc.detail), code, exc.headers)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message, code = _validation_message(exc)
        return error_response(400, message, code)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RagError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, api_error)


class BodyLimit:
    """ASGI middleware: a request body over ``limit_for(path)`` bytes gets 413.

    A declared Content-Length over the limit is refused before reading; a chunked
    body is counted as it arrives: past the limit, reading it raises ``BodyTooLarge``
    in the app (which stops there: nothing of the truncated body is used), and
    whatever the app answered is replaced by the 413.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await send_json(send, 413, _too_big(limit))
            return
        seen, over, replaced = 0, False, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge(_too_big(limit)["error"]["message"])
            return message

        async def guarded(message: Message) -> None:
            nonlocal replaced
            if over:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await send_json(send, 413, _too_big(limit))
                return
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            if not replaced:
                await send_json(send, 413, _too_big(limit))


def _too_big(limit: int) -> dict[str, Any]:
    return error_body(413, f"the request body is over the {limit:,}-byte limit", "body_too_large")


async def send_json(
    send: Send, status: int, body: dict[str, Any], extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
               *extra]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
