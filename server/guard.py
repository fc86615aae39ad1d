"""The front door: every HTTP request passes these checks before any route runs and
before a byte of its body is read (a dependency would run after FastAPI has parsed,
and spooled, a multipart body).

In order: the Host header (on loopback: one of this machine's names, so a DNS-rebound
page cannot reach the server), the Origin header (a page of another site is refused),
the API key (every path but ``/healthz``), read-only (no upload or delete), and
cross-site writes: a request a browser could send from any page without asking first
(a form or multipart POST, or any state-changing request without the key) must carry
the key, a JSON body, or the ``X-Requested-With`` header, which no page can add to a
cross-site request without a CORS preflight this server does not grant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from rag.config import ServerConfig
from server.auth import MESSAGE, host_allowed, is_loopback, key_ok, loopback_hosts
from server.errors import error_body, send_json

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OPEN = frozenset({"/healthz"})
_CHALLENGE = [(b"www-authenticate", b"Bearer")]


@dataclass(frozen=True)
class Policy:
    """What the guard enforces. ``hosts`` empty: any Host (a server bound beyond
    loopback has an API key, which no page can forge)."""

    api_key: str = ""
    read_only: bool = False
    hosts: frozenset[str] = frozenset()
    origins: frozenset[str] = frozenset()  # allowed besides the allowed hosts' own
    writes: Callable[[str, str], bool] = lambda method, path: False  # read-only refuses
    proof: bool = True  # unsafe methods need the key, JSON or X-Requested-With

    def origin_ok(self, origin: str) -> bool:
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (a sandboxed page, a file), or garbage
        return not self.hosts or host_allowed(parts.netloc, self.hosts)


def policy_for(settings: ServerConfig) -> Policy:
    hosts = (
        loopback_hosts(settings.host, settings.port, settings.allowed_hosts)
        if is_loopback(settings.host)
        else frozenset(h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip())
    )
    origins = frozenset(o.strip() for o in settings.cors_origins.split(",") if o.strip())
    return Policy(settings.api_key, settings.read_only, hosts, origins, _document_writes)


def _document_writes(method: str, path: str) -> bool:
    return (method == "POST" and path == "/v1/documents") or (
        method == "DELETE" and path.startswith("/v1/documents/")
    )


def refusal(scope: Scope, policy: Policy) -> tuple[int, str, str] | None:
    """(status, message, code) when the request must be refused; None when it may pass."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    host = headers.get("host", "")
    if policy.hosts and not host_allowed(host, policy.hosts):
        return 403, "this server answers only to its own host names", "bad_host"
    origin = headers.get("origin")
    if origin is not None and not policy.origin_ok(origin):
        return 403, "requests from other web sites are not allowed", "bad_origin"
    method, path = scope["method"].upper(), scope.get("path", "")
    authorization = headers.get("authorization")
    if path not in _OPEN and not key_ok(authorization, policy.api_key):
        return 401, MESSAGE, "invalid_api_key"
    if policy.read_only and policy.writes(method, path):
        return 403, "the server is read-only: uploads and deletes are off", "read_only"
    if policy.proof and method in _UNSAFE and not _deliberate(headers, method):
        return 403, (
            "a state-changing request needs the API key, a JSON body or the header "
            "'X-Requested-With' (a web page cannot send those to another site)"
        ), "cross_site"  # fmt: skip
    return None


def _deliberate(headers: dict[str, str], method: str) -> bool:
    """A request no web page can send to another site without a CORS preflight."""
    if "authorization" in headers or "x-requested-with" in headers:
        return True
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return method != "DELETE" and (kind == "application/json" or kind.endswith("+json"))


class Guard:
    """ASGI middleware that answers a refused request itself (one JSON error)."""

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (refused := refusal(scope, self.policy)):
            status, message, code = refused
            extra = _CHALLENGE if status == 401 else []
            await send_json(send, status, error_body(status, message, code), extra)
            return
        await self.app(scope, receive, send)
