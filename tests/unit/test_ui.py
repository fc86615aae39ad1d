"""The UI callbacks and HTML rendering, with the fake pipeline (no browser, no models)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from rag.config import Config
from rag.errors import BadInputError, ModelError
from rag.pipeline import Pipeline
from rag.types import AnswerKind, Chunk, Citation, Document, Hit, Refusal, SearchFilters
from tests.fakes import FakeEmbedder, FakeGenerator, use_extractive_fallback
from ui import render
from ui.app import ChatUI, error_message, launch, safe_upload_name, store_upload
from ui.render import Turn

ANSWER = "На орбите 108 спутников [1]."  # the fake model's draft
# what is shown: the asked count, then the evidence
QUOTED = "108 спутников [1].\nНа орбите находится 108 спутников группировки SpaceSail [1]."


@pytest.fixture
def ui(fake_pipeline: Pipeline, corpus: Path) -> ChatUI:
    fake_pipeline.build([corpus])
    return ChatUI(fake_pipeline)


def last(gen: Iterator[Any]) -> Any:
    out = None
    for out in gen:  # noqa: B007 - we want the final view
        pass
    return out


def ask(ui: ChatUI, question: str, turns: list[Turn] | None = None, **kw: Any) -> Any:
    return last(ui.ask(question, turns or [], kw.get("k", 5), kw.get("language", "auto")))


def click(ui: ChatUI, turns: list[Turn], **data: Any) -> str:
    return ui.show_passage(turns, gr.EventData(None, data))


# -- asking ---------------------------------------------------------------------
def test_answer_streams_and_citations_become_buttons(
    ui: ChatUI, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue(ANSWER)
    views = list(ui.ask("Сколько спутников SpaceSail на орбите?", [], 5, "auto"))
    assert len(views) > 3  # one view per event: it streams
    assert 'data-state="streaming"' in views[1][0]
    chat, sources, box, turns = views[-1]
    assert box == ""
    (turn,) = turns
    # the default strategy (quote): the draft streams, the source sentence is the answer
    assert turn.done and not turn.error and turn.answer == QUOTED and turn.kind is AnswerKind.QUOTED
    assert turn.evidence and "108" in turn.evidence[0][0]
    assert any("На орбите 108 спутников" in view[0] for view in views[:-1])  # the draft, live
    assert turn.first_token_s is not None and turn.total_s is not None
    assert 'data-state="done"' in chat
    assert '<button type="button" class="cite" data-turn="0" data-cite="1"' in chat
    assert "108" in chat
    assert "Спутники SpaceSail" in sources and "a.txt" in sources
    assert f"{turn.hits[0].score:.3f}" in sources


def test_the_extractive_fallback_replaces_the_draft_and_says_so(
    ui: ChatUI, fake_generator: FakeGenerator
) -> None:
    use_extractive_fallback(ui.pipeline)
    fake_generator.queue("На орбите 500 спутников [1].")
    chat, _, _, (turn,) = ask(ui, "Сколько спутников SpaceSail на орбите?")
    assert turn.kind is AnswerKind.FALLBACK and "108" in turn.answer
    assert "500" not in turn.answer and "not supported by the passages" in chat
    assert '<button type="button" class="cite" data-turn="0" data-cite="1"' in chat


def test_clicking_a_citation_marks_the_span_in_the_article(
    ui: ChatUI, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue(ANSWER)
    turns = ask(ui, "Сколько спутников SpaceSail на орбите?")[3]
    viewer = click(ui, turns, turn=0, cite=1, hit=None)
    assert "Citation [1] in answer 1" in viewer and "<h3>Спутники SpaceSail</h3>" in viewer
    assert "108 спутников" in viewer.split("<mark>")[1].split("</mark>")[0]
    viewer = click(ui, turns, turn=0, cite=None, hit=1)
    assert "Retrieved passage, score" in viewer and "<mark>" in viewer
    assert "error" in click(ui, turns, turn=5, cite=1, hit=None)
    assert "points at no passage" in click(ui, turns, turn=0, cite=9, hit=None)


def test_follow_up_is_rewritten_and_the_query_shown(
    ui: ChatUI, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue(ANSWER, "Когда начнётся строительство станции SpaceSail?", ANSWER)
    turns = ask(ui, "Сколько спутников SpaceSail на орбите?")[3]
    chat, _, _, turns = ask(ui, "А когда начнётся строительство?", turns)
    assert len(turns) == 2
    assert turns[1].query == "Когда начнётся строительство станции SpaceSail?"
    assert "Searched for: <i>Когда начнётся строительство станции SpaceSail?</i>" in chat
    rewrite_prompt = fake_generator.seen[1][-1]["content"]
    assert "Сколько спутников SpaceSail на орбите?" in rewrite_prompt  # history was used
    assert "Searched for" not in render.turn_html(turns[0], 0)  # unchanged query: not shown


def test_no_answer_says_so_and_shows_what_was_found(
    ui: ChatUI, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue("NO_ANSWER")
    chat, sources, _, turns = ask(ui, "Какая погода на Байконуре?")
    assert turns[0].abstained
    assert "В источниках нет ответа на этот вопрос." in chat
    assert "Closest passages found instead" in chat and 'data-hit="0"' in chat
    assert "<table" in sources
    assert turns[0].refusal == "model" and "Why: the model found no answer" in chat
    # a year no sentence states: what is not stated, and the nearest stated fact
    chat, _, _, turns = ask(ui, "Сколько спутников SpaceSail будет в 2030 году?")
    assert turns[0].refusal == "not stated" and "do not state what was asked" in chat
    assert "Not stated: 2030" in chat and "Nearest evidence" in chat and 'data-cite="1"' in chat
    # a name no passage mentions: refused before the model, and the reason says so
    _, _, _, turns = ask(ui, "Сколько спутников Starlink на орбите?")
    assert "Why: a name in the question appears in none" in render.turn_html(turns[0], 0)


@pytest.mark.parametrize(
    ("question", "expected"),
    [("x" * 1001, "the question is 1001 characters long"), ("   ", "the question is empty")],
)
def test_bad_question_is_a_message_and_the_app_goes_on(
    ui: ChatUI, fake_generator: FakeGenerator, question: str, expected: str
) -> None:
    chat, _, _, turns = ask(ui, question)
    assert turns[0].error and expected in turns[0].error
    assert 'class="error"' in chat and "Traceback" not in chat
    fake_generator.queue(ANSWER)
    chat, _, _, turns = ask(ui, "Сколько спутников SpaceSail на орбите?", turns)
    assert turns[1].done and not turns[1].error and "108" in chat


def test_missing_index_is_a_message(fake_pipeline: Pipeline) -> None:
    chat, _, _, turns = ask(ChatUI(fake_pipeline), "Сколько спутников?")
    assert "no index at" in (turns[0].error or "")
    summary, rows, _ = ChatUI(fake_pipeline).articles()
    assert summary.startswith("⚠ no index at") and rows == []


class _Broken(FakeGenerator):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def stream(self, messages: Any, max_tokens: int) -> Iterator[str]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ModelError("no GGUF model at /m.gguf; run `rag models fetch`"), "no GGUF model at"),
        (RuntimeError("boom"), "unexpected error (RuntimeError: boom)"),
    ],
)
def test_model_errors_are_one_line_messages(
    fake_config: Config, corpus: Path, error: Exception, expected: str
) -> None:
    pipe = Pipeline(fake_config, embedder=FakeEmbedder(64), generator=_Broken(error))
    pipe.build([corpus])
    chat, _, _, turns = ask(ChatUI(pipe), "Сколько спутников SpaceSail на орбите?")
    assert expected in (turns[0].error or "") and "Traceback" not in chat
    assert turns[0].hits  # what was retrieved is still shown


def test_stream_survives_being_advanced_from_different_threads(
    ui: ChatUI, fake_generator: FakeGenerator
) -> None:
    """Gradio steps a sync generator on a pool thread each time; the pipeline's lock
    is owned by a thread, so the UI must run the stream in one worker thread."""
    fake_generator.queue(ANSWER)
    gen = ui.ask("Сколько спутников SpaceSail на орбите?", [], 5, "auto")
    views: list[Any] = []
    release = threading.Event()  # threads stay alive, so no two share an ident

    def step() -> None:
        try:
            views.append(next(gen))
        except StopIteration:
            views.append(None)
        except BaseException as exc:  # pragma: no cover - the failure being tested
            views.append(exc)
        release.wait(30)

    threads = []
    while not views or views[-1] is not None:
        threads.append(threading.Thread(target=step))
        threads[-1].start()
        while len(views) < len(threads):
            threads[-1].join(0.01)
        assert not isinstance(views[-1], BaseException), views[-1]
    release.set()
    assert views[-2][3][0].done and not views[-2][3][0].error
    assert ui.pipeline.lock.acquire(blocking=False)  # released
    ui.pipeline.lock.release()


def test_settings_reach_the_pipeline() -> None:
    class Recorder:
        config = Config()
        seen: dict[str, Any] = {}

        def check_question(self, q: str) -> str:
            return q

        def refresh(self) -> bool:
            return False

        def stream(self, q: str, history: Any = (), **kw: Any) -> Iterator[Any]:
            self.seen.update(kw)
            return iter(())

    pipe = Recorder()
    ui = ChatUI(pipe)  # type: ignore[arg-type]
    last(ui.ask("Question?", [], 3, "en", "extractive"))
    assert pipe.seen == {"k": 3, "language": "en", "mode": "extractive", "filters": None}
    last(ui.ask("Question?", [], 7, "auto"))
    assert pipe.seen == {"k": 7, "language": None, "mode": Config().generation.mode,
                         "filters": None}  # fmt: skip
    last(ui.ask("Question?", [], 7, "auto", None, " 2024-01-01 ", "", " Kazinform "))
    assert pipe.seen["filters"] == SearchFilters("2024-01-01", None, "Kazinform")


def test_extractive_mode_answers_without_the_model(
    ui: ChatUI, fake_generator: FakeGenerator
) -> None:
    chat, _, _, turns = last(
        ui.ask("Сколько спутников SpaceSail на орбите?", [], 5, "auto", "extractive")
    )
    assert turns[0].done and not turns[0].error and fake_generator.seen == []
    assert "108" in chat


def test_unsupported_sentences_are_shown_as_left_out() -> None:
    turn = Turn("q", "Верно [1].", dropped=("Выдумка <b>[2]</b>.",), done=True)
    html = render.turn_html(turn, 0)
    assert "Left out, not supported" in html and "<s>Выдумка &lt;b&gt;[2]&lt;/b&gt;.</s>" in html


# -- articles -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini.md", "win.ini.md"),
        (".hidden.txt", "hidden.txt"),
        ("my article (1).HTML", "my_article_1.html"),
        ("статья о Байконуре.txt", "статья_о_Байконуре.txt"),
        ("..", "upload"),
        ("", "upload"),
    ],
)
def test_upload_names_are_sanitised(name: str, safe: str) -> None:
    assert safe_upload_name(name) == safe


def test_store_upload_stays_inside_the_uploads_folder(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("Заголовок\n\nТекст.", encoding="utf-8")
    uploads = tmp_path / "corpus" / "uploads"
    dest = store_upload(src, "../../etc/passwd.txt", uploads, 1000)
    assert dest == (uploads / "passwd.txt").resolve() and dest.read_text(encoding="utf-8")
    with pytest.raises(BadInputError, match="not a supported file type"):
        store_upload(src, "report.odt", uploads, 1000)
    with pytest.raises(BadInputError, match="upload limit"):
        store_upload(src, "big.txt", uploads, 3)


def test_upload_indexes_at_once_and_remove_takes_it_out(
    ui: ChatUI, fake_config: Config, tmp_path: Path
) -> None:
    ui.config = replace(fake_config, paths=replace(fake_config.paths, corpus_dir=tmp_path / "c"))
    ui.pipeline.config = ui.config
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "kosmos.md"
    good.write_text("# Луноход\n\nКазахстанский луноход испытают в 2030 году.", encoding="utf-8")
    binary = incoming / "broken.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    pdf = incoming / "paper.odt"
    pdf.write_bytes(b"PK")
    steps: list[Any] = []
    log, summary, rows, choices, cleared = ui.upload(
        [str(good), str(binary), str(pdf)], lambda *a, **k: steps.append(a)
    )
    uploads = tmp_path / "c" / "uploads"
    assert (uploads / "kosmos.md").is_file()
    assert "✓ added uploads/kosmos.md" in log
    assert "⚠ broken.txt: " in log and not (uploads / "broken.txt").exists()
    assert "⚠ paper.odt: paper.odt: not a supported file type" in log
    assert str(tmp_path) not in log  # no server paths
    assert "3 articles" in summary and ["uploads/kosmos.md", 1, "Луноход"] in rows
    assert "uploads/kosmos.md" in choices["choices"] and cleared is None
    assert len(steps) == 2  # indexing, then done: one update for every file
    assert ui.pipeline.search("луноход испытают")[0].chunk.doc_id == "uploads/kosmos.md"
    assert not [p for p in (tmp_path / "c").iterdir() if p.name.startswith(".")]  # no staging

    log, summary, rows, _ = ui.remove(["uploads/kosmos.md"])
    assert log == "Removed uploads/kosmos.md." and "2 articles" in summary
    assert all(r[0] != "uploads/kosmos.md" for r in rows)
    assert not (uploads / "kosmos.md").exists()  # the upload's file goes with it
    log, *_ = ui.remove(["uploads/kosmos.md"])
    assert log.startswith("⚠ not in the index: uploads/kosmos.md")
    assert ui.upload([], None)[0].startswith("Choose")


# -- rendering ------------------------------------------------------------------
def _doc(text: str) -> Document:
    return Document("d.txt", "A <b>title</b>", text, "sha", "2024-05-01", "kapital.kz")


def test_answer_html_escapes_and_links_only_known_citations() -> None:
    cite = Citation(1, "d.txt", "T <i>", "c1", 0, 3, "abc")
    html = render.answer_html("<script>x</script> 108 [1] и [2]", 3, (cite,))
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert 'data-turn="3" data-cite="1" title="T &lt;i&gt;">[1]</button>' in html
    assert '<span class="cite pending">[2]</span>' in html


def test_passage_html_marks_exactly_the_cited_span() -> None:
    text = "Начало статьи. На орбите 108 спутников. <img src=x onerror=alert(1)> Конец."
    start = text.index("На орбите")
    end = text.index(" <img")
    html = render.passage_html(_doc(text), start, end, text[start:end], "t", "Citation [1]")
    assert "<mark>На орбите 108 спутников.</mark>" in html
    assert "Начало статьи. <mark>" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html and "<b>title" not in html
    assert "2024-05-01 · kapital.kz · d.txt" in html


def test_passage_html_finds_the_span_when_offsets_are_stale() -> None:
    text = "Раз. Два три. Четыре."
    html = render.passage_html(_doc(text), 0, 4, "Два три.", "t", "label")
    assert "<mark>Два три.</mark>" in html


def test_passage_html_cuts_long_articles_around_the_span() -> None:
    text = "а" * 5000 + "ЦЕЛЬ" + "б" * 5000
    html = render.passage_html(_doc(text), 5000, 5004, "ЦЕЛЬ", "t", "l", 10, 20)
    assert "… " + "а" * 10 + "<mark>ЦЕЛЬ</mark>" + "б" * 20 + " …" in html


def test_passage_html_for_a_removed_article() -> None:
    html = render.passage_html(None, 0, 3, "x < y", "Old", "Citation [2]")
    assert "no longer in the index" in html and "<mark>x &lt; y</mark>" in html


def test_sources_html_lists_every_hit_with_score_and_number() -> None:
    chunks = [Chunk(f"c{i}", f"d{i}.txt", f"<T{i}>", f"text {i}", 0, 6) for i in range(3)]
    hits = tuple(Hit(c, 0.9 - i / 10) for i, c in enumerate(chunks))
    cite = Citation(1, "d2.txt", "<T2>", "c2", 0, 6, "text 2")
    turn = Turn("q", "a [1]", hits=hits, passages=(hits[2],), citations=(cite,), done=True)
    html = render.sources_html(turn, 4)
    assert "Retrieved passages (3)" in html
    assert html.count('data-turn="4"') == 3 and "0.900" in html and "0.700" in html
    assert '<tr class="cited"><td class="n">[1]</td><td class="score">0.700</td>' in html
    assert "&lt;T0&gt;" in html and "<T0>" not in html
    assert "appear here" in render.sources_html(None, 0)


def test_error_message_is_one_line() -> None:
    assert error_message(BadInputError("bad file")) == "bad file"
    msg = error_message(ValueError("line one\n  line two"))
    assert msg.startswith("unexpected error (ValueError: line one line two)") and "\n" not in msg


# -- app and launch -------------------------------------------------------------
def test_build_returns_a_queued_app(ui: ChatUI) -> None:
    demo = ui.build()
    assert isinstance(demo, gr.Blocks)
    assert demo._queue.default_concurrency_limit == 1


def test_title_comes_from_the_config(ui: ChatUI) -> None:
    from dataclasses import replace

    assert ui.build().title == "Kazakhstan space news — ask the articles"  # the default
    ui.config = replace(ui.config, ui=replace(ui.config.ui, title="My archive"))
    demo = ui.build()
    assert demo.title == "My archive"
    assert "## My archive" in [getattr(b, "value", None) for b in demo.blocks.values()]


def test_launch_binds_localhost_without_share_by_default(
    ui: ChatUI, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    launch(ui.pipeline, block=False)
    assert seen["server_name"] == "127.0.0.1" and seen["server_port"] == 7860
    assert seen["share"] is False and seen["prevent_thread_lock"] is True
    assert seen["auth"] is None  # loopback: no password needed
    with pytest.raises(BadInputError, match="needs a password"):  # off loopback: refused
        launch(ui.pipeline, host="0.0.0.0", port=9000, share=True)
    ui.pipeline.config = replace(
        ui.pipeline.config, ui=replace(ui.pipeline.config.ui, password="pw", username="me")
    )
    launch(ui.pipeline, host="0.0.0.0", port=9000, share=True)
    assert (seen["server_name"], seen["server_port"], seen["share"]) == ("0.0.0.0", 9000, True)
    assert seen["auth"] == ("me", "pw")


def test_settings_filters_reach_retrieval_and_a_bad_date_is_one_line(
    ui: ChatUI, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue(ANSWER)
    question = "Сколько спутников SpaceSail на орбите?"
    _, _, _, (turn,) = last(ui.ask(question, [], 5, "auto", None, "", "", "no-such-source"))
    # no article has that source: nothing is retrieved, so nothing is answered
    assert turn.done and turn.abstained and not turn.hits and not turn.error
    _, _, _, (turn,) = last(ui.ask(question, [], 5, "auto", None, "2025-13-01", "", ""))
    assert turn.done and turn.error.startswith("--since must be a date")
    assert len(turn.error.splitlines()) == 1


def test_an_abstention_shows_the_nearest_evidence_and_what_is_not_stated() -> None:
    near = Citation(2, "d.txt", "Title <b>", "c2", 0, 6, "Запуск состоялся весной.")
    turn = Turn("q", "В источниках нет ответа.", abstained=True, done=True,
                refusal=Refusal.NOT_STATED, missing="the date", citations=(near,))  # fmt: skip
    html = render.turn_html(turn, 0)
    assert "Nearest evidence" in html and "Title &lt;b&gt;" in html
    assert '<button type="button" class="cite" data-turn="0" data-cite="2"' in html
    assert "Not stated: the date." in html and "do not state what was asked" in html
    assert turn.citation(2) == near  # clickable like a citation
