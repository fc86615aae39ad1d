"""`rag eval`: run the gold set through the pipeline and write a JSON and a Markdown report.

Retrieval is scored on ``pipeline.search(question, 10)`` with chunk ids as
passage ids; a chunk is relevant when it contains a supporting span of the
question (:func:`rag.eval.metrics.is_relevant`), and the ideal DCG counts every
relevant chunk in the whole index. Unanswerable questions have no relevant
chunk and are left out of the retrieval metrics. Answers, citations, refusals
and cost come from ``pipeline.ask(question)``, unless ``retrieval_only``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import PROJECT_ROOT, public_dict
from rag.errors import BadInputError, RagError
from rag.eval import metrics as m

# Writing and rendering a run live in rag.eval.report; these names stay importable here.
from rag.eval.report import HEADLINE as HEADLINE
from rag.eval.report import fmt as fmt
from rag.eval.report import index_info, rel, sha256, write_report
from rag.eval.report import render_markdown as render_markdown
from rag.types import AnswerKind, Draft, Refusal

GOLD_PATH = PROJECT_ROOT / "eval" / "gold" / "queries.jsonl"
# The articles the gold questions are about: the seeds and the eval corpus.
EVAL_CORPUS = (PROJECT_ROOT / "seeds", PROJECT_ROOT / "eval" / "corpus")
TYPES = ("single", "multi", "unanswerable")
LANGS = ("ru", "en")
K_VALUES = m.K_VALUES
SCHEMA = 1


@dataclass(frozen=True)
class Support:
    doc_id: str
    text: str


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    text: str
    lang: str
    type: str
    answerable: bool
    answer: str = ""
    key_facts: tuple[tuple[str, ...], ...] = ()
    supports: tuple[Support, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class EvalOptions:
    retrieval_only: bool = False
    limit: int | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    gold_path: Path = GOLD_PATH
    out_dir: Path | None = None  # the folder runs go in (default: config runs_dir)
    progress: bool = True


@dataclass(frozen=True)
class EvalResult:
    report: dict[str, Any]
    run_dir: Path

    @property
    def metrics(self) -> dict[str, float | None]:
        return dict(self.report["metrics"])


# -- gold set ----------------------------------------------------------------
def load_gold(path: Path) -> list[GoldQuestion]:
    """Read ``queries.jsonl``; a malformed line is a one-line error naming it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInputError(f"cannot read the gold set {path}: {exc.strerror}") from None
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            if line.strip():
                out.append(_question(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadInputError(f"{path}:{number}: not a gold question ({exc})") from None
    return out


def _question(row: dict[str, Any]) -> GoldQuestion:
    return GoldQuestion(
        row["_id"], row["text"], row.get("lang", "ru"), row["type"],
        bool(row.get("answerable", row["type"] != "unanswerable")), row.get("answer", ""),
        tuple(tuple(f) for f in row.get("key_facts", [])),
        tuple(Support(s["doc_id"], s["text"]) for s in row["supports"]), row.get("note", ""),
    )  # fmt: skip


def select(questions: Sequence[GoldQuestion], options: EvalOptions) -> list[GoldQuestion]:
    chosen = list(questions)
    if options.ids:
        known = {q.id for q in chosen}
        unknown = [i for i in options.ids if i not in known]
        if unknown:
            raise BadInputError(f"unknown question ids: {', '.join(unknown)}")
        wanted = set(options.ids)
        chosen = [q for q in chosen if q.id in wanted]
    if options.types:
        chosen = [q for q in chosen if q.type in options.types]
    if options.limit is not None:
        chosen = chosen[: options.limit]
    if not chosen:
        raise BadInputError("no gold questions match the selection")
    return chosen


def question_set_sha256(ids: Sequence[str]) -> str:
    return sha256("\n".join(sorted(ids)).encode())


# -- one question ---------------------------------------------------------------
def _supports(q: GoldQuestion) -> list[str]:
    return [s.text for s in q.supports]


def _retrieval(pipeline: Any, q: GoldQuestion, labels: dict[str, list[int]]) -> dict[str, Any]:
    started = time.perf_counter()
    hits = pipeline.search(q.text, max(K_VALUES))
    latency = (time.perf_counter() - started) * 1000.0
    supports = _supports(q)
    ranking = []
    for rank, hit in enumerate(hits, start=1):
        found = m.supports_in(hit.chunk.text, supports)
        ranking.append({
            "rank": rank, "chunk_id": hit.chunk.chunk_id, "doc_id": hit.chunk.doc_id,
            "score": round(float(hit.score), 4), "relevant": bool(found), "supports": found,
        })  # fmt: skip
    out: dict[str, Any] = {"latency_ms": round(latency, 1), "ranking": ranking}
    if q.answerable:
        relevant = {cid: 1 for cid in labels}
        ids = [r["chunk_id"] for r in ranking]
        out["n_relevant"] = len(relevant)
        out["first_relevant_rank"] = next((r["rank"] for r in ranking if r["relevant"]), None)
        out["scores"] = {
            **m.query_scores(relevant, ids, K_VALUES),
            **m.support_recall([r["supports"] for r in ranking], len(supports), K_VALUES),
        }
    return out


def _answer(pipeline: Any, q: GoldQuestion) -> dict[str, Any]:
    from rag.generate import extractive

    answer = pipeline.ask(q.text)
    draft = answer.variant or Draft("")
    supports = _supports(q)
    texts = [h.chunk.text for h in answer.passages]
    shown = []
    for h in answer.passages:
        doc = pipeline.document(h.chunk.doc_id)
        shown.append(f"{h.chunk.title} {doc.date if doc and doc.date else ''}\n{h.chunk.text}")
    out: dict[str, Any] = {
        "text": answer.answer,
        "abstained": answer.abstained,
        "refusal": answer.refusal,
        "kind": answer.kind,
        "mode": answer.mode,
        "draft": draft.text,
        "top_score": round(max((h.score for h in answer.passages), default=0.0), 4),
        "passages": [h.chunk.chunk_id for h in answer.passages],
        "context_has_support": any(m.is_relevant(t, supports) for t in texts),
        "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
        "tokens_generated": answer.tokens_generated,
        **_scores(q, answer.answer, answer.abstained, answer.passages, texts, shown),
    }
    # The same question answered other ways, for the with/without-verification table
    # and the refusal trade-off (rag eval --curves): what the model wrote before the
    # checks, and the passages' best sentences (no LLM). Both pass the same retrieval
    # gates as the answer; the model's own refusal counts for the draft.
    gated = answer.refusal is not None and answer.refusal.before_generation
    draft_refused = gated or answer.refusal is Refusal.MODEL or not draft.text.strip()
    extract = "" if gated else extractive.answer_text(answer.query, answer.passages)
    out["variants"] = {
        "unverified": _scores(q, draft.text, draft_refused, answer.passages, texts, shown),
        "extractive": _scores(q, extract, not extract, answer.passages, texts, shown),
    }
    out["strategy"] = answer.strategy
    if draft.checked:
        # The checked draft a quote replaced: the free strategy's answer, same generation.
        out["variants"]["drafted"] = _scores(q, draft.checked, False, answer.passages,
                                             texts, shown)  # fmt: skip
    if answer.kind is AnswerKind.FALLBACK:
        out["variants"]["no_fallback"] = _scores(q, "", True, answer.passages, texts, shown)
    return out


def _scores(
    q: GoldQuestion,
    text: str,
    abstained: bool,
    passages: Sequence[Any],
    texts: Sequence[str],
    shown: Sequence[str],
) -> dict[str, Any]:
    """Key facts and citations of one answer text to ``q``."""
    out: dict[str, Any] = {"abstained": abstained}
    if q.answerable:
        found = [] if abstained else m.key_facts_found(text, q.key_facts)
        out["key_facts_found"] = found
        out["key_fact_match"] = bool(found) and all(found)
        out["token_f1"] = 0.0 if abstained else m.token_f1(text, q.answer)
    if not abstained:
        scores = m.citation_scores(text, texts, _supports(q), shown)
        out["sentences"] = list(scores.sentences)
        out["citations"] = [
            {**dataclasses.asdict(v), "chunk_id": _chunk_id(passages, v.n)} for v in scores.verdicts
        ]
        out["citation_precision"] = scores.precision
        out["citation_recall"] = scores.recall
    return out


def _chunk_id(passages: Sequence[Any], n: int) -> str | None:
    return passages[n - 1].chunk.chunk_id if 1 <= n <= len(passages) else None


def _verdict(q: GoldQuestion, record: dict[str, Any]) -> str:
    answer = record.get("answer")
    if answer is None:
        if not q.answerable:
            return "unanswerable (not scored)"
        rank = record["retrieval"]["first_relevant_rank"]
        return f"hit@{rank}" if rank else "miss@10"
    if not q.answerable:
        return "correct refusal" if answer["abstained"] else "HALLUCINATION"
    if answer["abstained"]:
        return "FALSE REFUSAL"
    if answer["key_fact_match"]:
        return "correct"
    return "partial" if any(answer["key_facts_found"]) else "wrong"


# -- aggregation ------------------------------------------------------------------
def aggregate(records: Sequence[dict[str, Any]], with_cost: bool = False) -> dict[str, Any]:
    """Headline metrics of a group of per-question records (None: nothing to measure)."""
    answerable = [r for r in records if r["answerable"]]
    out: dict[str, Any] = dict(m.mean_dicts([r["retrieval"]["scores"] for r in answerable]))
    answered = [r for r in records if r.get("answer") is not None]
    if answered:
        scored = [r["answer"] for r in answered if r["answerable"]]
        replied = [r["answer"] for r in answered if not r["answer"]["abstained"]]
        out["ContextHit"] = m.mean(float(a["context_has_support"]) for a in scored)
        out["KeyFactAccuracy"] = m.mean(float(a["key_fact_match"]) for a in scored)
        out["KeyFactRecall"] = m.mean(
            sum(a["key_facts_found"]) / len(r["key_facts"]) if r["key_facts"] else None
            for r, a in ((r, r["answer"]) for r in answered if r["answerable"])
        )
        out["TokenF1"] = m.mean(a["token_f1"] for a in scored)
        out["CitationPrecision"] = m.mean(a["citation_precision"] for a in replied)
        out["CitationRecall"] = m.mean(a["citation_recall"] for a in replied)
        out.update(m.refusal_rates((r["answerable"], r["answer"]["abstained"]) for r in answered))
    if with_cost:
        out.update(_cost(records))
    return out


def _cost(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Latency p50/p95 per stage (the answer's timings; retrieval-only: our search) and tokens."""
    answers = [r["answer"] for r in records if r.get("answer") is not None]
    stages = {"retrieve": [r["retrieval"]["latency_ms"] for r in records]}
    if answers:
        stages = {
            s: [a["timings_ms"][s] for a in answers if s in a["timings_ms"]]
            for s in ("retrieve", "judge", "first_shown", "first_token", "generate", "total")
        }
    out: dict[str, float | None] = {
        f"Latency.{s}.p{q}_ms": _round(m.percentile(v, q))
        for s, v in stages.items()
        for q in (50, 95)
    }
    if answers:
        out["Tokens.mean"] = _round(m.mean(float(a["tokens_generated"]) for a in answers))
        out["Tokens.total"] = float(sum(a["tokens_generated"] for a in answers))
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _breakdown(records: Sequence[dict[str, Any]], key: str, values: Sequence[str]) -> dict:
    return {
        v: {"n": len(group), **aggregate(group)}
        for v in values
        if (group := [r for r in records if r[key] == v])
    }


# -- the run ------------------------------------------------------------------------
def eval_pipeline(pipeline: Any, corpus: Sequence[Path] = EVAL_CORPUS) -> tuple[Any, Any]:
    """The pipeline on its own eval index (``paths.eval_index_dir``), built to hold
    exactly the ``.txt`` articles of the ``corpus`` folders (not their notes, such
    as eval/corpus/SOURCES.md): only new or changed articles are embedded. The
    loaded models are shared. Returns (pipeline, IndexReport)."""
    config = pipeline.config
    paths = dataclasses.replace(config.paths, index_dir=config.eval_index_dir)
    evaluated = pipeline.with_config(dataclasses.replace(config, paths=paths))
    report = evaluated.build(sorted(p for folder in corpus for p in folder.glob("*.txt")))
    if report.problems:
        raise RagError(f"eval corpus: {report.problems[0]}")
    return evaluated, report


def run_eval(pipeline: Any, options: EvalOptions) -> EvalResult:
    """Evaluate ``pipeline`` on the selected gold questions and write the reports."""
    from tqdm import tqdm

    questions = select(load_gold(options.gold_path), options)
    started = time.perf_counter()
    chunks = [(c.chunk_id, c.text) for c in pipeline.index.chunks]
    records = []
    for q in tqdm(questions, desc="eval", unit="q", file=sys.stderr, disable=not options.progress):
        found = {cid: m.supports_in(text, _supports(q)) for cid, text in chunks}
        labels = {cid: f for cid, f in found.items() if f}
        record: dict[str, Any] = {
            "id": q.id, "text": q.text, "lang": q.lang, "type": q.type,
            "answerable": q.answerable, "note": q.note, "gold_answer": q.answer,
            "key_facts": [list(f) for f in q.key_facts],
            "supports": [dataclasses.asdict(s) for s in q.supports],
            "unfound_supports": sorted(
                set(range(len(q.supports))) - {i for f in labels.values() for i in f}
            ),
            "retrieval": _retrieval(pipeline, q, labels),
            "answer": None if options.retrieval_only else _answer(pipeline, q),
        }  # fmt: skip
        record["verdict"] = _verdict(q, record)
        records.append(record)
    report = _report(pipeline, options, questions, records, time.perf_counter() - started)
    run_dir = write_report(report, options.out_dir or pipeline.config.runs_dir)
    return EvalResult(report, run_dir)


def _report(
    pipeline: Any,
    options: EvalOptions,
    questions: Sequence[GoldQuestion],
    records: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    config = pipeline.config
    ids = [q.id for q in questions]
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": "retrieval-only" if options.retrieval_only else "full",
        "question_set": {"sha256": question_set_sha256(ids), "n": len(ids), "ids": ids},
        "gold": {
            "path": rel(options.gold_path),
            "sha256": sha256(options.gold_path.read_bytes()),
        },
        "selection": {k: getattr(options, k) for k in ("limit", "ids", "types")},
        "models": {
            "embedding_model_id": config.embedding.model_id,
            "embedding_sha256": config.embedding.sha256,
            "llm_model_id": config.generation.model_id,
            "llm_sha256": config.generation.sha256,
        },
        "index": index_info(config.index_dir),
        "config": public_dict(config),  # paths as str, secrets redacted
        "seconds": round(seconds, 1),
        "metrics": aggregate(records, with_cost=True),
        "by_type": _breakdown(records, "type", TYPES),
        "by_lang": _breakdown(records, "lang", LANGS),
        "questions": records,
    }
