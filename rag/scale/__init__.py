"""Running the heavy stages on a Ray cluster: the build (``ray_build``, Ray Data) and the
answers (``ray_serve``, Ray Serve). Ray is the optional extra ``scale``; nothing outside
this package imports it, and without it ``--engine ray`` says how to install it."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from rag import passive_openmp
from rag.config import CHOICES, ScaleConfig
from rag.errors import BadInputError, MissingExtraError

ENGINES = CHOICES["scale", "engine"]  # ("local", "ray"), checked in the config too
INSTALL = "pip install -e '.[scale]'"


def check_engine(name: str) -> str:
    name = (name or "local").strip().lower()
    if name not in ENGINES:
        raise BadInputError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
    return name


def require_ray() -> Any:
    """The ``ray`` module, or a one-line error that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the extra's parts, not just the core)
    except ImportError:
        raise MissingExtraError(
            f"--engine ray needs Ray, which is not installed: {INSTALL}"
        ) from None
    return ray


def address_of(scale: ScaleConfig, given: str | None, environ: dict[str, str] | None = None) -> str:
    """The cluster to join: ``--ray-address``, else ``scale.ray_address``, else
    ``$RAY_ADDRESS``; empty: start a local Ray."""
    environ = dict(os.environ if environ is None else environ)
    return (given or scale.ray_address or environ.get("RAY_ADDRESS", "")).strip()


@contextlib.contextmanager
def connect(scale: ScaleConfig, given: str | None = None) -> Iterator[Any]:
    """Ray, joined to the cluster ``address_of`` names or started locally (this machine's
    CPUs, bound to 127.0.0.1); a Ray this call started is shut down when it ends, one
    that was already connected is left as it was."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    address = address_of(scale, given)
    # Workers keep their output in Ray's log files (a worker's stdout would mix into --json);
    # their errors come back to the driver as exceptions.
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False,
                               "runtime_env": {"env_vars": passive_openmp()}}  # fmt: skip
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(
                num_cpus=os.cpu_count() or 1,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                **options,
            )
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = address or "a local Ray"
        raise MissingExtraError(
            f"cannot start or join {where}: {' '.join(str(exc).split())}"
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_gpus(ray: Any) -> float:
    return float(ray.cluster_resources().get("GPU", 0.0))
