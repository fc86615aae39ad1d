from rag.retrieve.context import estimate_tokens, select
from rag.types import Chunk, Hit

DOC = (
    "Первое предложение про погоду. На орбите находится 108 спутников SpaceSail. "
    "Запуски законтрактованы. Последнее предложение про море."
)


def hit(text: str, start: int, score: float, cid: str) -> Hit:
    return Hit(Chunk(cid, "d.txt", "T", text, start, start + len(text)), score)


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
