"""Select, then say: choose the sentence that answers, then phrase it, or say the
sources are silent (``generation.strategy = "select"``).

1. Candidates: every sentence of the retrieved passages, each with its exact span
   (:mod:`candidates`); the best few by cheap features go to the judge.
2. Judge: one prompt holds the question and the shortlisted sentences; the
   model's probability of each sentence's number as the first token of its
   reply is its vote (read from the log-probabilities, not from generated
   text; the instructions and worked examples stay in the KV cache).
3. Calibrated score: a logistic model over the vote and the cheap features
   (passage score, lexical overlap, answer type, novelty, rank), fitted on
   the gold set (``rag eval --calibrate RUN``, weights in ``calibration.json``).
   Below ``selection.threshold`` the answer is a refusal.
4. Say: the model continues the same reply after the chosen number(s), so it
   reads nothing again; an English answer is constrained by a grammar to
   Latin script and uses the names' standard transliteration. The phrase is
   checked against the chosen sentence; if it fails, the answer is the
   sentence itself, verbatim ("quote").

A question that asks two things ("Где и когда ...") gets a second sentence when
the first lacks the second part's answer type.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from rag.generate import answer_types, citations, prompts, translit, verify
from rag.generate.candidates import Candidate, candidates, logistic, shortlist
from rag.generate.free import cite, gate
from rag.generate.strategy import (
    AnswerRequest,
    Done,
    Event,
    Evidence,
    Resources,
    Strategy,
    Token,
    since,
)
from rag.types import Answer, SentenceCheck

CALIBRATION = Path(__file__).with_name("calibration.json")
FEATURES = ("judge", "none", "dense", "lexical", "type", "novel", "rank")
# Before calibration: the judge's vote first, then lexical overlap and answer type.
DEFAULT_WEIGHTS = {
    "bias": -3.0, "judge": 5.0, "none": -2.0, "dense": 2.0, "lexical": 2.0,
    "type": 1.0, "novel": 0.5, "rank": 0.3,
}  # fmt: skip
# English answers: any character but a newline or a Cyrillic letter.
LATIN_GRAMMAR = r"root ::= [^\n\u0400-\u04FF]+"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CAPITAL = re.compile(r"(?<=\s)[A-Z][\w-]+")


@lru_cache(maxsize=4)
def load_weights(path: Path) -> dict[str, float]:
    """The calibrated weights (``calibration.json``); defaults when there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: float(v) for k, v in data["weights"].items()}
    except (OSError, ValueError, KeyError):
        return dict(DEFAULT_WEIGHTS)


def score(features: dict[str, float], weights: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * features.get(k, 0.0) for k in FEATURES)
    return logistic(z)


class SelectStrategy(Strategy):
    name = "select"

    def prefix(self) -> list[prompts.Message]:
        return prompts.select_prefix_messages()

    def answer(self, request: AnswerRequest, res: Resources) -> Iterator[Event]:
        cfg = res.config.selection
        query, language, timings = request.query, request.language, request.timings
        t = time.perf_counter()
        refusal = gate(query, request.hits, request.hits, res.config.retrieval.min_score)
        lexical = res.index.lexical
        pool = candidates(query, request.hits, lexical.idf if lexical is not None else None)
        short = shortlist(pool, cfg.max_candidates, cfg.budget_tokens) if refusal is None else []
        if refusal is None and not short:
            refusal = "no answer sentence"
        names = _names(short) if language == "en" else {}
        messages = prompts.select_messages(
            query, [c.text for c in short], "; ".join(f"{k} = {v}" for k, v in names.items()),
            language,
        )  # fmt: skip
        scored: list[tuple[float, Candidate, dict[str, float]]] = []
        if refusal is None:
            res.prefill(self.prefix())
            options = [str(i) for i in range(len(short) + 1)]
            with res.lock:
                logprobs = res.generator.option_logprobs(messages, options)
            votes = _softmax(logprobs)
            weights = load_weights(res.config.resolve(cfg.calibration))
            for i, c in enumerate(short, start=1):
                f = {**c.features, "judge": votes[i], "none": votes[0]}
                scored.append((score(f, weights), c, f))
            timings["judge"] = since(t)
        order = sorted(range(len(scored)), key=lambda i: -scored[i][0])
        chosen = _choose(query, scored, order, cfg.threshold) if refusal is None else []
        if refusal is None and not chosen:
            refusal = "no answer sentence"
        passages = [c.hit for c in short]
        numbers = [short.index(scored[i][1]) + 1 for i in chosen]
        phrase, tokens, mode, checks = "", 0, "select", []
        if refusal is None:
            yield Evidence(tuple(passages[n - 1] for n in numbers))
            timings["first_shown"] = request.since_start()
            forced = ",".join(str(n) for n in numbers) + "\n"
            grammar = LATIN_GRAMMAR if language == "en" else None
            held = ""  # the phrase's final punctuation goes after its citation
            with res.lock:
                for piece in res.generator.stream_reply(messages, forced, cfg.max_tokens, grammar):
                    tokens += 1
                    if "first_token" not in timings:
                        timings["first_token"] = request.since_start()
                    phrase += piece
                    out = held + piece
                    body = out.rstrip(".!?… ")
                    held = out[len(body) :]
                    if body:
                        yield Token(body)
            phrase = " ".join(phrase.split())
            evidence = [passages[n - 1].chunk.text for n in numbers]
            if language == "en":
                phrase = translit.latinise_answer(phrase, names)
            ok, method, support = check_phrase(phrase, evidence, query, language)
            text = citations.attach(phrase.rstrip(), numbers) if ok else ""
            checks.append(SentenceCheck(text or phrase, tuple(numbers), ok, method, support))
            if not ok:
                # The phrase says more (or other) than the chosen sentence: the answer
                # is the sentence itself, verbatim, with its citation.
                text = " ".join(citations.attach(" ".join(e.split()), [n])
                                for e, n in zip(evidence, numbers, strict=True))  # fmt: skip
                mode = "select-quote"
            yield Token(f" {_marks(numbers)}{held.strip()}" if ok else "\n\n" + text)
        else:
            text = prompts.ABSTAIN_TEXT.get(language, prompts.ABSTAIN_TEXT["en"])
            yield Token(text)
        timings["generate"] = since(t)
        timings["total"] = request.since_start()
        dated = tuple(passages)
        yield Done(
            Answer(
                question=request.question,
                answer=text,
                abstained=refusal is not None,
                citations=() if refusal is not None else cite(text, dated),
                passages=dated,
                timings_ms=timings,
                language=language,
                query=query,
                tokens_generated=tokens,
                mode=mode,
                sentences=tuple(checks),
                refusal=refusal,
                draft=phrase,
                strategy=self.name,
                candidates=tuple(
                    {
                        "n": short.index(c) + 1,
                        "score": round(s, 4),
                        "chosen": i in chosen,
                        "features": {k: round(v, 4) for k, v in f.items()},
                        "chunk_id": c.hit.chunk.chunk_id,
                        "start": c.hit.chunk.start,
                        "end": c.hit.chunk.end,
                    }
                    for i, (s, c, f) in enumerate(scored)
                ),
            )  # fmt: skip
        )


