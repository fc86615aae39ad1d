"""The web UI: ``ChatUI(pipeline).build()`` makes the Gradio app, ``launch()`` serves it."""

from __future__ import annotations

from ui.app import ChatUI, launch

__all__ = ["ChatUI", "launch"]
