"""`rag index ...`: build, add, remove, compact and show the index (click only at the
top; the pipeline loads inside the commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rag.cliutil import CONTEXT, config_of, echo_json, pipeline_of


@click.group(context_settings=CONTEXT)
def index() -> None:
    """Build and change the search index."""


def _report(report: Any, as_json: bool) -> None:
    for p in report.problems:
        click.echo(f"skipped {p.path}: {p.reason}", err=True)
    if as_json:
        echo_json({
            "added": list(report.added), "unchanged": list(report.unchanged),
            "removed": list(report.removed), "folded": list(report.folded),
            "n_documents": report.n_documents,
            "n_chunks": report.n_chunks, "seconds": round(report.seconds, 2),
            "embedded": report.embedded, "reused": report.reused,
            "problems": [{"path": p.path, "reason": p.reason} for p in report.problems],
        })  # fmt: skip
        return
    click.echo(
        f"{len(report.added)} added, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed"
        + (f", {len(report.folded)} folded as near-duplicates" if report.folded else "")
        + f"; index: {report.n_documents} documents, "
        f"{report.n_chunks} chunks ({report.seconds:.1f} s)"
    )


_ENGINE = click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default=None,
    help="Where loading, chunking and embedding run: this process (local) or a Ray "
    "cluster (ray; needs the scale extra). Default: scale.engine in the config.",
)
_RAY_ADDRESS = click.option(
    "--ray-address",
    default=None,
    metavar="ADDR",
    help="The Ray cluster to join (default: scale.ray_address, else $RAY_ADDRESS, "
    "else a local Ray).",
)


def _write(
    ctx: click.Context,
    paths: list[Path],
    replace_all: bool,
    engine: str | None,
    address: str | None,
) -> Any:
    from rag.scale import check_engine

    pipe = pipeline_of(ctx)
    if check_engine(engine or pipe.config.scale.engine) == "ray":
        from rag.scale import require_ray

        require_ray()  # the one-line install hint before anything heavy
        from rag.scale import ray_build

        return ray_build.run(pipe, paths, replace_all, address)
    return (pipe.build if replace_all else pipe.add)(paths, progress=True)


@index.command("build")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_ENGINE
@_RAY_ADDRESS
@click.pass_context
def index_build(
    ctx: click.Context,
    paths: tuple[Path, ...],
    as_json: bool,
    engine: str | None,
    ray_address: str | None,
) -> None:
    """Build the index from files and folders (default: the corpus folder, seeds/)."""
    report = _write(ctx, list(paths) or [config_of(ctx).corpus_dir], True, engine, ray_address)
    _report(report, as_json)


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_ENGINE
@_RAY_ADDRESS
@click.pass_context
def index_add(
    ctx: click.Context,
    paths: tuple[Path, ...],
    as_json: bool,
    engine: str | None,
    ray_address: str | None,
) -> None:
    """Add or update articles without re-embedding the others."""
    _report(_write(ctx, list(paths), False, engine, ray_address), as_json)


@index.command("remove")
@click.argument("doc_ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def index_remove(ctx: click.Context, doc_ids: tuple[str, ...], as_json: bool) -> None:
    """Remove articles by document id (see `rag index status`)."""
    _report(pipeline_of(ctx).remove(list(doc_ids)), as_json)


@index.command("compact")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def index_compact(ctx: click.Context, as_json: bool) -> None:
    """Merge the index's segments into one and drop removed articles' rows."""
    import time

    started = time.perf_counter()
    result = pipeline_of(ctx).compact()
    before, after = result["before"], result["after"]
    out = {
        "segments_before": len(before["segments"]), "segments_after": len(after["segments"]),
        "deleted_rows_dropped": before.get("n_deleted_rows", 0), "n_chunks": after["n_chunks"],
        "seconds": round(time.perf_counter() - started, 2),
    }  # fmt: skip
    if as_json:
        echo_json(out)
        return
    click.echo(
        f"{out['segments_before']} segments -> {out['segments_after']}; "
        f"{out['deleted_rows_dropped']} deleted rows dropped; {out['n_chunks']} chunks "
        f"({out['seconds']:.1f} s)"
    )


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def index_status(ctx: click.Context, as_json: bool) -> None:
    """Show documents, chunks, models and index size."""
    s = pipeline_of(ctx).status()
    if as_json:
        echo_json(s)
        return
    click.echo(
        f"index:      {s['index_dir']} ({s['index_type']}, {s['index_bytes'] / 1e6:.2f} MB,"
        f" built {s['created']})"
    )
    click.echo(f"documents:  {s['n_documents']}   chunks: {s['n_chunks']}")
    click.echo(
        f"segments:   {s['n_segments']}   deleted rows awaiting compaction: {s['n_deleted_rows']}"
    )
    click.echo(f"near-duplicates folded: {s['n_folded']}")
    click.echo(
        f"embedding:  {s['embedding_model']} ({s['dimension']} dims, on {s['embedding_device']})"
    )
    click.echo(f"llm:        {s['llm']} ({s['llm_path']})")
    for doc_id, d in sorted(s["documents"].items()):
        click.echo(f"  {doc_id:32} {d['chunks']:4} chunks  {d['title'][:70]}")
    for doc_id, c in sorted(s["copies"].items()):
        click.echo(f"  {doc_id:32} copy of {c['of']}")
