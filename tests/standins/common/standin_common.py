"""Shared runtime of the inference-server stand-ins (Python standard library only).

Written for this project's container tests; no server code is copied. Each stand-in imitates
what the generated project relies on (entrypoint, strict flag parsing, HTTP routes, readiness,
streaming) and reports what it received. It never opens an outbound connection.

Knobs (environment):
  STANDIN_LOAD_DELAY   seconds of "weight loading" before the HTTP side is ready (default 2)
  STANDIN_TOKEN_DELAY  seconds between generated tokens when streaming (default 0.05)
  STANDIN_DIE_AFTER    seconds after ready when the engine dies (unset: never)
  STANDIN_DIE_MODE     exit (default: process exits 1) | unhealthy (health checks fail, process stays)
  STANDIN_WARMUP_DELAY (sglang) seconds after HTTP start until /health is 200 (default 0.5)
  STANDIN_KEEPALIVE    seconds an idle keep-alive connection stays open (default 5: uvicorn's
                       timeout_keep_alive, which vLLM, SGLang and trtllm-serve keep)
  STANDIN_KEEPALIVE_RACE  1: at that timeout the connection is not closed at once; the next request
                       on it is dropped unanswered instead. This is the worst case of the real race,
                       where a proxy's request crosses the server's idle close on the wire.

Connections behave like uvicorn's: an HTTP/1.0 request (or Connection: close) is answered with
Connection: close and the socket is closed; HTTP/1.1 connections stay open until idle that long.
"""
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIVED = {}
STATE = {"ready": False, "dead": False, "warm": False}
WORDS = ["Hello", " from", " the", " stand", "-in", " inference", " server", "!",
         " This", " is", " a", " fake", " answer", " made", " of", " tokens", "."]


def fenv(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return float(default)


def log(msg):
    print(msg, flush=True)


def report(server, argv, chat_template=None, chat_template_source=None, extra=None):
    """Print STANDIN-RECEIVED <json> once and keep it for GET /standin/received."""
    RECEIVED.update({
        "server": server,
        "argv": list(argv),
        "env": dict(os.environ),
        "chat_template": chat_template,
        "chat_template_source": chat_template_source,
    })
    if extra:
        RECEIVED.update(extra)
    log("STANDIN-RECEIVED " + json.dumps(RECEIVED, sort_keys=True))


def install_sigterm(code=0, name="server"):
    def handler(signum, frame):
        log(f"[{name}] received signal {signum}, shutting down")
        os._exit(code if signum == signal.SIGTERM else 128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def load_weights(name):
    delay = fenv("STANDIN_LOAD_DELAY", 2)
    log(f"[{name}] loading model weights ({delay}s, stand-in)")
    time.sleep(delay)
    log(f"[{name}] model loaded")


def arm_death(name):
    after = os.environ.get("STANDIN_DIE_AFTER")
    if not after:
        return
    mode = os.environ.get("STANDIN_DIE_MODE", "exit")

    def die():
        if mode == "unhealthy":
            STATE["dead"] = True
            log(f"[{name}] ERROR engine core died (stand-in); health checks now fail")
        else:
            log(f"[{name}] ERROR engine core died (stand-in); exiting with code 1")
            os._exit(1)
    t = threading.Timer(float(after), die)
    t.daemon = True
    t.start()


# ---------------------------------------------------------------- chat generation
def _tokens(body):
    n = body.get("max_tokens") or body.get("max_completion_tokens") or 8
    try:
        n = max(1, min(int(n), len(WORDS)))
    except (TypeError, ValueError):
        n = 8
    return WORDS[:n]


def validate_chat(body):
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "field 'messages' is required and must be a non-empty list"
    for m in msgs:
        if not isinstance(m, dict) or "role" not in m:
            return "every message needs a 'role'"
    return None


def chat_completion(body, model):
    toks = _tokens(body)
    text = "".join(toks)
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop" if len(toks) < len(WORDS) else "length",
                     "logprobs": None}],
        "usage": {"prompt_tokens": 10, "completion_tokens": len(toks), "total_tokens": 10 + len(toks)},
    }


def chat_chunks(body, model):
    """Yield chat.completion.chunk dicts, sleeping STANDIN_TOKEN_DELAY before each token."""
    delay = fenv("STANDIN_TOKEN_DELAY", 0.05)
    cid = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())

    def chunk(delta, finish=None):
        return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
    yield chunk({"role": "assistant", "content": ""})
    for tok in _tokens(body):
        time.sleep(delay)
        yield chunk({"content": tok})
    yield chunk({}, "stop")


