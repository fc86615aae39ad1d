"""The web UI: ``ChatUI(pipeline).build()`` makes the Gradio app, ``launch()`` serves it.

Lazy: ``ui.uploads`` (used by the HTTP API too) must not import Gradio.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ChatUI", "launch"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
