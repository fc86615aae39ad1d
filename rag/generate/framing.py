"""The words of a question that frame it rather than narrow what it asks.

No sentence that answers a question says "в статьях упомянуты", "Назовите", "на основе"
or "Чем выделяется": such words name the sources, the asked category, a compound
preposition or what the question asks, and :mod:`rag.generate.constraints` does not
make them qualifiers. A phase verb before its infinitive ("начал работать") counts only
where it is stated; what a question says its source article is about ("в материале о
третьем заседании") is stated by that article. General rules of Russian questions, not
of any one question.
"""

from __future__ import annotations

import re

from rag.generate.morphology import WORD, lemma, pos

# Words of a question that frame it and narrow nothing: they are never stated by the
# sentence that answers. The sources themselves ("в статьях упомянуты", "фигурирует в
# материале о ..."); what "Назовите ..." asks for ("их фамилии": the category the
# answer is an instance of, as in "Какая должность"); "человек по имени ..."; the noun
# of a compound preposition ("на основе какого ведомства", "в рамках визита", "в ходе
# встречи": a preposition, not a topic); and what "Чем ...?" / "В чём ...?" asks ("Чем
# выделяется космодром", "В чём особенность": the distinguishing fact answers, not the
# word).
_FRAMING = re.compile(
    r"(?<!\w)(?:(?:в|во|из|по)\s+(?:(?P<which>\w+)\s+)?(?P<source>стать[яиеюь]\w*|материал\w*"
    r"|публикаци\w*|источник\w*)"
    r"|(?P<mention>упомина\w*|упомян\w*|фигурир\w*|говорится|опишите|расскажите)"
    r"|(?P<imperative>назовите|перечислите|укажите)(?:\s+(?:их|его|её|ее|все|всех))?"
    r"(?:\s+(?P<asked>\w+)(?:\s*(?:,|и)\s+(?P<also>\w+))?)?"
    r"|(?:(?P<who>человек\w*|люд\w*)\s+)?по\s+(?P<named>имени|фамилии|прозвищу|названию)"
    r"|(?:в|во|на|с|со|при|по|за)\s+(?P<preposition>рамках|ходе|течение|связи|помощью"
    r"|результате|поводу|качестве|стороны|отношении|основе|основании|базе|целях|сч[её]т"
    r"|случаю|честь|мере|виде|итогам|линии|силу|лице|части|пользу|причине|протяжении"
    r"|период|процессе|соответствии|сравнению|адрес|преддверии|интересах)"
    r"|чем\s+(?:же\s+)?(?P<distinct>\w+)|в\s+ч[её]м\s+(?:же\s+)?(?P<gist>\w+(?:\s+\w+)?))(?!\w)",
    re.I,
)
# What an article is about, as the question names its source ("в материале о третьем
# заседании рабочей группы", "в статьях о сотрудничестве Казахстана и Китая"): its words
# are stated by the article, wherever in it, not by the answering sentence
_TOPIC = re.compile(
    r"(?<!\w)(?:в|во|из)\s+(?:стать[еяи]\w*|материал\w*|публикаци\w*|сообщени\w*|новост\w*)"
    r"\s+(?:о|об|обо|про)\s+([^,;?.!]+?)(?=\s*[,;?.!]|\s+и\s+(?:в|во)\s|$)",
    re.I,
)
# What "Чем ...?" and "В чём ...?" ask, when they ask what distinguishes something
_DISTINCT = frozenset(
    """выделяться выделиться отличаться отличиться известный знаменитый примечательный
    славиться прославиться запомниться уникальный особенный""".split()
)
_GIST = frozenset("особенность отличие уникальность суть смысл заключаться состоять".split())


# A phase verb before the infinitive that says what began ("начал работать", like
# "стал работать"): the answer may say it ("начали строить") or not ("введён в
# эксплуатацию"); it counts where it is stated
_PHASE = re.compile(r"(?<!\w)(начал\w*|начин\w*|начн\w*)\s+(\w+)", re.I)


def phase(question: str) -> set[str]:
    """The question's phase verbs before an infinitive (lower case, as written)."""
    return {m.group(1).lower() for m in _PHASE.finditer(question) if pos(m.group(2)) == "INFN"}


def topic(question: str) -> set[str]:
    """The words (lower case, as written) of what the question says its source is
    about ("в материале о третьем заседании": "третьем", "заседании")."""
    return {w.lower() for m in _TOPIC.finditer(question) for w in WORD.findall(m.group(1))}


def words(question: str) -> set[str]:
    """The question's words (lower case, as written) that only frame it."""
    out = set()
    for m in _FRAMING.finditer(question):
        if m.group("distinct"):
            if lemma(m.group("distinct")) in _DISTINCT:
                out.add(m.group("distinct").lower())
            continue
        if m.group("imperative"):  # "Назовите их фамилии и должности": what is asked
            out.add(m.group("imperative").lower())
            out |= {w.lower() for w in (m.group("asked"), m.group("also"))
                    if w and pos(w) == "NOUN"}  # fmt: skip
            continue
        if m.group("named"):  # "человек по имени Малик": a name is given, not asked
            out |= {w.lower() for w in (m.group("who"), m.group("named")) if w}
            continue
        if m.group("gist"):  # "В чём заключается особенность"
            out |= {w.lower() for w in m.group("gist").split() if lemma(w) in _GIST}
            continue
        if m.group("source") and m.group("which"):  # "в разных статьях", "в обеих"
            if pos(m.group("which")) not in ("ADJF", "ADJS", "NUMR", "PRTF"):
                continue
            out.add(m.group("which").lower())
        out.add(m.group(m.lastgroup or 0).lower())
    return out
