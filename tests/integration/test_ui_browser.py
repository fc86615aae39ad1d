"""The chat UI in a real headless Chromium, on the real models.

Installs what it needs: Debian's ``chromium`` (apt-get, as root) when
``/usr/bin/chromium`` is missing, and Playwright's Python package when it is
not importable (it drives the system Chromium; ``playwright install`` is never
run). Screenshots and the measured timings go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER_MS = 300_000  # two slow CPU cores; a queued answer waits for the one before it
QUESTION = "Сколько спутников группировки SpaceSail находится на орбите?"
FOLLOW_UP = "А когда начнётся строительство шлюзовой станции?"
# Corpus questions for the timing note: (question, a fact the answer should hold).
TIMED = [
    (QUESTION, "108"),
    ("Кто стоял во главе казахстанской делегации на заседании рабочей группы в Китае?", "Оралма"),
    ("Which private company is to be represented in the working group with Roscosmos?", "S7"),
]


def _run(cmd: list[str], what: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        pytest.fail(f"{what} failed ({' '.join(cmd)}): {' / '.join(tail)}", pytrace=False)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when it is not there yet."""
    if not CHROMIUM.exists():
        if not shutil.which("apt-get") or os.geteuid() != 0:
            pytest.fail(
                f"{CHROMIUM} is missing and cannot be installed here (needs apt-get as root); "
                "install Debian's `chromium` package",
                pytrace=False,
            )
        _run(["apt-get", "update", "-q"], "apt-get update")
        lock = "DPkg::Lock::Timeout=600"
        _run(["apt-get", "-o", lock, "install", "-y", "-q", "chromium"], "installing chromium")
    if not CHROMIUM.exists():
        pytest.fail(f"chromium installed, but {CHROMIUM} is still missing", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    try:
        import playwright  # noqa: F401
    except ImportError:
        _run([sys.executable, "-m", "pip", "install", "-q", "playwright==1.65.2"], "pip install")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 940})
    page = context.new_page()
    page.goto(app_url)
    page.locator("#question textarea").wait_for()
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def ask(page: Any, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()


def turn(page: Any, i: int, state: str = "done") -> Any:
    """The i-th exchange once it is in ``state`` (done: the answer has finished)."""
    loc = page.locator(f'#chat .turn[data-turn="{i}"]')
    page.locator(f'#chat .turn[data-turn="{i}"][data-state="{state}"]').wait_for(timeout=ANSWER_MS)
    return loc


def test_streamed_answer_cites_and_the_citation_opens_the_passage(page: Any) -> None:
    shot(page, "01-start")
    ask(page, QUESTION)
    page.locator('#chat .turn[data-turn="0"][data-state="streaming"]').wait_for()
    first = turn(page, 0)
    answer = first.locator(".a").inner_text()
    shot(page, "02-answer")
    assert "108" in answer, answer
    cites = first.locator("button.cite")
    assert cites.count() >= 1, answer

    marked = []
    for i in range(cites.count()):
        cites.nth(i).click()
        label = page.locator("#viewer .label")
        label.filter(has_text=f"Citation {cites.nth(i).inner_text()}").wait_for(timeout=15_000)
        marked.append(page.locator("#viewer mark").inner_text())
        if "108" in marked[-1]:
            break
    shot(page, "03-citation")
    assert any("108" in m for m in marked), marked
    assert page.locator("#viewer h3").inner_text().strip()
    assert page.locator("#sources table.sources tbody tr").count() >= 1

    ask(page, FOLLOW_UP)
    second = turn(page, 1)
    if second.locator("button.cite").count():  # the follow-up's own passage, for the picture
        second.locator("button.cite").first.click()
        page.locator('#viewer .label:has-text("in answer 2")').wait_for(timeout=15_000)
    shot(page, "04-follow-up")
    query = second.locator(".query")
    assert query.count() == 1, second.inner_html()
    print(f"\nfollow-up searched for: {query.inner_text()}")
    assert FOLLOW_UP not in query.inner_text()


def test_two_sessions_each_get_their_own_answer(browser: Any, app_url: str) -> None:
    questions = [QUESTION, TIMED[1][0]]
    contexts = [browser.new_context(viewport={"width": 1440, "height": 940}) for _ in questions]
    pages = [c.new_page() for c in contexts]
    try:
        for p in pages:
            p.goto(app_url)
            p.locator("#question textarea").wait_for()
        for p, q in zip(pages, questions, strict=True):
            ask(p, q)  # both at once: the second queues behind the first
        answers = [turn(p, 0).inner_text() for p in pages]
        for i, p in enumerate(pages):
            shot(p, f"05-session-{i + 1}")
            assert p.locator("#chat .turn").count() == 1
            assert p.locator("#chat .turn .error").count() == 0
        assert questions[0] in answers[0] and questions[1] not in answers[0]
        assert questions[1] in answers[1] and questions[0] not in answers[1]
        assert "108" in answers[0]
    finally:
        for c in contexts:
            c.close()


def test_errors_are_messages_and_the_app_goes_on(page: Any) -> None:
    ask(page, "вопрос " * 200)
    error = turn(page, 0, "error").locator(".error")
    assert "characters long" in error.inner_text()
    assert "Traceback" not in page.content()
    shot(page, "06-error")


def test_uploaded_article_is_searchable_at_once_and_can_be_removed(
    page: Any, tmp_path: Path
) -> None:
    article = tmp_path / "lunokhod.md"
    article.write_text(
        "# Казахстанский луноход\n\nИнженеры из Алматы испытают луноход «Жулдыз» "
        "на полигоне под Балхашем в 2031 году.\n",
        encoding="utf-8",
    )
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00\xff" * 200)
    page.get_by_role("tab", name="Articles").click()
    page.locator("#upload input[type=file]").set_input_files([str(article), str(broken)])
    log = page.locator("#upload-log")
    log.filter(has_text="added uploads/lunokhod.md").wait_for(timeout=ANSWER_MS)
    assert "broken.txt" in log.inner_text()
    assert "lunokhod.md" in page.locator("#articles").inner_text()
    shot(page, "07-upload")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "Где испытают луноход «Жулдыз»?")
    page.locator("#sources table.sources").wait_for(timeout=ANSWER_MS)
    assert "lunokhod.md" in page.locator("#sources tbody tr").first.inner_text()
    turn(page, 0)

    page.get_by_role("tab", name="Articles").click()
    page.locator("#remove-choice input").fill("uploads/lunokhod.md")
    page.keyboard.press("Enter")
    page.locator("#remove").click()
    log.filter(has_text="Removed uploads/lunokhod.md").wait_for(timeout=60_000)
    assert "lunokhod.md" not in page.locator("#articles").inner_text()


