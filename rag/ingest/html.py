"""The main text of a scraped HTML page: its title, date and article body.

Linear in the page: the article root is chosen among the outermost candidates only
(an <article> inside another never wins over it), and site chrome is skipped in the
one walk that flattens the root, instead of a walk up the tree per chrome element.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

_DROP = (
    "script, style, nav, header, footer, aside, form, noscript, iframe, svg, template, "
    "button, [role=navigation], [role=banner], [role=contentinfo], [role=complementary]"
)
_BLOCK_TAGS = frozenset(
    ("p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
     "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "tr",
     "figure", "figcaption", "address", "hr", "body")
)  # fmt: skip
_DATE_META = (
    "meta[property='article:published_time']",
    "meta[itemprop='datePublished']",
    "meta[name='date']",
)


# Browsers stop nesting at 512 levels too (WebKit's parser adds deeper elements as
# siblings). lexbor walks its stack of open elements for each block start tag, so
# 5 MB of "<div>" would take hours to parse; deeper tags are left out (text stays).
MAX_DEPTH = 512
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/<>]*+)[^<>]*+>")
_VOID = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr", "param", "keygen", "basefont", "bgsound", "frame", "image")
)  # fmt: skip
# End tags the parser implies (a <p> or <li> is closed by the next one): never deep.
_IMPLIED = frozenset(
    ("p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "tbody", "thead",
     "tfoot", "rt", "rp", "rb", "rtc", "caption", "colgroup")
)  # fmt: skip


_FORMATTING = frozenset(
    ("a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong",
     "tt", "u")
)  # fmt: skip


class _OpenElements:
    """The parser's stack of open elements, roughly, in amortised O(1) per tag: an end
    tag pops what it encloses, except a misnested formatting end tag ("<b><div></b>"),
    which the parser answers by closing the <b> alone while the <div> stays open."""

    def __init__(self, limit: int) -> None:
        self.limit, self.depth = limit, 0  # depth: kept elements that are open
        self.stack: list[tuple[int, str, bool]] = []  # (id, name, kept)
        self.live: dict[str, list[int]] = {}  # name -> ids of its open elements, in order
        self.dead: set[int] = set()  # closed by a misnested end tag, still in ``stack``
        self.kept: dict[int, bool] = {}

    def open(self, name: str) -> bool:
        keep = self.depth < self.limit
        eid = len(self.kept)
        self.stack.append((eid, name, keep))
        self.live.setdefault(name, []).append(eid)
        self.kept[eid] = keep
        self.depth += keep
        return keep

    def close(self, name: str) -> bool | None:
        """Whether the element an end tag closes was kept (None: it closes nothing)."""
        ids = self.live.get(name)
        if not ids:
            return None
        if name in _FORMATTING and self.stack[-1][0] != ids[-1]:
            eid = ids.pop()
            self.dead.add(eid)
            self.depth -= self.kept[eid]
            return self.kept[eid]
        while True:  # each element is popped once: linear over the page
            eid, popped, keep = self.stack.pop()
            if eid in self.dead:
                self.dead.discard(eid)
                continue
            self.live[popped].pop()
            self.depth -= keep
            if popped == name:
                return keep


def cap_depth(html: str, limit: int = MAX_DEPTH) -> str:
    """``html`` without the tags that would open an element deeper than ``limit`` (and
    their end tags); unchanged for any page that nests less deep."""
    if html.count("<") <= limit:
        return html
    out, pos = [], 0
    elements = _OpenElements(limit)
    for m in _TAG.finditer(html):
        name = m.group(2).lower()
        if name in _VOID or name in _IMPLIED:
            continue
        keep = elements.close(name) if m.group(1) else elements.open(name)
        if keep is False:
            out.append(html[pos : m.start()])
            pos = m.end()
    return "".join([*out, html[pos:]]) if out else html


def _node_text(node: LexborNode | None) -> str:
    """Text of an element on one line (titles are single lines)."""
    return re.sub(r"\s+", " ", node.text(deep=True)).strip() if node is not None else ""


def _html_date(tree: LexborHTMLParser, root: LexborNode | None) -> str | None:
    """Publication date from the page's metadata, else from a <time> in the article.

    A <time> elsewhere belongs to sidebar items, not to this article.
    """
    values = [node.attributes.get("content") for node in tree.css(", ".join(_DATE_META))]
    if root is not None:
        values += [node.attributes.get("datetime") for node in root.css("time[datetime]")]
    for value in values:
        if value and re.match(r"\d{4}-\d{2}-\d{2}", value):
            return value[:10]
    return None


def _flatten(root: LexborNode, skip: set[int]) -> str:
    """Text of a subtree with a blank line around each block element, newline at <br>;
    the elements in ``skip`` (by ``mem_id``) are left out with everything inside them.

    Iterative, because real pages nest deeper than Python's recursion limit.
    """
    out: list[str] = []
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            out.append("\n\n")
            continue
        tag = node.tag
        if tag == "-text":
            out.append(re.sub(r"[ \t\r\n\f]+", " ", node.text_content or ""))
        elif tag == "br":
            out.append("\n")
        elif tag and not tag.startswith("-") and node.mem_id not in skip:
            if tag in _BLOCK_TAGS:
                out.append("\n\n")
                stack.append((node, True))
            children = list(node.iter(include_text=True))
            stack.extend((child, False) for child in reversed(children))
    # Possessive runs that start only where a run starts: linear even when inline
    # elements leave thousands of spaces in a row.
    text = _SPACED_NEWLINE.sub("\n", "".join(out))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_SPACED_NEWLINE = re.compile(r"(?<![ \t])[ \t]*+\n[ \t]*+")


def _chrome(tree: LexborHTMLParser, root: LexborNode) -> set[int]:
    """The chrome elements to leave out of the text (``mem_id``s), never the article's
    own ancestors: a page wrapped in one big <form> (ASP.NET) must not lose its
    article, so ancestors of the root, and a <form> holding most of its text, stay.

    Nothing is removed from the tree and no walk goes up from each match: the
    flattening walk skips these elements, and what sits inside one goes with it.
    """
    keep: set[int] = set()
    node: LexborNode | None = root
    while node is not None:
        keep.add(node.mem_id)
        node = node.parent
    root_len = len(root.text())
    return {
        match.mem_id
        for match in tree.css(_DROP)
        if match.mem_id not in keep
        and not (match.tag == "form" and 2 * len(match.text()) > root_len)
    }


def _outermost(top: LexborNode, candidates: list[LexborNode]) -> list[LexborNode]:
    """The candidates not inside another one, in document order (one walk of the tree:
    an ancestor's text holds its descendants', so only these can be the longest)."""
    wanted = {node.mem_id for node in candidates}
    found: list[LexborNode] = []
    stack = [top]
    while stack:
        node = stack.pop()
        if node.mem_id in wanted:
            found.append(node)
            continue
        stack.extend(reversed(list(node.iter())))
    return found


def extract_html(html: str) -> tuple[str | None, str]:
    """(title, text) of a page: its <h1> (else <title>) first, then the main text.

    The title and date are read before chrome is dropped, since both often sit
    inside a <header>; an <h1> inside the article wins over one elsewhere (site
    logos are often <h1> too). A stated date is passed on as a "date YYYY-MM-DD"
    line, which ``clean_text`` turns into ``CleanedText.date``.
    """
    tree = LexborHTMLParser(cap_depth(html))
    # Never text, wherever they sit (a <script> inside an <h1> must not become the title).
    tree.strip_tags(["script", "style", "noscript", "template"])
    page = [node for node in (tree.body, tree.root) if node is not None][:1]
    roots = tree.css("article") or tree.css("main")
    if len(roots) > 1 and tree.root is not None:
        roots = _outermost(tree.root, roots)
    root = max(roots or page, key=lambda r: len(r.text()), default=None)
    title = _node_text(root.css_first("h1") if root is not None else None)
    title = title or _node_text(tree.css_first("title")).split(" | ")[0].strip()
    title = title or _node_text(tree.css_first("h1"))
    date = _html_date(tree, root)
    if root is None:
        return title or None, title
    body = _flatten(root, _chrome(tree, root))
    if title and body.split("\n", 1)[0] == title:
        body = body.split("\n", 1)[1].lstrip("\n") if "\n" in body else ""
    head = [part for part in (title, f"date {date}" if date else "") if part]
    return title or None, "\n\n".join([*head, body]).strip()


def html_to_text(html: str) -> str:
    """Main text of an HTML page, title first, paragraphs separated by blank lines."""
    return extract_html(html)[1]
