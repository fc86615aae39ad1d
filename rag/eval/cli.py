"""`rag eval`: the click command. Only click is imported here; the runner (and
with it the models) loads inside the command, so `rag --help` stays fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

TYPES = ("single", "multi", "unanswerable")


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_ids(value: str | None) -> tuple[str, ...]:
    """``q001,q002`` or ``@FILE`` (one id per line, ``#`` comments)."""
    if not value:
        return ()
    if value.startswith("@"):
        from rag.errors import BadInputError

        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"cannot read ids from {value[1:]}: {exc.strerror}") from None
        parts = [line.split("#", 1)[0] for line in text.splitlines()]
    else:
        parts = value.split(",")
    return tuple(p.strip() for p in parts if p.strip())


def _table(report: dict[str, Any]) -> list[str]:
    from rag.eval.runner import HEADLINE

    groups = [("all", report["metrics"]), *report["by_lang"].items()]
    head = f"{'metric':<20}" + "".join(f"{name:>8}" for name, _ in groups)
    lines = [head, f"{'n':<20}" + "".join(f"{g.get('n', report['question_set']['n']):>8}"
                                          for _, g in groups)]  # fmt: skip
    for key in HEADLINE:
        if all(g.get(key) is None for _, g in groups):
            continue
        cells = "".join(
            f"{'–' if g.get(key) is None else format(g[key], '.3f'):>8}" for _, g in groups
        )
        lines.append(f"{key:<20}{cells}")
    cost = [(k, v) for k, v in report["metrics"].items() if k.startswith(("Latency", "Tokens"))]
    lines += [f"{k:<28}{v if v is not None else '–':>10}" for k, v in cost]
    return lines


@click.command("eval", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--retrieval-only", is_flag=True, help="Score retrieval only, without the LLM.")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Compare with this baseline JSON; exit 1 listing metrics that regressed.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate the first N questions only.")
@click.option("--ids", help="Question ids, comma-separated (q001,q002) or @FILE, one per line.")
@click.option(
    "--type",
    "types",
    multiple=True,
    type=click.Choice(TYPES),
    help="Only questions of this type (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder the run's folder is made in (default: config paths.runs_dir, eval/runs).",
)
@click.option(
    "--save-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write this run's aggregate metrics and question-set hash as a baseline JSON.",
)
@click.option(
    "--gold",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gold questions (default: eval/gold/queries.jsonl).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the aggregate metrics as JSON.")
@click.option(
    "--modes",
    help="Retrieval modes to run side by side, comma-separated (dense,lexical,hybrid); "
    "default: the configured one.",
)
@click.option(
    "--strategies",
    help="Answer strategies to run side by side, comma-separated (free,quote); "
    "default: the configured one.",
)
@click.option(
    "--curves",
    type=click.Path(exists=True, path_type=Path),
    help="Print the policy/threshold trade-offs of a finished full run (its folder or "
    "report.json) and exit; no model is loaded.",
)
@click.option(
    "--index",
    "index_choice",
    type=click.Choice(["eval", "pipeline"]),
    default="eval",
    show_default=True,
    help="eval: build or update the eval's own index of seeds/ + eval/corpus/ "
    "(paths.eval_index_dir; only new or changed articles are embedded) and run on it; "
    "pipeline: run on the pipeline's index (paths.index_dir) as it is.",
)
@click.pass_context
def eval_command(
    ctx: click.Context,
    retrieval_only: bool,
    baseline: Path | None,
    limit: int | None,
    ids: str | None,
    types: tuple[str, ...],
    out: Path | None,
    save_baseline: Path | None,
    gold: Path | None,
    as_json: bool,
    modes: str | None,
    strategies: str | None,
    curves: Path | None,
    index_choice: str,
) -> None:
    """Run the gold Q&A set and report retrieval, answers, citations, refusals and cost.

    Writes report.json and report.md under eval/runs/<timestamp>/ (a full run also
    curves.md: the refusal-threshold and verification trade-offs).
    """
    from rag.cliutil import pipeline_of
    from rag.eval import compare as cmp
    from rag.eval.runner import GOLD_PATH, EvalOptions, eval_pipeline, run_eval

    if curves is not None:
        click.echo(_curves(curves), nl=False)
        return
    base = cmp.load_baseline(baseline) if baseline else None  # fail before the long run
    pipeline = pipeline_of(ctx)
    if index_choice == "eval":
        pipeline, built = eval_pipeline(pipeline)
        click.echo(
            f"eval index: {shown(pipeline.config.index_dir)} ({built.n_documents} articles of "
            f"seeds/ + eval/corpus/, {len(built.added)} embedded now, "
            f"{len(built.unchanged)} unchanged)",
            err=True,
        )
    if modes or strategies:
        _side_by_side(pipeline, modes, strategies, retrieval_only, limit, parse_ids(ids),
                      types, gold or GOLD_PATH, out)  # fmt: skip
        return
    options = EvalOptions(
        retrieval_only=retrieval_only,
        limit=limit,
        ids=parse_ids(ids),
        types=types,
        gold_path=gold or GOLD_PATH,
        out_dir=out,
    )
    result = run_eval(pipeline, options)
    report = result.report
    if not retrieval_only:
        (result.run_dir / "curves.md").write_text(_curves(result.run_dir), encoding="utf-8")
    regressions = cmp.compare(report, base) if base is not None else []
    if save_baseline:
        cmp.save_baseline(report, save_baseline)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "metrics": report["metrics"],
                    "by_lang": report["by_lang"],
                    "by_type": report["by_type"],
                    "question_set": report["question_set"]["sha256"],
                    "report": str(result.run_dir / "report.json"),
                    "regressions": regressions,
                },
                ensure_ascii=False,
            )
        )
    else:
        for line in _table(report):
            click.echo(line)
        click.echo(f"report: {shown(result.run_dir / 'report.md')}")
        if save_baseline:
            click.echo(f"baseline saved: {save_baseline}")
        if base is not None and not regressions:
            click.echo(f"no regressions against {baseline}")
    for line in regressions:
        click.echo(f"regression: {line}", err=True)
    if regressions:
        ctx.exit(1)


