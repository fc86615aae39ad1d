"""Cleaning of scraped news pages: the real seed articles, then each general rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.ingest.clean import TITLE_MAX, clean_text, extract_html, html_to_text

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

EXPECTED = {
    "000_c933024764f0f509.txt": (
        "Космические перспективы Казахстана",
        None,
        "eurasian",
    ),
    "001_2d54ee6995638d12.txt": (
        "Первый вице-премьер РК провел переговоры с генеральным директором "
        "Роскосмоса Дмитрием Рогозиным",
        None,
        "Caravan.kz",
    ),
    "002_c21ede6ce74cac7a.txt": (
        "В столице Китая прошло третье заседание казахстанско-китайской рабочей "
        "группы по сотрудничеству в области космоса.",
        "2025-11-20",
        None,
    ),
    "003_f811c8d17b2eac15.txt": (
        "Глава Казкосмоса встретился с руководителями космической промышленности Китая",
        None,
        "Казинформ",
    ),
    "004_f38e6b3e54fcb9da.txt": (
        "На космодроме «Байконур» прошли переговоры казахстанских и российских специалистов",
        None,
        None,
    ),
}

# Raw line ranges (0-based, end exclusive) that hold the article body, labelled
# by hand: every non-blank line in them must survive as a paragraph, verbatim.
BODY_LINES = {
    "000_c933024764f0f509.txt": (6, 17),
    "001_2d54ee6995638d12.txt": (6, 21),
    "002_c21ede6ce74cac7a.txt": (2, 13),
    "003_f811c8d17b2eac15.txt": (11, 46),
    "004_f38e6b3e54fcb9da.txt": (2, 31),
}

KEY_SENTENCES = {
    "000_c933024764f0f509.txt": "Планируется создать космический\xa0хаб",
    "001_2d54ee6995638d12.txt": "сообщает Caravan.kz со ссылкой на пресс-службу",
    "002_c21ede6ce74cac7a.txt": (
        "На сегодняшний день на орбите находится 108 спутников группировки SpaceSail"
    ),
    "003_f811c8d17b2eac15.txt": "Талгат Мусабаев поздравил Сюй Дачже с успешным запуском",
    "004_f38e6b3e54fcb9da.txt": "в трехстороннем формате Казахстан – Россия – ОАЭ.",
}

JUNK = [
    "Войти",
    "Домой Технологии",
    "Опубликовано: 160",
    "Оставить комментарий",
    "Оставлять комментарии могут только зарегистрированные пользователи",
    "Хотите оставить комментарий",
    "Права на данный материал",
    "Материал размещён правообладателем",
    "ПОДПИСКА НА НОВОСТИ",
    "Ежедневная рассылка",
    "В новости упоминаются",
    "Разделы новостей",
    "Обсуждаемое",
    "Обновить",
    "Musabaev_Talgat",
    "date 2025",
]
JUNK_LINES = ["Компании", "Проекты", "Казинформ", "920", "3816", "0"]

SIDEBAR_003 = [
    "Российские БМПТ получили «теннисную сетку» для защиты от дронов",
    "Без кнута и пряника. Россия лишила Америку привычных рычагов влияния",
    "США могут купить у Украины технологии производства дронов",
    "ChatGPT-4 и нейросети (ИИ) спешат на помощь ГШ ВС РФ и Российской армии",
    "Для защиты заводов по переработке нефти развернули передвижные группы ПВО",
    'Комментарий к "Пропущенный вызов"',
    'Тяжелая БМП Т-15 на платформе "Армата", возможно, даже нужнее чем танк',
    "Пропущенный вызов",
    "США собираются применять «стратег» B-21 Raider и как беспилотный носитель ракет",
    "Украина вряд ли получит ракеты Tomahawk из-за опасности конфликта РФ и США",
    'В тему "обнуления Томагавков" и прочих БПЛА',
    "В России назвали способное обнулить ракеты Tomahawk оружие",
    "Ядерное оружие: иметь нельзя уничтожить",
    "Всемирное Смутное время: хочет ли в действительности Европа воевать",
    "Сербия представила новый 203-миллиметровый миномет",
    "Tomahawk",
    "БМПТ",
    "07.10",
    "13:17",
]


def _raw(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def _norm(line: str) -> str:
    """The test's own statement of the whitespace rule: runs collapse, ends trim."""
    return re.sub(r"\s{2,}", " ", line).strip()


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def seed(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, _raw(request.param)


def test_all_five_seeds_are_covered() -> None:
    assert sorted(p.name for p in SEEDS.glob("*.txt")) == sorted(EXPECTED)


def test_seed_title_date_source(seed: tuple[str, str]) -> None:
    name, raw = seed
    cleaned = clean_text(raw)
    assert (cleaned.title, cleaned.date, cleaned.source) == EXPECTED[name]


def test_seed_text_starts_with_title_once(seed: tuple[str, str]) -> None:
    name, raw = seed
    cleaned = clean_text(raw)
    assert cleaned.text.startswith(cleaned.title)
    assert cleaned.text.count(cleaned.title) == 1


def test_seed_has_no_junk(seed: tuple[str, str]) -> None:
    _, raw = seed
    text = clean_text(raw).text
    for junk in JUNK:
        assert junk not in text
    lines = text.split("\n")
    for junk in JUNK_LINES:
        assert junk not in lines
    assert not any(re.fullmatch(r"[\d\s•]+", line) for line in lines)


def test_seed_003_sidebar_is_gone() -> None:
    text = clean_text(_raw("003_f811c8d17b2eac15.txt")).text
    for headline in SIDEBAR_003:
        assert headline not in text
    assert "Мусабаев" in text  # the body, of course, stays


def test_seed_body_paragraphs_survive_verbatim_and_in_order(
    seed: tuple[str, str],
) -> None:
    name, raw = seed
    paragraphs = clean_text(raw).text.split("\n\n")
    start, end = BODY_LINES[name]
    expected = [_norm(line) for line in raw.split("\n")[start:end] if _norm(line)]
    assert expected
    positions = [paragraphs.index(p) for p in expected]  # ValueError if one is lost
    assert positions == sorted(positions)


def test_seed_key_sentence(seed: tuple[str, str]) -> None:
    name, raw = seed
    assert KEY_SENTENCES[name] in clean_text(raw).text


def test_seed_002_date_prefix_removed_sentence_kept() -> None:
    text = clean_text(_raw("002_c21ede6ce74cac7a.txt")).text
    assert text.startswith("В столице Китая прошло третье заседание")
    assert "date" not in text


def test_seed_attribution_stays_in_text() -> None:
    assert "Источник: eurasian" in clean_text(_raw("000_c933024764f0f509.txt")).text
    assert "Сара Нургалиева" in clean_text(_raw("003_f811c8d17b2eac15.txt")).text


def test_seed_layout(seed: tuple[str, str]) -> None:
    _, raw = seed
    text = clean_text(raw).text
    assert "\r" not in text and "\n\n\n" not in text
    assert text == text.strip()
    for line in text.split("\n"):
        assert line == line.strip()
        assert "  " not in line


# --- general rules, on pages made up to exercise them ------------------------

BODY = (
    "Первый абзац статьи достаточно длинный, чтобы считаться настоящим текстом новости о космосе."
)
BODY2 = "Второй абзац тоже длинный и заканчивается как обычное предложение в статье."


def test_feed_after_body_is_cut_without_any_marker() -> None:
    raw = (
        f"Заголовок новости дня\n\n{BODY}\n\n{BODY2}\n"
        "  • 07.10 13:17\n  • 25\nЧужой заголовок номер один\n"
        "  • 07.10 13:05\n  • 3\nЧужой заголовок номер два\n"
    )
    cleaned = clean_text(raw)
    assert cleaned.text == f"Заголовок новости дня\n\n{BODY}\n\n{BODY2}"


def test_inline_read_also_drops_line_but_keeps_later_body() -> None:
    raw = f"Заголовок новости дня\n\n{BODY}\n\nЧитайте также: Другая новость\n\n{BODY2}"
    text = clean_text(raw).text
    assert "Другая новость" not in text
    assert BODY2 in text


def test_related_list_at_end_is_cut() -> None:
    raw = f"Заголовок новости дня\n\n{BODY}\n\nПохожие новости\nОдна\nДругая новость\n"
    assert clean_text(raw).text == f"Заголовок новости дня\n\n{BODY}"


def test_comment_prompt_cuts_trailer() -> None:
    raw = f"Заголовок новости дня\n\n{BODY}\n\nОставить комментарий\n\nЛюбой хвост\n"
    assert "Любой хвост" not in clean_text(raw).text


def test_breadcrumb_ending_with_headline_is_not_the_title() -> None:
    raw = f"Новости Космос Запуск спутника KazSat\n\nЗапуск спутника KazSat\n\n{BODY}"
    cleaned = clean_text(raw)
    assert cleaned.title == "Запуск спутника KazSat"
    assert "Новости Космос" not in cleaned.text


def test_long_first_sentence_title_is_cut_on_word_boundary() -> None:
    sentence = " ".join(["Космическое"] * 30) + " событие произошло."
    cleaned = clean_text(sentence + " Второе предложение.")
    assert len(cleaned.title) <= TITLE_MAX
    assert cleaned.text.startswith(cleaned.title)
    assert cleaned.text[len(cleaned.title)] == " "


def test_first_sentence_not_split_at_initials() -> None:
    raw = (
        "А. Мамин провел встречу с руководством отрасли в городе Байконыр сегодня. "
        "Потом было второе предложение."
    )
    assert clean_text(raw).title.startswith("А. Мамин провел встречу")
    assert clean_text(raw).title.endswith("сегодня.")


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("20 ноября 2025", "2025-11-20"),
        ("Опубликовано: 20.11.2025 14:30", "2025-11-20"),
        ("2025-11-20", "2025-11-20"),
        ("date 2025-11-20", "2025-11-20"),
    ],
)
def test_header_date_lines(line: str, iso: str) -> None:
    cleaned = clean_text(f"Заголовок новости дня\n{line}\n\n{BODY}")
    assert cleaned.date == iso
    assert "2025" not in cleaned.text


