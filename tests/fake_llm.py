"""A scripted, OpenAI-compatible HTTP server for tests (stdlib only).

Endpoints
---------
* ``POST /v1/chat/completions`` (also ``/chat/completions``): answers with the
  next scripted reply, as a ``chat.completion`` JSON object, or as a chunked
  ``text/event-stream`` of ``chat.completion.chunk`` objects when the request
  has ``"stream": true``.
* ``GET /v1/models`` (also ``/models``): a list with one model.
* Control API: ``POST /_script`` ``{"replies": [...], "rules": [...],
  "default": {...}, "reset": bool}``, ``GET /_requests``, ``POST /_reset``.

Replies
-------
A reply is a dict, one of::

    {"content": "text"}                       # 200, normal answer
    {"content": "text", "chunk_delay": 0.2}   # streamed chunks 0.2 s apart
    {"status": 500, "body": "..." | {...}}    # error status with a body
    {"status": 429, "retry_after": 1}         # rate limited, Retry-After header
    {"hang": 30}                              # accept, never answer for 30 s,
                                              # then drop the connection
    {"malformed": true}                       # 200 with an invalid JSON body

Optional keys on any reply: ``"no_usage"`` (a stream without the usage chunk, as
some local servers send), ``"delay"`` (seconds before answering),
``"finish_reason"`` (default ``"stop"``), ``"model"`` (overrides the echoed
model), ``"headers"`` (extra response headers).

Selection order for each chat request: the first matching rule, then the
queue (FIFO), then the default reply (500 ``fake server: no scripted reply``,
so unscripted calls are loud).

A rule is ``{"match": "substring", "reply": {...}}``; ``match`` is looked for
in the *last user message*.  Alternatives: ``"match_any"`` (substring of any
message, system prompt included), ``"match_regex"`` (regex searched in the last
user message).  ``"times": n`` makes a rule expire after n uses.

Python use::

    with FakeLLM() as llm:
        llm.script(replies=[{"content": "hi"}])
        ... llm.base_url ...   # "http://127.0.0.1:PORT/v1"
        llm.requests           # list of received requests

Command line: ``python tests/fake_llm.py --port 8765 [--script file.json]``.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "fake-model"

NO_SCRIPT_REPLY: dict[str, Any] = {
    "status": 500,
    "body": {
        "error": {
            "message": "fake server: no scripted reply",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    },
}

_CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
_MODEL_PATHS = ("/v1/models", "/models")


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a str or a list of parts."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return str(content)


def last_user_message(body: Any) -> str:
    """The text of the last ``role == "user"`` message of a request body."""
    if not isinstance(body, dict):
        return ""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return ""


def all_messages_text(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return ""
    return "\n".join(message_text(m) for m in body["messages"] if isinstance(m, dict))


def split_chunks(content: str) -> list[str]:
    """Split content into word-ish pieces whose concatenation is content."""
    pieces = re.findall(r"\s*\S+|\s+", content)
    return pieces or [""]


def _count_tokens(text: str) -> int:
    return max(1, len(text.split())) if text else 0


class _State:
    def __init__(self, model: str) -> None:
        self.lock = threading.Lock()
        self.model = model
        self.replies: deque[dict[str, Any]] = deque()
        self.rules: list[dict[str, Any]] = []
        self.default: dict[str, Any] = copy.deepcopy(NO_SCRIPT_REPLY)
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()

    def reset(self) -> None:
        with self.lock:
            self.replies.clear()
            self.rules.clear()
            self.default = copy.deepcopy(NO_SCRIPT_REPLY)
            self.requests.clear()

    def script(
        self,
        replies: list[dict[str, Any]] | None = None,
        rules: list[dict[str, Any]] | None = None,
        default: dict[str, Any] | None = None,
        reset: bool = False,
    ) -> None:
        for rule in rules or []:
            if not isinstance(rule, dict) or "reply" not in rule:
                raise ValueError(f"a rule needs a 'reply': {rule!r}")
            if not any(k in rule for k in ("match", "match_any", "match_regex")):
                raise ValueError(f"a rule needs 'match', 'match_any' or 'match_regex': {rule!r}")
        for reply in replies or []:
            if not isinstance(reply, dict):
                raise ValueError(f"a reply must be a dict: {reply!r}")
        with self.lock:
            if reset:
                self.replies.clear()
                self.rules.clear()
                self.default = copy.deepcopy(NO_SCRIPT_REPLY)
            self.replies.extend(copy.deepcopy(r) for r in (replies or []))
            for rule in rules or []:
                rule = copy.deepcopy(rule)
                rule.setdefault("used", 0)
                self.rules.append(rule)
            if default is not None:
                self.default = copy.deepcopy(default)

    def pick_reply(self, body: Any) -> tuple[dict[str, Any], str]:
        """Returns (reply, source) where source is 'rule:i', 'queue' or 'default'."""
        last_user = last_user_message(body)
        everything = all_messages_text(body)
        with self.lock:
            for i, rule in enumerate(self.rules):
                times = rule.get("times")
                if times is not None and rule["used"] >= times:
                    continue
                ok = True
                if "match" in rule and rule["match"] not in last_user:
                    ok = False
                if "match_any" in rule and rule["match_any"] not in everything:
                    ok = False
                if "match_regex" in rule and not re.search(rule["match_regex"], last_user, re.S):
                    ok = False
                if ok:
                    rule["used"] += 1
                    return copy.deepcopy(rule["reply"]), f"rule:{i}"
            if self.replies:
                return self.replies.popleft(), "queue"
            return copy.deepcopy(self.default), "default"

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)

    def snapshot_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.requests)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small writes (headers, SSE chunks) must not wait for delayed ACKs (Nagle): a scripted
    # model is meant to answer with no latency of its own.
    disable_nagle_algorithm = True
    server_version = "FakeLLM/1.0"
    state: _State  # set on the subclass built per server

    # -- plumbing ---------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if getattr(self.server, "verbose", False):
            sys.stderr.write("fake_llm: " + (format % args) + "\n")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size_line = self.rfile.readline().strip()
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    # trailer lines until an empty line
                    while self.rfile.readline().strip():
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", headers)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _record(self, body_bytes: bytes) -> Any:
        try:
            parsed = json.loads(body_bytes) if body_bytes else None
        except ValueError:
            parsed = None
        self.state.record(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "json": parsed,
                "body": None if parsed is not None else body_bytes.decode("utf-8", "replace"),
                "timestamp": time.time(),
            }
        )
        return parsed

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    # -- verbs --------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        path = self._path()
        if path == "/_requests":
            self._send_json(200, self.state.snapshot_requests())
            return
        if path in _MODEL_PATHS:
            self._record(b"")
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": self.state.model,
                            "object": "model",
                            "created": 1700000000,
                            "owned_by": "fake-llm",
                        }
                    ],
                },
            )
            return
        if path == "/_health":
            self._send_json(200, {"ok": True})
            return
        self._record(b"")
        self._not_found()

    def do_POST(self) -> None:  # noqa: N802
        path = self._path()
        raw = self._read_body()
        if path == "/_script":
            try:
                spec = json.loads(raw or b"{}")
                self.state.script(
                    replies=spec.get("replies"),
                    rules=spec.get("rules"),
                    default=spec.get("default"),
                    reset=bool(spec.get("reset", False)),
                )
            except (ValueError, TypeError, AttributeError) as e:
                self._send_json(400, {"error": {"message": f"bad script: {e}"}})
                return
            self._send_json(200, {"ok": True})
            return
        if path == "/_reset":
            self.state.reset()
            self._send_json(200, {"ok": True})
            return
        body = self._record(raw)
        if path in _CHAT_PATHS:
            self._chat(body)
            return
        self._not_found()

    def _not_found(self) -> None:
        self._send_json(
            404,
            {"error": {"message": f"fake server: unknown path {self.path}", "type": "not_found"}},
        )

    # -- chat completions ---------------------------------------------------
    def _chat(self, body: Any) -> None:
        if not isinstance(body, dict):
            self._send_json(
                400, {"error": {"message": "fake server: request body is not a JSON object"}}
            )
            return
        reply, _source = self.state.pick_reply(body)
        stop = self.state.stopping

        if reply.get("delay"):
            if stop.wait(float(reply["delay"])):
                self.close_connection = True
                return

        if "hang" in reply:
            # Accept the request, never answer; drop the connection afterwards.
            stop.wait(float(reply["hang"]))
            self.close_connection = True
            return

        extra_headers = {str(k): str(v) for k, v in (reply.get("headers") or {}).items()}
        status = int(reply.get("status", 200))

        if status == 429:
            headers = dict(extra_headers)
            if reply.get("retry_after") is not None:
                headers["Retry-After"] = str(reply["retry_after"])
            payload = reply.get(
                "body",
                {
                    "error": {
                        "message": "fake server: rate limited",
                        "type": "requests",
                        "param": None,
                        "code": "rate_limit_exceeded",
                    }
                },
            )
            self._send_error_body(429, payload, headers)
            return

        if status != 200:
            payload = reply.get(
                "body",
                {
                    "error": {
                        "message": f"fake server: scripted status {status}",
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                },
            )
            self._send_error_body(status, payload, extra_headers)
            return

        model = reply.get("model") or body.get("model") or self.state.model
        stream = bool(body.get("stream"))

        if reply.get("malformed"):
            if stream:
                self._start_sse(extra_headers)
                self._write_chunk(b'data: {"id": "broken", "choices": [\n\n')
                self._write_chunk(b"data: [DONE]\n\n")
                self._end_chunks()
            else:
                self._send(200, b'{"id": "chatcmpl-broken", "choices": [{"mess', "application/json",
                           extra_headers)
            return

        content = str(reply.get("content", ""))
        finish_reason = reply.get("finish_reason", "stop")
        prompt_tokens = _count_tokens(all_messages_text(body))
        completion_tokens = _count_tokens(content)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())

        if not stream:
            self._send_json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "logprobs": None,
                            "finish_reason": finish_reason,
                        }
                    ],
                    "usage": usage,
                },
                extra_headers,
            )
            return

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        delay = float(reply.get("chunk_delay", 0) or 0)

        def chunk(delta: dict[str, Any], finish: str | None, choices: bool = True) -> bytes:
            obj: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": (
                    [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
                    if choices
                    else []
                ),
            }
            if include_usage:
                obj["usage"] = None
            return b"data: " + json.dumps(obj).encode() + b"\n\n"

        try:
            self._start_sse(extra_headers)
            self._write_chunk(chunk({"role": "assistant", "content": ""}, None))
            for piece in split_chunks(content):
                if delay and stop.wait(delay):
                    self.close_connection = True
                    return
                self._write_chunk(chunk({"content": piece}, None))
            self._write_chunk(chunk({}, finish_reason))
            if include_usage and not reply.get("no_usage"):
                # Like the real API: a last chunk with empty choices and the usage.
                obj = {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [],
                    "usage": usage,
                }
                self._write_chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")
            self._write_chunk(b"data: [DONE]\n\n")
            self._end_chunks()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _start_sse(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()

    def _send_error_body(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        if isinstance(payload, (dict, list)):
            self._send(status, json.dumps(payload).encode(), "application/json", headers)
        else:
            text = str(payload)
            try:
                json.loads(text)
                ctype = "application/json"
            except ValueError:
                ctype = "text/plain; charset=utf-8"
            self._send(status, text.encode(), ctype, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    verbose = False


class FakeLLM:
    """A scripted OpenAI-compatible server running in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, model: str = DEFAULT_MODEL,
                 verbose: bool = False) -> None:
        self.host = host
        self._port = port
        self.model = model
        self.verbose = verbose
        self._state = _State(model)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> FakeLLM:
        if self._server is not None:
            return self
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._state.stopping.clear()
        self._server = _Server((self.host, self._port), handler)
        self._server.verbose = self.verbose
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"fake-llm-{self._port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._state.stopping.set()  # wakes hanging / delayed handlers
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # addresses
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """Server root, without /v1."""
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # scripting
    def script(
        self,
        replies: list[dict[str, Any]] | None = None,
        rules: list[dict[str, Any]] | None = None,
        default: dict[str, Any] | None = None,
        reset: bool = False,
    ) -> None:
        self._state.script(replies=replies, rules=rules, default=default, reset=reset)

    def reset(self) -> None:
        self._state.reset()

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._state.snapshot_requests()

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Only the chat completion requests (their ``json`` is the request body)."""
        return [r for r in self.requests if r["path"].split("?")[0].rstrip("/") in _CHAT_PATHS]

    @property
    def pending_replies(self) -> int:
        with self._state.lock:
            return len(self._state.replies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scripted fake OpenAI-compatible server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--script", help="JSON file: {replies: [...], rules: [...], default}")
    parser.add_argument("--verbose", action="store_true", help="log each HTTP request")
    args = parser.parse_args(argv)

    llm = FakeLLM(host=args.host, port=args.port, model=args.model, verbose=args.verbose)
    llm.start()
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            spec = json.load(f)
        llm.script(replies=spec.get("replies"), rules=spec.get("rules"), default=spec.get("default"))
    print(llm.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        llm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
