from rag.generate.extractive import answer_text, best_sentences
from rag.generate.verify import lexical_support, split_sentences, ungrounded_names, verify
from rag.types import Chunk, Hit

P1 = "На сегодняшний день на орбите находится 108 спутников группировки SpaceSail."
P2 = "Ориентировочное время начала строительства — второе полугодие 2026 года."


def test_split_keeps_citations_with_their_sentence() -> None:
    assert split_sentences("Первое [1]. Второе предложение [2][1]! Третье") == [
        "Первое [1].",
        "Второе предложение [2][1]!",
        "Третье",
    ]


def test_lexical_support_needs_numbers_and_stems() -> None:
    assert lexical_support("На орбите 108 спутников SpaceSail.", P1) == 1.0
    assert lexical_support("На орбите 109 спутников SpaceSail.", P1) == 0.0  # wrong number
    assert lexical_support("Спутники группировки находятся на орбите.", P1) == 1.0  # inflection
    assert lexical_support("Запуск стоил миллиард долларов.", P1) == 0.0
    # a substituted name: everything else matches, the entity does not
    assert lexical_support("На орбите находится 108 спутников группировки Starlink.", P1) == 0.0
    assert lexical_support("На орбите спутники Роскосмоса.", P1) == 0.0


def test_wrong_citation_is_moved_and_unsupported_sentence_removed() -> None:
    checks = verify(
        "На орбите 108 спутников [2]. Строительство начнётся во втором полугодии 2026 года [2]. "
        "Стоимость проекта — миллиард долларов [1].",
        [P1, P2],
    )
    assert [c.citations for c in checks] == [(1,), (2,), ()]
    assert [c.verified for c in checks] == [True, True, False]
    assert checks[0].text == "На орбите 108 спутников [1]."


def test_cross_script_sentences_use_the_semantic_check() -> None:
    calls = []

    def similarity(sentence: str) -> list[float]:
        calls.append(sentence)
        return [0.7, 0.1]

    checks = verify("There are 108 SpaceSail satellites in orbit [2].", [P1, P2], similarity)
    assert calls == ["There are 108 SpaceSail satellites in orbit."]
    assert checks[0].method == "semantic" and checks[0].citations == (1,)
    wrong_number = verify("There are 109 satellites [1].", [P1, P2], similarity)
    assert not wrong_number[0].verified


def hit(text: str, i: int) -> Hit:
    return Hit(Chunk(f"c{i}", "d.txt", "T", text, 0, len(text)), 0.5)


def test_extractive_picks_the_sentence_that_matches_the_question() -> None:
    passages = [hit("Стороны обсудили планы. " + P2, 1), hit(P1 + " Запуски законтрактованы.", 2)]
    assert best_sentences("Сколько спутников SpaceSail на орбите?", passages, 1) == [(2, P1)]
    assert answer_text("Когда начало строительства?", passages, 1) == f"{P2[:-1]} [1]."


def test_question_names_missing_from_every_passage() -> None:
    from rag.generate.verify import ungrounded_names

    assert ungrounded_names("Сколько спутников в группировке Starlink?", [P1, P2]) == {"starlink"}
    assert ungrounded_names("Сколько спутников у SpaceSail на орбите?", [P1, P2]) == set()
    assert ungrounded_names("How many Starlink satellites?", [P1]) == set()  # other script


def test_names_match_across_the_stemmers_inflection_noise() -> None:
    from rag.generate.verify import ungrounded_names

    passage = "Делегация Китая и казахстанской стороны обсудила покрытие территории Казахстан."
    # Китае/Китая and Казахстана/Казахстан stem differently; they are the same names
    assert ungrounded_names("Кто возглавил делегацию в Китае от Казахстана?", [passage]) == set()
    # a capitalised word that starts a second sentence is not a name
    two = "Кто возглавил делегацию Китая? Назовите его должность."
    assert ungrounded_names(two, [passage]) == set()
    # names sharing only a short prefix are different ("Starlink" is not "Start")
    assert ungrounded_names("Сколько спутников у Starlink?", ["Проект Start запущен."]) == {
        "starlink"
    }


def test_names_repeated_from_the_question_need_not_be_in_the_passage() -> None:
    question = "Какое покрытие Казахстана даст группировка SpaceSail?"
    sentence = "Группировка SpaceSail даст полное покрытие Казахстана 24 часа в сутки."
    passage = "Группировка SpaceSail обеспечит полное покрытие территории РК 24 часа в сутки."
    assert lexical_support(sentence, passage) == 0.0  # "Казахстан" is not in the passage
    assert lexical_support(sentence, passage, question) >= 0.5
    # a name the question did not ask about still has to be there
    swapped = "Группировка Starlink даст полное покрытие Казахстана 24 часа в сутки."
    assert lexical_support(swapped, passage, question) == 0.0


def test_a_date_in_the_article_header_supports_an_answer() -> None:
    header_and_text = "Заседание рабочей группы (2025-11-20)\nСтороны обсудили планы."
    (check,) = verify("2025-11-20 [1].", [header_and_text], question="Какая дата у новости?")
    assert check.verified and check.citations == (1,)


def test_a_sentence_that_restates_the_question_is_not_an_answer() -> None:
    question = "Решения какого заседания МПК стали основанием для приёма объектов?"
    echo = verify(f"{question[:-1]} [1].", [question], question=question)
    assert echo[0].verified is False and echo[0].method == "restates question"
    answer = verify("На орбите 108 спутников [1].", [P1], question="Сколько спутников на орбите?")
    assert answer[0].verified is True


def test_an_abbreviation_is_grounded_by_the_words_it_stands_for() -> None:
    question = "Какой модуль МКС полетел первым?"
    assert not ungrounded_names(question, ["Программа Международной космической станции."])
    assert ungrounded_names(question, ["Программа Международной станции."]) == {"мкс"}
    # only a name written in capitals is read as initials
    assert ungrounded_names("Какой модуль Мир полетел?", ["Межпланетной исследовательской ракеты."])


def test_a_sentence_joining_its_cited_passages_is_supported_by_them_together() -> None:
    fifth = "На 5-м заседании комиссии по комплексу «Байконур» приняты решения."
    sixth = "Предложения рассмотрят на 6-м заседании комиссии по комплексу «Байконур»."
    (check,) = verify("5-е и 6-е заседания комиссии по комплексу «Байконур» [1] и [2].",
                      [fifth, sixth])  # fmt: skip
    assert check.verified and check.citations == (1, 2)
    assert check.text == "5-е и 6-е заседания комиссии по комплексу «Байконур» [1][2]."
    # each passage alone lacks a number: one citation is not enough
    (alone,) = verify("5-е и 6-е заседания комиссии по комплексу «Байконур» [1].", [fifth, sixth])
    assert not alone.verified
    # nor do two passages that together still lack one
    (made_up,) = verify("5-е и 7-е заседания комиссии [1][2].", [fifth, sixth])
    assert not made_up.verified
