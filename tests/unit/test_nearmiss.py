"""The near-miss generator (eval/nearmiss.py), on small hand-made corpora.

``eval/`` is not a package (``eval`` would also read like the built-in), so the
module is loaded from its path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

PATH = Path(__file__).resolve().parents[2] / "eval" / "nearmiss.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_nearmiss", PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


nm = _load()

GOLD = (
    "Спутник KazSat-1 был запущен в 2006 году. В 2007 году он работал. "
    "В 2008 году связь с ним потеряли."
)
MEETING = "Николай Севастьянов провёл встречу с Дмитрием Рогозиным на Байконуре."
DELEGATION = "Делегацию возглавил Юрий Гагарин. Позже Гагарин выступил на конгрессе."


def test_year_swap_gives_a_year_the_article_never_states() -> None:
    corpus = nm.Corpus.from_texts(
        {"a.txt": GOLD, "b.txt": "Космодром Восточный открыт в 2016 году."}
    )
    q = nm.Question("q1", "Что случилось со спутником KazSat-1 в 2008 году?", "ru", ("a.txt",))
    years = [v for v in nm.number_variants(q, corpus) if v.original == "2008"]
    assert years, "no year variant"
    for v in years:
        new = int(v.replacement)
        assert new != 2008 and abs(new - 2008) <= 5
        assert v.replacement not in GOLD
        assert v.text == q.text.replace("2008", v.replacement)


def test_year_swap_is_deterministic() -> None:
    corpus = nm.Corpus.from_texts({"a.txt": GOLD})
    q = nm.Question("q1", "Что случилось со спутником KazSat-1 в 2008 году?", "ru", ("a.txt",))
    first = [v.text for v in nm.number_variants(q, corpus)]
    assert first == [v.text for v in nm.number_variants(q, corpus)]


def test_entity_swap_keeps_the_case_and_comes_from_another_article() -> None:
    corpus = nm.Corpus.from_texts({"a.txt": MEETING, "b.txt": DELEGATION})
    q = nm.Question("q1", "Где Николай Севастьянов встречался с Рогозиным?", "ru", ("a.txt",))
    swaps = {v.original: v.replacement for v in nm.entity_variants(q, corpus)}
    assert swaps.get("Рогозиным") == "Гагариным"  # instrumental, like the original
    parses = nm.morph().parse(swaps["Рогозиным"])
    assert any("ablt" in p.tag and p.normal_form == "гагарин" for p in parses)
    assert swaps.get("Николай Севастьянов") == "Юрий Гагарин"  # first name + surname as a pair


def test_english_entity_swap_is_transliterated() -> None:
    corpus = nm.Corpus.from_texts({"a.txt": MEETING, "b.txt": DELEGATION})
    q = nm.Question("q1", "Where did Sevastyanov meet Rogozin?", "en", ("a.txt",))
    swaps = {v.original: v.replacement for v in nm.entity_variants(q, corpus)}
    assert swaps.get("Rogozin") == "Gagarin"


def test_qualifier_swap_inflects_the_sibling() -> None:
    corpus = nm.Corpus.from_texts({"a.txt": "В дублирующий экипаж вошёл Айдын Аимбетов."})
    q = nm.Question("q1", "Кто был командиром дублирующего экипажа?", "ru", ("a.txt",))
    swaps = [(v.original, v.replacement, v.focus) for v in nm.qualifier_variants(q, corpus)]
    assert ("дублирующего", "основного", nm.stem("экипажа")) in swaps


@pytest.mark.parametrize(
    "other",
    [
        "Севастьянов встретился с Гагариным на Байконуре 5 мая.",  # same sentence
        "Севастьянов прибыл на Байконур. Там с ним встретился Гагарин.",  # the next sentence
    ],
)
def test_the_check_rejects_an_entity_the_corpus_states_with_the_subject(other: str) -> None:
    q = nm.Question("q1", "Где Николай Севастьянов встречался с Рогозиным?", "ru", ("a.txt",))
    start = q.text.index("Рогозиным")
    v = nm.Variant(
        q, "entity", start, start + 9, "Рогозиным", "Гагариным", (nm.name_key("Гагарин"),)
    )
    alone = nm.Corpus.from_texts({"a.txt": MEETING, "b.txt": DELEGATION})
    assert nm.rejection(v, alone) is None
    stated = nm.Corpus.from_texts({"a.txt": MEETING, "b.txt": DELEGATION, "c.txt": other})
    assert nm.rejection(v, stated) is not None


@pytest.mark.parametrize(
    "other", ["В 2010 году KazSat-1 перевели на резервную орбиту.", "Это случилось во второй раз."]
)
def test_the_check_rejects_a_number_stated_with_the_subject(other: str) -> None:
    corpus = nm.Corpus.from_texts({"a.txt": GOLD, "b.txt": other})
    q = nm.Question("q1", "Что случилось со спутником KazSat-1 в 2008 году?", "ru", ("a.txt",))
    start = q.text.index("2008")
    year = nm.Variant(q, "number", start, start + 4, "2008", "2010", ("2010",))
    assert (nm.rejection(year, corpus) is not None) == ("2010" in other)
    two = nm.Variant(q, "number", start, start + 4, "2008", "2", ("2",))  # "второй" is 2 in words
    lone = nm.Corpus.from_texts(
        {"a.txt": GOLD, "b.txt": "Это случилось во второй раз со спутником KazSat-1."}
    )
    assert nm.rejection(two, lone) is not None


def test_balance_spreads_the_kinds() -> None:
    q = nm.Question("q1", "Когда в 2008 году Севастьянов встретился с Рогозиным?", "ru", ("a.txt",))
    pool = [
        nm.Variant(q, kind, i, i + 1, "x", f"{kind}{i}") for kind in nm.KINDS for i in range(10)
    ]
    chosen = nm.balance(pool[:12], target=9)  # 10 numbers, 2 entities, 0 qualifiers
    kinds = [v.kind for v in chosen]
    assert len(chosen) == 9 and kinds.count("entity") == 2 and kinds.count("number") == 7


def test_the_committed_set_reads_as_gold_unanswerables() -> None:
    import json

    from rag.eval.runner import GOLD_PATH, load_gold

    path = PATH.parent / "gold" / "nearmiss.jsonl"
    questions = load_gold(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    sources = {q.id: q for q in load_gold(GOLD_PATH)}
    assert len(questions) >= 200 and len({q.id for q in questions}) == len(questions)
    assert all(q.type == "unanswerable" and not q.answerable and not q.supports for q in questions)
    assert {r["swap"] for r in rows} == set(nm.KINDS) and {r["lang"] for r in rows} == {"ru", "en"}
    for row in rows:
        source = sources[row["source_id"]]
        assert source.answerable and row["original"] in source.text
        text, original = source.text, row["original"]
        starts = [i for i in range(len(text)) if text.startswith(original, i)]
        swapped = {text[:i] + row["replacement"] + text[i + len(original) :] for i in starts}
        assert row["text"] in swapped and row["text"] != text  # exactly one span replaced


def test_entity_swap_takes_the_case_the_preposition_governs() -> None:
    corpus = nm.Corpus.from_texts(
        {"a.txt": "Делегация прибыла в Пекин.", "b.txt": "Встреча прошла в Москве."}
    )
    q = nm.Question("q1", "Кто возглавил поездку в Пекин?", "ru", ("a.txt",))
    swaps = {v.original: v.replacement for v in nm.entity_variants(q, corpus)}
    assert swaps.get("Пекин") == "Москву"  # accusative after "в", not the nominative


def test_the_preposition_agrees_with_the_new_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nm, "SIBLINGS", 10)  # every sibling, not a seeded three
    corpus = nm.Corpus.from_texts({"a.txt": "Объект строится в казахстанской столице."})
    q = nm.Question("q1", "Какой объект строится в казахстанской столице?", "ru", ("a.txt",))
    texts = [v.text for v in nm.qualifier_variants(q, corpus)]
    assert "Какой объект строится во французской столице?" in texts
    assert "Какой объект строится в китайской столице?" in texts


def test_english_place_swap_takes_the_gold_sets_spelling() -> None:
    corpus = nm.Corpus.from_texts(
        {"a.txt": "Встреча прошла в Казахстане.", "b.txt": "Делегация прибыла в Пекин."}
    )
    q = nm.Question("q1", "Where in Kazakhstan was the meeting held?", "en", ("a.txt",))
    assert [v.replacement for v in nm.entity_variants(q, corpus)] == []  # "Pekin" is no English
    corpus.gloss = nm.glossary([{"key_facts": [["Пекин", "Beijing"]]}])
    corpus.english = None
    assert [v.replacement for v in nm.entity_variants(q, corpus)] == ["Beijing"]


def test_a_bad_gold_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert nm.main(["--gold", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    assert nm.main(["--gold", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err and not (tmp_path / "o").exists()
