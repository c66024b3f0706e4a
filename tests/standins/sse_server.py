"""A stand-in streaming chat server with known timing, for `python -m deploy bench` tests.

POST /invocations (any path) with an OpenAI chat or completion body and ``"stream": true``
answers server-sent events the way vLLM's OpenAI server does: the first text chunk after
``ttft`` seconds, then one chunk per token every ``token_delay`` seconds, ``max_tokens`` tokens
in all (``max_completion_tokens`` as ``vllm bench serve`` sends it; ``tokens`` when set), then,
when the body asks for it with ``stream_options.include_usage``, a last chunk with no choices and
``usage`` (``prompt_tokens`` = the words of the prompt, ``completion_tokens`` = the tokens sent),
then ``data: [DONE]``; HTTP/1.1 chunked transfer encoding. ``fail_every`` = k answers every k-th
request with HTTP 503. ``tokens_per_chunk`` > 1 packs several tokens into one chunk (engines do
that under load), so a client that counts chunks would get the token count wrong.

Standard library only; ``Server()`` is a context manager that listens on 127.0.0.1 on a free
port (``url``) and keeps every request body in ``requests``.
"""
from __future__ import annotations

import json
import threading
import time
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _HTTPServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A peer that drops a kept-alive connection (nginx closing an idle upstream) is no error."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class Server:
    def __init__(self, ttft: float = 0.05, token_delay: float = 0.01, tokens: int | None = None,
                 tokens_per_chunk: int = 1, fail_every: int = 0, usage: bool = True) -> None:
        self.ttft, self.token_delay, self.tokens = ttft, token_delay, tokens
        self.tokens_per_chunk, self.fail_every, self.usage = tokens_per_chunk, fail_every, usage
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with outer.lock:
                    outer.requests.append(body)
                    number = len(outer.requests)
                    outer.in_flight += 1
                    outer.most_in_flight = max(outer.most_in_flight, outer.in_flight)
                self.counted = True
                try:
                    if outer.fail_every and number % outer.fail_every == 0:
                        payload = b'{"error": "overloaded"}'
                        self.done()
                        self.send_response(503)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                    self.stream(body)
                finally:
                    self.done()

            def done(self) -> None:
                """Out of the in-flight count just before the bytes that let the client finish: the
                client's next request may arrive while this handler is still writing them."""
                with outer.lock:
                    if self.counted:
                        outer.in_flight -= 1
                        self.counted = False

            def stream(self, body: dict) -> None:
                asked = body.get("max_completion_tokens") or body.get("max_tokens") or 16
                count = outer.tokens if outer.tokens is not None else int(asked)
                if body.get("messages"):
                    # content: a string, or OpenAI's list of parts ({"type": "text", "text": ...})
                    prompt = " ".join(
                        " ".join(p.get("text") or "" for p in m["content"] if isinstance(p, dict))
                        if isinstance(m.get("content"), list) else str(m.get("content") or "")
                        for m in body["messages"])
                else:
                    prompt = str(body.get("prompt") or "")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                start = time.perf_counter()
                sent = 0
                while sent < count:
                    n = min(outer.tokens_per_chunk, count - sent)
                    # token k (0-based) leaves at ttft + k * token_delay after the request arrived
                    due = start + outer.ttft + (sent + n - 1) * outer.token_delay
                    time.sleep(max(0.0, due - time.perf_counter()))
                    chunk = {"id": "cmpl-1", "object": "chat.completion.chunk", "model": body.get("model"),
                             "choices": [{"index": 0, "delta": {"content": "tok " * n}, "finish_reason": None}]}
                    self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                    sent += n
                self.done()
                if outer.usage and (body.get("stream_options") or {}).get("include_usage"):
                    words = len(prompt.split())
                    usage = {"id": "cmpl-1", "object": "chat.completion.chunk", "choices": [],
                             "usage": {"prompt_tokens": words, "completion_tokens": count,
                                       "total_tokens": words + count}}
                    self._chunk(f"data: {json.dumps(usage)}\n\n".encode())
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")

        self.httpd = _HTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
