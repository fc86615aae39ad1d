"""`rag eval`: a click group. ``rag eval [options]`` runs the gold set; ``rag eval curves
RUN`` prints a finished run's trade-offs. Only click is imported here; the runner (and
with it the models) loads inside the command, so `rag --help` stays fast."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rag.cliutil import CONTEXT, with_options

if TYPE_CHECKING:
    from rag.eval.runner import EvalOptions, EvalResult

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


@dataclass(frozen=True)
class EvalArgs:
    """The options of ``rag eval`` (a run of the gold set)."""

    retrieval_only: bool
    baseline: Path | None
    limit: int | None
    ids: str | None
    types: tuple[str, ...]
    out: Path | None
    save_baseline: Path | None
    gold: Path | None
    as_json: bool
    modes: str | None
    strategies: str | None
    index_choice: str

    def options(self) -> EvalOptions:
        from rag.eval.runner import GOLD_PATH, EvalOptions

        return EvalOptions(retrieval_only=self.retrieval_only, limit=self.limit,
                           ids=parse_ids(self.ids), types=self.types,
                           gold_path=self.gold or GOLD_PATH, out_dir=self.out)  # fmt: skip


# The options of a run of the gold set (the group's own options).
RUN_OPTIONS = (
    click.option("--retrieval-only", is_flag=True, help="Score retrieval only, without the LLM."),
    click.option(
        "--baseline",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Compare with this baseline JSON; exit 1 listing metrics that regressed.",
    ),
    click.option(
        "--limit", type=click.IntRange(min=1), help="Evaluate the first N questions only."
    ),
    click.option("--ids", help="Question ids, comma-separated (q001,q002) or @FILE, one per line."),
    click.option(
        "--type",
        "types",
        multiple=True,
        type=click.Choice(TYPES),
        help="Only questions of this type (repeatable).",
    ),
    click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder the run's folder is made in (default: config paths.runs_dir, eval/runs).",
    ),
    click.option(
        "--save-baseline",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write this run's aggregate metrics and question-set hash as a baseline JSON.",
    ),
    click.option(
        "--gold",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Gold questions (default: eval/gold/queries.jsonl).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the aggregate metrics as JSON."),
    click.option(
        "--modes",
        help="Retrieval modes to run side by side, comma-separated (dense,lexical,hybrid); "
        "default: the configured one.",
    ),
    click.option(
        "--strategies",
        help="Answer strategies to run side by side, comma-separated (e.g. free,quote); "
        "default: the configured one.",
    ),
    click.option(
        "--index",
        "index_choice",
        type=click.Choice(["eval", "pipeline"]),
        default="eval",
        show_default=True,
        help="eval: build or update the eval's own index of seeds/ + eval/corpus/ "
        "(paths.eval_index_dir; only new or changed articles are embedded) and run on it; "
        "pipeline: run on the pipeline's index (paths.index_dir) as it is.",
    ),
)


@click.group(
    "eval", invoke_without_command=True, subcommand_metavar="[curves RUN]", context_settings=CONTEXT
)
@with_options(RUN_OPTIONS)
@click.pass_context
def eval_command(ctx: click.Context, **opts: Any) -> None:
    """Run the gold Q&A set and report retrieval, answers, citations, refusals and cost.

    Writes report.json and report.md under eval/runs/<timestamp>/ (a full run also
    curves.md: the refusal-threshold and verification trade-offs).
    """
    if ctx.invoked_subcommand is not None:
        return
    from rag.eval import compare as cmp

    args = EvalArgs(**opts)
    base = cmp.load_baseline(args.baseline) if args.baseline else None  # fail before the run
    pipeline = _pipeline(ctx, args.index_choice)
    if args.modes or args.strategies:
        _side_by_side(pipeline, args)
        return
    result = _run(pipeline, args.options())
    regressions = cmp.compare(result.report, base) if base is not None else []
    if args.save_baseline:
        cmp.save_baseline(result.report, args.save_baseline)
    _print(result, args, regressions)
    for line in regressions:
        click.echo(f"regression: {line}", err=True)
    if regressions:
        ctx.exit(1)


@eval_command.command("curves", context_settings=CONTEXT)
@click.argument("run", type=click.Path(exists=True, path_type=Path))
def curves_command(run: Path) -> None:
    """Print the policy/threshold trade-offs of a finished full run (its folder or
    report.json); no model is loaded."""
    click.echo(_curves(run), nl=False)


def _pipeline(ctx: click.Context, index_choice: str) -> Any:
    """The context's pipeline, on the eval's own index unless ``--index pipeline``."""
    from rag.cliutil import pipeline_of
    from rag.eval.runner import eval_pipeline

    pipeline = pipeline_of(ctx)
    if index_choice == "eval":
        pipeline, built = eval_pipeline(pipeline)
        click.echo(
            f"eval index: {shown(pipeline.config.index_dir)} ({built.n_documents} articles of "
            f"seeds/ + eval/corpus/, {len(built.added)} embedded now, "
            f"{len(built.unchanged)} unchanged)",
            err=True,
        )
    return pipeline


def _run(pipeline: Any, options: EvalOptions) -> EvalResult:
    """One run of the gold set; a full run also writes its curves.md."""
    from rag.eval.runner import run_eval

    result = run_eval(pipeline, options)
    if not options.retrieval_only:
        (result.run_dir / "curves.md").write_text(_curves(result.run_dir), encoding="utf-8")
    return result


def _print(result: EvalResult, args: EvalArgs, regressions: list[str]) -> None:
    report = result.report
    if args.as_json:
        click.echo(json.dumps({
            "metrics": report["metrics"],
            "by_lang": report["by_lang"],
            "by_type": report["by_type"],
            "question_set": report["question_set"]["sha256"],
            "report": str(result.run_dir / "report.json"),
            "regressions": regressions,
        }, ensure_ascii=False))  # fmt: skip
        return
    for line in _table(report):
        click.echo(line)
    click.echo(f"report: {shown(result.run_dir / 'report.md')}")
    if args.save_baseline:
        click.echo(f"baseline saved: {args.save_baseline}")
    if args.baseline is not None and not regressions:
        click.echo(f"no regressions against {args.baseline}")


def _curves(run: Path) -> str:
    from rag.eval import curves

    report = curves.load(run)
    return curves.render(report, curves.table(report))


def _variants(config: Any, modes: str | None, strategies: str | None) -> list[tuple[str, Any]]:
    """``(name, config)`` for each retrieval mode and answer strategy named."""
    import dataclasses

    from rag.errors import BadInputError
    from rag.generate.registry import STRATEGIES

    variants = []
    for mode in [m.strip() for m in (modes or "").split(",") if m.strip()]:
        # a mode the config does not allow is a one-line error from the Config itself
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
    return variants


def _side_by_side(pipeline: Any, args: EvalArgs) -> None:
    """The same questions through each retrieval mode or answer strategy (one embedder,
    one LLM), side by side."""
    from rag.eval.runner import HEADLINE, fmt

    results = {}
    current = pipeline
    for mode, variant in _variants(pipeline.config, args.modes, args.strategies):
        # chained, so the models the first variant loads serve the next ones
        current = current.with_config(variant)
        results[mode] = _run(current, args.options())
        click.echo(f"{mode}: {shown(results[mode].run_dir / 'report.md')}", err=True)
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
