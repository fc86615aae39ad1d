"""Eval metrics on small fixtures whose values are computed by hand in the comments."""

from __future__ import annotations

import copy
import math

import pytest

from rag.errors import BadInputError
from rag.eval import metrics as m
from rag.eval.compare import compare, tolerance_for

# -- retrieval: a 3-query toy --------------------------------------------------
# q1: relevant {a};    ranking b, a, c -> first hit at rank 2
# q2: relevant {x, y}; ranking x, z, y -> hits at ranks 1 and 3
# q3: relevant {m};    ranking n, o, p -> no hit
QRELS = {"q1": {"a": 1}, "q2": {"x": 1, "y": 1}, "q3": {"m": 1}}
RESULTS_LISTS = {"q1": ["b", "a", "c"], "q2": ["x", "z", "y"], "q3": ["n", "o", "p"]}
RESULTS_SCORES = {
    "q1": {"c": 0.1, "a": 0.5, "b": 0.9},
    "q2": {"y": 0.2, "x": 0.8, "z": 0.4},
    "q3": {"n": 0.3, "o": 0.2, "p": 0.1},
}
LOG3 = math.log2(3)
EXPECTED = {
    # Hit@1: q2 only -> 1/3; Hit@3: q1, q2 -> 2/3 (and the same at 5 and 10).
    "Hit@1": 1 / 3,
    "Hit@3": 2 / 3,
    "Hit@5": 2 / 3,
    # Recall@1: (0 + 1/2 + 0) / 3 = 1/6; Recall@3: (1 + 1 + 0) / 3 = 2/3.
    "Recall@1": 1 / 6,
    "Recall@3": 2 / 3,
    "Recall@10": 2 / 3,
    # MRR: (1/2 + 1 + 0) / 3 = 0.5
    "MRR@10": 0.5,
    # nDCG@10: q1 = (1/log2 3) / 1 = 0.6309; q2 = (1 + 1/log2 4) / (1 + 1/log2 3)
    # = 1.5 / 1.6309 = 0.9197; q3 = 0 -> mean 0.5169.
    "NDCG@10": ((1 / LOG3) + 1.5 / (1 + 1 / LOG3)) / 3,
}


@pytest.mark.parametrize("results", [RESULTS_LISTS, RESULTS_SCORES], ids=["lists", "scores"])
def test_retrieval_metrics_on_hand_computed_toy(results: dict) -> None:
    before = copy.deepcopy((QRELS, results))
    got = m.retrieval_metrics(QRELS, results)
    for key, value in EXPECTED.items():
        assert got[key] == pytest.approx(value), key
    assert got["NDCG@10"] == pytest.approx(0.5169, abs=1e-4)
    assert (QRELS, results) == before  # inputs untouched


def test_ideal_dcg_comes_from_the_expected_set_not_the_ranking() -> None:
    # Two relevant ids, one retrieved at rank 1: DCG = 1, IDCG = 1 + 1/log2(3).
    got = m.query_scores({"a": 1, "b": 1}, ["a", "z"])
    assert got["NDCG@10"] == pytest.approx(1 / (1 + 1 / LOG3))
    assert got["Recall@10"] == 0.5 and got["Hit@1"] == 1.0


def test_missing_results_and_empty_relevance_score_zero() -> None:
    got = m.retrieval_metrics({"q": {"a": 1}}, {})
    assert got["Hit@10"] == 0.0 and got["MRR@10"] == 0.0
    assert m.query_scores({}, ["a"])["NDCG@10"] == 0.0
    assert m.retrieval_metrics({}, {}) == {}


def test_support_recall_counts_spans_not_chunks() -> None:
    # Two spans; rank 1 holds span 0, rank 3 holds span 1 -> 0.5 at k=1, 1.0 at k=3.
    got = m.support_recall([[0], [], [1]], 2, (1, 3))
    assert got == {"SupportRecall@1": 0.5, "SupportRecall@3": 1.0}


# -- relevance ------------------------------------------------------------------------
SPAN = "Казахстанской стороной приняты 243 объекта на площадках 42, 43 и 45 космодрома"


def test_relevance_collapses_whitespace_and_needs_the_span() -> None:
    passage = "Начало.  Казахстанской\u00a0стороной приняты 243\nобъекта на площадках 42, 43 и 45 "
    passage += "космодрома."
    assert m.is_relevant(passage, [{"doc_id": "d", "text": SPAN}])
    assert not m.is_relevant("Совсем другой текст о спутниках.", [SPAN])
    assert not m.is_relevant(passage, [])


def test_a_span_cut_by_a_chunk_boundary_counts_when_most_of_it_is_there() -> None:
    # 72 of 79 characters (91%, >= 40) end the passage: a prefix of the span.
    head = SPAN[:72]
    assert m.is_relevant(f"Первое предложение. {head}", [SPAN])
    # ...or open it: a suffix of the span.
    assert m.is_relevant(f"{SPAN[7:]} Дальше текст.", [SPAN])
    # Half of it is not enough, nor is a piece in the middle of the passage.
    assert not m.is_relevant(f"Текст. {SPAN[:40]}", [SPAN])
    assert not m.is_relevant(f"Текст {head} и дальше.", [SPAN])
    # A short span must be there whole.
    assert not m.is_relevant("приняты 243 объекта", ["приняты 243 объекта на площадках"])


