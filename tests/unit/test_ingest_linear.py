"""Cleaning, Markdown and HTML handling rewritten to be linear in the input (issue 20,
High 1) give what the former regular expressions gave: each is checked against
the expression it replaces, on random strings made of the characters that matter.
How the time grows is measured by bench/clean_scaling.py, not here."""

from __future__ import annotations

import random
import re

import pytest

from rag.ingest import clean, markdown
from rag.ingest.html import MAX_DEPTH, cap_depth, extract_html

# The expressions the linear code replaces (as they were), the specification here.
SPEC_INLINE = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(?<![\w*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
)
SPEC_ATX = re.compile(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
ALPHABET = ["*", "**", "_", "~~", "a", "б", " ", "\t", ".", "[", "]", "(", ")", "![", "<",
            ">", "`", "<http://", "<https://", "#", "1"]  # fmt: skip


def _spec_inline(line: str) -> str:
    for pattern, replacement in SPEC_INLINE:
        line = pattern.sub(replacement, line)
    return line


def _random_lines(seed: int, n: int, longest: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(ALPHABET, k=rng.randint(0, longest))) for _ in range(n)]


def test_markdown_inline_rules_match_their_regular_expressions() -> None:
    lines = _random_lines(1, 20_000, 16)
    assert [markdown.inline(line) for line in lines] == [_spec_inline(line) for line in lines]


def test_markdown_headings_match_their_regular_expression() -> None:
    for line in _random_lines(2, 20_000, 10):
        line = random.Random(line).choice(["# ", "### ", "   ## ", "#", "####### "]) + line
        m = SPEC_ATX.match(line)
        assert markdown._atx(line) == (m.group(1) if m else None), repr(line)


def test_markdown_on_unclosed_delimiters_keeps_the_text() -> None:
    line = "**a " * 5_000 + "[[ ![a]( " * 2_000
    assert markdown.inline(line) == line  # nothing closes: nothing removed
    title, text = markdown.markdown_to_text("# Заголовок" + " " * 10_000 + "конец ##\n\n" + line)
    assert title == "Заголовок" + " " * 10_000 + "конец"
    assert text.endswith(line)


def _spec_first_sentence(paragraph: str) -> str:
    for m in re.finditer(r"[.!?…]+[\"»”)]*(?=\s+[\"«“(]?[A-ZА-ЯЁ0-9])", paragraph):
        word = re.findall(r"\w+$", paragraph[: m.start()])
        if word and (len(word[0]) == 1 or word[0].lower() in {"г", "гг", "им", "ул", "т"}):
            continue
        return paragraph[: m.end()]
    return paragraph


@pytest.mark.parametrize("seed", range(3))
def test_title_from_the_first_sentence_is_the_same(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["А.", "Б", " ", "г.", "слово", "...", "!?", "»", "«", "Т. ", "2025", ". ", "ул."]
    for _ in range(3_000):
        line = "".join(rng.choices(pieces, k=rng.randint(1, 120)))
        expected = clean._cut_title(_spec_first_sentence(line))
        assert clean._cut_title(clean._first_sentence(line)) == expected, repr(line)


def test_initials_repeated_give_a_title_cut_to_length() -> None:
    cleaned = clean.clean_text("А. " * 20_000)
    assert len(cleaned.title) <= clean.TITLE_MAX and cleaned.title.startswith("А. А.")
    assert cleaned.text.startswith(cleaned.title)


def test_nested_articles_take_the_outermost() -> None:
    inner = "<article><p>Внутренняя заметка о запуске спутника.</p></article>"
    html = (
        "<html><body><article><h1>Заголовок</h1><p>Главный текст статьи.</p>"
        f"{inner}</article><article><p>Короткая.</p></article></body></html>"
    )
    title, text = extract_html(html)
    assert title == "Заголовок"
    assert "Главный текст статьи." in text and "Внутренняя заметка" in text
    assert "Короткая." not in text


def test_chrome_inside_the_article_is_skipped_with_everything_in_it() -> None:
    html = (
        "<html><body><form><article><h1>Заголовок</h1><p>Текст статьи здесь.</p>"
        "<nav><div><p>Меню</p><nav>Ещё меню</nav></div></nav><aside>Реклама</aside>"
        "<p>Второй абзац.</p></article></form></body></html>"
    )
    _, text = extract_html(html)
    assert "Текст статьи здесь." in text and "Второй абзац." in text
    assert "Меню" not in text and "Реклама" not in text


def test_depth_cap_leaves_ordinary_pages_alone() -> None:
    html = "<html><body>" + "<div><p>абзац<b>жирный</b></p>" * 400 + "</div>" * 400
    assert cap_depth(html) is html


@pytest.mark.parametrize(
    "unit, closing",
    [("<div>", "</div>"), ("<div><nav>меню</nav>", "</div>"), ("<b><div>x</b>", "")],
)
def test_depth_cap_bounds_nesting_and_keeps_the_text(unit: str, closing: str) -> None:
    n = 4 * MAX_DEPTH
    html = "<html><body>" + unit * n + "<p>Главный текст.</p>" + closing * n + "</body></html>"
    capped = cap_depth(html)
    assert capped.count("<div>") <= MAX_DEPTH < html.count("<div>")
    assert capped.count("x") == html.count("x") and "Главный текст." in capped
    assert "Главный текст." in extract_html(html)[1]


SPEC_SENTENCE_START = re.compile(r"(?:(?<=[.!?…])(?<!\b\w\.)\s+|\n\s*)(?=\S)")


def _spec_sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cursor = [], start
    for match in SPEC_SENTENCE_START.finditer(text, start, end):
        if text[cursor : match.start()].strip():
            spans.append((cursor, match.start()))
        cursor = match.end()
    if text[cursor:end].strip():
        spans.append((cursor, len(text[:end].rstrip())))
    return spans


def test_sentence_spans_match_their_regular_expression() -> None:
    from rag.ingest.chunk import sentence_spans

    rng = random.Random(4)
    pieces = ["a", "Б", ".", "!", " ", "\n", "\t", "Т.", "…", "  \n"]
    for _ in range(5_000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 25)))
        start = rng.randint(0, len(text))
        end = rng.randint(start, len(text))
        assert sentence_spans(text, start, end) == _spec_sentence_spans(text, start, end)
    text = "Начало. Конец." + "\n " * 50_000  # trailing whitespace: was quadratic
    assert sentence_spans(text) == [(0, 7), (8, 14)]


def test_front_matter_values_lose_trailing_spaces_only() -> None:
    from rag.ingest.load import _front_matter

    text = "---\ntitle: «Союз» на старте" + " " * 20_000 + "\nsource: 'ТАСС' \n---\nТекст."
    assert _front_matter(text) == {"title": "«Союз» на старте", "source": "ТАСС"}