# ---------------------------------------------------------------- HTTP
class Handler(BaseHTTPRequestHandler):
    # The real engines run on uvicorn, which sets TCP_NODELAY; without it a keep-alive client
    # (nginx) waits ~40 ms on Nagle + delayed ACK for every answer written in two parts.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    routes = {}        # (METHOD, path) -> callable(handler)
    server_name = "standin"

    def handle(self):
        """Serve requests on one connection until it closes or stays idle STANDIN_KEEPALIVE s."""
        keepalive = fenv("STANDIN_KEEPALIVE", 5)
        race = os.environ.get("STANDIN_KEEPALIVE_RACE") == "1"
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            ready, _, _ = select.select([self.connection], [], [], keepalive)
            if not ready:
                if race:
                    select.select([self.connection], [], [])
                    if self.connection.recv(1, socket.MSG_PEEK):
                        log(f"[{self.server_name}] keep-alive: a request arrived after the {keepalive:g}s "
                            f"idle close and is dropped unanswered")
                return
            self.handle_one_request()

    def end_headers(self):
        # uvicorn: keep_alive = http_version != "1.0" and the parser's should_keep_alive();
        # when it does not keep the connection it says so (connection: close), once: send_error
        # writes that header itself
        if ((self.request_version == "HTTP/1.0" or self.close_connection)
                and not any(h.lower().startswith(b"connection:") for h in self._headers_buffer)):
            self.send_header("Connection", "close")
        super().end_headers()

    def log_message(self, fmt, *args):
        sys.stdout.write("[%s] %s %s\n" % (self.server_name, self.address_string(), fmt % args))
        sys.stdout.flush()

    def _dispatch(self, method):
        path = self.path.split("?", 1)[0]
        if path == "/standin/received" and method == "GET":
            return self.send_json(200, RECEIVED)
        fn = self.routes.get((method, path))
        if fn is None:
            if any(p == path for (_, p) in self.routes):
                return self.send_json(405, {"detail": "Method Not Allowed"})
            return self.send_json(404, {"detail": "Not Found"})
        try:
            fn(self)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def read_json(self):
        raw = self.read_body()
        try:
            return json.loads(raw.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            return ValueError("invalid JSON body")

    def send_raw(self, code, data, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, code, obj):
        self.send_raw(code, json.dumps(obj).encode())

    def stream(self, ctype, pieces):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for piece in pieces:
            data = piece.encode() if isinstance(piece, str) else piece
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def make_handler(name, routes):
    return type("H", (Handler,), {"routes": routes, "server_name": name})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_forever(name, host, port, routes):
    """Bind and listen only now (after loading), like the real servers."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    _Server.address_family = fam
    try:
        httpd = _Server((host, port), make_handler(name, routes))
    except OSError as e:
        log(f"[{name}] ERROR cannot bind {host}:{port}: {e}")
        sys.exit(1)
    log(f"[{name}] HTTP server listening on {host}:{port}")
    httpd.serve_forever()


# ---------------------------------------------------------------- common route helpers
def json_required(h):
    ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        h.send_json(415, {"detail": "Unsupported Media Type: Only 'application/json' is allowed"})
        return False
    return True


def openai_chat(h, model, sse=True, jsonlines=False):
    """OpenAI chat completions. sse: text/event-stream ending with data: [DONE]."""
    body = h.read_json()
    if isinstance(body, Exception):
        return h.send_json(400, {"object": "error", "message": str(body), "type": "BadRequestError", "code": 400})
    err = validate_chat(body)
    if err:
        return h.send_json(400, {"object": "error", "message": err, "type": "BadRequestError", "code": 400})
    if STATE["dead"]:
        return h.send_json(500, {"object": "error", "message": "engine is dead", "code": 500})
    if body.get("stream"):
        if jsonlines:
            return h.stream("application/jsonlines",
                            (json.dumps(c) + "\n" for c in chat_chunks(body, model)))

        def sse_pieces():
            for c in chat_chunks(body, model):
                yield "data: " + json.dumps(c) + "\n\n"
            yield "data: [DONE]\n\n"
        return h.stream("text/event-stream; charset=utf-8", sse_pieces())
    time.sleep(fenv("STANDIN_TOKEN_DELAY", 0.05) * len(_tokens(body)))
    return h.send_json(200, chat_completion(body, model))


def read_template(value):
    """Return (content, source) for a chat-template argument: a file path or inline text."""
    if value is None:
        return None, None
    if os.path.isfile(value):
        with open(value, "r", encoding="utf-8") as f:
            return f.read(), "file:" + value
    return value, "inline"
