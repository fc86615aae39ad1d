"""Loading files into Documents: encodings, file types, folders, and bad files."""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

import pytest

from rag.errors import BadInputError
from rag.ingest import load
from rag.ingest.load import LoadProblem, decode_bytes, load_document, load_paths

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

ARTICLE = (
    "Запуск спутника KazSat\n\n"
    "Казахстанский спутник связи успешно выведен на орбиту ракетой-носителем, "
    "сообщили в аэрокосмическом комитете.\n"
)


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def _reasons(problems: list[LoadProblem]) -> dict[str, str]:
    return {Path(p.path).name: p.reason for p in problems}


# --- decoding ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r"])
def test_cyrillic_8bit_file_decodes_correctly(tmp_path: Path, encoding: str) -> None:
    path = _write(tmp_path / "old.txt", ARTICLE.encode(encoding))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the test really exercises the fallback
    doc = load_document(path, tmp_path)
    assert doc.title == "Запуск спутника KazSat"
    assert "Казахстанский спутник связи успешно выведен на орбиту" in doc.text


def test_utf8_bom_is_removed() -> None:
    text = decode_bytes(codecs.BOM_UTF8 + ARTICLE.encode("utf-8"))
    assert text == ARTICLE


def test_utf16_with_bom() -> None:
    assert decode_bytes(codecs.BOM_UTF16_LE + ARTICLE.encode("utf-16-le")) == ARTICLE


def test_plain_utf8_is_untouched() -> None:
    assert decode_bytes(ARTICLE.encode("utf-8")) == ARTICLE


def test_utf8_cut_mid_character_is_not_taken_for_cp1251() -> None:
    data = ARTICLE.encode("utf-8") + "ж".encode()[:1]
    assert decode_bytes(data) == ARTICLE


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        bytes(range(1, 32)) * 20,  # control bytes, no NUL
    ],
)
def test_binary_is_rejected(data: bytes) -> None:
    with pytest.raises(BadInputError, match="binary"):
        decode_bytes(data)


# --- single documents -----------------------------------------------------------


