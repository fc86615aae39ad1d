"""Distributed answering: ``rag serve --engine ray --replicas N``.

The HTTP API of ``server.app.create_app`` runs as a Ray Serve deployment: each replica
builds its own Pipeline (its own models, loaded before it takes traffic) over the one
index directory, read-only (uploads and deletes are refused: replicas would
disagree), and Serve's HTTP proxy spreads requests over the replicas. Every response
names the replica that made it in ``X-RAG-Replica``. The replicas can autoscale
between ``scale.min_replicas`` and ``scale.max_replicas``.

Nothing here is imported without Ray (``rag.scale.require_ray`` says how to install it).
"""

from __future__ import annotations

import signal
import threading
from dataclasses import replace
from typing import Any

from ray import serve

from rag.config import Config, ScaleConfig, ServerConfig
from rag.errors import BadInputError

REPLICA_HEADER = "X-RAG-Replica"
APP_NAME = "kzspace-rag"


def deployment_options(scale: ScaleConfig, replicas: int | None = None) -> dict[str, Any]:
    """Serve deployment options: a fixed number of replicas (``replicas``, else
    ``scale.replicas``), or autoscaling between the config's bounds when
    ``scale.max_replicas`` is set, starting at ``replicas``."""
    n = scale.replicas if replicas is None else replicas
    if n < 1:
        raise BadInputError(f"--replicas must be at least 1, got {n}")
    options: dict[str, Any] = {"ray_actor_options": {"num_cpus": scale.replica_cpus}}
    if scale.max_replicas > 0:
        low, high = scale.min_replicas, scale.max_replicas
        if not 0 <= low <= n <= high:
            raise BadInputError(
                f"scale: replicas {n} must lie within min_replicas {low} and max_replicas {high}"
            )
        options["autoscaling_config"] = {
            "min_replicas": low,
            "max_replicas": high,
            "initial_replicas": n,
            "target_ongoing_requests": scale.target_ongoing_requests,
        }
    else:
        options["num_replicas"] = n
    return options


class ReplicaHeader:
    """ASGI middleware: every HTTP response carries ``X-RAG-Replica: <name>``."""

    def __init__(self, app: Any, name: str) -> None:
        self.app = app
        self.header = (REPLICA_HEADER.lower().encode(), name.encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, named)


def replica_config(config: Config) -> Config:
    """A replica's config: its model threads are its CPUs."""
    threads = max(1, int(config.scale.replica_cpus))
    return replace(config, generation=replace(config.generation, n_threads=threads))


@serve.deployment
@serve.ingress()
class RagReplica:
    """One replica: the whole HTTP API over its own Pipeline (Serve's late-bound
    ingress: the app is built on the replica, after the models have loaded)."""

    def __init__(self, config: Config, settings: ServerConfig) -> None:
        from rag.pipeline import Pipeline

        self.pipeline = Pipeline(replica_config(config))
        self.settings = replace(settings, read_only=True)
        _ = self.pipeline.index  # a missing or unreadable index fails the deployment
        self.pipeline.warm()  # models and the fixed prompt, before any traffic arrives

    def __serve_build_asgi_app__(self) -> Any:
        from server.app import create_app

        app = create_app(self.pipeline, self.settings, warm=False)
        name = serve.get_replica_context().replica_id.unique_id
        return ReplicaHeader(app, name)


def deploy(config: Config, settings: ServerConfig, replicas: int | None = None) -> int:
    """Start Serve's proxy on ``settings.host:port`` and deploy the replicas on the
    connected Ray (returns once every replica has loaded); the replicas at start."""
    from rag.index import store

    store.read_manifest(config.index_dir)  # no index: the one-line error, before deploying
    options = deployment_options(config.scale, replicas)
    serve.start(http_options={"host": settings.host, "port": settings.port})
    from server.auth import hashed_key

    # The replicas check the key's hash: the key itself is never shipped to the cluster.
    settings = replace(settings, api_key=hashed_key(settings.api_key))
    config = replace(config, server=settings, ui=replace(config.ui, password=""))
    app = RagReplica.options(**options).bind(config, settings)  # type: ignore[attr-defined]
    serve.run(app, name=APP_NAME, route_prefix="/",
              logging_config={"log_level": "WARNING", "enable_access_log": False})  # fmt: skip
    return int(options.get("num_replicas") or options["autoscaling_config"]["initial_replicas"])


def run(config: Config, settings: ServerConfig, replicas: int | None, address: str | None) -> None:
    """``deploy``, then serve until SIGINT/SIGTERM and take the deployment down (and a
    Ray this command started)."""
    import click

    from rag.scale import connect

    stop = threading.Event()
    with connect(config.scale, address):
        count = deploy(config, settings, replicas)
        where = f"http://{settings.host}:{settings.port}"
        click.echo(
            f"serving {where} on Ray Serve: {count} replica(s), read-only index "
            f"(OpenAI API {where}/v1, MCP {where}/mcp; header {REPLICA_HEADER})",
            err=True,
        )
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            serve.shutdown()  # the replicas and the proxy; connect() ends a Ray it started