def test_date_inside_body_is_not_the_page_date() -> None:
    raw = f"Заголовок новости дня\n\n{BODY} Концепция от 26.12.2016 принята."
    assert clean_text(raw).date is None


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("Источник: https://www.example.kz/news/1", "example.kz"),
        ("Об этом сообщает МИА «Казинформ».", "Казинформ"),
        ("Права на данный материал принадлежат Tengrinews", "Tengrinews"),
    ],
)
def test_source_forms(line: str, source: str) -> None:
    assert clean_text(f"Заголовок новости дня\n\n{BODY}\n\n{line}").source == source


def test_photo_caption_is_not_the_source() -> None:
    raw = f"Заголовок новости дня\nИван Иванов. Источник: vesti.kz.\n\n{BODY}"
    cleaned = clean_text(raw)
    assert cleaned.source is None
    assert "vesti.kz" not in cleaned.text


def test_whitespace_and_newlines_normalised() -> None:
    raw = f"Заголовок   новости\xa0\xa0дня  \r\n\r\n\xa0\r\n{BODY}   \r\n"
    assert clean_text(raw).text == f"Заголовок новости дня\n\n{BODY}"


def test_a_paragraph_is_never_junk_even_if_it_starts_like_menu() -> None:
    para = "Домой космонавты вернулись в пятницу после долгого полёта на орбитальной станции."
    assert para in clean_text(f"Заголовок новости дня\n\n{para}").text


