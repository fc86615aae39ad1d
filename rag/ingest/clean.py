"""Turn a scraped news page into article text plus its title, date and source.

The rules are general ones for Russian news pages, not fixes for particular
files: site chrome (logins, breadcrumbs, counters, comment prompts, rights and
subscription blocks, sidebars of other headlines) is recognised by the shape of
a line and by where it sits relative to the article body. Body paragraphs are
kept verbatim, because answers cite character offsets into this text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.ingest.invisible import strip_invisible

TITLE_MAX = 150  # a title made from the first sentence is cut to this many chars


@dataclass(frozen=True)
class CleanedText:
    """The article as kept: ``text`` starts with ``title``."""

    title: str
    text: str
    date: str | None
    source: str | None


# --- line shapes -------------------------------------------------------------

_BULLET = re.compile(r"^[•·▪►]\s*")
_NAV_WORDS = frozenset(
    (
        "войти", "вход", "выйти", "регистрация", "зарегистрироваться", "обновить",
        "поиск", "меню", "главная", "домой", "поделиться", "распечатать", "наверх",
        "подробнее", "реклама", "ещё", "еще", "компании", "проекты", "персоны",
        "теги", "разделы новостей", "обсуждаемое", "популярное",
        "в новости упоминаются", "версия для печати", "все новости", "читать далее",
        "показать ещё", "показать еще",
    )
)  # fmt: skip
# "920", "0", "Опубликовано: 160", "Просмотров: 1 204": view/like/comment counters.
_COUNTER = re.compile(
    r"(?i)^(?:(?:опубликовано|просмотр\w*|комментари\w*|нравится|views?|likes?)\s*:?\s*)?"
    r"\d[\d\s]*$"
)
_BREADCRUMB_HOME = re.compile(r"(?i)^(?:домой|главная|home)(?:\s*[›»>/|→]\s*|\s+)\S")
_BREADCRUMB_SEP = re.compile(r"\s[›»>/|→]\s")
_ALT_TOKEN = re.compile(r"(?i)^[\w.\-]*_[\w.\-]*$|^\S+\.(?:jpe?g|png|gif|webp|svg)$")
# "07.10 13:17", "07.10.2025, 13:17", "Сегодня 13:17": the timestamps of a feed.
_TIMESTAMP = re.compile(
    r"(?i)^(?:\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?|сегодня|вчера),?"
    r"\s+(?:в\s+)?\d{1,2}:\d{2}$"
)
# After these the page is no longer the article: cut unconditionally.
_HARD_END = re.compile(
    r"(?i)^(?:права на (?:данный |этот )?материал|материал размещ[её]н"
    r"|все права защищены"
    r"|при (?:полном или частичном )?(?:копировании|использовании) материал"
    r"|оставить комментарий|оставлять комментарии|хотите оставить комментарий"
    r"|добавить комментарий|чтобы оставить комментарий|комментарии\s*(?:\(\d+\))?$"
    r"|подписка на новости|ежедневная рассылка|в новости упоминаются"
    r"|разделы новостей|обсуждаемое|самое читаемое|популярное$)"
)
# Headers of related-link lists and "©" lines: cut only if no real paragraph
# follows, because sites also put "Читайте также" and "© Фото: ..." mid-article.
_SOFT_END = re.compile(
    r"(?i)^(?:читайте также|смотрите также|похожие (?:новости|материалы)"
    r"|другие новости"
    r"|последние новости|новости по теме|материалы по теме|©.*)\s*:?$"
)
_INLINE_PROMO = re.compile(r"(?i)^(?:читайте также|смотрите также|подписывайтесь)\b")
_CAPTION = re.compile(r"(?i)^фото\b|\S.*\b(?:фото|источник|photo)\s*:")
# Searched in a line's last 8 chars only: a $-anchored search scans the whole line.
_SENT_END = re.compile(r"[.!?…][\"»”)]*$")
_PROSE_END = re.compile(r"[.!…][\"»”)]*$")

# --- dates -------------------------------------------------------------------

_MONTH_NAMES = (
    "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
    "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_DATE_PREFIX = re.compile(r"(?i)^date\s*:?\s*(\d{4}-\d{2}-\d{2})(?:[T ][\d:.+Z-]*)?\s*")
_DATE_LINE = re.compile(
    r"(?i)^(?:(?:опубликовано|дата публикации|дата|обновлено)\s*:?\s*)?"
    r"(?:(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4})"
    r"|(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})"
    r"|(?P<td>\d{1,2})\s+(?P<tm>[а-яё]+)\s+(?P<ty>\d{4})(?:\s*г(?:ода|\.)?)?)"
    r",?(?:\s*(?:в\s*)?\d{1,2}:\d{2}(?::\d{2})?)?$"
)

# --- sources -----------------------------------------------------------------

_RIGHTS = re.compile(r"(?i)^права на (?:данный |этот )?материал принадлежат\s+(.+)$")
_SOURCE_LINE = re.compile(r"(?i)^(?:источник|source)\s*:\s*(.{1,80})$")
_REPORTS = re.compile(
    r"\b(?:сообщает|сообщают|передает|передаёт|пишет|информирует)\s+"
    r"(?:(?:МИА|ИА|агентство|издание|портал|сайт|газета|телеканал)\s+)?"
    r"(«[^»\n]{1,60}»|\"[^\"\n]{1,60}\"|[A-ZА-ЯЁ][\w.\-]*\w)"
)


def _key(line: str) -> str:
    """The line as compared against junk patterns: no bullet, no case."""
    return _BULLET.sub("", line).strip().casefold()


def _is_body(line: str) -> bool:
    """A real paragraph: long enough and ending like a sentence, or very long."""
    return (len(line) >= 80 and bool(_SENT_END.search(line[-8:]))) or len(line) >= 200


def _is_junk(line: str) -> bool:
    """Site chrome recognisable from the line alone, wherever it appears.

    A line shaped like a real paragraph is never junk: losing body text is
    worse than keeping a stray menu item.
    """
    if _is_body(line):
        return False
    key = _key(line)
    if key.rstrip(":") in _NAV_WORDS or _COUNTER.match(key) or _ALT_TOKEN.match(key):
        return True
    if _TIMESTAMP.match(key) or _HARD_END.match(key) or _SOFT_END.match(key):
        return True
    if _INLINE_PROMO.match(key):
        return True
    if _SENT_END.search(line[-8:]):
        return False
    return bool(_BREADCRUMB_HOME.match(key) or len(_BREADCRUMB_SEP.findall(line)) >= 2)


def _normalise(raw: str) -> list[str]:
    """Lines with whitespace runs collapsed and invisible characters (zero-width
    spaces, soft hyphens, the BOM) removed; blank (or NBSP-only) lines become ""."""
    raw = strip_invisible(raw.replace("\r\n", "\n").replace("\r", "\n"))
    return [re.sub(r"\s{2,}", " ", line).strip() for line in raw.split("\n")]


def _date_from_line(line: str) -> str | None:
    """ISO date of a line that is only a (labelled) date, else None."""
    m = _DATE_LINE.match(_key(line))
    if not m:
        return None
    if m["iy"]:
        y, mo, d = int(m["iy"]), int(m["im"]), int(m["id"])
    elif m["y"]:
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    else:
        y, mo, d = int(m["ty"]), _MONTHS.get(m["tm"], 0), int(m["td"])
    return f"{y:04d}-{mo:02d}-{d:02d}" if 1 <= mo <= 12 and 1 <= d <= 31 else None


def _take_date_prefix(lines: list[str]) -> tuple[str | None, int]:
    """Strip a technical "date 2025-11-20 ..." prefix from the top of the page.

    Edits ``lines`` in place. Returns the date and the index of the first body
    paragraph (found after stripping: the prefix can sit on that paragraph).
    """
    date = None
    for i, line in enumerate(lines):
        m = _DATE_PREFIX.match(line) if date is None else None
        if m:
            date, line = m.group(1), line[m.end() :]
            lines[i] = line
        if line and not _is_junk(line) and _is_body(line):
            return date, i
    return date, len(lines)


def _body_end(lines: list[str], start: int) -> int:
    """Index where the article ends: a hard end marker, or a feed/related list."""
    # Feed headlines rarely end in a full stop; even a short paragraph does.
    last_prose = max(
        (i for i, line in enumerate(lines) if len(line) >= 40 and _PROSE_END.search(line[-8:])),
        default=-1,
    )
    for i in range(start, len(lines)):
        key = _key(lines[i])
        if not key or len(key) > 200:
            continue
        if _HARD_END.match(key):
            return i
        if (_SOFT_END.match(key) or _TIMESTAMP.match(key)) and i > last_prose:
            return i
    return len(lines)


def _clean_source(value: str) -> str | None:
    """A source name without quotes or trailing stop; a URL becomes its host."""
    value = value.strip().strip('«»"“” ').rstrip(".,;")
    host = re.match(r"^(?:https?://)?(?:www\.)?([\w\-]+(?:\.[\w\-]+)+)(?:/\S*)?$", value)
    if host and ("/" in value or value.startswith("www.")):
        value = host.group(1)
    return value or None


def _find_source(page: list[str], kept: list[str]) -> str | None:
    """Publisher: rights holder, else an "Источник:" line, else "сообщает X".

    The rights line is looked for on the whole page, as it sits in the trailer
    that is cut; the weaker signals only in the kept text.

    Photo captions ("Талгат Мусабаев. Источник: vesti.kz.") are not publishers,
    so only a line that *starts* with "Источник:" counts.
    """
    for pattern, lines in ((_RIGHTS, page), (_SOURCE_LINE, kept)):
        for line in lines:
            m = pattern.match(_BULLET.sub("", line))
            if m:
                return _clean_source(m.group(1))
    for line in kept:
        m = _REPORTS.search(line)
        if m:
            return _clean_source(m.group(1))
    return None


_SENTENCE_STOP = re.compile(r"(?<![.!?…])[.!?…]++[\"»”)]*+(?=\s+[\"«“(]?[A-ZА-ЯЁ0-9])")
_LAST_WORD = re.compile(r"\w+")
_ABBREVIATIONS = frozenset(("г", "гг", "им", "ул", "т"))


def _first_sentence(paragraph: str) -> str:
    """First sentence, not fooled by initials ("А. Мамин") or "г." and the like.

    Only the start of the paragraph is read: a title is at most TITLE_MAX chars, and
    a first sentence longer than that gives the same cut title as the paragraph.
    Each stop is found once (a run of stops is read from its start) and the word
    before it is read backwards, so the work is linear in what is read.
    """
    head = paragraph[: 4 * TITLE_MAX]
    for m in _SENTENCE_STOP.finditer(head):
        word_start = m.start()
        while word_start > 0 and _LAST_WORD.match(head, word_start - 1, m.start()):
            word_start -= 1
        word = head[word_start : m.start()]
        if word and (len(word) == 1 or word.lower() in _ABBREVIATIONS):
            continue
        return paragraph[: m.end()]
    return head if len(paragraph) > len(head) else paragraph


def _cut_title(sentence: str) -> str:
    """At most TITLE_MAX chars, cut on a word boundary; still a prefix of the text."""
    if len(sentence) <= TITLE_MAX:
        return sentence
    cut = sentence[: TITLE_MAX + 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:—–-") or sentence[:TITLE_MAX]


def _spaces(line: str) -> list[int]:
    return [i for i, ch in enumerate(line) if ch == " "]


def _is_headline(line: str) -> bool:
    """Could be a headline: two or more words, not too long, no final full stop."""
    words = re.findall(r"[^\W\d_]{2,}", line)
    return len(words) >= 2 and len(line) <= 250 and not line.endswith(".")


def _header(
    lines: list[str], hint: str | None, date: str | None, whole_page: bool
) -> tuple[str | None, list[str], str | None]:
    """Split the lines above the body into (title, kept lines, date).

    Lines before the headline are site chrome (logo, login, breadcrumbs) and
    go, unless the page has no body paragraph at all (``whole_page``: then a
    short note is all header); after it, date-only lines and photo captions
    go, the rest (a lead, a byline) stays.
    """
    title, kept = hint, list[str]()
    # A breadcrumb ends with the headline: "Домой Технологии <headline>".
    present = set(filter(None, lines))
    crumbs = {a for a in present if any(a[i + 1 :] in present for i in _spaces(a))}
    for line in lines:
        if not line:
            kept.append(line)
            continue
        if hint is not None and line == hint:
            continue
        line_date = _date_from_line(line)
        if line_date or _is_junk(line):
            date = date or line_date
        elif title is None:
            if _is_headline(line) and line not in crumbs and not _SOURCE_LINE.match(line):
                title, kept = line, []
            elif whole_page:
                kept.append(line)
        elif not _CAPTION.search(line) and line != title:
            kept.append(line)
    return title, kept, date


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs (runs of non-blank lines), without a paragraph repeated in a row."""
    blocks: list[str] = []
    for block in "\n".join(lines).split("\n\n"):
        block = block.strip("\n")
        if block and (not blocks or blocks[-1] != block):
            blocks.append(block)
    return blocks


