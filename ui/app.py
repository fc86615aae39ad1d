"""The chat UI: a thin Gradio shell over ``rag.pipeline.Pipeline``.

``ChatUI(pipeline).build()`` returns the app; ``launch()`` serves it, on
127.0.0.1 by default. No retrieval or prompting happens here: callbacks call
the pipeline and render what it returns (``ui.render``).

Clickable citations: the answer is HTML in which each ``[n]`` is a
``<button class="cite" data-turn data-cite>``. The chat's ``gr.HTML`` has a
``js_on_load`` that listens for clicks on its root element (so it survives
re-renders while the answer streams) and calls ``trigger('click', {...})``
with those numbers; the Python ``click`` listener gets them as
``gr.EventData`` and renders the passage viewer. Source rows work the same way
with ``data-hit``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import BadInputError, RagError
from rag.ingest.load import SUPPORTED
from rag.pipeline import Done, Event, Evidence, Pipeline, Retrieved, Token
from rag.retrieve.filters import make_filters
from rag.types import Article
from ui import render
from ui.render import Turn
from ui.uploads import safe_upload_name, store_upload

__all__ = ["ChatUI", "error_message", "launch", "safe_upload_name", "store_upload"]

log = logging.getLogger(__name__)

LANGUAGES = ["auto", "ru", "en"]
MODES = [
    ("the model (generative)", "generative"),
    ("quoting sentences (extractive, fast)", "extractive"),
]
_PROGRESS = gr.Progress()  # Gradio spots the default and passes a per-request tracker


def error_message(exc: BaseException) -> str:
    """One line for the user: a ``RagError``'s own message, else the exception's type and text."""
    if isinstance(exc, RagError):
        return str(exc)
    text = " ".join(str(exc).split()) or "no details"
    return f"unexpected error ({type(exc).__name__}: {text[:300]}); the server log has details"


class ChatUI:
    """The Gradio app over one shared pipeline; each browser session has its own turns."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.config = pipeline.config

    # -- asking ------------------------------------------------------------
    def ask(
        self,
        question: str,
        turns: list[Turn],
        k: float,
        language: str = "auto",
        mode: str | None = None,
        since: str = "",
        until: str = "",
        source: str = "",
    ) -> Iterator[tuple[str, str, str, list[Turn]]]:
        """Stream one answer: yields (chat HTML, sources HTML, question box, turns).

        ``language``: auto (the question's), ru or en; ``mode``: generative or
        extractive (default: the config's); ``since``/``until`` (YYYY-MM-DD) and
        ``source`` (a part of its name) keep the passages of matching articles only.
        """
        turns = list(turns or [])
        turn = Turn(question=" ".join((question or "").split())[:300])
        turns.append(turn)
        index = len(turns) - 1

        def view() -> tuple[str, str, str, list[Turn]]:
            return render.chat_html(turns), render.sources_html(turn, index), "", turns

        started = time.perf_counter()
        try:
            turn.question = self.pipeline.check_question(question)
            history = [(t.question, t.answer) for t in turns[:-1] if t.done and not t.error]
            yield view()
            settings: dict[str, Any] = {"k": int(k)}
            settings["language"] = None if language == "auto" else language
            settings["mode"] = mode or self.config.generation.mode
            settings["filters"] = make_filters(
                (since or "").strip(), (until or "").strip(), source
            )  # a bad date: the one-line error in the chat
            # The pipeline's stream may be read from any thread (Gradio moves a generator
            # between pool threads); closing it (the browser went away) stops the model.
            with self.pipeline.stream(turn.question, history, **settings) as events:
                for event in events:
                    self._take(turn, event, started)
                    yield view()
        except Exception as exc:
            if not isinstance(exc, RagError):
                log.exception("answering %r failed", question)
            turn.error, turn.done = error_message(exc), True
            yield view()

    def _take(self, turn: Turn, event: Event, started: float) -> None:
        """One pipeline event into the turn being shown."""
        if isinstance(event, Retrieved):
            turn.query, turn.hits = event.query, event.hits
        elif isinstance(event, Evidence):
            turn.evidence = tuple(self._evidence(h) for h in event.sentences)
            if turn.first_token_s is None:
                turn.first_token_s = time.perf_counter() - started
        elif isinstance(event, Token):
            if turn.first_token_s is None and event.text.strip():
                turn.first_token_s = time.perf_counter() - started
            turn.answer += event.text
        elif isinstance(event, Done):
            turn.finish(event.answer)
            turn.total_s = time.perf_counter() - started

    def _evidence(self, hit: Any) -> tuple[str, str, str]:
        doc = self.pipeline.document(hit.chunk.doc_id)
        return hit.chunk.text, hit.chunk.title, (doc.date or "") if doc else ""

    def show_passage(self, turns: list[Turn], evt: gr.EventData) -> str:
        """The viewer for a clicked citation (``cite``) or source row (``hit``)."""
        data: dict[str, Any] = dict(getattr(evt, "_data", None) or {})
        try:
            index = int(data["turn"])
            turn = turns[index]
            if data.get("cite") is not None:
                n = int(data["cite"])
                c = turn.citation(n)
                if c is None:
                    return render.message_html(f"[{n}] points at no passage", "error")
                doc_id, start, end, text, title = c.doc_id, c.start, c.end, c.text, c.title
                label = f"Citation [{n}] in answer {index + 1}"
            else:
                hit = turn.hits[int(data["hit"])]
                ch = hit.chunk
                doc_id, start, end, text, title = ch.doc_id, ch.start, ch.end, ch.text, ch.title
                label = f"Retrieved passage, score {hit.score:.3f}"
            doc = self.pipeline.document(doc_id)
            return render.passage_html(doc, start, end, text, title, label)
        except (KeyError, IndexError, TypeError, ValueError):
            return render.message_html("that passage is not available any more", "error")
        except Exception as exc:
            return render.message_html(error_message(exc), "error")

    # -- articles ----------------------------------------------------------
    def articles(self) -> tuple[str, list[list[Any]], Any]:
        """Summary line, table rows (doc_id, passages, title) and the removal choices."""
        try:
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
        """Save uploads under corpus_dir/uploads, then add them to the index one by one."""
        progress = progress or (lambda *args, **kwargs: None)
        paths = [Path(f) for f in files or []]
        if not paths:
            return ("Choose .txt, .md, .html, .pdf or .docx files first.", *self.articles(), None)
        uploads = self.config.corpus_dir / "uploads"
        lines: list[str] = []
        for i, src in enumerate(paths):
            progress((i, len(paths)), desc=f"Indexing {src.name}", unit="files")
            try:
                dest = store_upload(src, src.name, uploads, self.config.limits.max_upload_bytes)
                try:
                    report = self.pipeline.add([dest])
                except BadInputError as exc:  # unreadable: keep no copy, hide server paths
                    dest.unlink(missing_ok=True)
                    raise BadInputError(str(exc).replace(str(dest), dest.name)) from None
                for p in report.problems:
                    lines.append(f"⚠ {dest.name}: {p.reason}")
                for d in report.added:
                    lines.append(f"✓ added {d}")
                for d in report.unchanged:
                    lines.append(f"= {d} is already indexed, unchanged")
                for d in report.folded:
                    lines.append(f"≈ {d} repeats an indexed article; stored as its copy")
            except Exception as exc:
                if not isinstance(exc, RagError):
                    log.exception("upload of %s failed", src)
                lines.append(f"⚠ {src.name}: {error_message(exc)}")
        progress(1.0, desc="Done")
        return ("\n\n".join(lines), *self.articles(), None)

    def remove(self, doc_ids: Sequence[str] | None) -> tuple[str, str, list[list[Any]], Any]:
        """Remove the chosen articles from the index (their files stay on disk)."""
        if not doc_ids:
            return ("Choose articles to remove first.", *self.articles())
        try:
            report = self.pipeline.remove(list(doc_ids))
            message = f"Removed {', '.join(report.removed)}."
        except Exception as exc:
            message = f"⚠ {error_message(exc)}"
        return (message, *self.articles())

    # -- layout ------------------------------------------------------------
    def build(self) -> gr.Blocks:
        """The app: chat, sources and passage viewer in one tab, articles in another."""
        title = self.config.ui.title
        with gr.Blocks(title=title, analytics_enabled=False) as demo:
            turns = gr.State([])
            gr.Markdown(f"## {title}")
            with gr.Tab("Chat"):
                self._chat_tab(turns)
            with gr.Tab("Articles"):
                listing = self._articles_tab()
            demo.load(self.articles, outputs=listing)
        # One pipeline (one llama.cpp model) for everyone: answers queue, one at a time.
        demo.queue(default_concurrency_limit=1)
        return demo

    def _chat_tab(self, turns: gr.State) -> None:
        with gr.Row():
            with gr.Column(scale=3):
                chat = _panel(render.chat_html([]), "chat", render.CLICK_JS, 640,
                              autoscroll=True, min_height=260)  # fmt: skip
                question, send, clear = self._question_row()
                with gr.Accordion("Settings", open=False):
                    settings, show = self._settings()
            with gr.Column(scale=2):
                viewer, sources_box, sources = self._viewer_column()
        gr.on(
            [send.click, question.submit],
            self.ask,
            inputs=[question, turns, *settings],
            outputs=[chat, sources, question, turns],
            concurrency_id="pipeline",
            show_progress="minimal",  # queue position and elapsed time, on the chat only
            show_progress_on=[chat],
        )
        chat.click(self.show_passage, inputs=[turns], outputs=[viewer])
        sources.click(self.show_passage, inputs=[turns], outputs=[viewer])
        show.change(lambda v: gr.update(visible=v), inputs=[show], outputs=[sources_box])
        clear.click(
            lambda: ([], render.chat_html([]), render.sources_html(None, 0)),
            outputs=[turns, chat, sources],
        )

    @staticmethod
    def _question_row() -> tuple[gr.Textbox, gr.Button, gr.Button]:
        with gr.Row():
            question = gr.Textbox(
                placeholder="Сколько спутников SpaceSail на орбите?",
                show_label=False,
                lines=1,
                max_lines=4,
                scale=5,
                elem_id="question",
            )
            send = gr.Button("Ask", variant="primary", scale=0, min_width=90, elem_id="send")
            clear = gr.Button("New chat", scale=0, min_width=120, elem_id="new")
        return question, send, clear

    def _settings(self) -> tuple[list[Any], gr.Checkbox]:
        """``ask``'s settings (k, language, mode, since, until, source) and the sources
        panel's switch."""
        k = gr.Slider(1, 20, value=self.config.retrieval.k, step=1, label="Passages")
        language = gr.Radio(LANGUAGES, value="auto", label="Answer language")
        mode = gr.Radio(MODES, value=self.config.generation.mode, label="Answer by")
        # value "": optional for API clients (gradio_client) too
        with gr.Row():
            since = gr.Textbox(
                label="Articles since", placeholder="YYYY-MM-DD",
                value="", max_lines=1, elem_id="since",
            )  # fmt: skip
            until = gr.Textbox(
                label="Articles until", placeholder="YYYY-MM-DD",
                value="", max_lines=1, elem_id="until",
            )  # fmt: skip
            source = gr.Textbox(
                label="Source contains", placeholder="kazinform",
                value="", max_lines=1, elem_id="source",
            )  # fmt: skip
        show = gr.Checkbox(value=True, label="Show retrieved passages")
        return [k, language, mode, since, until, source], show

    @staticmethod
    def _viewer_column() -> tuple[gr.HTML, gr.Column, gr.HTML]:
        viewer = _panel(
            render.message_html("Click a citation to see it in its article."),
            "viewer", render.SCROLL_JS, 520, label="Passage",
        )  # fmt: skip
        with gr.Column(visible=True) as sources_box:
            sources = _panel(render.sources_html(None, 0), "sources", render.CLICK_JS, 420)
        return viewer, sources_box, sources

    def _articles_tab(self) -> list[Any]:
        """The article list, removal and uploads; returns what ``articles`` fills."""
        summary = gr.Markdown(elem_id="articles-summary")
        table = gr.Dataframe(
            headers=["doc_id", "passages", "title"],
            interactive=False,
            wrap=True,
            elem_id="articles",
        )
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
        return [summary, table, to_remove]

    def _upload_with_progress(
        self, files: Sequence[str] | None, progress: gr.Progress = _PROGRESS
    ) -> tuple[str, str, list[list[Any]], Any, None]:
        return self.upload(files, progress)


def _panel(value: str, elem_id: str, js: str, max_height: int, **extra: Any) -> gr.HTML:
    """An HTML panel styled by ``render.CSS``, with its click or scroll script."""
    return gr.HTML(value, elem_id=elem_id, css_template=render.CSS, js_on_load=js,
                   container=True, padding=True, max_height=max_height, **extra)  # fmt: skip


def launch(
    pipeline: Pipeline,
    host: str | None = None,
    port: int | None = None,
    share: bool = False,
    *,
    block: bool = True,
) -> gr.Blocks:
    """Serve the UI (default: the config's host and port, 127.0.0.1:7860, no share link).

    ``block=False`` returns at once with the server running in the background (tests).
    """
    ui = pipeline.config.ui
    demo = ChatUI(pipeline).build()
    demo.launch(
        server_name=host or ui.host,
        server_port=port or ui.port,
        share=share or ui.share,
        prevent_thread_lock=not block,
        max_file_size=pipeline.config.limits.max_upload_bytes,
        show_error=False,
        ssr_mode=False,
        quiet=not block,
    )
    return demo
