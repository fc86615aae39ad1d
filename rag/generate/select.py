"""Select, then say: choose the sentence that answers, then phrase it, or say the
sources are silent (``generation.strategy = "select"``).

1. Candidates: every sentence of the retrieved passages, each with its exact span
   (:mod:`candidates`); the best few by cheap features go to the judge.
2. Judge: for each shortlisted sentence the LLM is asked "does it state the
   answer?", and its vote is P(yes) against P(no) as the first token of the
   reply (read from the log-probabilities, not from generated text). The
   instructions, worked examples and the question come first, so the KV cache
   keeps them while the sentences change: each costs only its own tokens.
3. Calibrated score: a logistic model over the vote, its margin over the other
   sentences' votes and the cheap features (passage score, lexical overlap,
   answer type, novelty, rank), fitted on the gold set
   (``rag eval --calibrate RUN``, weights in ``calibration.json``). Below the
   threshold the answer is a refusal.
4. Say: the judge's conversation about the chosen sentence goes on ("yes", then
   the request for a short answer), so the model reads almost nothing new; the
   sentences are judged best-prior last, so that conversation is usually still
   in the KV cache. An English answer is constrained by a grammar to Latin
   script and uses the names' standard transliteration. The phrase is checked
   against the chosen sentence; if it says more, the answer is the sentence
   itself, verbatim ("select-quote").

A question that asks two things ("Где и когда ...") gets a second sentence when
the first lacks the second part's answer type.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
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
FEATURES = ("judge", "margin", "dense", "lexical", "type", "novel", "rank")
# Before calibration: the judge's vote first, then lexical overlap and answer type.
DEFAULT_WEIGHTS = {
    "bias": -4.0, "judge": 4.0, "margin": 2.0, "dense": 2.0, "lexical": 2.0,
    "type": 1.0, "novel": 0.5, "rank": 0.3,
}  # fmt: skip
# English answers: any character but a newline or a Cyrillic letter.
LATIN_GRAMMAR = r"root ::= [^\n\u0400-\u04FF]+"


DEFAULT_THRESHOLD = 0.5


@lru_cache(maxsize=4)
def load_calibration(path: Path) -> tuple[dict[str, float], float]:
    """The calibrated weights and refusal threshold (``calibration.json``); the
    hand-set defaults when there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        weights = {k: float(v) for k, v in data["weights"].items()}
        return weights, float(data.get("threshold", DEFAULT_THRESHOLD))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return dict(DEFAULT_WEIGHTS), DEFAULT_THRESHOLD


def score(features: dict[str, float], weights: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * features.get(k, 0.0) for k in FEATURES)
    return logistic(z)


