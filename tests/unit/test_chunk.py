import hashlib

import pytest

from rag.ingest.chunk import chunk
from rag.types import Document


def doc(text: str) -> Document:
    return Document("d.txt", "Title", text, hashlib.sha256(text.encode()).hexdigest())


def test_spans_are_exact_and_cover_the_text() -> None:
    text = "\n\n".join(
        f"Абзац {i}. Первое предложение о спутнике номер {i}. Второе предложение, подлиннее, "
        f"о запуске 1 000 000 единиц."
        for i in range(20)
    )
    d = doc(text)
    chunks = chunk(d, chunk_size=200, chunk_overlap=60)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert len(c.text) <= 200
    # coverage: every character of non-space text is in some chunk
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_never_cuts_words_or_numbers() -> None:
    text = " ".join(["Площадки 42, 43 и 45 и сумма 1 000 000 тенге."] * 30)
    for c in chunk(doc(text), chunk_size=120, chunk_overlap=30):
        assert c.text[0].isupper() or c.text[0].isdigit()
        before = text[c.start - 1] if c.start else " "
        after = text[c.end] if c.end < len(text) else " "
        assert not (before.isalnum() and c.text[0].isalnum()), c.text
        assert not (after.isalnum() and c.text[-1].isalnum()), c.text
        # never between the groups of one number ("1 000 000")
        assert not (c.start >= 2 and text[c.start - 2].isdigit() and c.text[0].isdigit())
        assert not (c.text[-1].isdigit() and text[c.end + 1 : c.end + 2].isdigit())


def test_overlap_is_whole_sentences() -> None:
    text = " ".join(f"Предложение номер {i} о космосе." for i in range(40))
    chunks = chunk(doc(text), chunk_size=150, chunk_overlap=60)
    overlaps = [a.end - b.start for a, b in zip(chunks, chunks[1:], strict=False)]
    assert any(o > 0 for o in overlaps)
    assert all(o <= 60 for o in overlaps)
    assert all(c.text.startswith("Предложение") for c in chunks)


def test_ids_are_content_addressed_and_stable() -> None:
    a = chunk(doc("Один. Два. Три." * 50), 100, 20)
    b = chunk(doc("Один. Два. Три." * 50), 100, 20)
    c = chunk(doc("Один. Два. Четыре." * 50), 100, 20)
    assert [x.chunk_id for x in a] == [x.chunk_id for x in b]
    assert a[0].chunk_id != c[0].chunk_id
    assert len({x.chunk_id for x in a}) == len(a)


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError):
        chunk(doc("text"), 100, 100)
