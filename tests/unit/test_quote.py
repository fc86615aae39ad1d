"""The quote strategy (draft, check, then quote the source) on the fake models: the
answer is the source sentence the verified draft rests on, cited at its exact span."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rag.generate import constraints, quote
from rag.generate.strategy import AnswerRequest
from rag.pipeline import Done, Evidence, Pipeline, Token
from rag.types import AnswerKind, Chunk, Hit, Refusal, SentenceCheck


@pytest.fixture
def quote_pipeline(fake_pipeline: Pipeline, corpus: Path) -> Pipeline:
    assert fake_pipeline.config.generation.strategy == "quote"  # the default
    fake_pipeline.build([corpus])
    return fake_pipeline


def _done(pipe: Pipeline, question: str) -> tuple[list[object], Done]:
    events = list(pipe.stream(question))
    assert isinstance(events[-1], Done)
    return events, events[-1]


def test_the_answer_is_the_source_sentence_the_draft_rests_on(quote_pipeline: Pipeline) -> None:
    quote_pipeline.generator.queue("На орбите 108 спутников [1].")
    events, done = _done(quote_pipeline, "Сколько спутников SpaceSail на орбите?")
    a = done.answer
    assert a.strategy == "quote" and a.kind is AnswerKind.QUOTED and not a.abstained
    headline = "108 спутников [1].\n"  # the asked count first, the evidence beneath
    assert a.answer == headline + "На орбите находится 108 спутников группировки SpaceSail [1]."
    (c,) = a.citations
    article = Path(quote_pipeline.document(c.doc_id).path).read_text(encoding="utf-8")
    # the citation is the sentence's exact span of the article text, not the passage's
    assert c.text == "На орбите находится 108 спутников группировки SpaceSail."
    assert c.end - c.start == len(c.text) and c.text in article
    # the evidence is shown before the model drafts; the draft streams, then the quote
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("Evidence") < kinds.index("Token") < len(kinds) - 1
    assert isinstance(events[kinds.index("Evidence")], Evidence)
    assert a.variant is not None and a.variant.text == "На орбите 108 спутников [1]."
    drafted = a.variant.checked
    assert drafted.startswith("На орбите 108 спутников [") and drafted != a.answer
    # the draft's citation now points past the quoted sentence, at the passage it read
    n = int(drafted.split("[")[1].split("]")[0])
    assert "На орбите находится" in a.passages[n - 1].chunk.text and n > len(a.citations)
    assert any(isinstance(e, Token) and "\n\n" in e.text for e in events)


def test_a_refusal_stays_a_refusal(quote_pipeline: Pipeline) -> None:
    quote_pipeline.generator.queue("NO_ANSWER")
    _, done = _done(quote_pipeline, "Сколько спутников SpaceSail на орбите?")
    assert done.answer.abstained and done.answer.strategy == "quote"
    assert done.answer.refusal is Refusal.MODEL and done.answer.kind is AnswerKind.REFUSED
    assert done.answer.variant is not None and not done.answer.variant.checked


def test_an_unsupported_draft_is_refused_not_quoted(quote_pipeline: Pipeline) -> None:
    quote_pipeline.generator.queue("На орбите 999 спутников [1].")  # no passage says 999
    _, done = _done(quote_pipeline, "Сколько спутников SpaceSail на орбите?")
    assert done.answer.abstained and done.answer.refusal == "unverified"


def test_a_draft_that_echoes_the_question_is_answered_by_the_evidence_shown(
    quote_pipeline: Pipeline,
) -> None:
    # the model did not read the evidence it was shown: the evidence answers
    quote_pipeline.generator.queue("Спутников SpaceSail на орбите [1].")
    events, done = _done(quote_pipeline, "Сколько спутников SpaceSail на орбите?")
    a = done.answer
    assert not a.abstained and a.kind is AnswerKind.QUOTED and a.refusal is None
    assert (
        a.answer
        == "108 спутников [1].\nНа орбите находится 108 спутников группировки SpaceSail [1]."
    )
    assert a.citations[0].text == "На орбите находится 108 спутников группировки SpaceSail."
    assert (
        a.variant is not None and a.variant.text.startswith("Спутников") and not a.variant.checked
    )
    # no refusal was streamed before the answer
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert "нет ответа" not in streamed and streamed.endswith(a.answer)
    # a count the sources do not state is a reading the checks refuse, not an echo
    quote_pipeline.generator.queue("На орбите 999 спутников SpaceSail [1].")
    _, done = _done(quote_pipeline, "Сколько спутников SpaceSail на орбите?")
    assert done.answer.abstained


def _hit(text: str, start: int = 0) -> Hit:
    return Hit(Chunk(f"d:{start}", "d", "T", text, start, start + len(text)), 0.6)


def test_a_draft_joining_two_sentences_quotes_both_in_text_order() -> None:
    passage = _hit(
        "Запуск назначен на самое начало марта. Ракета стартует с космодрома "
        "Байконур. Погода на космодроме хорошая."
    )
    got = quote.sources_of("Ракета стартует с Байконура в марте", [passage], False)
    assert [h.chunk.text for h in got] == ["Запуск назначен на самое начало марта.",
                                           "Ракета стартует с космодрома Байконур."]  # fmt: skip
    one = quote.sources_of("Ракета стартует с космодрома Байконур", [passage], False)
    assert [h.chunk.text for h in one] == ["Ракета стартует с космодрома Байконур."]


def test_an_english_draft_finds_its_russian_sentence_by_names() -> None:
    passage = _hit("Встреча прошла в Астане. Делегацию возглавил Константин Бусыгин.")
    (got,) = quote.sources_of("The delegation was led by Konstantin Busygin", [passage], True)
    assert got.chunk.text == "Делегацию возглавил Константин Бусыгин."


def test_an_english_draft_rests_on_the_sentence_that_states_its_answer() -> None:
    # the long sentence shares the question's "cosmodrome" by its letters; the short
    # one states the station the draft adds (however the draft spells it)
    passage = _hit("К преимуществам относятся близость трассы и инфраструктура бывшего "
                   "космодрома Свободный в Амурской области. Ближайшая железнодорожная "
                   "станция — Ледяная, ближайший город — Циолковский.")  # fmt: skip
    question = "What is the nearest railway station to the Vostochny Cosmodrome?"
    draft = "The nearest railway station to the Vostochny Cosmodrome is Ledyana."
    (got,) = quote.sources_of(draft, [passage], True, 1, question)
    assert got.chunk.text.startswith("Ближайшая железнодорожная станция")
    (plain,) = quote.sources_of(draft, [passage], True, 1)  # no question: by all its letters
    assert plain.chunk.text.startswith("К преимуществам")
    # what the draft adds is invented, stated nowhere: the sentence of most of its letters
    made_up = "The nearest railway station to the Vostochny Cosmodrome is Mirnyi Pole."
    (got,) = quote.sources_of(made_up, [passage], True, 1, question)
    assert got.chunk.text.startswith("К преимуществам")


@pytest.fixture
def english_pipeline(quote_pipeline: Pipeline, tmp_path: Path) -> Pipeline:
    """One Russian article, the only one retrieval can find; no cross-script check (the
    fake embedder cannot judge English against Russian: it is not under test)."""
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "c.txt").write_text(
        "Визит\n\nДелегацию возглавил глава администрации Константин Бусыгин.\n", "utf-8"
    )
    c = quote_pipeline.config
    pipe = quote_pipeline.with_config(replace(c, generation=replace(c.generation, verify=False)))
    pipe.build([folder])
    return pipe


def test_english_answers_keep_the_draft_with_one_spelling_of_each_name(
    english_pipeline: Pipeline,
) -> None:
    english_pipeline.generator.queue("The delegation was led by Konstantin Bussygin [1].")
    events, done = _done(english_pipeline, "Who led the delegation of Busygin?")
    a = done.answer
    (evidence,) = [e for e in events if isinstance(e, Evidence)]
    assert [h.chunk.text for h in evidence.sentences] == [
        "Делегацию возглавил глава администрации Константин Бусыгин."
    ]
    assert a.kind is AnswerKind.QUOTED, (a.refusal, a.variant)
    # the draft, its names spelled once, citing its source sentence; the sentence beneath
    assert a.answer == (
        "The delegation was led by Konstantin Busygin (Константин Бусыгин) [1].\n"
        "Делегацию возглавил глава администрации Константин Бусыгин [1]."
    )
    (c,) = a.citations
    assert c.text == "Делегацию возглавил глава администрации Константин Бусыгин."
    assert a.variant is not None  # the checked draft cites the passage it read, after the quote
    assert a.variant.checked == "The delegation was led by Konstantin Bussygin [2]."


def test_an_english_draft_naming_someone_the_source_does_not_is_left_out(
    english_pipeline: Pipeline,
) -> None:
    english_pipeline.generator.queue("The delegation was led by Nikolay Semytov [1].")
    _, done = _done(english_pipeline, "Who led the delegation of Busygin?")
    a = done.answer
    assert a.kind is AnswerKind.QUOTED and "Semytov" not in a.answer
    assert a.answer == (
        f"{quote.SOURCE_SAYS}\nДелегацию возглавил глава администрации Константин Бусыгин [1]."
    )


def test_renumber_shifts_every_citation() -> None:
    assert quote.renumber("А [1]. Б [2, 3].", 2) == "А [3]. Б [4, 5]."


def test_a_draft_no_sentence_states_alone_stays_as_checked() -> None:
    passage = _hit("Ракета стартует с космодрома Байконур весной. Погода на космодроме хорошая.")
    found = quote.sources_of("Ракета стартует 12 апреля [1].", [passage], False)
    assert not quote.states_all("Ракета стартует 12 апреля [1].", found)  # 12: in no sentence
    assert quote.states_all("Ракета стартует с Байконура [1].", found)
    assert not quote.states_all("Байконур, казахстанский космодром, был основан давно [1].",
                                found)  # most of its words are in no sentence  # fmt: skip


def test_the_header_date_the_draft_gives_is_kept_not_quoted_away(
    quote_pipeline: Pipeline, tmp_path: Path
) -> None:
    folder = tmp_path / "dated"
    folder.mkdir()
    (folder / "d.txt").write_text(
        "Заседание группы\n20 ноября 2025\n\nВ Пекине прошло третье заседание рабочей группы "
        "по сотрудничеству в области космоса.\n", "utf-8")  # fmt: skip
    quote_pipeline.build([folder])
    quote_pipeline.generator.queue("Заседание рабочей группы прошло 20 ноября 2025 года [1].")
    _, done = _done(quote_pipeline, "Какая дата стоит у новости о заседании рабочей группы?")
    a = done.answer
    assert not a.abstained and "20 ноября 2025" in a.answer, (a.refusal, a.answer)
    assert a.mode == "generative"  # no sentence states the date: the checked draft stays


def test_a_kept_draft_sentence_cites_its_passage_after_the_quotes() -> None:
    from rag.types import SentenceCheck

    quoted = [_hit("Ракета стартует с космодрома Байконур.", 10)]
    parts = [
        (SentenceCheck("Ракета стартует с Байконура [1].", (1,), True, "lexical", 0.8), quoted),
        (SentenceCheck("Это будет 12 апреля [2].", (2,), True, "lexical", 0.7), []),
    ]
    text, checks = quote._quote(parts, quoted, offset=1)
    assert text == "Ракета стартует с космодрома Байконур [1]. Это будет 12 апреля [3]."
    assert [c.citations for c in checks] == [(1,), (3,)]


def _request(question: str, hits: list[Hit], passages: list[Hit]) -> AnswerRequest:
    from rag.config import GenerationConfig

    return AnswerRequest(
        question=question, query=question, language="ru", mode="generative",
        hits=tuple(hits), passages=tuple(passages), headers=(), documents={},
        generator=None, similarity=lambda text, of: [1.0] * len(of),  # type: ignore[arg-type]
        settings=GenerationConfig(), min_score=0.3,
    )  # fmt: skip


def _look(request: AnswerRequest) -> tuple[list[object], tuple[object, ...]]:
    asked = constraints.parse(request.query)
    events: list[object] = []
    wide = [hit for _, hit in quote.passage_sentences(request.hits)]
    run = quote._look_first(request, asked, wide)
    try:
        while True:
            events.append(next(run))
    except StopIteration as stop:
        return events, stop.value


def _passage(doc: str, title: str, text: str, score: float) -> Hit:
    return Hit(Chunk(f"{doc}:0", doc, title, text, 0, len(text)), score)


BEST = _passage("a", "Совещание", "Совет директоров провёл заседание в Астане. "
                "Обсуждались планы компании на следующий год.", 0.7)  # fmt: skip
DROPPED = _passage("b", "KazSat", "Об этом сообщила пресс-служба агентства. "
                   "Спутник KazSat-3 был выведен на орбиту 28 апреля 2014 года.", 0.6)  # fmt: skip


def test_evidence_the_budget_dropped_is_found_in_the_retrieved_passages_and_read() -> None:
    request = _request("Когда спутник KazSat-3 был выведен на орбиту?", [BEST, DROPPED], [BEST])
    events, (early, shown, reading) = _look(request)
    assert early is None and isinstance(events[0], Evidence)
    assert [h.chunk.text for h in shown] == [
        "Спутник KazSat-3 был выведен на орбиту 28 апреля 2014 года."]  # fmt: skip
    # the model now reads the evidence sentence too, its exact span, after the best passage
    assert reading.passages[0] is BEST and len(reading.passages) == 2
    added = reading.passages[1].chunk
    assert (
        added.text == shown[0].chunk.text
        and DROPPED.chunk.text[added.start : added.end] == added.text
    )
    assert [t for _, t in reading.headers] == [p.chunk.text for p in reading.passages]
    assert request.passages == (BEST,)  # the caller's request is not changed


def test_evidence_the_budget_dropped_is_read_when_it_states_more_than_what_is_read() -> None:
    read = _passage("a", "Запуск", "Совет директоров провёл заседание в Астане. "
                    "Спутник KazSat-3 был выведен 28 апреля 2014 года.", 0.7)  # fmt: skip
    dropped = _passage("b", "KazSat", "Об этом сообщила пресс-служба агентства. Спутник "
                       "KazSat-3 был успешно выведен на орбиту 16 мая 2014 года.",
                       0.6)  # fmt: skip
    question = "Когда спутник KazSat-3 был успешно выведен на орбиту?"
    events, (early, shown, reading) = _look(_request(question, [read, dropped], [read]))
    assert early is None and isinstance(events[0], Evidence)
    assert "успешно" in shown[0].chunk.text  # not the sentence that was read
    assert len(reading.passages) == 2 and reading.passages[1].chunk.doc_id == "b"
    # what is read is kept when it states as much: nothing is added
    _, (_, shown, same) = _look(_request(question, [dropped, read], [dropped]))
    assert "успешно" in shown[0].chunk.text and len(same.passages) == 1


def test_evidence_already_read_leaves_the_passages_as_they_are() -> None:
    request = _request("Когда спутник KazSat-3 был выведен на орбиту?", [DROPPED], [DROPPED])
    _, (early, shown, reading) = _look(request)
    assert early is None and shown and reading is request


def test_no_evidence_in_any_retrieved_passage_is_refused_before_the_model() -> None:
    request = _request("Когда спутник KazSat-3 был выведен на орбиту в 2019 году?",
                       [BEST, DROPPED], [BEST])  # fmt: skip
    events, (early, shown, reading) = _look(request)
    assert early is not None and early.refusal is Refusal.NOT_STATED and not shown
    assert early.missing == "2019" and reading.passages == (BEST,)
    assert isinstance(events[-1], Token)


MEETING = _passage("c", "Заседание", "В Пекине прошло третье заседание рабочей группы по "
                   "космосу. Стороны обсудили запуски спутников.", 0.7)  # fmt: skip


def test_the_date_of_a_report_is_asked_only_of_the_report_it_names() -> None:
    about = "Какая дата стоит у новости о {} заседании рабочей группы?"
    _, (early, shown, _) = _look(_request(about.format("третьем"), [MEETING], [MEETING]))
    assert early is None and not shown  # the article's date answers: the draft decides
    _, (early, _, _) = _look(_request(about.format("втором"), [MEETING], [MEETING]))
    assert early is not None and early.refusal is Refusal.NOT_STATED  # no second meeting


CONGRESS = _passage("d", "Конгресс", "В Пекине открылся 64-й конгресс астронавтики. "
                    "Делегацию на 64-м конгрессе возглавил Талгат Мусабаев.", 0.7)  # fmt: skip
WORKING = _passage("e", "Заседание", "Прошло третье заседание рабочей группы. "
                   "Делегацию на третьем заседании возглавил Баубек Оралмагамбетов.",
                   0.6)  # fmt: skip


def test_two_things_side_by_side_are_each_shown_by_their_own_evidence() -> None:
    question = "Кто возглавлял делегации на 64-м конгрессе и на третьем заседании?"
    events, (early, shown, reading) = _look(_request(question, [CONGRESS, WORKING], [CONGRESS]))
    assert early is None and isinstance(events[0], Evidence)
    assert {h.chunk.doc_id for h in shown} == {"d", "e"}  # one sentence each
    assert {p.chunk.doc_id for p in reading.passages} == {"d", "e"}  # both are read


def test_two_things_side_by_side_are_refused_when_one_is_not_stated() -> None:
    # one of the two is stated: "both" is not answered, the missing one is named
    question = "Кто возглавлял делегации на 64-м конгрессе и на пятом заседании?"
    events, (early, shown, _) = _look(_request(question, [CONGRESS, WORKING], [CONGRESS]))
    assert early is not None and early.refusal is Refusal.NOT_STATED and not shown
    assert early.missing == "пятом"


def test_the_part_a_draft_leaves_out_is_quoted_from_its_own_evidence() -> None:
    asked = constraints.parse("Кто возглавлял делегации на 64-м конгрессе и на третьем заседании?")
    around = [hit for _, hit in quote.passage_sentences([CONGRESS, WORKING])]
    kept = [(SentenceCheck("Мусабаев [1].", (1,), True, "lexical", 1.0), [around[1]])]
    added = quote._left_out(asked, kept, around)
    assert [[h.chunk.text for h in found] for _, found in added] == [
        ["Делегацию на третьем заседании возглавил Баубек Оралмагамбетов."]]  # fmt: skip
    both = [*kept, (kept[0][0], [around[3]])]
    assert quote._left_out(asked, both, around) == []  # each part stated: nothing added
