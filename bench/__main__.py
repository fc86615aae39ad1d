"""``python -m bench [--sections ...] [--quick]``: the bench from a checkout.

User errors print one line (``error: ...``) and exit non-zero, as ``rag`` does.
"""

from __future__ import annotations

import sys

import click

from bench.cli import bench_command
from rag import passive_openmp
from rag.errors import RagError


def main(argv: list[str] | None = None) -> int:
    passive_openmp()  # before any section loads a model
    try:
        code = bench_command.main(argv, prog_name="python -m bench", standalone_mode=False)
    except RagError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("interrupted", err=True)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
