"""Generated Russian corpora, reproducible from a fixed seed.

Real sentences are taken from the seed articles (cleaned by the pipeline's own
loader, split by its own sentence splitter) and recombined into new articles
and passages; numbers are perturbed (a year stays a plausible year, other
numbers keep their digit count), so no two generated articles are the same
text while every sentence stays real Russian news prose. The same seed and the
same seed articles give the same corpus, byte for byte, on any machine
(``random.Random`` with a string seed is stable across processes and Python
versions).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_NUMBER = re.compile(r"\d+")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
MIN_WORDS = 5
MAX_CHARS = 400


@dataclass(frozen=True)
class Article:
    """One generated article; ``render()`` is the file's text (title line, blank, body)."""

    name: str
    title: str
    text: str

    def render(self) -> str:
        return f"{self.title}\n\n{self.text}\n"


def cyrillic_share(text: str) -> float:
    """Share of letters that are Cyrillic (0 for a text without letters)."""
    letters = _LETTER.findall(text)
    return sum(1 for ch in letters if _CYRILLIC.match(ch)) / len(letters) if letters else 0.0


def seed_sentences(paths: Sequence[Path]) -> list[str]:
    """The Russian sentences of the articles under ``paths``, in file order, without repeats."""
    from rag.ingest.chunk import sentence_spans
    from rag.ingest.load import load_paths

    docs, _ = load_paths(paths)
    out: dict[str, None] = {}
    for doc in sorted(docs, key=lambda d: d.doc_id):
        for start, end in sentence_spans(doc.text):
            sentence = " ".join(doc.text[start:end].split())
            if (
                len(sentence.split()) >= MIN_WORDS
                and len(sentence) <= MAX_CHARS
                and cyrillic_share(sentence) >= 0.6
            ):
                out[sentence] = None
    return list(out)


def perturb(sentence: str, rng: random.Random) -> str:
    """The sentence with its numbers replaced: years by years, others by same-length numbers."""

    def number(match: re.Match[str]) -> str:
        digits = match.group()
        if len(digits) == 4 and digits[:2] in ("19", "20"):
            return str(rng.randint(2000, 2030))
        if len(digits) == 1:
            return str(rng.randint(1, 9))
        return str(rng.randint(10 ** (len(digits) - 1), 10 ** len(digits) - 1))

    return _NUMBER.sub(number, sentence)


def _title(sentence: str, words: int = 8) -> str:
    head = sentence.split()[:words]
    return " ".join(head).rstrip(',.;:—-–«»"') or "Без заголовка"


def generate_articles(
    sentences: Sequence[str],
    n: int,
    seed: int = 0,
    min_sentences: int = 4,
    max_sentences: int = 12,
) -> list[Article]:
    """``n`` articles of recombined, perturbed sentences, in paragraphs of 2-3 sentences."""
    if not sentences:
        raise ValueError("no source sentences to generate a corpus from")
    rng = random.Random(f"rag-bench-articles:{seed}")
    out = []
    for i in range(n):
        count = min(rng.randint(min_sentences, max_sentences), len(sentences))
        picks = [perturb(s, rng) for s in rng.sample(list(sentences), count)]
        paragraphs, j = [], 0
        while j < len(picks):
            size = rng.randint(2, 3)
            paragraphs.append(" ".join(picks[j : j + size]))
            j += size
        title = f"{_title(picks[0])} ({i + 1})"
        out.append(Article(f"gen-{seed}-{i:06d}.txt", title, "\n\n".join(paragraphs)))
    return out


def generate_passages(
    sentences: Sequence[str], n: int, seed: int = 0, target_chars: int = 420
) -> list[str]:
    """``n`` passages of about ``target_chars`` characters (the seeds' mean chunk length)."""
    if not sentences:
        raise ValueError("no source sentences to generate passages from")
    rng = random.Random(f"rag-bench-passages:{seed}")
    out = []
    for _ in range(n):
        parts: list[str] = []
        size = 0
        while size < target_chars:
            s = perturb(sentences[rng.randrange(len(sentences))], rng)
            parts.append(s)
            size += len(s) + 1
        out.append(" ".join(parts))
    return out


def write_corpus(folder: Path, articles: Sequence[Article]) -> list[Path]:
    """Write each article as ``folder/<name>`` (UTF-8); return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for article in articles:
        path = folder / article.name
        path.write_text(article.render(), encoding="utf-8")
        paths.append(path)
    return paths


def corpus_sha256(texts: Sequence[str]) -> str:
    """One hash of a generated corpus, to show two runs used the same texts."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()