def test_empty_page() -> None:
    assert clean_text("  \n\xa0\n") == clean_text("")
    assert clean_text("").text == ""


def test_title_hint_wins_even_if_it_looks_like_a_menu_word() -> None:
    cleaned = clean_text(f"Проекты\n\n{BODY}", title_hint="Проекты")
    assert cleaned.title == "Проекты"
    assert cleaned.text == f"Проекты\n\n{BODY}"


# --- HTML ---------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title>Спутник запущен | Сайт</title>
<meta property="article:published_time" content="2025-03-04T10:00:00+05:00">
<script>var menu = "Войти в систему";</script><style>p { color: red }</style></head>
<body><header><h1>Логотип</h1><nav><ul><li>Политика</li><li>Космос</li></ul></nav></header>
<main><article><h1>Спутник   KazSat-2 запущен</h1>
<p>Первый абзац о запуске&nbsp;спутника, который прошёл успешно.</p>
<p>Второй <b>абзац</b> со <a href="/x">ссылкой</a>.<br>Строка после переноса.</p>
<div><p>Третий абзац.</p></div>
<aside>Читайте также: другое</aside><form><input> Подписаться</form>
</article></main><footer>© 2025 Сайт</footer><noscript>Включите JS</noscript>
</body></html>"""


def test_html_main_text_with_paragraphs_and_title_first() -> None:
    text = html_to_text(PAGE)
    assert text.split("\n")[0] == "Спутник KazSat-2 запущен"
    assert "Первый абзац о запуске\xa0спутника, который прошёл успешно." in text
    assert "Второй абзац со ссылкой.\nСтрока после переноса.\n\nТретий абзац." in text
    for chrome in ["Войти", "color", "Политика", "Логотип", "Сайт", "JS", "другое"]:
        assert chrome not in text


def test_html_then_clean_gives_title_and_date() -> None:
    title, text = extract_html(PAGE)
    cleaned = clean_text(text, title_hint=title)
    assert cleaned.title == "Спутник KazSat-2 запущен"
    assert cleaned.date == "2025-03-04"
    assert cleaned.text.split("\n\n")[1].startswith("Первый абзац")


def test_html_without_article_uses_title_tag_and_body() -> None:
    title, text = extract_html(
        "<html><head><title>Новость | Сайт</title></head><body><p>Абзац.</p>"
        "<footer>подвал</footer></body></html>"
    )
    assert title == "Новость"
    assert text == "Новость\n\nАбзац."


def test_html_page_wrapped_in_a_form_keeps_its_text() -> None:
    text = html_to_text("<body><form><p>Статья целиком внутри формы.</p></form></body>")
    assert "Статья целиком внутри формы." in text


def test_html_deep_nesting() -> None:
    text = html_to_text("<div>" * 3000 + "<p>глубоко</p>" + "</div>" * 3000)
    assert text == "глубоко"


def test_short_note_without_body_paragraph_is_kept() -> None:
    cleaned = clean_text("Войти\n\nКороткая заметка.\n")
    assert (cleaned.title, cleaned.text) == ("Короткая заметка.", "Короткая заметка.")


def test_copyright_caption_mid_article_does_not_cut_the_body() -> None:
    raw = f"Заголовок новости дня\n\n{BODY}\n\n© Фото: пресс-служба\n\n{BODY2}\n\n© 2025 Сайт"
    text = clean_text(raw).text
    assert text == f"Заголовок новости дня\n\n{BODY}\n\n{BODY2}"


def test_html_date_from_article_time_not_from_sidebar() -> None:
    title, text = extract_html(
        "<body><aside><time datetime='2020-01-01'>1 янв</time></aside>"
        "<article><h1>Новость</h1><time datetime='2025-02-03T10:00'>3 февраля</time>"
        "<p>Текст.</p></article></body>"
    )
    assert clean_text(text, title_hint=title).date == "2025-02-03"


def test_paragraph_repeated_in_a_row_is_kept_once() -> None:
    assert clean_text(f"{BODY}\n\n{BODY}\n\n{BODY2}").text == f"{BODY}\n\n{BODY2}"