# -- answers ---------------------------------------------------------------------------
def test_normalisation_of_case_yo_quotes_dashes_and_spaces() -> None:
    assert (
        m.normalize("Ёлка  «Байтерек» — Қазақстан\u00a0Ғарыш")
        == 'елка "байтерек" - казакстан гарыш'
    )
    assert m.tokens("«Зелёный» — KazSat-3R [1]") == ["зеленый", "kazsat", "3", "r", "1"]


@pytest.mark.parametrize(
    ("answer", "facts", "expected"),
    [
        ("Министр Бейбут Атамкулова встретил.", [["Атамкулов"]], True),  # inflection
        ("Визит на Байконур.", [["Байконуре"]], True),  # the variant is the inflected one
        ("Он приехал в Кызылординскую область.", [["Кызылорд"]], True),  # a bare stem
        ("Председатель Мусабаев [1].", [["Мусабаевым"]], True),
        ("Встреча прошла в ёлочном зале.", [["елочн"]], True),  # ё = е
        ("Проект «Байтерек» обсудили.", [['"Байтерек"']], True),  # quotes do not matter
        ("Это государственно-частное партнёрство.", [["государственно-частн"]], True),
        ("На орбите 108 спутников [1].", [["108"], ["2026"]], False),  # one fact missing
        ("На орбите 1108 спутников.", [["108"]], False),  # numbers match exactly
        ("The 64th congress.", [["64"]], True),  # digits and letters split
        ("Компания С7 [2].", [["S7", "С7"]], True),
        ("Третье заседание прошло в Пекине [4].", [["4"]], False),  # citations are not text
        (
            "Министр оборонной и аэрокосмической промышленности.",
            [["оборонной и аэрокосмической"]],
            True,
        ),
        ("Оборонной промышленности и аэрокосмической.", [["оборонной и аэрокосмической"]], False),
        ("Ответ", [], False),  # no facts: nothing to check
    ],
)
def test_key_fact_match(answer: str, facts: list[list[str]], expected: bool) -> None:
    assert m.key_fact_match(answer, facts) is expected


def test_key_facts_found_per_fact_and_any_variant() -> None:
    facts = [["S7", "С7"], ["Роскосмос"], ["NASA", "НАСА"]]
    assert m.key_facts_found("В группу вошли С7 и Роскосмоса [2].", facts) == [True, True, False]


def test_token_f1_by_hand() -> None:
    # pred stems: казахстан, и, франц (the [1] is dropped); gold: казахстан, франц, росс,
    # и, кита -> 3 shared; P = 3/3, R = 3/5, F1 = 2 * 1 * 0.6 / 1.6 = 0.75.
    assert m.token_f1("Казахстан и Франция [1].", "Казахстан, Франция, Россия и Китай") == (
        pytest.approx(0.75)
    )
    # P = 1, R = 2/4 -> F1 = 2/3
    assert m.token_f1("Казахстан Франция", "Казахстан Франция Россия Китай") == pytest.approx(2 / 3)
    assert m.token_f1("Ёж", "ёж") == 1.0
    assert m.token_f1("", "что-то") == 0.0
    assert m.token_f1("Нет", "Да") == 0.0


# -- citations ---------------------------------------------------------------------------
PASSAGES = [
    "На орбите уже находится 108 спутников группировки SpaceSail.",  # [1]: the support
    "Стороны обсудили проект Байтерек на космодроме Байконур.",  # [2]: another fact
    "Погода в Астане была солнечной.",  # [3]: unrelated
]
SUPPORTS = [{"doc_id": "a", "text": "находится 108 спутников группировки SpaceSail"}]


def test_citation_precision_and_recall_on_a_toy_answer() -> None:
    answer = (
        "На орбите 108 спутников SpaceSail [1][3]. "  # [1] support-span ✓, [3] ✗
        "Стороны обсудили проект Байтерек [2]. "  # [2] entailed: every content word in [2] ✓
        "Спутников будет 324 [2]. "  # [2] ✗: 324 is not in passage 2
        "Это важно."  # no citation: not recalled
    )
    scores = m.citation_scores(answer, PASSAGES, SUPPORTS)
    assert len(scores.sentences) == 4
    reasons = [(v.sentence, v.n, v.reason) for v in scores.verdicts]
    assert reasons == [
        (0, 1, "support-span"),
        (0, 3, "unsupported"),
        (1, 2, "entailed"),
        (2, 2, "unsupported"),
    ]
    # precision: 2 correct of 4 citations; recall: sentences 0 and 1 of 4.
    assert scores.precision == 0.5 and scores.recall == 0.5


