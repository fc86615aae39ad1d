"""The API key: one Bearer check, a FastAPI dependency for the routes and an ASGI
wrapper for the mounted MCP app (which FastAPI's dependencies do not reach)."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.errors import BadInputError
from server.errors import ApiError, error_body, send_json

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_MESSAGE = "a valid API key is needed: send the header 'Authorization: Bearer <key>'"


def key_ok(authorization: str | None, api_key: str) -> bool:
    """Whether an ``Authorization`` header carries ``api_key`` (always true without a key)."""
    if not api_key:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        token.strip().encode(), api_key.encode()
    )


def authenticator(api_key: str) -> Callable[..., Awaitable[None]]:
    """The dependency for every route but /healthz."""
    bearer = HTTPBearer(auto_error=False, description="The server's API key, when it has one.")

    async def authenticate(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> None:
        header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
        if not key_ok(header, api_key):
            raise ApiError(401, _MESSAGE, "invalid_api_key", _CHALLENGE)

    return authenticate


class RequireKey:
    """ASGI wrapper: 401 unless the request carries the key."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app, self.api_key = app, api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.api_key:
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not key_ok(header.decode("latin-1"), self.api_key):
                await send_json(send, 401, error_body(401, _MESSAGE, "invalid_api_key"))
                return
        await self.app(scope, receive, send)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def check_bind(host: str, api_key: str) -> None:
    """Refuse to serve beyond this machine without an API key."""
    if not is_loopback(host) and not api_key:
        raise BadInputError(
            f"binding to {host} (not loopback) needs an API key: "
            "--api-key KEY or RAG_SERVER__API_KEY"
        )
