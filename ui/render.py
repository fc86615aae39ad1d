"""HTML rendering for the chat UI (pure functions; no Gradio, no pipeline calls),
plus the panels' CSS and the few lines of JavaScript that make citations clickable.

Every piece of article or model text goes through ``html.escape`` before it is
put into markup; the only tags in the output are the ones written here.
Citation markers become ``<button class="cite" data-turn=.. data-cite=..>``
elements; ``CLICK_JS`` reads those attributes (see ``ui.app``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

from rag.types import Answer, AnswerKind, Citation, Document, Hit, Refusal

MARKER = re.compile(r"\[(\d{1,3})\]")
CONTEXT_BEFORE = 350  # article text shown before the cited span
CONTEXT_AFTER = 700  # and after it
SNIPPET_CHARS = 220


@dataclass
class Turn:
    """One question and its answer as the UI shows it (mutable while it streams)."""

    question: str
    answer: str = ""
    query: str | None = None  # the self-contained query the pipeline searched with
    hits: tuple[Hit, ...] = ()  # everything retrieved, in rank order
    passages: tuple[Hit, ...] = ()  # the numbered passages the model read ([1] = first)
    # The answer's citations; with a refusal, the nearest evidence (Answer.shown_citations)
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    done: bool = False
    error: str | None = None
    dropped: tuple[str, ...] = ()  # sentences the pipeline left out as unsupported
    kind: AnswerKind | None = None  # what the answer is (Answer.kind), once done
    refusal: Refusal | None = None  # why an abstained answer is one (Answer.refusal)
    missing: str | None = None  # what of the question the sources do not state
    # The sentence(s) the answer was chosen from, shown before it is phrased:
    # (text, article title, article date or "").
    evidence: tuple[tuple[str, str, str], ...] = ()
    first_token_s: float | None = None
    total_s: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def finish(self, answer: Answer) -> None:
        """Take the checked answer (the stream's Done) in place of what streamed."""
        self.answer, self.query, self.abstained = answer.answer, answer.query, answer.abstained
        self.citations, self.passages = answer.shown_citations, answer.passages
        self.timings_ms = dict(answer.timings_ms)
        self.dropped = tuple(s.text for s in answer.sentences if not s.verified)
        self.kind, self.refusal, self.missing = answer.kind, answer.refusal, answer.missing
        self.done = True

    def citation(self, n: int) -> Citation | None:
        """The citation ``[n]``: from the final answer, else from the numbered passages."""
        for c in self.citations:
            if c.n == n:
                return c
        if 1 <= n <= len(self.passages):
            ch = self.passages[n - 1].chunk
            return Citation(
                n, ch.doc_id, ch.title, ch.chunk_id, ch.start, ch.end, ch.text, page=ch.page
            )
        return None


def _text(text: str) -> str:
    """Escaped text with line breaks kept."""
    return escape(text).replace("\n", "<br>")


def answer_html(text: str, turn_index: int, citations: tuple[Citation, ...]) -> str:
    """The answer with each ``[n]`` that has a citation turned into a clickable button."""
    by_n = {c.n: c for c in citations}

    def button(match: re.Match[str]) -> str:
        n = int(match.group(1))
        cite = by_n.get(n)
        if cite is None:  # still streaming, or a number with no passage behind it
            return f'<span class="cite pending">[{n}]</span>'
        return (
            f'<button type="button" class="cite" data-turn="{turn_index}" data-cite="{n}" '
            f'title="{escape(cite.title)}">[{n}]</button>'
        )

    return MARKER.sub(button, _text(text))


def _seconds(turn: Turn) -> str:
    parts = []
    if turn.first_token_s is not None:
        parts.append(f"first token {turn.first_token_s:.1f} s")
    if turn.total_s is not None:
        parts.append(f"full answer {turn.total_s:.1f} s")
    return " · ".join(parts)


# Answer.refusal, said to a person.
REFUSAL_REASONS = {
    Refusal.NO_PASSAGES: "the index has no passages",
    Refusal.LOW_SCORE: "no passage is close enough to the question",
    Refusal.UNKNOWN_NAME: "a name in the question appears in none of the passages found",
    Refusal.MODEL: "the model found no answer in the passages",
    Refusal.UNVERIFIED: "what the model wrote was not supported by the passages",
    Refusal.NOT_STATED: "the sources are about this, but do not state what was asked",
}


def found_instead_html(turn: Turn, turn_index: int, limit: int = 3) -> str:
    """For an abstained answer: why, and the nearest evidence (else the closest
    passages), so the user sees what was there."""
    why = REFUSAL_REASONS.get(turn.refusal) if turn.refusal is not None else None
    reason = f'<div class="meta">Why: {escape(why)}.</div>' if why else ""
    if turn.missing:
        reason += f'<div class="meta">Not stated: {escape(turn.missing)}.</div>'
    if turn.citations:
        items = "".join(
            f'<li><button type="button" class="cite" data-turn="{turn_index}" data-cite="{c.n}">'
            f"[{c.n}]</button> {escape(c.title)}<div class='snippet'>{escape(_snippet(c.text))}"
            "</div></li>"
            for c in turn.citations
        )
        return f'{reason}<div class="found"><b>Nearest evidence:</b><ol>{items}</ol></div>'
    if not turn.hits:
        return f'{reason}<div class="found">Nothing in the index came close.</div>'
    items = "".join(
        f'<li><button type="button" class="hit-link" data-turn="{turn_index}" data-hit="{i}">'
        f"{escape(h.chunk.title)}</button> <span class='score'>{h.score:.3f}</span>"
        f"<div class='snippet'>{escape(_snippet(h.chunk.text))}</div></li>"
        for i, h in enumerate(turn.hits[:limit])
    )
    found = f'<div class="found"><b>Closest passages found instead:</b><ol>{items}</ol></div>'
    return reason + found


def turn_html(turn: Turn, index: int) -> str:
    """One exchange: question, the rewritten query if any, the answer and its status."""
    state = "error" if turn.error else ("done" if turn.done else "streaming")
    out = [f'<div class="turn" data-turn="{index}" data-state="{state}">']
    out.append(f'<div class="q"><span class="who">You</span>{_text(turn.question)}</div>')
    if turn.query and turn.query != turn.question:
        out.append(f'<div class="query">Searched for: <i>{escape(turn.query)}</i></div>')
    if turn.error:
        out.append(f'<div class="error">⚠ {escape(turn.error)}</div>')
    else:
        body = answer_html(turn.answer, index, turn.citations if turn.done else ())
        if not body and not turn.done:
            body = '<span class="wait">searching…</span>' if not turn.hits else "…"
        klass = "a abstained" if turn.abstained else "a"
        out.append(f'<div class="{klass}"><span class="who">Assistant</span>{body}</div>')
        if turn.evidence and not turn.abstained:
            quotes = "".join(
                f'<div class="evidence">«{escape(text)}» <span class="doc">— {escape(title)}'
                f"{' (' + escape(date) + ')' if date else ''}</span></div>"
                for text, title, date in turn.evidence
            )
            out.append(quotes)
        if turn.done and turn.kind is AnswerKind.FALLBACK:
            out.append(
                '<div class="dropped">The generated answer was not supported by the '
                "passages; shown instead: their best-matching sentences, verbatim.</div>"
            )
        if turn.done and turn.dropped:
            left_out = " ".join(escape(s) for s in turn.dropped)
            out.append(
                '<div class="dropped">Left out, not supported by the cited passages: '
                f"<s>{left_out}</s></div>"
            )
        if turn.done and turn.abstained:
            out.append(found_instead_html(turn, index))
    if meta := _seconds(turn):
        steps = " · ".join(f"{k} {v / 1000:.1f} s" for k, v in turn.timings_ms.items())
        out.append(f'<div class="meta" title="{escape(steps)}">{meta}</div>')
    out.append("</div>")
    return "".join(out)


def chat_html(turns: list[Turn]) -> str:
    """The whole conversation, oldest first."""
    if not turns:
        return (
            '<div class="empty">Ask a question about the articles, in Russian or English. '
            "Click a citation such as [1] to see the passage it comes from.</div>"
        )
    return "".join(turn_html(t, i) for i, t in enumerate(turns))


def _page(page: str | None) -> str:
    """The page after a PDF passage's file name (" · p. 3"); nothing for other files."""
    return f" · p. {escape(page)}" if page else ""


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def sources_html(turn: Turn | None, turn_index: int) -> str:
    """Every retrieved passage with its score; the ones the model read carry their [n]."""
    if turn is None or not turn.hits:
        return '<div class="empty">The passages retrieved for the last question appear here.</div>'
    # A passage has one number per time it is numbered (a quote numbers the sentences
    # it quotes before the passages the model read).
    numbers: dict[str, list[int]] = {}
    for n, h in enumerate(turn.passages, start=1):
        numbers.setdefault(h.chunk.chunk_id, []).append(n)
    cited = {c.n for c in turn.citations}
    rows = []
    for i, hit in enumerate(turn.hits):
        ns = numbers.get(hit.chunk.chunk_id, [])
        tag = "".join(f"[{n}]" for n in ns) or "—"
        klass = "cited" if cited & set(ns) else ("read" if ns else "unread")
        rows.append(
            f'<tr class="{klass}"><td class="n">{tag}</td><td class="score">{hit.score:.3f}</td>'
            f'<td><button type="button" class="hit-link" data-turn="{turn_index}" '
            f'data-hit="{i}">{escape(hit.chunk.title)}</button>'
            f'<div class="doc">{escape(hit.chunk.doc_id)}{_page(hit.chunk.page)}</div>'
            f'<div class="snippet">{escape(_snippet(hit.chunk.text))}</div></td></tr>'
        )
    note = "" if turn.done else '<div class="meta">the model is still answering…</div>'
    return (
        f'<div class="panel-title">Retrieved passages ({len(turn.hits)})</div>'
        '<table class="sources"><thead><tr><th>#</th><th>score</th><th>passage</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>{note}"
    )


def _locate(doc: Document, start: int, end: int, text: str) -> tuple[int, int]:
    """The span in ``doc.text``: the given offsets if they hold ``text``, else a search."""
    if 0 <= start < end <= len(doc.text) and (
        not text or " ".join(doc.text[start:end].split()) == " ".join(text.split())
    ):
        return start, end
    found = doc.text.find(text) if text else -1
    if found >= 0:
        return found, found + len(text)
    return max(0, min(start, len(doc.text))), max(0, min(end, len(doc.text)))


def passage_html(
    doc: Document | None,
    start: int,
    end: int,
    text: str,
    title: str,
    label: str,
    before_chars: int = CONTEXT_BEFORE,
    after_chars: int = CONTEXT_AFTER,
) -> str:
    """A passage in its article: title, date and source, the text around it, the span marked."""
    if doc is None:  # the article was removed from the index since the answer
        return (
            f'<div class="viewer"><div class="label">{escape(label)}</div>'
            f"<h3>{escape(title)}</h3>"
            '<div class="meta">This article is no longer in the index.</div>'
            f'<div class="context"><mark>{_text(text)}</mark></div></div>'
        )
    s, e = _locate(doc, start, end, text)
    lo, hi = max(0, s - before_chars), min(len(doc.text), e + after_chars)
    page = doc.page_of(s, e)
    if page is not None:  # a PDF passage: shown in the text of its page(s)
        lo, hi = doc.page_span(page)
        label = f"{label} · p. {page}"
    before = ("… " if lo > 0 else "") + doc.text[lo:s]
    after = doc.text[e:hi] + (" …" if hi < len(doc.text) else "")
    meta = " · ".join(escape(x) for x in (doc.date, doc.source, doc.doc_id) if x)
    return (
        f'<div class="viewer"><div class="label">{escape(label)}</div>'
        f"<h3>{escape(doc.title)}</h3><div class='meta'>{meta}</div>"
        f'<div class="context">{_text(before)}<mark>{_text(doc.text[s:e])}</mark>'
        f"{_text(after)}</div></div>"
    )


def message_html(text: str, kind: str = "empty") -> str:
    """A one-line message in a panel (``kind``: empty, error)."""
    return f'<div class="{escape(kind)}">{escape(text)}</div>'


CSS = """
.turn { margin: 0 0 14px 0; padding-bottom: 10px; border-bottom: 1px solid #e5e7eb; }
.turn .who { display: block; font-size: 11px; text-transform: uppercase; color: #6b7280;
  letter-spacing: .05em; margin-bottom: 2px; }
.turn .q { background: #eef2ff; border-radius: 10px; padding: 8px 12px; margin-bottom: 6px; }
.turn .a { background: #f9fafb; border-radius: 10px; padding: 8px 12px; line-height: 1.55; }
.turn .a.abstained { background: #fff7ed; }
.turn .query { font-size: 13px; color: #374151; margin: 2px 0 6px 12px; }
.turn .dropped { font-size: 12px; color: #6b7280; margin: 4px 0 0 12px; }
.turn .evidence { font-size: 13px; color: #374151; margin: 4px 0 0 12px;
                  border-left: 3px solid #93c5fd; padding-left: 8px; }
.turn .evidence .doc { color: #6b7280; font-size: 12px; }
.turn .error { background: #fef2f2; color: #991b1b; border-radius: 10px; padding: 8px 12px; }
.turn .meta, .meta { font-size: 12px; color: #6b7280; margin-top: 4px; }
.turn .found { font-size: 13px; margin: 6px 0 0 12px; }
button.cite { border: none; background: #dbeafe; color: #1d4ed8; border-radius: 5px;
  padding: 0 3px; margin: 0 0 0 1px; cursor: pointer; font: inherit; font-size: .9em;
  font-weight: 600; line-height: 1.3; vertical-align: baseline; }
button.cite:hover { background: #bfdbfe; }
span.cite.pending { color: #6b7280; }
button.hit-link { border: none; background: none; padding: 0; color: #1d4ed8;
  cursor: pointer; font: inherit; text-align: left; font-weight: 600; }
button.hit-link:hover { text-decoration: underline; }
.snippet { font-size: 12px; color: #4b5563; }
.doc { font-size: 11px; color: #9ca3af; }
.empty { color: #6b7280; font-size: 14px; padding: 8px; }
.error { color: #991b1b; }
.panel-title { font-weight: 600; font-size: 14px; margin-bottom: 4px; }
table.sources { width: 100%; border-collapse: collapse; font-size: 13px; margin: 0; }
table.sources, table.sources thead, table.sources tbody, table.sources tr {
  border: 0 !important; }
table.sources td, table.sources th { border: none; border-bottom: 1px solid #e5e7eb;
  padding: 4px 6px; vertical-align: top; text-align: left; background: none; }
table.sources td.n, table.sources td.score { white-space: nowrap;
  font-variant-numeric: tabular-nums; }
table.sources tr.cited td.n { color: #1d4ed8; font-weight: 700; }
table.sources tr.unread { opacity: .7; }
.viewer h3 { margin: 2px 0; font-size: 16px; }
.viewer .label { font-size: 12px; color: #1d4ed8; font-weight: 600; }
.viewer .context { margin-top: 8px; line-height: 1.55; font-size: 14px; }
.viewer mark { background: #fde68a; padding: 1px 0; }
"""

# js_on_load of the chat and sources panels: one listener on the panel's root
# element (it outlives re-renders) turns a click on a citation or a source row
# into the panel's Gradio "click" event, with the numbers as event data.
CLICK_JS = """
element.addEventListener('click', (event) => {
  const el = event.target.closest('[data-cite], [data-hit]');
  if (!el || !element.contains(el)) return;
  event.preventDefault();
  trigger('click', {turn: Number(el.dataset.turn),
                    cite: el.dataset.cite ? Number(el.dataset.cite) : null,
                    hit: el.dataset.hit ? Number(el.dataset.hit) : null});
});
"""

# js_on_load of the passage viewer: bring the marked span into view.
SCROLL_JS = """
watch('value', () => {
  const mark = element.querySelector('mark');
  if (mark) mark.scrollIntoView({block: 'nearest'});
});
"""
