"""Tests of the fake OpenAI-compatible server itself (no kernel needed)."""
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from fake_llm import FakeLLM, split_chunks


def post(url: str, body: Any, timeout: float = 10, headers: dict[str, str] | None = None):
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get(url: str, timeout: float = 10):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read()


def chat(llm: FakeLLM, text: str, stream: bool = False, **extra: Any):
    body = {"model": "fake-model", "temperature": 0,
            "messages": [{"role": "system", "content": "You are a test."},
                         {"role": "user", "content": text}], **extra}
    if stream:
        body["stream"] = True
    return post(llm.base_url + "/chat/completions", body,
                headers={"Authorization": "Bearer test-key"})


def read_sse(llm: FakeLLM, text: str, **extra: Any):
    """Stream a request with http.client; returns [(arrival_time, data_str), ...]."""
    conn = http.client.HTTPConnection("127.0.0.1", llm.port, timeout=10)
    body = {"model": "fake-model", "stream": True,
            "messages": [{"role": "user", "content": text}], **extra}
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type", "").startswith("text/event-stream")
    assert resp.getheader("Transfer-Encoding", "").lower() == "chunked"
    events = []
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line.startswith("data: "):
            events.append((time.monotonic(), line[len("data: "):]))
    conn.close()
    return events


@pytest.fixture
def llm():
    with FakeLLM() as server:
        yield server


def test_base_url_and_models(llm: FakeLLM):
    assert llm.base_url == f"http://127.0.0.1:{llm.port}/v1"
    status, body = get(llm.base_url + "/models")
    assert status == 200
    data = json.loads(body)
    assert data["object"] == "list"
    assert [m["id"] for m in data["data"]] == ["fake-model"]


def test_non_stream_reply(llm: FakeLLM):
    llm.script(replies=[{"content": "hello there"}])
    status, headers, body = chat(llm, "hi")
    assert status == 200
    obj = json.loads(body)
    assert obj["object"] == "chat.completion"
    assert obj["model"] == "fake-model"
    choice = obj["choices"][0]
    assert choice["index"] == 0
    assert choice["message"] == {"role": "assistant", "content": "hello there"}
    assert choice["finish_reason"] == "stop"
    u = obj["usage"]
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    assert u["completion_tokens"] == 2


