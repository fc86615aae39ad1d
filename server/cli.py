"""`rag serve` and `rag mcp`: the click commands. Only click is imported here; the
server (FastAPI, the MCP SDK, the models) loads inside the command."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from rag.cliutil import CONTEXT, pipeline_of


@click.command("serve", context_settings=CONTEXT)
@click.option("--host", default=None, help="Interface to bind (default: config, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port (default 8000).")
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A file whose first line is the Bearer key every route but /healthz requires "
    "(default: $RAG_SERVER__API_KEY); needed to bind beyond loopback.",
)
@click.option(
    "--api-key",
    default=None,
    help="The key itself (visible to every user in `ps`: prefer --api-key-file or "
    "$RAG_SERVER__API_KEY).",
)
@click.option("--read-only", is_flag=True, help="Refuse uploads and deletes.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default=None,
    help="local: this process; ray: replicas on a Ray Serve cluster (needs the scale "
    "extra; read-only). Default: scale.engine in the config.",
)
@click.option(
    "--replicas",
    type=int,
    default=None,
    help="With --engine ray: replicas, each with its own models (default: scale.replicas).",
)
@click.option(
    "--ray-address",
    default=None,
    metavar="ADDR",
    help="With --engine ray: the cluster to join (default: scale.ray_address, else "
    "$RAY_ADDRESS, else a local Ray).",
)
@click.pass_context
def serve_command(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    api_key_file: Path | None,
    api_key: str | None,
    read_only: bool,
    engine: str | None,
    replicas: int | None,
    ray_address: str | None,
) -> None:
    """Serve the HTTP API: OpenAI-compatible /v1/chat/completions, REST /v1/search,
    /v1/ask, /v1/documents, MCP at /mcp, the OpenAPI schema at /openapi.json."""
    from rag.scale import check_engine
    from server.auth import check_bind, read_key_file

    pipe = pipeline_of(ctx)
    s = pipe.config.server
    if api_key_file is not None:
        api_key = read_key_file(api_key_file)
    settings = replace(
        s,
        host=host or s.host,
        port=s.port if port is None else port,
        api_key=s.api_key if api_key is None else api_key,
        read_only=read_only or s.read_only,
    )
    check_bind(settings.host, settings.api_key)
    if check_engine(engine or pipe.config.scale.engine) == "ray":
        from rag.scale import require_ray

        require_ray()
        from rag.scale import ray_serve

        ray_serve.run(pipe.config, settings, replicas, ray_address)
        return
    import uvicorn

    from server.app import create_app

    app = create_app(pipe, settings)
    where = f"http://{settings.host}:{settings.port}"
    click.echo(
        f"serving {where}  (OpenAI API {where}/v1, MCP {where}/mcp, "
        f"schema {where}/openapi.json"
        f"{', read-only' if settings.read_only else ''}"
        f"{', API key required' if settings.api_key else ''})",
        err=True,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
        limit_concurrency=settings.max_connections,  # more open connections: 503
        timeout_keep_alive=settings.keep_alive_s,
        h11_max_incomplete_event_size=settings.max_header_bytes,  # request line + headers
        server_header=False,
    )


@click.command("mcp", context_settings=CONTEXT)
@click.pass_context
def mcp_command(ctx: click.Context) -> None:
    """Serve the MCP tools over stdio (for an MCP client that starts `rag mcp`)."""
    import anyio

    from server.mcp_tools import build_mcp

    pipe = pipeline_of(ctx)
    # Load the models while the client connects; a problem surfaces in the first tool call.
    threading.Thread(target=_warm_quietly, args=(pipe,), daemon=True).start()
    anyio.run(build_mcp(pipe).run_stdio_async)


def _warm_quietly(pipe: Any) -> None:
    try:
        pipe.warm()
    except Exception as exc:
        click.echo(f"warning: {' '.join(str(exc).split())}", err=True)
