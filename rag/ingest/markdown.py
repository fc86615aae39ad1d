"""Markdown to plain text: heading marks, emphasis, link and image syntax removed.

Linear in the input. Each inline rule is read the way its regular expression
would match (leftmost match first, then on after it), but the matches are found
from the positions of the delimiters instead of by a regex search that, started at
every opener, runs to the end of a long line when the closer never comes (a line
of "**a " repeated was quadratic).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable

FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_ATX_OPEN = re.compile(r" {0,3}#{1,6}\s+")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(?:```|~~~)")
_RULE = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")
_AUTOLINK = re.compile(r"<https?://")
_CODE = re.compile(r"`([^`]+)`")  # linear as it is: a scan stops at the next backtick


class _Next:
    """The first match of ``pattern`` at or after a position, for positions that only
    grow: a search is run again only when the last one found a match behind it."""

    def __init__(self, line: str, pattern: str) -> None:
        self._line, self._re = line, re.compile(pattern)
        self._at = self._found = -2  # the last query's start and its result (-1: none)

    def __call__(self, start: int) -> int:
        if start >= self._at and (self._found == -1 or self._found >= start):
            return self._found
        m = self._re.search(self._line, start)
        self._at, self._found = start, (m.start() if m else -1)
        return self._found


def _bracketed(opener: str, text_min: int, middle: str, closer: str) -> Callable[[str], str]:
    """``opener TEXT ] middle ANY closer`` (TEXT without "]", ANY without ``closer``),
    replaced by TEXT, or by nothing for an image (``opener`` "![")."""
    keep = opener != "!["

    def sub(line: str) -> str:
        end_text, end_rest = _Next(line, r"\]"), _Next(line, re.escape(closer))
        out, pos, i = [], 0, 0
        while (p := line.find(opener, i)) >= 0:
            q = end_text(p + len(opener))
            if q < 0:
                break  # no "]" after here: no later opener can match either
            if q - p - len(opener) >= text_min and line.startswith(middle, q + 1):
                r = end_rest(q + 1 + len(middle))
                if r >= 0:
                    out += [line[pos:p], line[p + len(opener) : q] if keep else ""]
                    pos = i = r + 1
                    continue
            i = p + 1
        return "".join(out) + line[pos:] if out else line

    return sub


def _autolinks(line: str) -> str:
    """``<https://...>`` -> the address."""
    run_end = _Next(line, r"[>\s]")
    out, pos, i = [], 0, 0
    while (p := line.find("<http", i)) >= 0:
        m = _AUTOLINK.match(line, p)
        end = run_end(m.end()) if m else -1
        if m and end > m.end() and line[end] == ">":
            out += [line[pos:p], line[p + 1 : end]]
            pos = i = end + 1
        else:
            i = p + 1
    return "".join(out) + line[pos:] if out else line


def _paired(delim: str, before: str | None) -> Callable[[str], str]:
    """Emphasis: ``delim`` + TEXT + ``delim``, TEXT starting and ending with a non-space;
    ``before`` is the character class that may not touch the delimiters from outside
    (None: any). Same as ``(?<!B)D(?=\\S)(.+?)(?<=\\S)D(?!B)``, found from the
    delimiter positions: the leftmost opener takes the nearest closer after it."""
    d = re.escape(delim)
    not_before = f"(?<!{before})" if before else ""
    not_after = f"(?!{before})" if before else ""
    opener = re.compile(f"(?={not_before}{d}\\S)")
    closer = re.compile(f"(?<=\\S)(?={d}{not_after})")
    width = len(delim)

    def sub(line: str) -> str:
        if delim not in line:
            return line
        opens = [m.start() for m in opener.finditer(line)]
        closes = [m.start() for m in closer.finditer(line)] if opens else []
        out, pos = [], 0
        for p in opens:
            if p < pos:
                continue
            k = bisect_left(closes, p + width + 1)  # at least one character inside
            if k == len(closes):
                break
            out += [line[pos:p], line[p + width : closes[k]]]
            pos = closes[k] + width
        return "".join(out) + line[pos:] if out else line

    return sub


_INLINE: tuple[Callable[[str], str], ...] = (
    _bracketed("![", 0, "(", ")"),  # images
    _bracketed("[", 0, "(", ")"),  # [text](url)
    _bracketed("[", 1, "[", "]"),  # [text][ref]
    _autolinks,  # <https://...>
    lambda line: _CODE.sub(r"\1", line),
    _paired("**", r"[\w*]"),
    _paired("__", r"\w"),
    _paired("*", r"[\w*]"),
    _paired("_", r"\w"),
    _paired("~~", None),
)


def inline(line: str) -> str:
    """A line without inline Markdown syntax (links keep their text)."""
    for rule in _INLINE:
        line = rule(line)
    return line


def _atx(line: str) -> str | None:
    """The text of an ATX heading ("## Title ##"), else None. The closing hashes are
    cut with str methods: a lazy regex group before ``\\s*$`` re-reads every run of
    spaces once per character."""
    m = _ATX_OPEN.match(line)
    if m is None:
        return None
    text = line[m.end() :].rstrip()
    bare = text.rstrip("#")
    return bare.rstrip() if bare != text and bare[-1:].isspace() else text


def markdown_to_text(md: str) -> tuple[str | None, str]:
    """(first heading, plain text) of a Markdown file.

    Only the syntax that would pollute search and citations is removed
    (heading marks, emphasis, link and image syntax); the first heading is
    moved to the top so that it becomes the title.
    """
    lines = FRONT_MATTER.sub("", md.replace("\r\n", "\n")).split("\n")
    out: list[str] = []
    headings: list[int] = []  # indexes into out
    in_code = False
    for line in lines:
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            out.append(line)
        elif (heading := _atx(line)) is not None:
            out.append("")
            headings.append(len(out))
            out += [inline(heading), ""]
        elif _SETEXT.match(line) and out and out[-1].strip():
            headings.append(len(out) - 1)
        elif _RULE.match(line) or _REF_DEF.match(line):
            out.append("")
        else:
            line = re.sub(r"^(\s*)(?:>\s?)+", r"\1", line)
            out.append(inline(re.sub(r"^(\s*)[*+]\s+", r"\1- ", line)))
    if not headings:
        return None, "\n".join(out)
    first = headings[0]
    title = out[first].strip()
    rest = out[:first] + out[first + 1 :]
    return title, "\n".join([title, "", *rest])