def test_path_without_v1(llm: FakeLLM):
    llm.script(replies=[{"content": "ok"}])
    status, _, body = post(llm.url + "/chat/completions",
                           {"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"] == "ok"


def test_stream_chunks_arrive_incrementally(llm: FakeLLM):
    content = "one two three four five six"
    llm.script(replies=[{"content": content, "chunk_delay": 0.2}])
    events = read_sse(llm, "stream please", stream_options={"include_usage": True})
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(
        (c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"]
    )
    assert text == content
    content_events = [
        t for (t, d), c in zip(events[:-1], chunks)
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert len(content_events) == 6
    # 6 words, 0.2 s before each: the first and last content chunk are >= 1 s apart
    assert content_events[-1] - content_events[0] >= 0.9
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1 and finish[0]["choices"][0]["finish_reason"] == "stop"
    # usage comes in a final chunk with empty choices (like the real API)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 6


def test_stream_without_usage(llm: FakeLLM):
    llm.script(replies=[{"content": "a b"}])
    events = read_sse(llm, "x")
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all("usage" not in c for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_status_500(llm: FakeLLM):
    llm.script(replies=[{"status": 500, "body": "kaboom"}])
    status, _, body = chat(llm, "x")
    assert status == 500
    assert body == b"kaboom"


def test_429_with_retry_after(llm: FakeLLM):
    llm.script(replies=[{"status": 429, "retry_after": 1}, {"content": "after"}])
    status, headers, body = chat(llm, "x")
    assert status == 429
    assert headers.get("Retry-After") == "1"
    assert "error" in json.loads(body)
    status, _, body = chat(llm, "x")
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"] == "after"


def test_malformed(llm: FakeLLM):
    llm.script(replies=[{"malformed": True}])
    status, headers, body = chat(llm, "x")
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)


def test_hang(llm: FakeLLM):
    llm.script(replies=[{"hang": 30}])
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        chat_timeout = 1.0
        post(llm.base_url + "/chat/completions",
             {"model": "m", "messages": [{"role": "user", "content": "x"}]},
             timeout=chat_timeout)
    assert time.monotonic() - t0 < 5


def test_stop_does_not_wait_for_hanging_request():
    llm = FakeLLM().start()
    llm.script(replies=[{"hang": 60}])
    conn = http.client.HTTPConnection("127.0.0.1", llm.port, timeout=10)
    conn.request("POST", "/v1/chat/completions",
                 body=json.dumps({"model": "m", "messages": []}),
                 headers={"Content-Type": "application/json"})
    time.sleep(0.3)
    t0 = time.monotonic()
    llm.stop()
    assert time.monotonic() - t0 < 5
    conn.close()


def test_default_reply_is_loud_500(llm: FakeLLM):
    status, _, body = chat(llm, "unscripted")
    assert status == 500
    assert json.loads(body)["error"]["message"] == "fake server: no scripted reply"


def test_rules_checked_before_queue(llm: FakeLLM):
    llm.script(
        replies=[{"content": "q1"}, {"content": "q2"}],
        rules=[{"match": "The user asked:", "reply": {"content": "interpretation"}}],
    )
    assert json.loads(chat(llm, "plot prices")[2])["choices"][0]["message"]["content"] == "q1"
    out = json.loads(chat(llm, "The user asked: why?")[2])
    assert out["choices"][0]["message"]["content"] == "interpretation"
    assert json.loads(chat(llm, "again")[2])["choices"][0]["message"]["content"] == "q2"
    # the rule keeps matching; the queue is now empty -> default 500
    assert chat(llm, "The user asked: more")[0] == 200
    assert chat(llm, "nothing")[0] == 500


def test_rule_matches_only_last_user_message(llm: FakeLLM):
    llm.script(rules=[{"match": "NEEDLE", "reply": {"content": "found"}}])
    body = {"model": "m", "messages": [
        {"role": "user", "content": "NEEDLE"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": "plain"},
    ]}
    assert post(llm.base_url + "/chat/completions", body)[0] == 500
    body["messages"].append({"role": "user", "content": [{"type": "text", "text": "a NEEDLE"}]})
    status, _, out = post(llm.base_url + "/chat/completions", body)
    assert status == 200 and json.loads(out)["choices"][0]["message"]["content"] == "found"


def test_rule_times_and_match_any(llm: FakeLLM):
    llm.script(rules=[{"match_any": "SYSTEM-X", "times": 1, "reply": {"content": "once"}}])
    body = {"model": "m", "messages": [{"role": "system", "content": "SYSTEM-X"},
                                       {"role": "user", "content": "q"}]}
    assert post(llm.base_url + "/chat/completions", body)[0] == 200
    assert post(llm.base_url + "/chat/completions", body)[0] == 500


def test_requests_logged(llm: FakeLLM):
    llm.script(replies=[{"content": "x"}])
    before = time.time()
    chat(llm, "log me", temperature=0.5)
    reqs = llm.requests
    assert len(reqs) == 1
    r = reqs[0]
    assert r["method"] == "POST"
    assert r["path"] == "/v1/chat/completions"
    assert r["headers"]["authorization"] == "Bearer test-key"
    assert r["json"]["messages"][-1]["content"] == "log me"
    assert r["json"]["temperature"] == 0.5
    assert before - 1 <= r["timestamp"] <= time.time() + 1
    # the same list over HTTP; control calls are not logged
    status, body = get(llm.url + "/_requests")
    assert status == 200
    assert json.loads(body) == reqs
    assert len(llm.chat_requests) == 1


def test_http_control_api(llm: FakeLLM):
    status, _, _ = post(llm.url + "/_script", {
        "replies": [{"content": "from-http"}],
        "rules": [{"match": "special", "reply": {"content": "rule-http"}}],
    })
    assert status == 200
    assert json.loads(chat(llm, "special one")[2])["choices"][0]["message"]["content"] == "rule-http"
    assert json.loads(chat(llm, "x")[2])["choices"][0]["message"]["content"] == "from-http"
    # reset: true in /_script replaces the queue and rules
    post(llm.url + "/_script", {"replies": [{"content": "a"}], "reset": True})
    post(llm.url + "/_script", {"replies": [{"content": "b"}, {"content": "c"}], "reset": True})
    assert json.loads(chat(llm, "special")[2])["choices"][0]["message"]["content"] == "b"
    # /_reset clears everything, including the request log
    assert post(llm.url + "/_reset", {})[0] == 200
    assert llm.requests == []
    assert chat(llm, "x")[0] == 500
    # a bad script is rejected
    assert post(llm.url + "/_script", {"rules": [{"reply": {}}]})[0] == 400


def test_split_chunks_roundtrip():
    for s in ["", "a", "hello world", "  lead", "x\n\ny  ", "print(1)\nprint(2)\n"]:
        assert "".join(split_chunks(s)) == s


def test_command_line(tmp_path: Path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"replies": [{"content": "cli"}]}))
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fake_llm.py")), "--port", "0",
         "--script", str(script)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:") and line.endswith("/v1")
        status, _, body = post(line + "/chat/completions",
                               {"model": "m", "messages": [{"role": "user", "content": "x"}]})
        assert status == 200
        assert json.loads(body)["choices"][0]["message"]["content"] == "cli"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