def test_document_fields(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt", ARTICLE)
    doc = load_document(path, tmp_path)
    assert doc.doc_id == "a.txt"
    assert doc.path == str(path)
    assert doc.text.startswith(doc.title)
    assert doc.sha256 == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    assert doc.source is None and doc.date is None


def test_same_content_same_hash_other_content_other_hash(tmp_path: Path) -> None:
    a = load_document(_write(tmp_path / "a.txt", ARTICLE), tmp_path)
    b = load_document(_write(tmp_path / "b.txt", ARTICLE.replace("\n", "\r\n")), tmp_path)
    c = load_document(_write(tmp_path / "c.txt", ARTICLE + "\nЕщё абзац.\n"), tmp_path)
    assert a.sha256 == b.sha256 != c.sha256


def test_load_document_errors_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.txt", "")
    with pytest.raises(BadInputError, match=r"empty\.txt: empty file"):
        load_document(path, tmp_path)
    with pytest.raises(BadInputError, match="unsupported type .odt"):
        load_document(_write(tmp_path / "x.odt", b"PK"), tmp_path)
    with pytest.raises(BadInputError, match=r"x\.pdf: damaged or truncated PDF"):
        load_document(_write(tmp_path / "x.pdf", b"%PDF-1.4"), tmp_path)
    with pytest.raises(BadInputError, match="does not exist"):
        load_document(tmp_path / "missing.txt", tmp_path)


def test_markdown_syntax_is_stripped(tmp_path: Path) -> None:
    md = (
        "Вступление до заголовка.\n\n"
        "# Заголовок *статьи*\n\n"
        "Текст со **жирным**, _курсивом_, [ссылкой](https://x.kz/a) и "
        "![фото](img.png) картинкой, имя snake_case_name остаётся целым.\n\n"
        "* пункт\n\n"
        "## Подзаголовок\n"
    )
    doc = load_document(_write(tmp_path / "a.md", md), tmp_path)
    assert doc.title == "Заголовок статьи"
    assert doc.text.startswith("Заголовок статьи\n\n")
    assert "Текст со жирным, курсивом, ссылкой и картинкой, имя snake_case_name" in doc.text
    for syntax in ["#", "**", "](", "img.png", "https://"]:
        assert syntax not in doc.text
    assert "Вступление до заголовка." in doc.text
    assert "Подзаголовок" in doc.text


def test_html_file(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Т | Сайт</title>"
        "<meta property='article:published_time' content='2024-05-06T08:00:00Z'></head>"
        "<body><nav>Главная Новости</nav><article><h1>Запуск ракеты</h1>"
        "<p>Первый абзац.</p><p>Второй абзац.</p></article>"
        "<footer>Все права защищены</footer><script>alert(1)</script></body></html>"
    )
    doc = load_document(_write(tmp_path / "page.html", html), tmp_path)
    assert doc.title == "Запуск ракеты"
    assert doc.text == "Запуск ракеты\n\nПервый абзац.\n\nВторой абзац."
    assert doc.date == "2024-05-06"


def test_seed_file_loads(tmp_path: Path) -> None:
    doc = load_document(SEEDS / "003_f811c8d17b2eac15.txt", SEEDS)
    assert doc.doc_id == "003_f811c8d17b2eac15.txt"
    assert doc.source == "Казинформ"
    assert "Tomahawk" not in doc.text


# --- many paths -----------------------------------------------------------------


def test_folder_walk_doc_ids_sorted_and_skips(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _write(root / "b.txt", ARTICLE)
    _write(root / "a.TXT", ARTICLE)
    _write(root / "sub" / "c.md", "# Заголовок\n\nТекст.\n")
    _write(root / "sub" / "deeper" / "d.htm", "<p>Абзац страницы.</p>")
    _write(root / "notes.odt", b"PK")  # unsupported inside a folder: silent
    _write(root / ".hidden.txt", ARTICLE)
    _write(root / ".git" / "e.txt", ARTICLE)
    docs, problems = load_paths([root])
    assert [d.doc_id for d in docs] == ["a.TXT", "b.txt", "sub/c.md", "sub/deeper/d.htm"]
    assert problems == []
    assert load_paths([root]) == (docs, problems)  # deterministic


def test_files_given_directly_use_their_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "sub" / "x.txt", ARTICLE)
    docs, problems = load_paths([path])
    assert [d.doc_id for d in docs] == ["x.txt"]
    assert problems == []


def test_bad_files_are_reported_and_the_rest_loaded(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _write(root / "good.txt", ARTICLE)
    _write(root / "empty.txt", "")
    _write(root / "blank.md", "  \n\n\xa0\n")
    _write(root / "binary.txt", b"\x00\x01\x02binary\x00")
    _write(root / "chrome.txt", "Войти\n\n920\n\nОставить комментарий\n")
    explicit = _write(tmp_path / "doc.odt", b"PK")
    _write(root / "cut.pdf", b"%PDF-1.4\n1 0 obj")
    missing = tmp_path / "missing"
    docs, problems = load_paths([root, explicit, missing])
    assert [d.doc_id for d in docs] == ["good.txt"]
    reasons = _reasons(problems)
    assert reasons == {
        "empty.txt": "empty file",
        "blank.md": "empty file",
        "binary.txt": "not valid text (binary?)",
        "chrome.txt": "empty after cleaning",
        "doc.odt": "unsupported type .odt",
        "cut.pdf": "damaged or truncated PDF (no end-of-file marker)",
        "missing": "does not exist",
    }
    assert all("\n" not in p.reason for p in problems)


def test_too_large_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(load.MAX_BYTES + 1)  # sparse: no real 20 MB written
    docs, problems = load_paths([path])
    assert docs == []
    assert problems[0].reason.startswith("too large")


def test_duplicate_doc_ids_from_two_folders_are_reported(tmp_path: Path) -> None:
    one = _write(tmp_path / "one" / "a.txt", ARTICLE)
    two = _write(tmp_path / "two" / "a.txt", ARTICLE + "\nДругое.\n")
    docs, problems = load_paths([one.parent, two.parent, one])
    assert [d.path for d in docs] == [str(one)]
    assert [p.path for p in problems] == [str(two)]
    assert "duplicate doc_id a.txt" in problems[0].reason


def test_seed_folder(tmp_path: Path) -> None:
    docs, problems = load_paths([SEEDS])
    assert problems == []
    assert [d.doc_id for d in docs] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert len({d.sha256 for d in docs}) == len(docs)
