"""Record what a real model answers the kernel: an OpenAI-compatible proxy in front of it.

    python bench/record_replies.py --upstream http://127.0.0.1:8088/v1 --port 8099 --out replies.jsonl

Point the kernel at http://127.0.0.1:8099/v1 and ask questions; every chat request (its
messages) and the model's reply (its full text, usage and finish reason) is appended to
`--out` as one JSON line. The proxy asks upstream without streaming and answers the kernel
as the kernel asked (one SSE chunk when it streams), so recording changes no reply.
Recorded replies become test fixtures (tests/fixtures/real_replies/), replayed through
tests/fake_llm.py so the kernel is tested against what a real model really writes.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="the real server's /v1 URL")
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    lock = threading.Lock()

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def do_GET(self):
            with urllib.request.urlopen(args.upstream.rstrip("/") + self.path.removeprefix("/v1")) as r:
                body = r.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stream = bool(request.pop("stream", False))
            request.pop("stream_options", None)
            started = time.time()
            upstream = urllib.request.Request(
                args.upstream.rstrip("/") + "/chat/completions",
                data=json.dumps(request).encode(), headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(upstream, timeout=900) as r:
                reply = json.loads(r.read())
            choice = reply["choices"][0]
            with lock, open(args.out, "a") as f:
                f.write(json.dumps({
                    "messages": request["messages"], "max_tokens": request.get("max_tokens"),
                    "reply": choice["message"].get("content") or "",
                    "finish_reason": choice.get("finish_reason"), "usage": reply.get("usage"),
                    "model": reply.get("model"), "seconds": round(time.time() - started, 1),
                }) + "\n")
            if not stream:
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            chunk = {"id": reply.get("id", "rec"), "object": "chat.completion.chunk",
                     "created": int(started), "model": reply.get("model", ""),
                     "choices": [{"index": 0, "delta": {"role": "assistant",
                                                        "content": choice["message"].get("content") or ""},
                                  "finish_reason": choice.get("finish_reason")}]}
            usage = {"id": chunk["id"], "object": "chat.completion.chunk", "created": chunk["created"],
                     "model": chunk["model"], "choices": [], "usage": reply.get("usage")}
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for part in (chunk, usage):
                self.wfile.write(f"data: {json.dumps(part)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Proxy)
    print(f"recording proxy on http://127.0.0.1:{args.port}/v1 -> {args.upstream}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