def _marks(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _softmax(logprobs: Sequence[float]) -> list[float]:
    top = max(logprobs)
    exps = [math.exp(x - top) if x > -math.inf else 0.0 for x in logprobs]
    total = sum(exps) or 1.0
    return [e / total for e in exps]


def _choose(
    query: str,
    scored: Sequence[tuple[float, Candidate, dict[str, float]]],
    order: Sequence[int],
    threshold: float,
) -> list[int]:
    """Indexes into ``scored`` of the chosen sentence(s): the best one when its score
    clears the threshold, and for a two-part question the best sentence holding
    the part the first one lacks (at half the threshold)."""
    if not order or scored[order[0]][0] < threshold:
        return []
    chosen = [order[0]]
    kind = answer_types.question_kind(query)
    if kind.two_part:
        first = scored[order[0]][1].text
        for missing in (k for k in kind.types if not answer_types.has_type(first, k)):
            for i in order[1:]:
                if scored[i][0] >= threshold / 2 and answer_types.has_type(
                    scored[i][1].text, missing
                ):
                    chosen.append(i)
                    break
    return chosen


def check_phrase(
    phrase: str, evidence: Sequence[str], question: str, language: str
) -> tuple[bool, str, float]:
    """Whether the phrased answer says only what the chosen sentence(s) say."""
    source = " ".join(evidence)
    if not phrase or prompts.NO_ANSWER in phrase or citations.looks_like_refusal(phrase):
        return False, "no phrase", 0.0
    if verify.restates(phrase, question):
        return False, "restates question", 0.0
    numbers = {n.replace(",", ".") for n in _NUMBER.findall(phrase)}
    if not numbers <= {n.replace(",", ".") for n in _NUMBER.findall(source + " " + question)}:
        return False, "number", 0.0
    if language == "en" and citations.detect_language(source) == "ru":
        known = {translit.latin(w).lower()[:4] for w in re.findall(r"\w+", source + " " + question)}
        names = [w for w in _CAPITAL.findall(" " + phrase) if w.lower()[:4] not in known]
        foreign = [w for w in names if not _english_word(w)]
        return (not foreign), "names", 1.0 if not foreign else 0.0
    support = verify.lexical_support(phrase, source, question)
    return support >= verify.LEXICAL_MIN, "lexical", round(support, 3)


_ENGLISH_CAPITALS = frozenset(
    "The A An It In On At By For Of To With From As This That These Those According Kazakhstan "
    "Kazakh China Chinese Russia Russian France French Space Agency Company Ministry Minister "
    "Republic President State National Deputy Vice Chairman Head Director General Center Centre "
    "Agreement Memorandum Council Group Government Prime Aerospace Committee Satellite".split()
)


def _english_word(word: str) -> bool:
    """Capitalised English words that are not names taken from the sources."""
    return word in _ENGLISH_CAPITALS


def _names(short: Sequence[Candidate]) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in short:
        for k, v in translit.glossary(c.text).items():
            out.setdefault(k, v)
    return dict(list(out.items())[:12])
