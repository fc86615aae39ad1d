from rag.generate.prompts import answer_messages
from rag.retrieve.context import by_article, estimate_tokens, select
from rag.types import Chunk, Hit

DOC = (
    "Первое предложение про погоду. На орбите находится 108 спутников SpaceSail. "
    "Запуски законтрактованы. Последнее предложение про море."
)


def hit(text: str, start: int, score: float, cid: str, doc: str = "d.txt") -> Hit:
    return Hit(Chunk(cid, doc, "T", text, start, start + len(text)), score)


def test_first_passage_whole_then_matching_windows_with_exact_spans() -> None:
    offset = 1000
    hits = [
        hit("Совсем другой текст о Байконуре.", 0, 0.6, "a"),
        hit(DOC, offset, 0.5, "b"),
        hit("Ничего общего здесь нет.", 500, 0.4, "c"),
    ]
    chosen = select("Сколько спутников SpaceSail на орбите?", hits, budget_tokens=500)
    assert [h.chunk.chunk_id for h in chosen] == ["a", "b"]  # c shares no word
    assert chosen[0] == hits[0]
    window = chosen[1].chunk
    assert window.text == "На орбите находится 108 спутников SpaceSail. Запуски законтрактованы."
    assert DOC[window.start - offset : window.end - offset] == window.text


def test_budget_is_respected_but_the_best_passage_always_goes_in() -> None:
    long = hit("Спутник " * 400, 0, 0.9, "a")
    other = hit("Спутник на орбите.", 0, 0.8, "b")
    chosen = select("спутник", [long, other], budget_tokens=50)
    assert [h.chunk.chunk_id for h in chosen] == ["a"]
    assert estimate_tokens(long.chunk.text) > 50


def test_without_trimming_whole_chunks_go_in() -> None:
    hits = [hit("А.", 0, 0.9, "a"), hit(DOC, 0, 0.8, "b")]
    assert select("спутники", hits, 500, trim=False)[1] == hits[1]


def test_passages_of_one_article_go_together_in_order_of_their_best() -> None:
    rows = [("a1", "A"), ("b1", "B"), ("a2", "A"), ("c1", "C"), ("b2", "B")]
    hits = [hit("x", i, 1.0 - i / 10, cid, doc) for i, (cid, doc) in enumerate(rows)]
    assert [h.chunk.chunk_id for h in by_article(hits)] == ["a1", "a2", "b1", "b2", "c1"]
    assert by_article([]) == []


def test_the_prompt_names_each_article_once() -> None:
    passages = [("Title A (2025-11-20)", "first"), ("Title A (2025-11-20)", "second"),
                ("Title B", "third")]  # fmt: skip
    prompt = answer_messages("Вопрос?", passages, "ru")[-1]["content"]
    assert prompt.count("Title A") == 1 and prompt.count("Title B") == 1
    expected = "Article: Title A (2025-11-20)\n[1] first\n[2] second\n\nArticle: Title B\n[3] third"
    assert expected in prompt