def clean_text(raw: str, *, title_hint: str | None = None) -> CleanedText:
    """Clean one scraped page; ``title_hint`` is a known title (an <h1>, a # heading)."""
    lines = _normalise(raw)
    hint = re.sub(r"\s+", " ", strip_invisible(title_hint)).strip() if title_hint else None
    date, start = _take_date_prefix(lines)
    end = _body_end(lines, start)
    title, head, date = _header(lines[:start], hint or None, date, start == len(lines))
    body = [line for line in lines[start:end] if not line or not _is_junk(line)]
    blocks = _blocks(head + [""] + body)
    source = _find_source(lines, "\n".join(blocks).split("\n"))
    if title is None and blocks:
        title = _cut_title(_first_sentence(blocks[0].split("\n")[0]))
        return CleanedText(title, "\n\n".join(blocks), date, source)
    if title is None:
        return CleanedText("", "", date, source)
    if blocks and blocks[0] == title:
        blocks = blocks[1:]
    return CleanedText(title, "\n\n".join([title, *blocks]), date, source)


# Re-exported: the HTML side lives in rag.ingest.html.
from rag.ingest.html import extract_html, html_to_text  # noqa: E402

__all__ = ["TITLE_MAX", "CleanedText", "clean_text", "extract_html", "html_to_text"]
