"""Eight users at once on the real app (real models), through Gradio's own client.

The app is ``ui.app.launch`` on 127.0.0.1 and a free port (``app_url`` in
``conftest.py``). Eight threads each open their own ``gradio_client.Client``
(a session of its own, so its own chat state), wait for the others, and send
one corpus question to the chat endpoint ``/ask`` at the same moment.

To keep the run within a few minutes on two CPU cores, six users set their
session's answer mode to extractive (sentences quoted from the passages, no
LLM) and two to generative (the LLM writes the answer); that is the UI's own
per-session "Answer by" setting. The app serves answers one at a time
(``concurrency_id="pipeline"``, limit 1), so the others must wait in Gradio's
queue, not fail.

Each user's answer must be complete (finished, cited, not an error, not
"no answer"), hold its own distinctive fact, cite its own article, show its
own question and none of the other users' questions or facts.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from dataclasses import dataclass, field

import pytest

pytestmark = pytest.mark.integration

# (question, facts: any one must be in the answer, the article it comes from, mode).
# Questions from eval/gold/queries.jsonl (the first two shortened as in the issue).
USERS = [
    ("Сколько спутников группировки SpaceSail находится на орбите?", ("108",),
     "002_c21ede6ce74cac7a.txt", "generative"),
    ("Сколько объектов на космодроме приняла казахстанская сторона?", ("243",),
     "004_f38e6b3e54fcb9da.txt", "generative"),
    ("С каким вице-министром провели встречу члены ESV во время визита?", ("Олжабеков",),
     "000_c933024764f0f509.txt", "extractive"),
    ("Какая частная компания будет представлена в рабочей группе вместе с Роскосмосом и "
     "аэрокосмическим комитетом?", ("С7", "S7"), "001_2d54ee6995638d12.txt", "extractive"),
    ("На базе какого центра космической связи SpaceSail собирается построить шлюзовую станцию?",
     ("Акколь",), "002_c21ede6ce74cac7a.txt", "extractive"),
    ("Кто возглавлял правление Китайской корпорации аэрокосмической науки и техники (ККАНТ)?",
     ("Дачжэ",), "003_f811c8d17b2eac15.txt", "extractive"),
    ("Кто занимал пост президента Китайской промышленной корпорации «Великая стена»?",
     ("Ляминь",), "003_f811c8d17b2eac15.txt", "extractive"),
    ("Кто был спецпредставителем Президента Казахстана на комплексе «Байконур»?",
     ("Кожаниязов",), "004_f38e6b3e54fcb9da.txt", "extractive"),
]  # fmt: skip
PASSAGES = 5
ANSWER_S = 900  # one user's limit: in the worst case it waits for all the others
TAG = re.compile(r"<[^>]+>")


@dataclass
class Served:
    """What one user saw."""

    chat: str = ""
    sources: str = ""
    answer: str = ""  # the answer's text, tags removed
    cited_docs: set[str] = field(default_factory=set)
    queued_rank: int | None = None  # the highest queue position reported to this user
    updates: int = 0  # views streamed to this user
    seconds: float = 0.0  # from the common start to this user's full answer
    error: BaseException | None = None


def _answer_text(chat: str) -> str:
    match = re.search(r'<div class="a[^"]*"><span class="who">Assistant</span>(.*?)</div>', chat)
    return html.unescape(TAG.sub("", match.group(1))) if match else ""


def _cited_docs(sources: str) -> set[str]:
    """The doc_ids of the source rows the answer cites."""
    return set(re.findall(r'<tr class="cited">.*?<div class="doc">([^<]+)</div>', sources))


def test_eight_users_at_once_each_get_their_own_answer(
    app_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from gradio_client import Client
    from gradio_client.utils import Status

    caplog.set_level(logging.WARNING)
    results = [Served() for _ in USERS]
    ready = threading.Barrier(len(USERS) + 1)
    start: dict[str, float] = {}

    def user(i: int) -> None:
        question, _, _, mode = USERS[i]
        out = results[i]
        try:
            client = Client(app_url, verbose=False)  # a session of its own
            ready.wait(120)
            job = client.submit(question, PASSAGES, "auto", mode, api_name="/ask")
            deadline = time.monotonic() + ANSWER_S
            while not job.done():
                status = job.status()
                if status.code == Status.IN_QUEUE and status.rank is not None:
                    out.queued_rank = max(out.queued_rank or 0, status.rank)
                if time.monotonic() > deadline:
                    job.cancel()
                    raise TimeoutError(f"no answer in {ANSWER_S} s")
                time.sleep(0.2)
            out.chat, out.sources, _box = job.result(timeout=30)
            out.seconds = time.perf_counter() - start["t"]
            out.updates = len(job.outputs())
            out.answer = _answer_text(out.chat)
            out.cited_docs = _cited_docs(out.sources)
        except BaseException as exc:  # reported below, with the others
            out.error = exc

    threads = [threading.Thread(target=user, args=(i,), name=f"user-{i}") for i in range(8)]
    for t in threads:
        t.start()
    ready.wait(120)  # every client connected: go
    start["t"] = time.perf_counter()
    for t in threads:
        t.join(ANSWER_S + 60)
    wall = time.perf_counter() - start["t"]

    served = [r for r in results if r.error is None and 'data-state="done"' in r.chat]
    print(f"\n{len(served)}/{len(USERS)} concurrent users served in {wall:.1f} s (wall time)")
    for (question, _, _, mode), r in zip(USERS, results, strict=True):
        print(
            f"  {mode:10} {r.seconds:6.1f} s, queued at {r.queued_rank}, {r.updates} updates,"
            f" cites {sorted(r.cited_docs)}: {question[:60]}\n    -> {r.answer[:160]!r}"
            + (f"\n    ERROR {r.error!r}" if r.error else "")
        )

    assert not any(t.is_alive() for t in threads), "a user is still waiting"
    assert [r.error for r in results] == [None] * len(USERS)
    for i, ((question, facts, doc, _), r) in enumerate(zip(USERS, results, strict=True)):
        who = f"user {i} ({question[:40]}…)"
        assert r.chat.count('class="turn"') == 1, who  # one exchange: its own session
        assert 'data-state="done"' in r.chat, who  # complete
        assert 'class="error"' not in r.chat and "Traceback" not in r.chat, who
        assert 'class="a abstained"' not in r.chat, f"{who} got no answer: {r.answer}"
        assert 'class="cite"' in r.chat, f"{who}: no citation in {r.answer}"
        assert html.escape(question) in r.chat, who  # its own question
        assert any(f in r.answer for f in facts), f"{who}: none of {facts} in {r.answer}"
        assert doc in r.cited_docs, f"{who}: cites {r.cited_docs}, not {doc}"
        for j, (other_q, other_facts, _, _) in enumerate(USERS):
            if j == i:
                continue
            assert html.escape(other_q) not in r.chat, f"{who} shows user {j}"
            leaked = [f for f in other_facts if f in r.answer]
            assert not leaked, f"{who}: user {j}'s {leaked} in {r.answer}"
    assert len(served) == len(USERS)
    # One answer at a time: with all eight sent at once, some had to wait in the queue.
    assert max(r.queued_rank or 0 for r in results) >= 1, [r.queued_rank for r in results]
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert not errors, [rec.getMessage() for rec in errors]