def test_citations_after_the_full_stop_and_missing_passages() -> None:
    scores = m.citation_scores("Байтерек обсудили на Байконуре. [2] Ещё факт [7].", PASSAGES, [])
    assert scores.sentences == ("Байтерек обсудили на Байконуре [2].", "Ещё факт [7].")
    assert [v.reason for v in scores.verdicts] == ["entailed", "no-such-passage"]
    assert m.citation_scores("Без ссылок.", PASSAGES, SUPPORTS).precision == 0.0


def test_entailment_proxy_threshold_and_numbers() -> None:
    passage = "Министр обсудил с Рогозиным проект Байтерек в 2019 году."
    assert m.entails(passage, "Рогозин обсудил Байтерек.")  # 3 of 3 content words
    # 2 of 4 content words (обсудил, Байтерек; not бюджет, утвердил) = 0.5 < 0.6
    assert not m.entails(passage, "Обсудил бюджет Байтерек, утвердил.")
    assert not m.entails(passage, "Рогозин обсудил Байтерек в 2020 году.")  # wrong number
    # 3 of 5 content words and the number are there, but the name is not.
    spacesail = "На орбите уже находится 108 спутников группировки SpaceSail."
    assert m.entails(spacesail, "Сейчас в группировке SpaceSail находится 108 спутников.")
    assert not m.entails(spacesail, "Сейчас в группировке Starlink находится 108 спутников.")


def test_sentence_split_keeps_initials_and_abbreviations() -> None:
    text = "Т. Мусабаев встретил его [1]. В 2016 г. подписали [2]! Итог?"
    assert m.split_sentences(text) == [
        "Т. Мусабаев встретил его [1].",
        "В 2016 г. подписали [2]!",
        "Итог?",
    ]


# -- refusals, percentiles ------------------------------------------------------------------
def test_refusal_rates_are_reported_apart() -> None:
    # (answerable, abstained): 3 unanswerable, 1 answered -> 1/3; 4 answerable, 1 refused -> 1/4
    outcomes = [(False, True), (False, False), (False, True)]
    outcomes += [(True, False), (True, True), (True, False), (True, False)]
    got = m.refusal_rates(outcomes)
    assert got["HallucinationRate"] == pytest.approx(1 / 3)
    assert got["FalseRefusalRate"] == pytest.approx(1 / 4)
    assert m.refusal_rates([(True, False)])["HallucinationRate"] is None


def test_percentile_interpolates_like_numpy() -> None:
    values = [40.0, 10.0, 30.0, 20.0]  # sorted 10 20 30 40
    assert m.percentile(values, 50) == 25.0  # between 20 and 30
    assert m.percentile(values, 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([], 50) is None
    assert values == [40.0, 10.0, 30.0, 20.0]


# -- compare ---------------------------------------------------------------------------
def _report(metrics: dict, ids_hash: str = "abc", n: int = 3) -> dict:
    return {"question_set": {"sha256": ids_hash, "n": n}, "metrics": metrics}


def test_compare_flags_a_drop_and_tolerates_a_small_one() -> None:
    base = _report({"Hit@1": 0.90, "NDCG@10": 0.95, "KeyFactAccuracy": 0.70,
                    "HallucinationRate": 0.10, "Latency.total.p50_ms": 1000.0})  # fmt: skip
    now = _report({"Hit@1": 0.85, "NDCG@10": 0.94, "KeyFactAccuracy": 0.66,
                   "HallucinationRate": 0.20, "Latency.total.p50_ms": 9000.0})  # fmt: skip
    lines = sorted(compare(now, base), key=lambda line: not line.startswith("Hit"))
    assert len(lines) == 2, lines
    assert lines[0] == "Hit@1 fell: baseline 0.9000, now 0.8500 (allowed drop 0.020)"
    assert lines[1] == "HallucinationRate rose: baseline 0.1000, now 0.2000 (allowed rise 0.050)"
    # NDCG -0.01 and KeyFactAccuracy -0.04 are within tolerance; latency is not compared.
    assert compare(base, base) == []
    assert compare(_report({"Hit@1": 0.95}), base) == []  # improvements pass


def test_compare_skips_metrics_missing_on_either_side() -> None:
    base = _report({"Hit@1": 0.9})  # a retrieval-only baseline
    assert compare(_report({"Hit@1": 0.9, "KeyFactAccuracy": 0.1}), base) == []
    assert compare(_report({"Hit@1": None}), base) == []


def test_compare_refuses_different_question_sets() -> None:
    with pytest.raises(BadInputError, match="another question set"):
        compare(_report({"Hit@1": 0.9}, "abc", 3), _report({"Hit@1": 0.9}, "xyz", 100))


def test_tolerance_lookup_uses_the_longest_prefix() -> None:
    assert tolerance_for("Recall@5", {"Recall@": 0.02, "SupportRecall@": 0.1}) == 0.02
    assert tolerance_for("SupportRecall@5", {"Recall@": 0.02, "SupportRecall@": 0.1}) == 0.1
    assert tolerance_for("Latency.total.p50_ms", {"Latency.": None}) is None
    assert tolerance_for("Unknown", {"Hit@": 0.02}) is None
