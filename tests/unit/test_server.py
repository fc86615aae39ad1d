"""The HTTP API over a fake pipeline: shapes, SSE framing, errors, auth, limits, uploads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.config import ServerConfig
from rag.pipeline import Pipeline
from rag.types import Answer, AnswerKind, Citation, Refusal
from server.app import create_app
from tests.fakes import FakeGenerator

Q = "Сколько спутников SpaceSail на орбите?"
REPLY = "На орбите 108 спутников [1]."  # the fake model's draft
# the default strategy's answer: the source sentence the checked draft rests on
QUOTED = "108 спутников [1].\nНа орбите находится 108 спутников группировки SpaceSail [1]."


def built_over(pipeline: Pipeline, corpus: Path) -> Pipeline:
    """``pipeline`` with the corpus indexed and as its corpus folder."""
    pipeline.build([corpus])
    config = pipeline.config
    pipeline.config = replace(config, paths=replace(config.paths, corpus_dir=corpus))
    return pipeline


@pytest.fixture
def built(fake_pipeline: Pipeline, corpus: Path) -> Pipeline:
    return built_over(fake_pipeline, corpus)


BASE = "http://127.0.0.1:8000"  # the default bind: the guard wants this machine's name
WRITE = {"X-Requested-With": "rag-test"}  # what a non-browser client sends without a key


def client(pipeline: Pipeline, **settings: Any) -> TestClient:
    app = create_app(pipeline, ServerConfig(**settings), warm=False)
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


@pytest.fixture
def api(built: Pipeline) -> Iterator[TestClient]:
    with client(built) as c:
        yield c


def chat(c: TestClient, question: str = Q, **extra: Any) -> Any:
    body = {"model": "kzspace-rag", "messages": [{"role": "user", "content": question}], **extra}
    return c.post("/v1/chat/completions", json=body)


def sse_events(text: str) -> list[str]:
    """The data payloads of an SSE body; every event is one `data:` line and a blank line."""
    assert text.endswith("\n\n")
    events = text[:-2].split("\n\n")
    assert all(e.startswith("data: ") and "\n" not in e for e in events), events
    return [e[len("data: ") :] for e in events]


def assert_error(response: Any, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}
    message = body["error"]["message"]
    assert "\n" not in message and "Traceback" not in message and message
    if code is not None:
        assert body["error"]["code"] == code
    return str(message)


# -- OpenAI -------------------------------------------------------------------
def test_models_lists_the_assistant(api: TestClient) -> None:
    body = api.get("/v1/models").json()
    assert body["object"] == "list" and [m["id"] for m in body["data"]] == ["kzspace-rag"]
    assert api.get("/v1/models/kzspace-rag").json()["id"] == "kzspace-rag"
    assert_error(api.get("/v1/models/gpt-4"), 404)


def test_chat_completion_carries_the_answer_and_its_sources(
    api: TestClient, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue(REPLY)
    r = chat(api, temperature=0.7, top_p=0.5, user="x", some_future_param={"a": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    (choice,) = body["choices"]
    assert choice["message"] == {"role": "assistant", "content": QUOTED}
    assert choice["finish_reason"] == "stop"
    assert choice["abstained"] is False and choice["refusal"] is None
    assert choice["kind"] == "quoted" and choice["missing"] is None
    (source,) = choice["sources"]
    assert set(source) == {"n", "doc_id", "title", "chunk_id", "start", "end", "text", "page"}
    assert source["page"] is None  # a .txt article has no pages
    assert source["n"] == 1 and source["doc_id"] == "a.txt" and "108" in source["text"]
    assert Q in fake_generator.seen[-1][-1]["content"]  # the question reached the model


def test_chat_stream_is_sse_with_sources_in_the_final_chunk(
    api: TestClient, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue(REPLY + " Неверная ссылка [7].")
    r = chat(api, stream=True)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    # the draft, [7] dropped live (it points at no passage); then the quote replacing it
    assert streamed == REPLY + " Неверная ссылка .\n\n" + QUOTED
    assert len(chunks) > 4  # token by token, not one blob
    final = chunks[-1]["choices"][0]
    assert final["finish_reason"] == "stop" and final["delta"] == {}
    assert final["answer"] == QUOTED  # the checked answer: the unsupported sentence is gone
    assert final["kind"] == "quoted" and final["refusal"] is None
    assert [s["doc_id"] for s in final["sources"]] == ["a.txt"]
    assert final["abstained"] is False
    assert all("sources" not in c["choices"][0] for c in chunks[:-1])


def test_unanswerable_question_abstains(api: TestClient, fake_generator: FakeGenerator) -> None:
    fake_generator.queue("NO_ANSWER")
    choice = chat(api, "Сколько спутников SpaceSail будет в 2030 году?").json()["choices"][0]
    assert choice["abstained"] is True and choice["refusal"] == "not stated"
    assert choice["missing"] == "2030"  # and the sources are the nearest stated fact
    assert [s["doc_id"] for s in choice["sources"]] == ["a.txt"]


def test_earlier_turns_become_the_follow_up_history(
    api: TestClient, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue(
        "Сколько спутников SpaceSail будет к концу 2026 года?", "Их будет 324 [1]."
    )
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": Q},
        {"role": "assistant", "content": REPLY},
        {"role": "user", "content": [{"type": "text", "text": "А к концу 2026 года?"}]},
    ]
    r = api.post("/v1/chat/completions", json={"model": "m", "messages": messages})
    assert r.status_code == 200, r.text
    rewrite_prompt = json.dumps(fake_generator.seen[0], ensure_ascii=False)
    assert Q in rewrite_prompt and REPLY in rewrite_prompt and "be brief" not in rewrite_prompt
    assert "324" in r.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [({"n": 2}, "n > 1"), ({"tools": [{"type": "function"}]}, "tools"),
     ({"functions": [{"name": "f"}]}, "tools")],
)  # fmt: skip
def test_parameters_that_change_meaning_are_refused(
    api: TestClient, extra: dict[str, Any], needle: str
) -> None:
    assert needle in assert_error(chat(api, **extra), 400, "unsupported")


def test_bad_chat_requests_get_400(api: TestClient) -> None:
    assert_error(api.post("/v1/chat/completions", json={"messages": []}), 400)
    only_assistant = {"messages": [{"role": "assistant", "content": "hi"}]}
    assert_error(api.post("/v1/chat/completions", json=only_assistant), 400, "no_question")
    assert "limit" in assert_error(chat(api, "слово " * 400), 400, "bad_input")
    assert_error(chat(api, "   "), 400, "bad_input")
    assert_error(chat(api, stream=True, k=0), 400)
    many = {"messages": [{"role": "user", "content": "q"}] * 101}
    assert_error(api.post("/v1/chat/completions", json=many), 400, "too_many")


def test_malformed_json_and_wrong_types(api: TestClient) -> None:
    r = api.post(
        "/v1/chat/completions",
        content=b'{"messages": [',
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, "invalid_json")
    assert_error(api.post("/v1/search", json={"query": 5}), 400)
    assert "unknown" not in assert_error(api.post("/v1/search", json={"qurey": "x"}), 400)


def test_unknown_route_and_method(api: TestClient) -> None:
    assert_error(api.get("/v2/nothing"), 404, "not_found")
    assert_error(api.get("/v1/search"), 405)


# -- REST ---------------------------------------------------------------------------
def test_ask_returns_exactly_the_cli_json(
    api: TestClient, built: Pipeline, fake_generator: FakeGenerator
) -> None:
    fake_generator.queue(REPLY, REPLY)
    body = api.post("/v1/ask", json={"question": Q, "k": 2}).json()
    direct = built.ask(Q, k=2).to_json()
    assert set(body) == set(direct)
    for key in set(direct) - {"timings_ms"}:
        assert body[key] == direct[key], key
    assert body["citations"][0]["doc_id"] == "a.txt"


def test_search_returns_scored_passages(api: TestClient) -> None:
    body = api.post("/v1/search", json={"query": "Байтерек Байконур", "k": 2}).json()
    assert body["query"] == "Байтерек Байконур"
    assert [h["rank"] for h in body["hits"]] == [1, 2]
    assert body["hits"][0]["doc_id"] == "b.txt"
    assert body["hits"][0]["score"] >= body["hits"][1]["score"]


class _WithFilters(Pipeline):
    seen: list[Any] = []

    def search(self, query: str, k: int | None = None, filters: Any = None) -> Any:  # type: ignore[override]
        self.seen.append(filters)
        return super().search(query, k)


def test_filters_reach_the_pipeline_only_when_given(built: Pipeline) -> None:
    new = _WithFilters(built.config, built.embedder, built.generator)
    with client(new) as c:
        c.post("/v1/search", json={"query": "Байтерек"})
        c.post("/v1/search", json={"query": "Байтерек", "filters": {"until": "2025-12-31"}})
        assert_error(c.post("/v1/search", json={"query": "x", "filters": {"since": "May"}}), 400)
        assert_error(c.post("/v1/search", json={"query": "x", "filters": {"date": "x"}}), 400)
    assert [getattr(f, "until", f) for f in new.seen] == [None, "2025-12-31"]


def test_documents_list_get_upload_and_delete(api: TestClient, built: Pipeline) -> None:
    listed = api.get("/v1/documents").json()
    assert listed["n_documents"] == 2
    assert [d["doc_id"] for d in listed["documents"]] == ["a.txt", "b.txt"]
    doc = api.get("/v1/documents/a.txt").json()
    assert "108 спутников" in doc["text"] and doc["title"] == "Спутники SpaceSail"
    assert_error(api.get("/v1/documents/zzz.txt"), 404, "no_document")

    article = "Новый спутник\n\nKazSat-3R выведен на орбиту в 2026 году.\n".encode()
    files = [("files", ("../../etc/KazSat news.txt", article, "text/plain"))]
    report = api.post("/v1/documents", files=files, headers=WRITE).json()
    assert report["added"] == ["uploads/KazSat_news.txt"] and report["n_documents"] == 3
    uploads = built.config.corpus_dir / "uploads"
    assert (uploads / "KazSat_news.txt").is_file()
    assert not (built.config.corpus_dir.parent / "etc").exists()
    again = api.post("/v1/documents", files=files, headers=WRITE).json()
    assert again["added"] == [] and again["unchanged"] == ["uploads/KazSat_news.txt"]

    removed = api.delete("/v1/documents/uploads/KazSat_news.txt", headers=WRITE).json()
    assert removed == {"removed": ["uploads/KazSat_news.txt"], "n_documents": 2,
                       "n_chunks": removed["n_chunks"]}  # fmt: skip
    assert not (uploads / "KazSat_news.txt").exists()  # the file goes with it
    assert_error(api.delete("/v1/documents/uploads/KazSat_news.txt", headers=WRITE), 404)


def test_pdf_and_docx_uploads_are_indexed_and_searched_with_their_page(api: TestClient) -> None:
    docs = Path(__file__).resolve().parents[1] / "fixtures" / "docs"
    files = [("files", (name, (docs / name).read_bytes()))
             for name in ("bulletin-reportlab.pdf", "report.docx")]  # fmt: skip
    report = api.post("/v1/documents", files=files, headers=WRITE).json()
    pdf, docx = "uploads/bulletin-reportlab.pdf", "uploads/report.docx"
    assert report["added"] == [pdf, docx], report
    hits = api.post("/v1/search", json={"query": "Сеансы связи", "k": 50}).json()["hits"]
    pages = {h["doc_id"]: h["page"] for h in hits}
    assert pages[pdf] in {"1", "2", "3", "1-2", "2-3"}
    assert pages[docx] is None and pages["a.txt"] is None
    doc = api.get(f"/v1/documents/{pdf}").json()
    assert len(doc["pages"]) == 3 and doc["pages"][0] == 0 and "Сеансы связи" in doc["text"]


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [("report.odt", b"PK", "not a supported file type"),
     ("report.pdf", b"%PDF-1.4", "no readable articles"),
     ("big.txt", b"x" * 2000, "upload limit"),
     ("empty.txt", b"", "no readable articles"),
     ("\x00\x01.html", b"\xff\xfe\x00binary\x00\x00", "")],
)  # fmt: skip
def test_bad_uploads_are_refused_and_leave_nothing(
    built: Pipeline, name: str, data: bytes, needle: str
) -> None:
    built.config = replace(built.config, limits=replace(built.config.limits, max_upload_bytes=1000))
    with client(built) as c:
        r = c.post("/v1/documents", files=[("files", (name, data))], headers=WRITE)
        message = assert_error(r, 400)
        assert needle in message and str(built.config.corpus_dir) not in message
        assert c.get("/v1/documents").json()["n_documents"] == 2
    uploads = built.config.corpus_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_read_only_refuses_uploads_and_deletes(built: Pipeline) -> None:
    with client(built, read_only=True) as c:
        r = c.post("/v1/documents", files=[("files", ("a.txt", b"x\n\ny"))], headers=WRITE)
        assert_error(r, 403, "read_only")
        assert_error(c.delete("/v1/documents/a.txt", headers=WRITE), 403, "read_only")
        assert c.get("/v1/documents").json()["n_documents"] == 2


def test_body_size_limits(built: Pipeline) -> None:
    with client(built, max_body_bytes=2000, max_upload_request_bytes=5000) as c:
        big = {"query": "x" * 3000}
        assert_error(c.post("/v1/search", json=big), 413, "body_too_large")

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"query": "'
            yield b"x" * 3000
            yield b'"}'

        r = c.post("/v1/search", content=chunked(), headers={"content-type": "application/json"})
        assert_error(r, 413, "body_too_large")
        files = [("files", ("c.txt", b"a\n\n" + b"b" * 6000))]
        assert_error(c.post("/v1/documents", files=files, headers=WRITE), 413)
        assert c.post("/v1/search", json={"query": "Байтерек"}).status_code == 200


def test_internal_errors_are_one_line_without_a_traceback(built: Pipeline) -> None:
    class Broken(Pipeline):
        def search(self, query: str, k: int | None = None, filters: Any = None) -> Any:
            raise RuntimeError("secret /internal/path\nline two")

    with client(Broken(built.config, built.embedder, built.generator)) as c:
        message = assert_error(c.post("/v1/search", json={"query": "x"}), 500, "internal")
        assert "RuntimeError" in message and "secret" not in message
        r = chat(c, stream=True)
        assert_error(r, 500, "internal")


def test_missing_index_is_503_and_not_ready(fake_pipeline: Pipeline) -> None:
    with client(fake_pipeline) as c:
        assert_error(c.post("/v1/search", json={"query": "x"}), 503, "no_index")
        assert_error(chat(c), 503, "no_index")
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["index"] is False
        assert c.get("/v1/documents").json()["n_documents"] == 0


def test_ready_after_warm_up(built: Pipeline) -> None:
    import time

    app = create_app(built, ServerConfig())  # warms in the background
    with TestClient(app, base_url=BASE) as c:
        for _ in range(100):
            if c.get("/readyz").status_code == 200:
                break
            time.sleep(0.05)
        assert c.get("/readyz").json() == {"ready": True, "models": "ready", "index": True}
        assert c.get("/healthz").json() == {"status": "ok"}


# -- auth, CORS ------------------------------------------------------------------------
def test_api_key_guards_every_route_but_healthz(built: Pipeline) -> None:
    with client(built, api_key="s3cret") as c:
        assert c.get("/healthz").status_code == 200
        calls = [("GET", "/v1/models", None), ("POST", "/v1/search", {"query": "Байтерек"}),
                 ("GET", "/v1/documents", None), ("GET", "/readyz", None),
                 ("GET", "/openapi.json", None),
                 ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})]  # fmt: skip
        for method, path, body in calls:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
                r = c.request(method, path, json=body, headers=headers)
                assert_error(r, 401, "invalid_api_key")
        good = {"Authorization": "Bearer s3cret"}
        for method, path, body in calls[:-1]:
            assert c.request(method, path, json=body, headers=good).status_code == 200, path
        assert c.get("/v1/models", headers=good).headers.get("www-authenticate") is None


def test_cors_is_off_by_default_and_on_for_named_origins(built: Pipeline) -> None:
    origin = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    with client(built) as c:
        assert "access-control-allow-origin" not in c.options("/v1/search", headers=origin).headers
    with client(built, cors_origins="http://app.example") as c:
        ok = {**origin, "Origin": "http://app.example"}
        r = c.options("/v1/search", headers=ok)
        assert r.headers["access-control-allow-origin"] == "http://app.example"
        assert "access-control-allow-origin" not in c.options("/v1/search", headers=origin).headers


def test_openapi_documents_the_routes(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/search", "/v1/ask", "/v1/documents"} <= set(paths)
    assert_error(api.get("/docs"), 404)  # no page whose assets come from a CDN


def test_answer_to_json_names_are_the_sources_names() -> None:
    fields = set(Answer("q", "a", (), (), AnswerKind.GENERATED).to_json())
    assert {"abstained", "refusal", "kind", "citations", "nearest", "missing"} <= fields


def test_an_abstention_shows_its_nearest_evidence_as_sources() -> None:
    from server.openai_api import sources

    near = Citation(1, "a.txt", "T", "a:0", 0, 5, "text", "2025-01-02")
    refused = Answer("q", "no", (), (), AnswerKind.REFUSED, Refusal.NOT_STATED, nearest=(near,),
                     missing="the year")  # fmt: skip
    out = refused.to_json()
    assert out["refusal"] == "not stated" and out["kind"] == "refused" and out["abstained"]
    assert out["citations"] == [] and out["nearest"] == [near.to_json()]
    assert out["missing"] == "the year"
    assert [s.doc_id for s in sources(refused)] == ["a.txt"]
    # an answer lists its citations only, never nearest evidence
    answered = Answer("q", "a [1].", (near,), (), AnswerKind.GENERATED, nearest=(near,))
    assert answered.shown_citations == (near,) and answered.citations == (near,)
    assert Answer("q", "a", (), (), AnswerKind.GENERATED, nearest=(near,)).shown_citations == ()