class SelectStrategy(Strategy):
    name = "select"

    def prefix(self) -> list[prompts.Message]:
        return prompts.judge_prefix_messages()

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
        scored: list[tuple[float, Candidate, dict[str, float]]] = []
        threshold = DEFAULT_THRESHOLD
        if refusal is None:
            res.prefill(self.prefix())
            votes = self._judge(query, short, res)
            weights, calibrated = load_calibration(res.config.resolve(cfg.calibration))
            threshold = cfg.threshold if cfg.threshold >= 0 else calibrated
            for i, c in enumerate(short):
                others = max((v for j, v in enumerate(votes) if j != i), default=0.0)
                f = {**c.features, "judge": votes[i], "margin": votes[i] - others}
                scored.append((score(f, weights), c, f))
            timings["judge"] = since(t)
        order = sorted(range(len(scored)), key=lambda i: -scored[i][0])
        chosen = _choose(query, scored, order, threshold) if refusal is None else []
        if refusal is None and not chosen:
            refusal = "no answer sentence"
        # Sources numbered by the calibrated score, the chosen sentence(s) first: the
        # answer cites [1] (and [2] for a second part), the others follow as context.
        ranked = chosen + [i for i in order if i not in chosen]
        short = [short[i] for i in ranked] if scored else short
        scored = [scored[i] for i in ranked] if scored else scored
        chosen = list(range(len(chosen)))
        passages = [c.hit for c in short]
        numbers = [n + 1 for n in chosen]
        phrase, tokens, mode, checks = "", 0, "select", []
        if refusal is None:
            yield Evidence(tuple(passages[n - 1] for n in numbers))
            timings["first_shown"] = request.since_start()
            evidence = [passages[n - 1].chunk.text for n in numbers]
            quote = " ".join(citations.attach(prompts.without_markers(" ".join(e.split())), [n])
                             for e, n in zip(evidence, numbers, strict=True))  # fmt: skip
            if cfg.phrase in ("all", language):
                messages = prompts.say_messages(
                    query, [short[n - 1].judged_text for n in numbers], language
                )
                held = ""  # the final punctuation goes after the citation, as in the text
                for piece in self._say(messages, language, cfg.max_tokens, res):
                    if "first_token" not in timings:
                        timings["first_token"] = request.since_start()
                    tokens += 1
                    phrase += piece
                    body = (held + piece).rstrip(".!?… ")
                    held = (held + piece)[len(body) :]
                    if body:
                        yield Token(body)
                phrase = " ".join(phrase.split())
                if language == "en":
                    # The glossary's inflected forms ("Китая" -> "Kitaya") are not shown
                    # to the model; its spellings are applied to what it wrote.
                    phrase = translit.latinise_answer(phrase, _names(evidence))
                chunk_ids = [passages[n - 1].chunk.chunk_id for n in numbers]

                def similarity(text: str) -> float:
                    # The claim is the question with its answer ("108." means nothing).
                    claim = res.embedder.embed_query(f"{query} {text}")
                    rows = res.index.rows_of(chunk_ids)
                    return max(res.index.similarity(claim, rows), default=0.0)

                ok, method, support = check_phrase(phrase, evidence, query, language, similarity)
                text = citations.attach(phrase.rstrip(), numbers) if ok else quote
                checks.append(SentenceCheck(text if ok else phrase, tuple(numbers), ok, method,
                                            support))  # fmt: skip
                # A phrase that says more (or other) than the chosen sentence is replaced
                # by the sentence itself, verbatim, with its citation.
                mode = "select" if ok else "select-quote"
                ending = phrase[len(phrase.rstrip(".!?… ")) :].strip()
                yield Token(f" {_marks(numbers)}{ending}" if ok else "\n\n" + text)
            else:
                text = quote
                timings["first_token"] = request.since_start()
                checks.append(SentenceCheck(text, tuple(numbers), True, "quoted", 1.0))
                yield Token(text)
        else:
            text = prompts.ABSTAIN_TEXT.get(language, prompts.ABSTAIN_TEXT["en"])
            yield Token(text)
        timings["generate"] = since(t)
        timings["total"] = request.since_start()
        yield Done(
            Answer(
                question=request.question,
                answer=text,
                abstained=refusal is not None,
                citations=() if refusal is not None else cite(text, passages, res.index.documents),
                passages=tuple(passages),
                timings_ms=timings,
                language=language,
                query=query,
                tokens_generated=tokens,
                mode=mode,
                sentences=tuple(checks),
                refusal=refusal,
                draft=phrase,
                strategy=self.name,
                candidates=tuple(_record(short, scored, chosen)),
            )
        )

    @staticmethod
    def _say(messages: list[prompts.Message], language: str, max_tokens: int,
             res: Resources) -> Iterator[str]:  # fmt: skip
        """The short answer, streamed (English: Latin script only, by grammar)."""
        grammar = LATIN_GRAMMAR if language == "en" else None
        with res.lock:
            yield from res.generator.stream_reply(messages, "", max_tokens, grammar)

    @staticmethod
    def _judge(query: str, short: Sequence[Candidate], res: Resources) -> list[float]:
        """P(yes) for each candidate, judged best-prior last (its conversation then
        stays in the KV cache for the answer)."""
        votes = [0.0] * len(short)
        with res.lock:
            for i in sorted(range(len(short)), key=lambda i: short[i].prior):
                lp = res.generator.option_logprobs(
                    prompts.judge_messages(query, short[i].judged_text), JUDGE_OPTIONS
                )
                p = [math.exp(x) if x > -math.inf else 0.0 for x in lp]
                votes[i] = (p[0] + p[1]) / ((p[0] + p[1] + p[2] + p[3]) or 1.0)
        return votes


JUDGE_OPTIONS = ("yes", "Yes", "no", "No")


def _record(
    short: Sequence[Candidate],
    scored: Sequence[tuple[float, Candidate, dict[str, float]]],
    chosen: Sequence[int],
) -> list[dict[str, object]]:
    """The judged sentences, for the eval (``rag eval --calibrate``)."""
    return [
        {
            "n": short.index(c) + 1,
            "score": round(s, 4),
            "chosen": i in chosen,
            "text": c.text,
            "features": {k: round(v, 4) for k, v in f.items()},
            "chunk_id": c.hit.chunk.chunk_id,
            "start": c.hit.chunk.start,
            "end": c.hit.chunk.end,
        }
        for i, (s, c, f) in enumerate(scored)
    ]


def _marks(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


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
    phrase: str,
    evidence: Sequence[str],
    question: str,
    language: str,
    similarity: Callable[[str], float] | None = None,
) -> tuple[bool, str, float]:
    """Whether the phrased answer says only what the chosen sentence(s) say: its numbers
    are theirs, and its words are (same script) or its meaning is close to their
    passage's (an English phrase of Russian text: ``similarity``, a cosine)."""
    source = " ".join(evidence)
    if not phrase or prompts.NO_ANSWER in phrase or citations.looks_like_refusal(phrase):
        return False, "no phrase", 0.0
    if verify.restates(phrase, question):
        return False, "restates question", 0.0
    if not verify.numbers(phrase) <= verify.numbers(source + " " + question):
        return False, "number", 0.0
    if citations.detect_language(phrase) != citations.detect_language(source):
        if similarity is None:
            return True, "numbers", 1.0
        cosine = similarity(phrase)
        return cosine >= verify.SEMANTIC_MIN, "semantic", round(cosine, 3)
    support = verify.lexical_support(phrase, source, question)
    return support >= verify.LEXICAL_MIN, "lexical", round(support, 3)


def _names(texts: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in texts:
        for k, v in translit.glossary(text).items():
            out.setdefault(k, v)
    return dict(list(out.items())[:12])
