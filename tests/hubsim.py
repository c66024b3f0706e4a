"""A stand-in for the HuggingFace Hub, answering from recorded fixtures.

One function, :func:`answer`, decides every reply from the method, path and headers, with
the real hub's status codes and ``X-Error-Code`` / ``X-Error-Message`` headers (as read by
huggingface_hub ``utils/_http.py`` ``hf_raise_for_status``), and on every reply an
``X-Request-Id`` of the real hub's shape, ``Root=1-<8 hex>-<24 hex>`` (the hub sends one on its
200s, redirects and errors alike; ``access-control-expose-headers`` names it). ``responses``
uses it in-process; :class:`HubServer` serves it over HTTP for CLI runs through ``HF_ENDPOINT``.

Token rules: ``GRANTED_TOKEN`` can read every gated model, ``FAKE_TOKEN`` is a valid token
without gated access, anything else starting with ``hf_`` is rejected as invalid.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "hub"
SHIPPED = ROOT / "generator" / "data" / "models"

FAKE_TOKEN = "hf_FakeTokenForTests0123456789abcdefXYZ"      # valid, no gated access
GRANTED_TOKEN = "hf_GrantedTokenForTests0123456789abcdefQ"  # valid, access to gated models
VALID_TOKENS = {FAKE_TOKEN, GRANTED_TOKEN}


def model_dir(model_id: str) -> Path | None:
    for path in (FIXTURES / model_id, SHIPPED / model_id.replace("/", "--")):
        if (path / "model_info.json").is_file():
            return path
    return None


def info(model_id: str) -> dict:
    return json.loads((model_dir(model_id) / "model_info.json").read_text(encoding="utf-8"))


def models() -> list[str]:
    found = {f"{p.parent.parent.name}/{p.parent.name}" for p in FIXTURES.glob("*/*/model_info.json")}
    found |= {p.parent.name.replace("--", "/", 1) for p in SHIPPED.glob("*/model_info.json")}
    return sorted(found)


Reply = tuple[int, dict[str, str], bytes]


def _error(status: int, code: str | None, message: str) -> Reply:
    headers = {"Content-Type": "application/json", "X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return status, headers, json.dumps({"error": message}).encode()


@dataclass
class Hub:
    """Behaviour switches and a log of the requests served (paths, and when each started and ended)."""

    requests: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)   # the X-Request-Id of each reply, in order
    latency_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    timeline: list[tuple[float, float, str]] = field(default_factory=list)

    def answer(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        start = time.perf_counter()
        with self.lock:
            self.requests.append(path)
            request_id = f"Root=1-{int(time.time()):08x}-{len(self.request_ids) + 1:024x}"
            self.request_ids.append(request_id)
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            status, reply_headers, body = self._answer(method, path, headers)
            return status, {"X-Request-Id": request_id} | reply_headers, body
        finally:
            with self.lock:
                self.timeline.append((start, time.perf_counter(), path.split("?", 1)[0]))

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.request_ids.clear()
            self.timeline.clear()

    def waves(self) -> int:
        """Sequential round trips: a request that starts after every earlier one ended opens a wave."""
        count, end = 0, None
        with self.lock:
            timeline = sorted(self.timeline)
        for start, stop, _ in timeline:
            if end is None or start >= end:
                count += 1
                end = stop
            else:
                end = max(end, stop)
        return count

    def _answer(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        token = auth.removeprefix("Bearer ").strip() or None
        if token and token not in VALID_TOKENS:
            return _error(401, None, "Invalid credentials in Authorization header")
        path = unquote(path.split("?", 1)[0])
        match = re.match(r"^/api/models/(?P<id>[^/]+/[^/]+)(?:/revision/(?P<rev>.+))?$", path)
        if match:
            return self._info(match["id"], match["rev"] or "main", token)
        match = re.match(r"^/(?P<id>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$", path)
        if match:
            return self._file(match["id"], match["rev"], match["file"], token)
        return _error(404, None, "Not Found")

    def _missing(self, token: str | None) -> Reply:
        # Unauthenticated calls for an unknown repo get 401, authenticated ones 404 (real hub).
        return _error(401 if token is None else 404, "RepoNotFound",
                      "Repository not found")

    def _info(self, model_id: str, rev: str, token: str | None) -> Reply:
        if model_dir(model_id) is None:
            return self._missing(token)
        data = info(model_id)
        if rev not in ("main", data["sha"]):
            return _error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()

    def _file(self, model_id: str, rev: str, name: str, token: str | None) -> Reply:
        folder = model_dir(model_id)
        if folder is None:
            return self._missing(token)
        data = info(model_id)
        if rev not in ("main", data["sha"]):
            return _error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        if data.get("gated") and token != GRANTED_TOKEN:
            if token is None:
                return _error(401, "GatedRepo", f"Access to model {model_id} is restricted. You must have "
                              "access to it and be authenticated to access it. Please log in.")
            return _error(403, "GatedRepo", f"Access to model {model_id} is restricted and you are not in the "
                          f"authorized list. Visit https://huggingface.co/{model_id} to ask for access.")
        path = folder / name
        if not path.is_file():   # the real hub names the commit on this 404 too (huggingface_hub caches it)
            status, headers, body = _error(404, "EntryNotFound", f"{name} does not exist on \"{rev}\"")
            return status, headers | {"X-Repo-Commit": data["sha"]}, body
        headers = {"Content-Type": "text/plain; charset=utf-8", "X-Repo-Commit": data["sha"]}
        return 200, headers, path.read_bytes()


class HubServer:
    """The same answers over HTTP on 127.0.0.1, for `copier` subprocesses (HF_ENDPOINT)."""

    def __init__(self, hub: Hub | None = None):
        self.hub = hub or Hub()
        hub_ref = self.hub

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                status, headers, body = hub_ref.answer("GET", self.path, dict(self.headers))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # shutdown() waits up to one poll interval (0.5 s by default): the tests stop many servers
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "HubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
