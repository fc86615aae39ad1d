"""The bench's command: ``python -m bench`` from a checkout, or ``rag bench`` (which
imports it from there). Only click is imported at the top; the sections (and with them
the models) load inside the command, so ``--help`` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bench import FULL_ONLY, SECTIONS
from rag.cliutil import CONTEXT, with_options

if TYPE_CHECKING:
    from bench.common import BenchContext


def parse_list(value: str | None, kind: type = str) -> tuple[Any, ...]:
    """``a,b,c`` -> ``(a, b, c)``; numbers may carry ``_`` or a ``k``/``m`` suffix (``100k``)."""
    if not value:
        return ()
    out: list[Any] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if kind is int:
            text = part.lower().replace("_", "")
            scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
            try:
                out.append(int(float(text[:-1] if scale > 1 else text) * scale))
            except ValueError:
                raise click.BadParameter(f"not a number: {part!r}") from None
        else:
            out.append(part)
    return tuple(out)


OPTIONS = (
    click.option(
        "--quick",
        is_flag=True,
        help="Small sizes: every section in a few minutes (what tests run).",
    ),
    click.option(
        "--sizes",
        help="Search sizes in passages, comma-separated (default 10k,100k,1m; quick 2k,20k).",
    ),
    click.option(
        "--sections",
        "sections_opt",
        help=f"Sections to run, comma-separated (default all: {','.join(SECTIONS)}; "
        "quick: all but threads, scale and archive).",
    ),
    click.option(
        "--embed-options",
        help="Embedding options to compare, comma-separated (default: all; quick: a cheap few).",
    ),
    click.option(
        "--questions",
        type=click.IntRange(min=1),
        help="Gold questions timed in the answer section (default 8; quick 2).",
    ),
    click.option(
        "--articles",
        type=click.IntRange(min=1),
        help="Generated articles embedded for the build ratio (default 20; quick 3).",
    ),
    click.option(
        "--add-size",
        type=click.IntRange(min=1),
        help="Passages in the index one article is added to (default 100k; quick 5k).",
    ),
    click.option(
        "--archive",
        type=click.Path(file_okay=False, path_type=Path),
        help="The archive section's folder of scale sets (default: bench/archive/, made by "
        "`python -m bench.archive_corpus`).",
    ),
    click.option(
        "--archive-answers",
        type=click.IntRange(min=0),
        help="Archive section: answer every Nth gold question end to end (default 3; 0: none).",
    ),
    click.option(
        "--seed", type=int, default=0, show_default=True, help="Seed of generated corpora."
    ),
    click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder for the results (default: bench/results/).",
    ),
    click.option(
        "--in-process",
        is_flag=True,
        help="Run sections in this process (peak memory then accumulates across sections).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the report as JSON, not tables."),
    click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="TOML config file (default: $RAG_CONFIG or rag.toml; `rag --config` under rag).",
    ),
)


@click.command("bench", context_settings=CONTEXT)
@with_options(OPTIONS)
@click.pass_context
def bench_command(ctx: click.Context, **opts: Any) -> None:
    """Time every stage against a baseline; write bench/results/<time>.json and .md."""
    import json
    import shlex
    import sys

    from bench import report
    from bench.runner import run_bench
    from rag.config import PROJECT_ROOT

    sections = chosen_sections(opts["sections_opt"], opts["quick"])
    bench = context_of(ctx, opts)
    command = " ".join([ctx.find_root().info_name or "rag", *map(shlex.quote, sys.argv[1:])])
    say = lambda m: click.echo(m, err=True)  # noqa: E731
    result = run_bench(bench, sections, isolate=not opts["in_process"], say=say, command=command)
    json_path, md_path = report.write(result, opts["out"] or PROJECT_ROOT / "bench" / "results")
    if opts["as_json"]:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(report.render_markdown(result))
    click.echo(f"wrote {json_path} and {md_path.name}", err=True)


def chosen_sections(value: str | None, quick: bool) -> tuple[str, ...]:
    from rag.errors import BadInputError

    sections = parse_list(value) or (
        tuple(x for x in SECTIONS if x not in FULL_ONLY) if quick else SECTIONS
    )
    if bad := [s for s in sections if s not in SECTIONS]:
        raise BadInputError(f"unknown section {bad[0]!r}; choose from {', '.join(SECTIONS)}")
    return sections


def context_of(ctx: click.Context, opts: dict[str, Any]) -> BenchContext:
    """The run's settings from the options (the config: ``rag``'s, or loaded here)."""
    from dataclasses import replace

    from bench.common import BenchContext, quick_context
    from bench.sections.embed import ALL_OPTIONS, MATRYOSHKA
    from rag.config import load_config
    from rag.errors import BadInputError

    root = ctx.find_root().obj or {}
    config = root["config"] if "config" in root else load_config(opts["config_path"])
    bench = quick_context(config, Path()) if opts["quick"] else BenchContext(config, Path())
    options = parse_list(opts["embed_options"])
    if bad := [o for o in options if o not in ALL_OPTIONS and o not in MATRYOSHKA]:
        raise BadInputError(f"unknown embedding option {bad[0]!r}; one of {', '.join(ALL_OPTIONS)}")
    changes: dict[str, Any] = {"seed": opts["seed"]}
    if opts["sizes"]:
        changes["sizes"] = parse_list(opts["sizes"], int)
        if any(n < 100 for n in changes["sizes"]):
            raise BadInputError("search sizes must be at least 100 passages")
    for key, value in (("embed_options", options), ("answer_questions", opts["questions"]),
                       ("build_articles", opts["articles"]), ("add_index_size", opts["add_size"]),
                       ("archive_dir", opts["archive"])):  # fmt: skip
        if value:
            changes[key] = value
    if opts["archive_answers"] is not None:
        changes["archive_answer_every"] = opts["archive_answers"]
    return replace(bench, **changes)
