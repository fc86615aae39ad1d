"""Who may reach the chat: a password off loopback, and this machine's names only on it.

``rag chat`` follows ``rag serve``'s rule: served beyond this machine (a host that is
not loopback, or a Gradio share link) it needs a password (``ui.password``, best set
with ``$RAG_UI__PASSWORD``), else it refuses to start. On loopback, every request
must name this machine in its Host header and come from no other site (Origin): the
``server.guard`` middleware, handed to Gradio's FastAPI app, so a DNS-rebound page
cannot drive the chat either.
"""

from __future__ import annotations

from typing import Any

from rag.config import UIConfig
from rag.errors import BadInputError
from server.auth import is_loopback, loopback_hosts
from server.guard import Guard, Policy


def credentials(ui: UIConfig, host: str, share: bool) -> tuple[str, str] | None:
    """Gradio's ``auth``: (username, password), or None on loopback without a password."""
    if ui.password:
        return (ui.username or "rag", ui.password)
    if share or not is_loopback(host):
        where = "a share link" if share else f"{host} (not loopback)"
        raise BadInputError(
            f"serving the chat on {where} needs a password: set RAG_UI__PASSWORD "
            "(and RAG_UI__USERNAME, default 'rag')"
        )
    return None


def policy(ui: UIConfig, host: str, port: int, share: bool) -> Policy:
    """Host and Origin checks (no API key: Gradio's login does that)."""
    extra = frozenset(h.strip().lower() for h in ui.allowed_hosts.split(",") if h.strip())
    on_loopback = is_loopback(host) and not share  # a share link arrives with its own Host
    hosts = loopback_hosts(host, port, ui.allowed_hosts) if on_loopback else extra
    return Policy(hosts=hosts, proof=False)


def launch_options(ui: UIConfig, host: str, port: int, share: bool) -> dict[str, Any]:
    """``Blocks.launch`` keyword arguments for serving on ``host:port``."""
    from starlette.middleware import Middleware

    return {
        "server_name": host,
        "server_port": port,
        "share": share,
        "auth": credentials(ui, host, share),
        "app_kwargs": {"middleware": [Middleware(Guard, policy=policy(ui, host, port, share))]},
    }
