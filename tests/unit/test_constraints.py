"""Question constraints, sentence-level evidence and the answer gate (issue 19): rules
of Russian and English news text, checked on sentences written for these tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rag.generate import answerable
from rag.generate import constraints as C
from rag.generate import evidence as E
from rag.generate.framing import words as framing_words
from rag.pipeline import Done, Pipeline
from rag.types import Chunk, Hit
from tests.fakes import FakeEmbedder
from tests.fakes import sentence_hits as _hits


@pytest.mark.parametrize(
    ("question", "types"),
    [
        ("Когда запустили спутник?", (C.DATE,)),
        ("В каком году основан космодром?", (C.DATE,)),
        ("Сколько спутников на орбите?", (C.NUMBER,)),
        ("На какой высоте проходит орбита?", (C.NUMBER,)),
        ("Каков бюджет проекта?", (C.NUMBER,)),
        ("Кто возглавил делегацию?", (C.PERSON,)),
        ("Где и когда прошла встреча?", (C.PLACE, C.DATE)),
        ("В какой регион была поездка?", (C.PLACE,)),
        ("Какую должность занимал министр, когда встречался с послом?", (C.OTHER,)),
        ("In what year was the centre founded?", (C.DATE,)),
        ("How many satellites are in orbit?", (C.NUMBER,)),
        ("До какого количества вырастет группировка и к какому сроку?", (C.NUMBER, C.DATE)),
        ("Какое количество спутников на орбите?", (C.NUMBER,)),
        # an organisation asked for by its kind is asked for as by "кто"
        ("Какая частная компания будет представлена в группе?", (C.PERSON,)),
        ("С какими китайскими компаниями встречался руководитель?", (C.PERSON,)),
        ("Which private company is to be represented?", (C.PERSON,)),
        ("Какая ракета компании стартовала?", (C.OTHER,)),
    ],
)
def test_the_question_word_sets_the_answer_type(question: str, types: tuple[str, ...]) -> None:
    assert C.parse(question).types == types


def test_names_numbers_qualifiers_and_focus_are_parsed() -> None:
    c = C.parse("Сколько весил спутник KazSat-1, запущенный Аскаром Маминым в 2006 году?")
    names = {t.text for t in c.names}
    assert "KazSat-1" in names and any("Мамин" in n for n in names)
    assert [t.text for t in c.numbers] == ["2006"]  # the name keeps its own digit
    assert c.focus == "весить"  # what a number question measures
    assert "спутник" in {t.keys[0] for t in c.qualifiers}
    decade = C.parse("Что построили в 1980-х годах?").numbers[0]
    assert "1984" in decade.keys and "1990" not in decade.keys


def test_a_year_the_sentence_does_not_state_is_unmet() -> None:
    c = C.parse("Когда был запущен спутник KazSat-2 в 2015 году?")
    ok = E.check(c, "Спутник KazSat-2 был запущен 12 июля 2015 года с Байконура.")
    assert ok.ok(c)
    swapped = C.parse("Когда был запущен спутник KazSat-2 в 2017 году?")
    v = E.check(swapped, "Спутник KazSat-2 был запущен 12 июля 2015 года с Байконура.")
    assert not v.ok(swapped) and [t.text for t in v.unmet] == ["2017"]


def test_another_entity_of_the_same_type_is_no_evidence() -> None:
    c = C.parse("Кто был командиром экипажа «Союза ТМА-18М»?")
    v = E.check(c, "Экипаж «Союза ТМ-19»: Юрий Маленченко, командир; Талгат Мусабаев.")
    assert not v.ok(c) and any("ТМА-18М" in t.text for t in v.unmet)
    good = "Командиром «Союза ТМА-18М» был Сергей Волков."
    assert E.check(c, good).ok(c)


def test_a_when_question_needs_a_date_in_the_sentence_not_the_header() -> None:
    c = C.parse("Когда состоялось заседание рабочей группы?")
    v = E.check(c, "Состоялось третье заседание рабочей группы по космосу.", title="2025-11-20")
    assert C.DATE not in v.answers and not v.ok(c)
    assert E.check(c, "Заседание рабочей группы состоялось 20 ноября.").ok(c)
    assert E.check(c, "Сегодня состоялось заседание рабочей группы.").ok(c)  # dated by report


def test_a_number_must_count_what_was_asked() -> None:
    c = C.parse("Сколько лет исполнилось Дмитрию Рогозину?")
    assert not E.check(c, "Дмитрий Рогозин прибыл 9 июля текущего года.").ok(c)
    c = C.parse("Сколько спутников находится на орбите?")
    assert E.check(c, "На орбите находится 108 спутников группировки.").ok(c)
    assert not E.check(c, "На орбите работают 250 человек персонала.").ok(c)


def test_the_measure_asked_for_must_be_stated() -> None:
    c = C.parse("На какой высоте проходила орбита корабля «Буран»?")
    assert not E.check(c, "Корабль «Буран» вышел на более высокую орбиту за 2 витка.").ok(c)
    assert E.check(c, "Орбита «Бурана» проходила на высоте 250 километров.").ok(c)


def test_a_date_asked_as_a_term_is_answered_by_a_date_not_the_word() -> None:
    c = C.parse("К какому сроку компания планирует завершить строительство?")
    assert c.types == (C.DATE,) and c.focus is None
    assert E.check(c, "Строительство компания планирует завершить к концу 2027 года.").ok(c)
    number = C.parse("Каков срок службы спутника?")  # a number of years: "срок" is asked
    assert number.focus == "срок" and not E.check(number, "Спутник служит с 2014 года.").ok(number)


def test_a_sentence_that_only_repeats_the_question_is_no_answer() -> None:
    c = C.parse("Какие вопросы обсудили стороны на встрече?")
    v = E.check(c, "Стороны обсудили вопросы на встрече.")
    assert not v.adds and not v.ok(c)


def test_a_person_is_found_by_surname_and_an_abbreviation_by_initials() -> None:
    c = C.parse("Какой пост занимает Дмитрий Зернов?")
    assert E.check(c, "Пост генерального директора занимает Зернов.").ok(c)
    assert not E.check(c, "Пост генерального директора занимает Петров.").ok(c)
    c = C.parse("Когда на МКС прибыл новый экипаж?")
    assert E.check(c, "Экипаж прибыл на Международную космическую станцию 3 мая.").ok(c)


def test_the_gate_replaces_a_wrong_neighbour_and_finds_the_nearest_fact() -> None:
    pool = _hits(
        "Первоначально полёт планировался на 2005 год.",
        "Спутник KazSat-3 запущен 28 апреля 2014 года.",
    )
    c = C.parse("Когда был запущен спутник KazSat-3?")
    assert not answerable.holds(c, pool[:1])
    assert answerable.replacement(c, "Спутник KazSat-3 запущен в 2014 году", pool) == (pool[1],)
    missing = C.parse("Когда был запущен спутник KazSat-3 в 2019 году?")
    assert answerable.replacement(missing, "Запущен в 2014 году", pool) == ()
    near = answerable.nearest(missing, pool, "ru")
    assert near is not None and near.sentences == (pool[1],) and "2019" in near.missing
    text = answerable.refusal_text(near, "ru")
    assert "2019" in text and "KazSat-3 запущен 28 апреля 2014 года" in text and "[1]" in text
    other = C.parse("Когда был запущен спутник Starlink?")
    assert answerable.nearest(other, pool, "ru") is None  # about something else: plain


@pytest.fixture
def quote_pipeline(fake_pipeline: Pipeline, corpus: Path) -> Pipeline:
    c = fake_pipeline.config
    config = replace(c, generation=replace(c.generation, strategy="quote"))
    pipe = Pipeline(config, embedder=FakeEmbedder(64), generator=fake_pipeline.generator)
    pipe.build([corpus])
    return pipe


def test_a_near_miss_is_refused_with_the_nearest_stated_fact(quote_pipeline: Pipeline) -> None:
    # the draft answers a neighbouring question: the article states 2026, not 2028
    quote_pipeline.generator.queue("К концу 2026 года их будет 324 [1].")
    events = list(quote_pipeline.stream("Сколько спутников SpaceSail будет к концу 2028 года?"))
    a = events[-1].answer if isinstance(events[-1], Done) else None
    assert a is not None and a.abstained and a.refusal == "not stated"
    assert a.missing is not None and "2028" in a.missing
    (near,) = a.nearest
    assert "2026" in near.text and not a.citations
    assert "2028" in a.answer and "[1]" in a.answer
    assert a.to_json()["nearest"][0]["text"] == near.text


def test_an_answer_that_states_what_was_asked_stands(quote_pipeline: Pipeline) -> None:
    quote_pipeline.generator.queue("К концу 2026 года их будет 324 [1].")
    events = list(quote_pipeline.stream("Сколько спутников SpaceSail будет к концу 2026 года?"))
    a = events[-1].answer if isinstance(events[-1], Done) else None
    assert a is not None and not a.abstained and "324" in a.answer and not a.nearest


def test_an_english_name_is_glossed_once_and_mr_ends_no_sentence() -> None:
    from rag.generate import translit, verify

    text = translit._one_gloss("headed by Baubek (Баубек) Oralmagambetov (Оралмагамбетов) [1].")
    assert text == "headed by Baubek Oralmagambetov (Баубек Оралмагамбетов) [1]."
    assert verify.split_sentences("It is headed by Mr. Oralmagambetov [1]. He chairs it [1].") == [
        "It is headed by Mr. Oralmagambetov [1].",
        "He chairs it [1].",
    ]


def test_a_class_word_the_window_contradicts_is_unmet_whatever_the_article_says() -> None:
    c = C.parse("Сколько объектов на площадках космодрома приняла российская сторона?")
    source = "{} стороной приняты все 243 объекта на площадках 42, 43 и 45 космодрома."
    article = "Российская сторона передала объекты. " + source.format("Казахстанской")
    assert not E.check(c, source.format("Казахстанской"), article=article).ok(c)
    assert E.check(c, source.format("Российской"), article=article).ok(c)
    # a class word the window does not contradict may be stated by its article
    assert E.check(c, "Приняты все 243 объекта на площадках космодрома.", article=article).ok(c)
    # a window that also says the asked class word does not contradict it
    c = C.parse("Каков орбитальный период у геосинхронной орбиты?")
    assert E.check(c, "Геосинхронная орбита — околоземная орбита с периодом в 23 часа.").ok(c)
    # what the question excludes is no class constraint: the answer is its sibling
    c = C.parse("Что выводил на орбиту «Протон», кроме тяжёлых спутников и межпланетных станций?")
    assert not any(t.kind == "class" for t in c.qualifiers)
    # the class word of a name: "Китайской корпорации" is not the asked "Казахстанской"
    c = C.parse("Кто президент Казахстанской промышленной корпорации «Великая стена»?")
    source = "Встречу провёл президент {} промышленной корпорации «Великая стена» Инь Ляминь."
    assert not E.check(c, source.format("Китайской")).ok(c)
    assert E.check(c, source.format("Казахстанской")).ok(c)
    # nor when the sentences before the window name its subject so
    said = "Инь Ляминь отметил, что сотрудничество развивается."
    assert not E.check(c, said, context=source.format("Китайской")).ok(c)
    # the asked class word said only around the window does not undo what the window says
    c = C.parse("Сколько объектов на площадках космодрома приняла российская сторона?")
    window = "Казахстанской стороной приняты все 243 объекта на площадках космодрома."
    assert not E.check(c, window, context="Российская сторона передала объекты.").ok(c)


def test_a_company_is_stated_by_the_initials_of_its_name_without_its_legal_form() -> None:
    c = C.parse("Кто руководит АО «Республиканский центр космической связи»?")
    assert E.check(c, "Руководитель АО «РЦКС» Малик Жуйриктаев провел ряд встреч.").ok(c)
    assert not E.check(c, "Руководитель АО «НКС» Малик Жуйриктаев провел ряд встреч.").ok(c)


def test_an_english_surname_no_source_gives_is_invented() -> None:
    from rag.generate.matching import invented_names

    source = "Глава администрации города Байконур Константин Бусыгин, Николай Севастьянов."
    draft = "He met Konstantin Busygin and Nikolay Semytov, then Sergei Kozakov."
    assert invented_names(draft, source) == ["Semytov", "Kozakov"]
    # spelling variants of one transliteration are the same name; translations are not judged
    assert invented_names("Sevastianov met Busygin in Beijing.", source) == []
    # a country the source does not name: "of Russia" for the source's "РК"
    source = "Встреча с вице-министром цифрового развития РК Маликом Олжабековым."
    assert invented_names("They met the vice minister of Russia.", source) == ["Russia"]
    assert invented_names("They met the vice minister of Kazakhstan.", source) == []
    # "China" ends like a surname ("Mamina") but is a country: found by its stem
    assert invented_names("They met in China.", "Встреча прошла в Китае.") == []
    assert invented_names("They met in China.", "Встреча прошла в Японии.") == ["China"]
    asked = f"{source} Which Kazakh-French venture signed it?"  # the question names it
    assert invented_names("The Kazakh-French venture Ghalam signed it.", asked) == []


def test_a_feminine_name_keeps_its_gender_in_english() -> None:
    from rag.generate import translit

    names = translit.glossary("Ближайшая станция — Ледяная, рядом город Циолковский.")
    assert names["Ледяная"] == "Ledyanaya" and names["Циолковский"] == "Tsiolkovsky"
    assert translit.glossary("Встреча с Маминым прошла.") == {"Мамин": "Mamin"}


def test_a_relation_joined_from_sentences_apart_does_not_hold() -> None:
    pool = _hits(
        "В 2012 году Аймаханов уехал из Казахстана и принял российское гражданство.",
        "Программа подготовки длилась несколько лет.",
        "Экипаж прошёл все тренировки в Звёздном городке.",
        "Корабль был готов к старту в августе.",
        "Аимбетов стартовал в космос с Байконура 2 сентября 2015 года.",
    )
    c = C.parse("Когда Мухтар Аймаханов полетел в космос?")
    apart = [pool[0], pool[4]]
    # the name from one sentence, the date from another: no sentence says it
    assert not answerable.holds(
        c, apart, pool, "Аймаханов полетел в космос 2 сентября 2015 года [1]."
    )
    c = C.parse("Когда Аимбетов стартовал в космос?")
    # one of them states the question and the draft's date: it holds
    assert answerable.holds(c, apart, pool, "Аимбетов стартовал 2 сентября 2015 года [1].")
    assert not answerable.holds(c, apart, pool, "Аимбетов стартовал в 2012 году [1].")


def test_a_person_named_only_before_a_window_about_someone_else_is_unmet() -> None:
    c = C.parse("Когда Мухтар Аймаханов полетел в космос?")
    before = "В 2012 году Аймаханов уехал из Казахстана."
    other = "Его выбрали на замену, и Аимбетов полетел в космос 2 сентября 2015 года."
    assert not E.check(c, other, context=before).ok(c)
    pronoun = "Его дублёр полетел в космос 2 сентября 2015 года."
    assert E.check(c, pronoun, context=before).ok(c)  # no one else: the one named before


def test_a_two_part_question_is_answered_part_by_part() -> None:
    c = C.parse("Где и когда прошла встреча делегаций?")
    assert c.two_part
    v = E.check(c, "Встреча делегаций прошла 5 мая.")
    assert v.answers == (C.DATE,) and v.ok(c)  # one part is stated
    found = _hits("Встреча делегаций прошла 5 мая.")
    assert answerable.unanswered(c, found, "ru") == "В источниках не сказано, где."
    both = _hits("Встреча делегаций прошла 5 мая в Астане.")
    assert answerable.unanswered(c, both, "ru") is None


def test_the_subject_said_just_before_counts_and_kazakh_spellings_are_one() -> None:
    pool = _hits(
        "В Пекине прошло третье заседание рабочей группы по космосу.",
        "Принимающей стороной выступила Китайская космическая администрация.",
    )
    c = C.parse("Какое ведомство принимало третье заседание рабочей группы?")
    assert answerable.holds(c, pool[1:], pool)  # the meeting is named one sentence before
    kazakh = _hits("Тоқтар Әубәкіров — первый казахский космонавт, род. в 1946 году.")
    c = C.parse("Кто был первым казахским космонавтом?")
    assert answerable.replacement(c, "Токтар Аубакиров [1].", kazakh) == (kazakh[0],)


def test_an_ordinal_is_a_number_and_is_matched_exactly() -> None:
    c = C.parse("Кто был вторым казахстанским космонавтом?")
    assert not E.check(c, "Токтар Аубакиров — первый казахский космонавт.").ok(c)
    assert E.check(c, "Талгат Мусабаев — второй казахский космонавт.").ok(c)


def test_an_ordinal_is_read_as_one_where_a_noun_reading_comes_first_and_numbers_its_noun() -> None:
    c = C.parse("Какое ведомство принимало второе заседание рабочей группы?")
    (second,) = [t for t in c.qualifiers if t.kind == "ordinal"]  # not the noun "второе"
    assert second.keys == ("второй",) and second.head == "заседание"
    hosted = "{} заседание рабочей группы принимала Китайская космическая администрация."
    assert E.check(c, hosted.format("Второе")).ok(c)
    assert not E.check(c, hosted.format("Третье")).ok(c)
    # said of another noun, the ordinal numbers that one
    other = "Третье заседание рабочей группы во второе полугодие принимала администрация."
    assert not E.check(c, other).ok(c)


def test_the_country_an_event_is_put_in_is_unmet_where_the_window_puts_it_elsewhere() -> None:
    window = "В столице Китая прошло третье заседание казахстанско-китайской рабочей группы."
    c = C.parse("Какое по порядку заседание казахстанско-китайской группы прошло в Казахстане?")
    assert not E.check(c, window).ok(c)
    c = C.parse("Какое по порядку заседание казахстанско-китайской группы прошло в Пекине?")
    assert E.check(c, window).ok(c)
    # the sentence before the window sets the place
    c = C.parse("Кто возглавлял казахстанскую делегацию на заседании группы в Казахстане?")
    led = "В состав казахстанской делегации во главе с Баубеком Оралмагамбетовым вошли инженеры."
    assert not E.check(c, led, context="В столице Китая прошло третье заседание группы.").ok(c)
    assert E.check(c, led, context="В Казахстане прошло третье заседание группы.").ok(c)
    # not put there by the question ("казахстанской"): an adjective is a class, not a place
    c = C.parse("Кто возглавлял делегацию Казахстана на заседании группы?")
    assert E.check(c, led, context="В столице Китая прошло третье заседание группы.").ok(c)


def test_a_who_answer_names_someone_the_question_does_not() -> None:
    c = C.parse("Кто из руководителей региона участвовал во встрече Мамина с Рогозиным?")
    assert not E.names_someone(c, "Аскар Мамин [1].")
    assert not E.names_someone(c, "Мамин и Рогозин [1].")
    assert E.names_someone(c, "Аким Кызылординской области Крымбек Кушербаев [1].")
    assert E.names_someone(c, "Глава администрации города [1].")  # by a role
    # offered to choose from, the answer is one of the question's people
    c = C.parse("Кто из них, Мамин или Рогозин, прилетел на Байконур первым?")
    assert E.names_someone(c, "Мамин [1].")
    # asked for a date, a draft names whom it likes
    c = C.parse("Когда Мамин встретился с Рогозиным?")
    assert E.names_someone(c, "Мамин встретился с Рогозиным 9 июля [1].")


def test_a_class_adjective_is_matched_by_its_word_not_a_sibling_class() -> None:
    c = C.parse("Когда казахстанская компания запустила спутник на геосинхронную орбиту?")
    classes = {t.keys[0] for t in c.qualifiers if t.kind == "class"}
    assert classes == {"казахстанский", "геосинхронный"}
    sibling = "Российская компания запустила спутник на геосинхронную орбиту в 2014 году."
    assert not E.check(c, sibling).ok(c)  # close word vectors, another country
    setting = "Компания запустила спутник на геосинхронную орбиту в 2014 году."
    assert E.check(c, setting, article="Компания из Казахстана.").ok(c)  # the article's setting
    assert not E.check(c, sibling, article="Компания из Казахстана.").ok(c)  # unless contradicted
    stated = "Спутник компании из Казахстана вышел на геосинхронную орбиту в 2014 году."
    assert E.check(c, stated).ok(c)  # by stem: "Казахстана" states "казахстанская"
    # a participle describes rather than classifies: it may be paraphrased
    assert not any(t.kind == "class" for t in C.parse("Кто ведущий инженер проекта?").qualifiers)


def test_a_verb_is_its_noun_without_the_prefix_and_the_class_by_its_initials() -> None:
    c = C.parse("Когда и к какому модулю пристыковался корабль «Союз ТМА-18М»?")
    assert E.check(c, "Стыковка «Союза ТМА-18М»: 4 сентября 2015 года, к модулю «Поиск».").ok(c)
    c = C.parse("На базе какого центра космической связи построят станцию?")
    assert E.check(c, "Станцию построят на базе ЦКС «Акколь».").ok(c)  # "ЦКС"
    assert not E.check(c, "Станцию построят на базе РК «Акколь».").ok(c)  # two letters: no


def test_a_country_is_stated_by_its_abbreviation() -> None:
    c = C.parse("Какую должность в правительстве Казахстана занимал Аскар Мамин?")
    assert E.check(c, "Первый вице-премьер РК Аскар Мамин провел встречу с делегацией.").ok(c)
    c = C.parse("Правопреемником какого советского министерства считается «Роскосмос»?")
    source = "«Роскосмос» берёт начало в Министерстве общего машиностроения {} и является его "
    assert E.check(c, source.format("СССР") + "правопреемником.").ok(c)
    assert not E.check(c, source.format("РФ") + "правопреемником.").ok(c)


def test_an_english_question_names_a_russian_surname_as_it_is_transliterated() -> None:
    c = C.parse("Which space tourist flew on Soyuz TM-32 under Musabayev's command?")
    source = "Космический турист Деннис Тито летал на «Союзе ТМ-32» под командованием {}."
    assert E.check(c, source.format("Талгата Мусабаева")).ok(c)
    assert not E.check(c, source.format("Юрия Батурина")).ok(c)  # a surname is never translated
    c = C.parse("Which tourist flew with Musabayev on a Soyuz to the Space Station?")
    # a name that is translated ("Space Station": МКС) stays a qualifier, not a must
    assert E.check(c, "С Талгатом Мусабаевым на «Союзе» к МКС летал турист Деннис Тито.").ok(c)


def test_an_english_name_its_article_names_is_the_window_s_setting() -> None:
    # (the company alone: a country the window names, "РК" for "Kazakhstan", is stated)
    c = C.parse("Which vice minister did the members of Eurasian Space Ventures meet?")
    window = "Состоялась также встреча с вице-министром РК Маликом Олжабековым."
    article = f"Компания Eurasian Space Ventures (ESV) подписала меморандум. {window}"
    assert not E.check(c, window).ok(c)  # the company is not named in the sentence
    assert E.check(c, window, article=article).ok(c)  # but its article is about it
    elsewhere = "Компания Galaxy Ventures подписала меморандум."
    assert not E.check(c, window, article=f"{elsewhere} {window}").ok(c)


def test_a_compound_adjective_is_a_class_word() -> None:
    c = C.parse("На какой высоте проходит круговая солнечно-синхронная орбита?")
    assert "солнечно-синхронный" in {t.keys[0] for t in c.qualifiers if t.kind == "class"}
    sibling = "Круговая геосинхронная орбита имеет постоянную высоту 35 786 км."
    assert not E.check(c, sibling).ok(c)  # another class of orbit
    assert E.check(c, "Круговая солнечно-синхронная орбита проходит на высоте 800 км.").ok(c)


def test_a_question_of_two_clauses_is_answered_clause_by_clause() -> None:
    c = C.parse("Какой ракетой запустили спутник KazSat-2 и в каком бюро разработали эту ракету?")
    assert [p.question for p in c.parts] == [
        "Какой ракетой запустили спутник KazSat-2?",
        "в каком бюро разработали эту ракету?",
    ]
    second = c.parts[1]
    assert c.two_part and [t.text for t in second.names] == ["KazSat-2"]  # "эту": the subject
    assert "ракету" not in [t.text for t in second.qualifiers]  # the first clause's answer
    found = _hits("Спутник KazSat-2 был выведен на орбиту 16 июля 2011 года ракетой «Протон».")
    assert E.check(c, found[0].chunk.text).ok(c)  # the first clause is stated
    assert answerable.unanswered(c, found, "ru") == (
        "В источниках не сказано, в каком бюро разработали эту ракету."
    )
    c = C.parse("Which cosmonaut flew on Soyuz TMA-18M, and which one did he meet on Soyuz TM-19?")
    assert [p.question for p in c.parts] == [
        "Which cosmonaut flew on Soyuz TMA-18M?",
        "which one did he meet on Soyuz TM-19?",
    ]
    assert {"TMA-18M", "TM-19"} <= {t.text for t in c.parts[1].names}  # "he": the subject's
    assert "TM-19" not in {t.text for t in c.parts[0].names}
    # one clause with two question words, or one predicate shared: no clauses
    assert not C.parse("Где и когда прошла встреча делегаций?").parts
    assert not C.parse("С какого стартового комплекса и когда стартовал «Буран»?").parts


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "Кто возглавлял делегации в Пекине: на 64-м конгрессе и на третьем заседании группы?",
            [
                "Кто возглавлял делегации в Пекине: на 64-м конгрессе?",
                "Кто возглавлял делегации в Пекине: на третьем заседании группы?",
            ],
        ),
        (
            "Какая компания упомянута и в статье о KazSat-2, и в статье о KazSat-3?",
            [
                "Какая компания упомянута и в статье о KazSat-2?",
                "Какая компания упомянута и в статье о KazSat-3?",
            ],
        ),
        (
            "Where did both the third working group meeting and the 64th Congress take place?",
            [
                "Where did the third working group meeting take place?",
                "Where did the 64th Congress take place?",
            ],
        ),
    ],
)
def test_two_things_named_side_by_side_are_asked_of_each(question: str, parts: list[str]) -> None:
    c = C.parse(question)
    assert c.joint and [p.question for p in c.parts] == parts


def test_a_plain_list_of_words_is_not_two_things() -> None:
    for question in ("Какие компании и организации участвовали во встрече?",
                     "Что обсудили на встрече и на заседании?",  # nothing of their own
                     "Кто возглавил делегацию на конгрессе в Пекине?"):  # fmt: skip
        c = C.parse(question)
        assert not c.joint and not c.parts


def test_two_things_side_by_side_need_evidence_each() -> None:
    c = C.parse("Кто возглавлял делегации на 64-м конгрессе и на третьем заседании?")
    both = _hits("Делегацию на 64-м конгрессе возглавлял Талгат Мусабаев.",
                 "Делегацию на третьем заседании возглавлял Баубек Оралмагамбетов.")  # fmt: skip
    assert answerable.unstated_parts(c, both) == []
    one = both[:1]
    assert [p.question for p in answerable.unstated_parts(c, one)] == [c.parts[1].question]


def test_who_is_answered_first_by_a_sentence_naming_a_person_or_an_organisation() -> None:
    # both state the satellite and one qualifier; a rocket's name answers no "кто"
    rocket = "Следующий спутник, KazSat-2, был выведен на орбиту ракетой «Протон»."
    makers = "Спутник KazSat-2 построили Центр Хруничева и компания Thales Alenia Space."
    c = C.parse("Кто изготовил спутник KazSat-2?")
    assert E.check(c, rocket).ok(c) and E.check(c, makers).ok(c)
    best, _ = E.search(c, _hits(rocket, doc="a.txt") + _hits(makers, doc="b.txt"))
    assert best is not None and best.text == makers
    # a place is asked: the organisation is no better than any other name
    where = C.parse("Где изготовили спутник KazSat-2?")
    assert not E.check(where, makers).named


def test_a_name_stated_only_by_a_shared_stem_beside_another_of_its_kind_is_unmet() -> None:
    c = C.parse("Когда с космодрома Восточный впервые запустили ракету?")
    other = "Корабль «Восток» был впервые запущен с космодрома Байконур 12 апреля 1961 года."
    assert not E.check(c, other).ok(c)  # "Восток" shares the stem; the cosmodrome is another
    assert E.check(c, "Первую ракету с Восточного запустили 28 апреля 2016 года.").ok(c)
    # stated as it is, the name counts whatever else the sentence names
    both = "Ракету впервые запустили с космодрома Восточный, не с космодрома Байконур, в 2016 году."
    assert E.check(c, both).ok(c)


def test_a_clause_is_stated_in_the_setting_its_article_gives_and_by_people_it_names() -> None:
    pool = _hits(
        "Гагаринский старт — стартовая площадка космодрома Байконур.",
        "Его прославил полёт Гагарина.",
        "Место для полигона выбрали в 1954 году.",
        "Выбор утвердили в феврале.",
        "Строительство площадки № 1 военные строители начали 20 июля 1955 года.",
    )
    c = C.parse("Когда начали строить стартовую площадку № 1 на Байконуре и кто её строил?")
    assert [t.text for t in c.parts[1].numbers] == ["1"]  # "её": "площадку № 1"
    found = pool[4:]
    assert answerable.holds(c, found, pool)  # Байконур: where the article is set
    assert answerable.unanswered(c, found, "ru", pool) is None  # "военные строители" built it
    nobody = _hits(*[h.chunk.text for h in pool[:4]], "Площадку № 1 начали 20 июля 1955 года.")
    said = answerable.unanswered(c, nobody[4:], "ru", nobody)
    assert said == "В источниках не сказано, кто её строил."


def test_a_capital_is_stated_by_its_country() -> None:
    asked = C.parse("Какое по счёту заседание рабочей группы прошло в Пекине?")
    beijing = "В столице Китая прошло третье заседание рабочей группы."
    assert not E.check(asked, beijing, "Статья").unmet
    adjective = "В китайской столице прошло третье заседание рабочей группы."
    assert not E.check(asked, adjective, "Статья").unmet
    moscow = "В столице России прошло третье заседание рабочей группы."
    assert [t.text for t in E.check(asked, moscow, "Статья").unmet] == ["Пекине"]


def test_a_person_its_article_names_is_the_setting_beside_a_name_the_window_states() -> None:
    c = C.parse("Кто возглавлял администрацию города Байконур во время визита Петрова?")
    window = "На встрече участвовал глава администрации города Байконур Иван Сидоров."
    article = "Министр Павел Петров прибыл на космодром. " + window
    assert not E.check(c, window).ok(c)  # the visitor is named nowhere
    assert E.check(c, window, article=article).ok(c)
    other = "Министр Павел Кузнецов прибыл на космодром. " + window
    assert not E.check(c, window, article=other).ok(c)  # someone else's visit
    # not when the window states none of the question's own names: the article alone
    # does not say the window is about the question's subject
    c = C.parse("Кто встречал Петрова во время визита в Пекин?")
    window = "На встрече присутствовал Иван Сидоров."
    assert not E.check(c, window, article="Павел Петров прибыл в Пекин. " + window).ok(c)


def test_a_purpose_question_is_answered_by_a_purpose_clause() -> None:
    for q in ("Зачем компания открыла завод в Алматы?", "Для чего компания открыла завод в Алматы?",
              "С какой целью компания открыла завод в Алматы?"):  # fmt: skip
        assert C.parse(q).types == (C.PURPOSE,), q
    c = C.parse("Зачем компания открыла завод в Алматы?")
    assert not E.check(c, "Компания открыла завод в Алматы в 2020 году.").ok(c)
    assert E.check(c, "Компания открыла завод в Алматы, чтобы собирать спутники.").ok(c)
    assert E.check(c, "Компания открыла завод в Алматы для сборки спутников.").ok(c)
    # the purpose in the next sentence: "Целью является ..."
    said = "Компания открыла завод в Алматы. Целью является сборка спутников."
    assert E.check(c, said).ok(c)
    assert E.missing(c, E.check(c, "Компания открыла завод в Алматы в 2020 году."), "ru") == "зачем"


def test_a_window_joins_a_sentence_to_the_one_before_it_from_another_passage() -> None:
    def hit(text: str, start: int) -> Hit:
        return Hit(Chunk(f"d:{start}", "d", "", text, start, start + len(text)), 1.0)

    first = hit("Компания открыла завод в Алматы.", 0)
    second = hit("Целью является сборка спутников.", len(first.chunk.text) + 1)
    other = hit("Погода была хорошей.", 500)
    # the passage holding the second sentence ranked above the one holding the first
    pairs = [w.sentences for w in E.windows([second, other, first]) if len(w.sentences) == 2]
    assert pairs == [(first, second)]
    c = C.parse("Зачем компания открыла завод в Алматы?")
    best, _ = E.search(c, [second, other, first])
    assert best is not None and second in best.sentences


def test_a_list_holds_when_each_item_is_stated_by_a_window_that_answers() -> None:
    pool = _hits(
        "На 5-м заседании межправительственной комиссии по «Байконуру» приняли решения.",
        "Погода в тот день была хорошей.",
        "Предложения внесут на 6-м заседании межправительственной комиссии по «Байконуру».",
    )
    c = C.parse("Какие заседания межправительственной комиссии по «Байконуру» упоминаются?")
    found = [pool[0], pool[2]]
    assert answerable.holds(c, found, pool, "5-е и 6-е заседания [1][2].")
    # a number no answering window states is not held up by the others
    assert not answerable.holds(c, found, pool, "5-е и 7-е заседания [1][2].")


@pytest.mark.parametrize(
    ("question", "framing"),
    [
        # the sources themselves, and what "Назовите" asks for
        ("В статьях упомянуты два инженера. Назовите их фамилии и должности.",
         {"статьях", "упомянуты", "назовите", "фамилии", "должности"}),
        ("Какой спутник фигурирует в материале о запуске?", {"фигурирует", "материале"}),
        # the noun of a compound preposition
        ("На основе какого агентства создали корпорацию?", {"основе"}),
        ("Что подписали в ходе визита в рамках форума?", {"ходе", "рамках"}),
        # what "Чем ...?" and "В чём ...?" ask; not "Чем закончилась"
        ("Чем знаменит этот полигон?", {"знаменит"}),
        ("В чём заключается особенность орбиты?", {"заключается", "особенность"}),
        ("Чем закончились переговоры?", set()),
        ("Как звали человека по имени Ерлан?", {"человека", "имени"}),
    ],
)  # fmt: skip
def test_words_that_frame_a_question_narrow_nothing(question: str, framing: set[str]) -> None:
    assert framing_words(question) == framing
    assert not {t.text.lower() for t in C.parse(question).qualifiers} & framing


def test_a_question_whose_frame_is_all_it_shares_with_no_sentence_is_answered_by_the_fact() -> None:
    c = C.parse("Чем выделяется полигон Сарышаган по своему расположению?")
    assert E.check(c, "Полигон Сарышаган — самый большой полигон на берегу озера.").ok(c)


def test_a_phase_verb_before_its_infinitive_counts_where_it_is_stated() -> None:
    c = C.parse("Когда полигон Сарышаган начал работать?")
    kinds = [(t.text, t.kind) for t in c.qualifiers]
    assert kinds == [("полигон", "qualifier"), ("начал", "phase"), ("работать", "qualifier")]
    assert E.check(c, "Полигон Сарышаган введён в строй в 1956 году.").ok(c)
    assert E.check(c, "Полигон Сарышаган начали в 1956 году.").coverage == pytest.approx(2 / 3)
    # before a noun it is what is asked
    assert [t.kind for t in C.parse("Когда начали испытания?").qualifiers] == ["qualifier"] * 2
    # what began is still asked: a sentence about the polygon alone does not state it
    c = C.parse("Когда полигон Сарышаган начал испытывать ракеты?")
    assert not E.check(c, "Полигон Сарышаган введён в строй в 1956 году.").ok(c)


def test_what_the_question_says_its_source_is_about_is_stated_by_the_article() -> None:
    c = C.parse("Какая компания упоминается в материале о втором заседании комиссии?")
    assert [t.kind for t in c.qualifiers if t.text in ("втором", "заседании")] == ["topic"] * 2
    said = "На встрече выступила компания «Гамма»."
    article = "Прошло второе заседание комиссии. На встрече выступила компания «Гамма»."
    assert E.check(c, said, article=article).ok(c)
    other = "Прошло пятое совещание группы. На встрече выступила компания «Гамма»."
    assert not E.check(c, said, article=other).ok(c)


def test_a_place_named_as_another_kind_of_place_is_something_else() -> None:
    c = C.parse("Чем выделяется космодром Ишим по своему расположению?")
    (ishim,) = c.names
    assert ishim.head == "космодром"
    assert not E.check(c, "Космодром стоит к северу от реки Ишим, в степи.").ok(c)
    assert not E.check(c, "Космодром и город Байконур (прежде город Ишим) стоят в степи.").ok(c)
    assert E.check(c, "Космодром Ишим стоит в степи, севернее всех других.").ok(c)


def test_an_organisation_asked_for_by_its_kind_keeps_what_narrows_it() -> None:
    c = C.parse("С какими китайскими компаниями встречался руководитель РЦКС?")
    assert c.types == (C.PERSON,) and C.asks_organisation(c.question)
    assert "китайский" in {t.keys[0] for t in c.qualifiers if t.kind == "class"}
    # its answer is a company's name, often in Latin letters, where NER sees no one
    assert E.names_someone(c, "Shanghai Spacesail Technologies CO., Ltd. [1].")
    assert not C.asks_organisation("Кто возглавил делегацию?")
    # an organisation named in lower case by another kind than the question's answers it
    kind = C.parse("Какое ведомство управляет космодромом?")
    assert C.PERSON in E.check(kind, "Им управляет министерство обороны.").answers
    assert C.PERSON not in E.check(kind, "Им управляет ведомство.").answers


def test_what_is_counted_is_the_noun_past_its_adjectives() -> None:
    c = C.parse("Сколько пусковых площадок у космодрома Плесецк?")
    assert c.counted == "площадка"
    assert C.parse("Сколько новых спутников запустят?").counted == "спутник"
    assert C.parse("Сколько лет Рогозину?").counted is None  # a vague measure
    assert C.parse("Сколько стоил запуск?").counted is None  # no noun is counted
    # an anniversary's number is no count of the launch pads
    window = "Знаки отличия: юбилейный знак в ознаменование 50-летия образования СССР."
    assert C.NUMBER not in E.check(c, window, "Плесецк").answers
    assert C.NUMBER in E.check(c, "На космодроме Плесецк 9 пусковых площадок.").answers


def test_a_word_and_its_negation_are_no_synonyms() -> None:
    from rag.generate import matching as M

    assert M.negated("неудачный") and M.negated("невозможный")
    assert not any(M.negated(w) for w in ("удачный", "небесный", "неделя", "нефть"))
    c = C.parse("С неудачным запуском какого спутника поздравил Мусабаев главу агентства?")
    said = "Мусабаев поздравил главу агентства с успешным запуском спутника «Фэнъюнь-3»."
    v = E.check(c, said)
    assert "неудачным" in {t.text for t in v.unmet} and not v.ok(c)  # its opposite is said
    stated = "Мусабаев поздравил главу агентства с неудачным запуском спутника «Фэнъюнь-3»."
    assert E.check(c, stated).ok(c)


@pytest.mark.parametrize(
    ("question", "draft", "nothing"),
    [
        # the question echoed
        ("На каком этапе находится подготовка протокола?", "На этапе подготовки протокола [1].",
         True),
        ("Зачем площадку назвали Байконуром?", "Википедия [1] [2]", True),  # no purpose
        ("Сколько пусковых площадок у Плесецка?", "Плесецк имеет несколько площадок [1].", True),
        ("Какие организации стоят за проектом?", "Проект финансируется за счёт лицензий [1].",
         True),
        # a fact of the asked kind, right or wrong: the checks decide, not this
        ("Сколько пусковых площадок у Плесецка?", "У Плесецка 9 площадок [1].", False),
        ("Кто был командиром экипажа?", "Александр Викторенко [1].", False),
        ("Зачем площадку назвали Байконуром?", "Чтобы запутать наблюдателей [1].", False),
        ("Что обсуждали стороны?", "Стороны обсудили запуски [1].", False),  # "other": new words
        ("Когда стартовал корабль?", "", False),  # nothing drafted: nothing to judge
    ],
)  # fmt: skip
def test_a_draft_that_offers_nothing_of_the_asked_kind(question: str, draft: str,
                                                       nothing: bool) -> None:  # fmt: skip
    assert answerable.offers_nothing(C.parse(question), draft) is nothing


def test_a_name_the_draft_garbles_is_the_evidence_s_person() -> None:
    c = C.parse("Кто стоял во главе казахстанской делегации на заседании рабочей группы?")
    (found,) = _hits("В состав казахстанской делегации во главе с председателем комитета "
                     "Баубеком Оралмагамбетовым вошли руководители предприятий.")  # fmt: skip
    assert answerable.misnames(c, "Мирика Ильяевна Баубек [1].", [found])
    assert not answerable.misnames(c, "Александр Викторенко [1].", [found])  # someone else
    when = C.parse("Когда заседала рабочая группа?")  # not a "кто" question
    assert not answerable.misnames(when, "Мирика Ильяевна Баубек [1].", [found])
