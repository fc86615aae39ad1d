"""What the click commands of ``rag`` share (the context's pipeline and config, JSON
output). Only click is imported: ``rag --help`` stays fast."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from rag.config import Config

CONTEXT = {"help_option_names": ["-h", "--help"]}
F = TypeVar("F", bound=Callable[..., Any])


def pipeline_of(ctx: click.Context) -> Any:
    """The pipeline of this invocation (made on first use: heavy imports only then)."""
    from rag.pipeline import Pipeline

    obj = ctx.find_root().obj
    if "pipeline" not in obj:
        obj["pipeline"] = Pipeline(obj["config"])
    return obj["pipeline"]


def config_of(ctx: click.Context) -> Config:
    config: Config = ctx.find_root().obj["config"]
    return config


def echo_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def with_options(options: Sequence[Callable[[Any], Any]]) -> Callable[[F], F]:
    """One decorator for a tuple of ``click.option``s, listed by --help in that order
    (a long command keeps its options as data, and its function short)."""

    def apply(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return apply
