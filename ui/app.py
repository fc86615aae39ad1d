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
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.errors import RagError
from rag.pipeline import Done, Event, Evidence, Pipeline, Retrieved, Token
from rag.retrieve.filters import make_filters
from ui import render
from ui.access import launch_options
from ui.articles import Articles, error_message
from ui.render import Turn
from ui.uploads import safe_upload_name, store_upload

__all__ = ["ChatUI", "error_message", "launch", "safe_upload_name", "store_upload"]

log = logging.getLogger(__name__)

LANGUAGES = ["auto", "ru", "en"]
MODES = [
    ("the model (generative)", "generative"),
    ("quoting sentences (extractive, fast)", "extractive"),
]


class ChatUI(Articles):
    """The Gradio app over one shared pipeline; each browser session has its own turns.
    ``read_only``: no upload or removal (not shown, and no endpoint to call)."""

    def __init__(self, pipeline: Pipeline, read_only: bool = False) -> None:
        self.pipeline = pipeline
        self.config = pipeline.config
        self.read_only = read_only

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
            self.pipeline.refresh()  # a request boundary: pick up a new index generation
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
                self._articles_tab(demo)
        # One pipeline (one llama.cpp model) for everyone: answers queue, one at a time;
        # past max_queue waiting, Gradio refuses more ("the queue is full").
        demo.queue(default_concurrency_limit=1, max_size=self.config.ui.max_queue)
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
    read_only: bool | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Serve the UI (default: the config's host and port, 127.0.0.1:7860, no share link).

    Off loopback (another ``host``, or ``share``) it needs ``ui.password``
    (``ui.access``: else BadInputError). ``read_only`` (default: ``ui.read_only``):
    no upload or removal. ``block=False`` returns at once with the server running in
    the background (tests).
    """
    ui = pipeline.config.ui
    options = launch_options(ui, host or ui.host, port or ui.port, share or ui.share)
    demo = ChatUI(pipeline, ui.read_only if read_only is None else read_only).build()
    demo.launch(
        **options,
        prevent_thread_lock=not block,
        max_file_size=pipeline.config.limits.max_upload_bytes,
        show_error=False,
        ssr_mode=False,
        quiet=not block,
    )
    return demo
