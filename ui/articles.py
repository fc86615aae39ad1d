"""The chat's Articles tab: the list of indexed articles and, unless the chat is
read-only, their upload and removal (``ui.uploads``, the HTTP API's path too)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import RagError
from rag.ingest.load import SUPPORTED
from rag.types import Article
from ui.uploads import KINDS, add_uploads, remove_documents

log = logging.getLogger("ui.app")
_PROGRESS = gr.Progress()  # Gradio spots the default and passes a per-request tracker
_READ_ONLY = "⚠ this chat is read-only: articles cannot be added or removed"


def error_message(exc: BaseException) -> str:
    """One line for the user: a ``RagError``'s own message, else the exception's type and text."""
    if isinstance(exc, RagError):
        return str(exc)
    text = " ".join(str(exc).split()) or "no details"
    return f"unexpected error ({type(exc).__name__}: {text[:300]}); the server log has details"


class Articles:
    """The Articles tab's callbacks, mixed into ``ui.app.ChatUI`` (which sets
    ``pipeline``, ``config`` and ``read_only``)."""

    pipeline: Any
    config: Any
    read_only: bool

    def articles(self) -> tuple[str, list[list[Any]], Any]:
        """Summary line, table rows (doc_id, passages, title) and the removal choices."""
        try:
            self.pipeline.refresh()
            status = self.pipeline.status()
        except Exception as exc:
            return f"⚠ {error_message(exc)}", [], gr.update(choices=[], value=[])
        articles = Article.listed(status["documents"])
        rows = [[a.doc_id, a.chunks, a.title] for a in articles]
        summary = f"**{status['n_documents']} articles, {status['n_chunks']} passages** indexed."
        return summary, rows, gr.update(choices=[a.doc_id for a in articles], value=[])

    def upload(
        self, files: Sequence[str] | None, progress: Any = None
    ) -> tuple[str, str, list[list[Any]], Any, None]:
        """Add uploads to the index in one update (``ui.uploads.add_uploads``, the HTTP
        API's path too): they become ``uploads/NAME``."""
        progress = progress or (lambda *args, **kwargs: None)
        paths = [Path(f) for f in files or []]
        if self.read_only:
            return (_READ_ONLY, *self.articles(), None)
        if not paths:
            return (f"Choose {KINDS} files first.", *self.articles(), None)
        progress(0.0, desc=f"Indexing {len(paths)} file(s)")
        try:
            with contextlib.ExitStack() as stack:
                opened = [(p.name, stack.enter_context(p.open("rb"))) for p in paths]
                out = add_uploads(self.pipeline, opened, self.config)
            lines = [f"⚠ {name}: {reason}" for name, reason in out.problems]
            lines += [f"✓ added {d}" for d in out.added]
            lines += [f"= {d} is already indexed, unchanged" for d in out.unchanged]
            lines += [f"≈ {d} repeats an indexed article; stored as its copy" for d in out.folded]
        except Exception as exc:
            if not isinstance(exc, RagError):
                log.exception("upload of %d files failed", len(paths))
            lines = [f"⚠ {error_message(exc)}"]
        progress(1.0, desc="Done")
        return ("\n\n".join(lines), *self.articles(), None)

    def remove(self, doc_ids: Sequence[str] | None) -> tuple[str, str, list[list[Any]], Any]:
        """Remove the chosen articles from the index (an upload's file too)."""
        if self.read_only:
            return (_READ_ONLY, *self.articles())
        if not doc_ids:
            return ("Choose articles to remove first.", *self.articles())
        try:
            report = remove_documents(self.pipeline, list(doc_ids), self.config)
            message = f"Removed {', '.join(report.removed)}."
        except Exception as exc:
            message = f"⚠ {error_message(exc)}"
        return (message, *self.articles())

    def _articles_tab(self, demo: gr.Blocks) -> None:
        """The article list and, unless read-only, its removal and uploads (no widgets
        and no endpoints for them in a read-only chat)."""
        summary = gr.Markdown(elem_id="articles-summary")
        table = gr.Dataframe(
            headers=["doc_id", "passages", "title"],
            interactive=False,
            wrap=True,
            elem_id="articles",
        )
        if self.read_only:
            demo.load(lambda: self.articles()[:2], outputs=[summary, table])
            return
        with gr.Row():
            to_remove = gr.Dropdown(
                [], multiselect=True, label="Articles to remove", elem_id="remove-choice"
            )
            remove = gr.Button("Remove", variant="stop", elem_id="remove")
        files = gr.File(
            file_count="multiple",
            file_types=sorted(SUPPORTED),
            label="Add articles (.txt, .md, .html, .pdf, .docx)",
            elem_id="upload",
        )
        upload_log = gr.Markdown(elem_id="upload-log")
        files.upload(
            self._upload_with_progress,
            inputs=[files],
            outputs=[upload_log, summary, table, to_remove, files],
            concurrency_id="pipeline",
        )
        remove.click(
            self.remove,
            inputs=[to_remove],
            outputs=[upload_log, summary, table, to_remove],
            concurrency_id="pipeline",
        )
        demo.load(self.articles, outputs=[summary, table, to_remove])

    def _upload_with_progress(
        self, files: Sequence[str] | None, progress: gr.Progress = _PROGRESS
    ) -> tuple[str, str, list[list[Any]], Any, None]:
        return self.upload(files, progress)
