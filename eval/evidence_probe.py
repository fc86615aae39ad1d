"""Probe the sentence-level evidence check on the gold set, without any model.

For every gold question: is there a window of sentences of its gold article that
satisfies the question's constraints (an answerable question: else the check would
refuse it), and is there one anywhere in the corpus (an unanswerable or near-miss
question: then only the model's draft stands between it and a confident wrong
answer)? Sweeps MIN_COVERAGE and reports both rates, out of fold: the threshold
is chosen on k-1 folds (lowest false refusal at hallucination <= the target, else
the best sum) and scored on the held-out fold.

    python eval/evidence_probe.py [--nearmiss eval/gold/nearmiss.jsonl] [--folds 5]
    python eval/evidence_probe.py --retrieve   # the real retrieval and packing

With ``--retrieve`` every question is asked of the eval index with the real
embedder (no LLM): the windows checked are the sentences of the passages the model
would read, as in ``rag ask``; that is the gate's own operating data.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.generate import constraints as C  # noqa: E402
from rag.generate import evidence as E  # noqa: E402
from rag.generate import translated  # noqa: E402
from rag.ingest.chunk import sentence_spans  # noqa: E402
from rag.ingest.load import load_paths  # noqa: E402
from rag.types import Chunk, Hit  # noqa: E402

GRID = [0.0, 0.2, 0.25, 0.3, 0.34, 0.4, 0.45, 0.5, 0.6, 0.67, 0.75, 0.8, 1.0]


def corpus() -> dict[str, list[Hit]]:
    docs, _ = load_paths([ROOT / "seeds", ROOT / "eval" / "corpus"])
    out: dict[str, list[Hit]] = {}
    for d in docs:
        hits = []
        for a, b in sentence_spans(d.text):
            text = d.text[a:b]
            hits.append(Hit(Chunk(f"{d.doc_id}:{a}", d.doc_id, d.title, text, a, b), 1.0))
        out[d.doc_id.split("/")[-1]] = hits
    return out


def packer(mode: str = "both"):  # type: ignore[no-untyped-def]
    """question -> the sentences of the passages the model would read (eval index): as
    packed ("packed"), every retrieved passage whole ("hits"), or both ("both": `quote`
    looks at the second when the first holds no evidence)."""
    from rag.config import load_config
    from rag.eval.runner import eval_pipeline
    from rag.generate.quote import passage_sentences
    from rag.pipeline import Pipeline
    from rag.retrieve import context

    pipe, _ = eval_pipeline(Pipeline(load_config(None)))
    g = pipe.config.generation

    def pools(question: str) -> list[list[Hit]]:
        hits = pipe.search(question)
        passages = context.pack(question, hits, g.context_budget_tokens, g.trim_context)
        chosen = {"packed": [passages], "hits": [hits], "both": [passages, hits]}[mode]
        return [[h for _, h in passage_sentences(p)] for p in chosen]

    pools.words = pipe.word_vectors  # type: ignore[attr-defined]
    return pools


def best_coverage(c: C.Constraints, sentences: list[Hit]) -> float:
    """The highest qualifier coverage among windows that meet every strict constraint
    (-1 when none does): a window is evidence at threshold t iff this >= t. Two
    things named side by side (``joint``) need a window each: the lower of the two."""
    if c.joint:
        return min(best_coverage(part, sentences) for part in c.parts)
    best = -1.0
    for cand in E.windows(sentences):
        v = cand.check(c)
        if not v.unmet and v.adds and len(v.answers) == len(c.types):
            best = max(best, v.coverage)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default=str(ROOT / "eval/gold/queries.jsonl"))
    ap.add_argument("--nearmiss", default=str(ROOT / "eval/gold/nearmiss.jsonl"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--target", type=float, default=0.10)
    ap.add_argument("--retrieve", action="store_true", help="real retrieval and packing")
    ap.add_argument(
        "--pool",
        choices=("packed", "hits", "both"),
        default="both",
        help="with --retrieve: what the model reads, every retrieved passage, or both",
    )
    ap.add_argument("--dump", help="write each question's best coverage (JSON lines) here")
    ap.add_argument("--lang", choices=("ru", "en"), help="only the questions in this language")
    args = ap.parse_args()
    docs = corpus()
    everything = [h for hits in docs.values() for h in hits]
    packed = packer(args.pool) if args.retrieve else None
    rows = []
    files = [args.gold] + ([args.nearmiss] if Path(args.nearmiss).exists() else [])
    for f in files:
        for line in open(f, encoding="utf-8"):
            q = json.loads(line)
            if args.lang and q.get("lang") != args.lang:
                continue
            text = q.get("text") or q["question"]
            c = C.parse(text)
            kind = "answerable" if q.get("answerable", True) else "unanswerable"
            kind = "nearmiss" if kind == "unanswerable" and f == args.nearmiss else kind
            if packed is not None:
                pools = packed(text)  # an English name as the last (widest) pool translates it
                c = translated.senses(c, pools[-1], packed.words)  # type: ignore[attr-defined]
            elif kind == "answerable":
                pools = [docs[q["supports"][0]["doc_id"].split("/")[-1]]]
            else:
                pools = [everything]
            rows.append((kind, q.get("_id"), max(best_coverage(c, p) for p in pools)))
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for kind, qid, best in rows:
                out.write(json.dumps({"kind": kind, "id": qid, "best": best}) + "\n")
    report(rows, args.folds, args.target)


def rates(rows: list[tuple[str, str, float]], t: float) -> dict[str, float]:
    out = {}
    for kind in ("answerable", "unanswerable", "nearmiss"):
        sel = [r for r in rows if r[0] == kind]
        if sel:
            passed = sum(1 for r in sel if r[2] >= t) / len(sel)
            out[kind] = (1 - passed) if kind == "answerable" else passed
    return out


def report(rows: list[tuple[str, str, float]], folds: int, target: float) -> None:
    print("threshold  false-refusal  hallucination(hand)  hallucination(near-miss)")
    for t in GRID:
        r = rates(rows, t)
        print(
            f"{t:9.2f}  {r.get('answerable', 0):13.3f}  {r.get('unanswerable', 0):19.3f}  "
            f"{r.get('nearmiss', float('nan')):24.3f}"
        )
    rng = random.Random(0)
    order = list(range(len(rows)))
    rng.shuffle(order)
    held: list[tuple[str, str, float, float]] = []
    for k in range(folds):
        test = [rows[i] for i in order[k::folds]]
        train = [rows[i] for j, i in enumerate(order) if j % folds != k]
        t = choose(train, target)
        held += [(*r, t) for r in test]
    chosen = [h[3] for h in held]
    print(f"out-of-fold thresholds: {sorted(set(chosen))}")
    for kind in ("answerable", "unanswerable", "nearmiss"):
        sel = [h for h in held if h[0] == kind]
        if not sel:
            continue
        passed = sum(1 for h in sel if h[2] >= h[3]) / len(sel)
        name = "false refusal" if kind == "answerable" else f"hallucination ({kind})"
        print(
            f"out of fold {name}: {(1 - passed) if kind == 'answerable' else passed:.3f}"
            f" (n={len(sel)})"
        )


def choose(rows: list[tuple[str, str, float]], target: float) -> float:
    scored = []
    for t in GRID:
        r = rates(rows, t)
        hall = max(r.get("unanswerable", 0.0), r.get("nearmiss", 0.0))
        scored.append((hall > target, r.get("answerable", 0.0) + hall, t))
    return min(scored)[2]


if __name__ == "__main__":
    main()