def test_a_pdf_citation_opens_on_its_page(page: Any) -> None:
    """An uploaded PDF is cited with its page, and the viewer shows that page's text."""
    pdf = ROOT / "tests" / "fixtures" / "docs" / "bulletin-reportlab.pdf"
    page.get_by_role("tab", name="Articles").click()
    page.locator("#upload input[type=file]").set_input_files([str(pdf)])
    log = page.locator("#upload-log")
    log.filter(has_text="added uploads/bulletin-reportlab.pdf").wait_for(timeout=ANSWER_MS)

    page.get_by_role("tab", name="Chat").click()
    # The contract is in the right-hand column of the bulletin's page 2.
    ask(page, "Сколько стоит контракт на поставку солнечных панелей?")
    first = turn(page, 0)
    sources = page.locator("#sources tbody tr").filter(has_text="bulletin-reportlab.pdf")
    assert sources.count() >= 1 and "p. " in sources.first.inner_text()
    cites = first.locator("button.cite")
    assert cites.count() >= 1, first.inner_text()
    cites.first.click()
    label = page.locator("#viewer .label")
    label.filter(has_text="Citation [").wait_for(timeout=15_000)
    shot(page, "09-pdf-citation")
    shown = re.search(r"p\. (\d+)(?:-(\d+))?", label.inner_text())
    assert shown is not None, label.inner_text()
    first, last = int(shown[1]), int(shown[2] or shown[1])
    assert first <= 2 <= last, label.inner_text()  # the passage may run on to page 3
    context = page.locator("#viewer .context").inner_text()
    assert "четыре миллиона евро" in context
    if first == 2:  # the viewer shows the passage's pages, not the whole document
        assert "Главным событием месяца" not in context

    page.get_by_role("tab", name="Articles").click()
    page.locator("#remove-choice input").fill("uploads/bulletin-reportlab.pdf")
    page.keyboard.press("Enter")
    page.locator("#remove").click()
    log.filter(has_text="Removed uploads/bulletin-reportlab.pdf").wait_for(timeout=60_000)


def test_time_to_first_token_and_full_answer(page: Any) -> None:
    """Measured in the browser: from the click to the first answer text, and to done."""
    page.evaluate(
        """() => {
        window.__t = {};
        const chat = document.getElementById('chat');
        new MutationObserver(() => {
          const turns = chat.querySelectorAll('.turn');
          const last = turns[turns.length - 1];
          if (!last || !window.__t.start) return;
          const a = last.querySelector('.a');
          const text = a ? a.innerText.replace(/^Assistant/i, '').replace(/[…\\s]/g, '')
                         .replace('searching', '') : '';
          if (!window.__t.first && text.length > 0) window.__t.first = performance.now();
          if (text !== window.__t.text) {  // each change of the visible answer text
            window.__t.text = text;
            window.__t.updates = (window.__t.updates || 0) + 1;
          }
          if (!window.__t.done && last.dataset.state !== 'streaming')
            window.__t.done = performance.now();
        }).observe(chat, {subtree: true, childList: true, characterData: true});
      }"""
    )
    rows = []
    for question, fact in TIMED:
        page.locator("#question textarea").fill(question)
        page.evaluate("() => { window.__t = {start: performance.now()}; }")
        page.locator("#send").click()
        page.wait_for_function("() => window.__t.done", timeout=ANSWER_MS)
        t = page.evaluate("() => window.__t")
        last = page.locator("#chat .turn").last
        text = last.locator(".a").inner_text()
        rows.append(
            {
                "question": question,
                "first_token_s": round((t["first"] - t["start"]) / 1000, 1),
                "full_answer_s": round((t["done"] - t["start"]) / 1000, 1),
                "has_fact": fact in text,
                "cited": last.locator("button.cite").count() > 0,
                "text_updates": t.get("updates", 0),
                "server": last.locator(".meta").get_attribute("title"),  # pipeline timings
                "load_avg": round(os.getloadavg()[0], 1),  # other work on the machine
            }
        )
        page.locator("#new").click()
        page.locator("#chat .empty").wait_for()
    shot(page, "08-timings")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ui-timings.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    print("\nUI timings (browser clock):")
    for r in rows:
        print(
            f"  first token {r['first_token_s']:5.1f} s, full answer {r['full_answer_s']:5.1f} s,"
            f" fact {'yes' if r['has_fact'] else 'no'}, {r['text_updates']} updates,"
            f" load {r['load_avg']}: {r['question']}"
            f"\n    ({r['server']})"
        )
    assert all(r["full_answer_s"] >= r["first_token_s"] > 0 for r in rows)
    # each answer holds its fact and cites its source (the timings are of right answers)
    assert [q for q, ok in ((r["question"], r["has_fact"]) for r in rows) if not ok] == []
    assert [r["question"] for r in rows if not r["cited"]] == []
