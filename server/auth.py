"""Who may call: the API key (one Bearer check), loopback binds, and the names a
loopback server answers to. The checks run in ``server.guard``, before any route."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from pathlib import Path

from rag.errors import BadInputError

MESSAGE = "a valid API key is needed: send the header 'Authorization: Bearer <key>'"
_HASHED = "sha256:"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def hashed_key(api_key: str) -> str:
    """A form of the key that checks requests but cannot be sent as one (what a Ray
    replica is given, so the key itself is never shipped to the cluster)."""
    if not api_key or api_key.startswith(_HASHED):
        return api_key
    return _HASHED + hashlib.sha256(api_key.encode()).hexdigest()


def key_ok(authorization: str | None, api_key: str) -> bool:
    """Whether an ``Authorization`` header carries ``api_key`` (always true without a
    key); ``api_key`` may be the ``hashed_key`` form."""
    if not api_key:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    given = token.strip().encode()
    if api_key.startswith(_HASHED):
        given = (_HASHED + hashlib.sha256(given).hexdigest()).encode()
    return secrets.compare_digest(given, api_key.encode())


def read_key_file(path: Path) -> str:
    """The key in ``path`` (its first line), so it never appears in ``ps``."""
    try:
        key = path.read_text(encoding="utf-8").strip().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read the API key file {path.name}: {exc}") from None
    if not key or not key[0].strip():
        raise BadInputError(f"the API key file {path.name} is empty")
    return key[0].strip()


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
            "RAG_SERVER__API_KEY or --api-key-file FILE"
        )


def loopback_hosts(host: str, port: int, extra: str) -> frozenset[str]:
    """The Host header values a server bound to ``host:port`` answers (lowercase):
    the loopback names with the port, ``host`` itself, and ``extra`` (comma-separated).
    Port 0 (chosen at start) allows any port of those names: the "*" entries."""
    names = {*LOOPBACK_NAMES, host.lower() if ":" not in host else f"[{host.strip('[]')}]"}
    ports = {f":{port}"} if port else {":*"}
    if port == 80:
        ports.add("")
    allowed = {n + p for n in names for p in ports}
    return frozenset(allowed | {h.strip().lower() for h in extra.split(",") if h.strip()})


def host_allowed(value: str, allowed: frozenset[str]) -> bool:
    value = value.lower()
    if value in allowed:
        return True
    name, _, port = value.rpartition(":")
    return bool(name and port.isdigit() and f"{name}:*" in allowed)
