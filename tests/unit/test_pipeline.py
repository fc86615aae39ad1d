from pathlib import Path

import pytest

from rag.config import Config
from rag.errors import BadInputError, IndexMissingError
from rag.pipeline import Done, Pipeline, Retrieved, Token
from rag.types import AnswerKind
from tests.fakes import FakeEmbedder, FakeGenerator, use_extractive_fallback


def test_build_is_idempotent_and_add_embeds_only_new(fake_pipeline: Pipeline, corpus: Path) -> None:
    report = fake_pipeline.build([corpus])
    assert sorted(report.added) == ["a.txt", "b.txt"] and report.n_documents == 2
    embedder = fake_pipeline.embedder
    assert isinstance(embedder, FakeEmbedder)
    calls = len(embedder.calls)

    again = fake_pipeline.build([corpus])
    assert again.added == () and sorted(again.unchanged) == ["a.txt", "b.txt"]
    assert len(embedder.calls) == calls  # nothing re-embedded

    (corpus / "c.txt").write_text("Новое\n\nГлавный текст про KazSat-3R и спутник.", "utf-8")
    added = fake_pipeline.add([corpus])
    assert added.added == ("c.txt",)
    assert embedder.calls[-1] == ("document", 1)  # only the new article's chunk


def test_build_drops_articles_no_longer_in_the_corpus(
    fake_pipeline: Pipeline, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    (corpus / "b.txt").unlink()
    report = fake_pipeline.build([corpus])
    assert report.removed == ("b.txt",) and report.n_documents == 1


def test_remove_and_unknown_ids(fake_pipeline: Pipeline, corpus: Path) -> None:
    fake_pipeline.build([corpus])
    assert fake_pipeline.remove(["a.txt"]).n_documents == 1
    with pytest.raises(BadInputError, match="not in the index: zzz"):
        fake_pipeline.remove(["zzz"])
    # the change is on disk: a fresh pipeline sees it
    fresh = Pipeline(fake_pipeline.config, embedder=FakeEmbedder(64))
    assert list(fresh.index.documents) == ["b.txt"]


def test_stream_yields_retrieval_tokens_then_a_cited_answer(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    fake_generator.queue("На орбите 108 спутников [1]. Неверная ссылка [9].")
    # the free strategy: the checked draft is the answer (quote: tests/unit/test_quote.py)
    events = list(
        fake_pipeline.stream("Сколько спутников SpaceSail на орбите?", strategy_name="free")
    )
    assert isinstance(events[0], Retrieved)
    assert isinstance(events[-1], Done)
    answer = events[-1].answer
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert streamed == "На орбите 108 спутников [1]. Неверная ссылка ."  # [9] dropped live
    # the unsupported sentence is checked, reported and left out of the answer
    assert answer.answer == "На орбите 108 спутников [1]." and not answer.abstained
    assert answer.kind is AnswerKind.GENERATED and answer.strategy == "free"
    assert [(s.verified, s.citations) for s in answer.sentences] == [(True, (1,)), (False, ())]
    assert [c.n for c in answer.citations] == [1]
    cited = answer.citations[0]
    assert cited.doc_id == "a.txt" and "108" in cited.text
    doc = fake_pipeline.document("a.txt")
    assert doc is not None and doc.text[cited.start : cited.end] == cited.text
    # the passages are in the prompt, numbered
    prompt = fake_generator.seen[-1][-1]["content"]
    assert "[1] " in prompt and "108 спутников" in prompt


def test_model_refusal_becomes_a_plain_sentence(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    fake_generator.queue("NO_ANSWER")
    answer = fake_pipeline.ask("Сколько спутников SpaceSail на орбите?")
    assert answer.abstained and answer.citations == () and answer.refusal == "model"
    assert answer.answer == "В источниках нет ответа на этот вопрос." and not answer.nearest
    fake_generator.queue("NO_ANSWER")
    english = fake_pipeline.ask("How many SpaceSail satellites are in orbit?")
    assert english.answer == "The sources do not say."
    # a year no sentence states: refused before the model, with what the sources do say
    answer = fake_pipeline.ask("Сколько спутников SpaceSail будет в 2030 году?")
    assert answer.refusal == "not stated" and answer.missing == "2030"
    assert answer.answer.startswith("В источниках нет ответа на этот вопрос. В них не сказано")
    assert answer.nearest and "SpaceSail" in answer.nearest[0].text


def test_weak_retrieval_abstains_without_calling_the_model(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    answer = fake_pipeline.ask("Погода в Париже завтра")  # shares no word with the corpus
    assert answer.abstained and fake_generator.seen == [] and answer.refusal == "low score"
    assert answer.passages  # what was found is still shown


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \t ", "empty"), ("?!...", "no words"), ("x" * 5000, "limit is")],
)
def test_bad_questions(fake_pipeline: Pipeline, question: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        fake_pipeline.ask(question)


def test_control_characters_are_removed(fake_pipeline: Pipeline) -> None:
    assert fake_pipeline.check_question("Сколько\x00 спутников\x1b?") == "Сколько спутников ?"


def test_no_index_is_a_clear_error(fake_pipeline: Pipeline) -> None:
    with pytest.raises(IndexMissingError, match="rag index build"):
        fake_pipeline.ask("Сколько спутников?")


def test_follow_up_is_rewritten_with_history(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    fake_generator.queue("Когда SpaceSail увеличит число спутников до 324?", "В 2026 году [1].")
    answer = fake_pipeline.ask(
        "А когда их станет 324?", history=[("Сколько спутников SpaceSail?", "108 [1].")]
    )
    assert answer.query == "Когда SpaceSail увеличит число спутников до 324?"
    assert "Сколько спутников SpaceSail?" in fake_generator.seen[0][-1]["content"]
    # the default strategy (quote) shows the source sentence the checked draft rests on
    assert (
        answer.answer
        # the asked date first, then its sentence (SpaceSail, "их", is named just before)
        == "2026 года [1].\nК концу 2026 года их будет 324 [1]."
        and answer.kind is AnswerKind.QUOTED
    )
    assert answer.variant is not None and answer.variant.text == "В 2026 году [1]."


def test_unsupported_generation_falls_back_to_the_passages_own_sentences(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    use_extractive_fallback(fake_pipeline)
    fake_pipeline.build([corpus])
    made_up = "На орбите 500 спутников компании Starlink [1]."
    fake_generator.queue(made_up)
    events = list(fake_pipeline.stream("Сколько спутников SpaceSail на орбите?"))
    answer = events[-1].answer
    assert isinstance(events[-1], Done)
    # the model's sentence is reported unverified, and the answer says it is extractive
    assert answer.variant is not None and answer.variant.text == made_up
    assert answer.kind is AnswerKind.FALLBACK and answer.mode == "generative"
    assert not answer.abstained and answer.refusal is None
    assert "108 спутников" in answer.answer and "500" not in answer.answer
    assert [s.verified for s in answer.sentences][0] is False
    assert any(s.verified and "108" in s.text for s in answer.sentences)
    assert answer.citations and answer.citations[0].doc_id == "a.txt"
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert streamed == made_up  # the draft streamed; the final answer replaces it


def test_by_default_an_unsupported_generation_is_refused(
    fake_config: Config, fake_generator: FakeGenerator, corpus: Path
) -> None:
    assert fake_config.generation.fallback == "abstain"
    pipe = Pipeline(fake_config, embedder=FakeEmbedder(64), generator=fake_generator)
    pipe.build([corpus])
    fake_generator.queue("На орбите 500 спутников компании Starlink [1].")
    answer = pipe.ask("Сколько спутников SpaceSail на орбите?")
    assert answer.abstained and answer.refusal == "unverified" and answer.mode == "generative"
    assert answer.to_json()["refusal"] == "unverified"


def test_a_name_no_passage_mentions_is_refused_before_generation(
    fake_pipeline: Pipeline, fake_generator: FakeGenerator, corpus: Path
) -> None:
    fake_pipeline.build([corpus])
    answer = fake_pipeline.ask("Сколько спутников Starlink на орбите?")
    assert answer.abstained and answer.refusal == "unknown name" and fake_generator.seen == []


def test_with_config_shares_the_loaded_models(fake_pipeline: Pipeline, corpus: Path) -> None:
    from dataclasses import replace

    fake_pipeline.build([corpus])
    config = fake_pipeline.config
    other = fake_pipeline.with_config(
        replace(config, retrieval=replace(config.retrieval, mode="lexical"))
    )
    assert other.embedder is fake_pipeline.embedder
    assert other.generator is fake_pipeline.generator
    assert other.config.retrieval.mode == "lexical" and config.retrieval.mode == "dense"
    assert other.search("Байконур", 1)[0].chunk.doc_id == "b.txt"