def _curves(run: Path) -> str:
    from rag.eval import curves

    report = curves.load(run)
    return curves.render(report, curves.table(report))


def _side_by_side(pipeline: Any, modes: str | None, strategies: str | None,
                  retrieval_only: bool, limit: int | None, ids: tuple[str, ...],
                  types: tuple[str, ...], gold: Path, out: Path | None) -> None:  # fmt: skip
    """The same questions through each retrieval mode or answer strategy (one embedder,
    one LLM), side by side."""
    import dataclasses

    from rag.errors import BadInputError
    from rag.eval.runner import HEADLINE, EvalOptions, fmt, run_eval
    from rag.generate.registry import STRATEGIES

    config = pipeline.config
    variants = []
    for mode in [m.strip() for m in (modes or "").split(",") if m.strip()]:
        if mode not in ("dense", "lexical", "hybrid"):
            raise BadInputError(f"unknown retrieval mode {mode!r}; use dense, lexical, hybrid")
        variants.append((mode, dataclasses.replace(
            config, retrieval=dataclasses.replace(config.retrieval, mode=mode))))  # fmt: skip
    for name in [m.strip() for m in (strategies or "").split(",") if m.strip()]:
        if name not in STRATEGIES:
            raise BadInputError(f"unknown answer strategy {name!r}; use "
                                f"{', '.join(sorted(STRATEGIES))}")  # fmt: skip
        variants.append((name, dataclasses.replace(
            config, generation=dataclasses.replace(config.generation, strategy=name))))  # fmt: skip
    if not variants:
        raise BadInputError("name at least one retrieval mode or answer strategy")
    results = {}
    current = pipeline
    for mode, variant in variants:
        # chained, so the models the first variant loads serve the next ones
        current = current.with_config(variant)
        options = EvalOptions(retrieval_only=retrieval_only, limit=limit, ids=ids, types=types,
                              gold_path=gold, out_dir=out)  # fmt: skip
        result = run_eval(current, options)
        results[mode] = result
        if not retrieval_only:
            (result.run_dir / "curves.md").write_text(_curves(result.run_dir), encoding="utf-8")
        click.echo(f"{mode}: {shown(result.run_dir / 'report.md')}", err=True)
    groups = [(f"{mode}/{lang}", r.report["by_lang"].get(lang, {}) if lang != "all"
               else r.report["metrics"]) for mode, r in results.items()
              for lang in ("all", "ru", "en")]  # fmt: skip
    click.echo(f"{'metric':<20}" + "".join(f"{n:>14}" for n, _ in groups))
    for key in HEADLINE:
        if all(g.get(key) is None for _, g in groups):
            continue
        click.echo(f"{key:<20}" + "".join(f"{fmt(g.get(key)):>14}" for _, g in groups))
    for key in ("Latency.first_shown.p50_ms", "Latency.first_token.p50_ms",
                "Latency.total.p50_ms", "Latency.total.p95_ms"):  # fmt: skip
        row = [r.report["metrics"].get(key) for r in results.values()]
        if any(v is not None for v in row):
            click.echo(f"{key:<28}" + "".join(f"{fmt(v):>14}" for v in row))
