"""A stand-in for SageMaker JumpStart's S3 buckets over HTTP, answering from tests/fixtures/jumpstart.

Reached through ``JUMPSTART_BUCKET_URL=http://127.0.0.1:<port>/{bucket}`` (generator/jumpstart.py), so a
request's first path segment names the bucket: ``jumpstart-cache-prod-<region>`` serves the manifest
(``models_manifest.json``), the specs (their manifest ``spec_key``) and the open models' artifacts;
``jumpstart-private-cache-prod-<region>`` (the gated bucket) answers 403 AccessDenied, as S3 does to an
anonymous caller, unless ``gated_readable``. A missing key also answers 403 AccessDenied, as a public
bucket without anonymous listing does (S3 says 404 only to callers allowed to list).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jumpstart"
ACCESS_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                 b'<Message>Access Denied</Message></Error>')


def manifest() -> list:
    return json.loads((FIXTURES / "models_manifest.json").read_text(encoding="utf-8"))


def _file(key: str) -> Path | None:
    if key == "models_manifest.json":
        return FIXTURES / key
    for header in manifest():
        if header["spec_key"] == key:
            return FIXTURES / "specs" / f"{header['model_id']}.json"
    path = FIXTURES / "artifacts" / key
    return path if path.is_file() and FIXTURES / "artifacts" in path.resolve().parents else None


class BucketServer:
    """``with BucketServer() as sim:`` ... ``sim.url`` (for JUMPSTART_BUCKET_URL), ``sim.requests``."""

    def __init__(self, gated_readable: bool = False):
        self.gated_readable = gated_readable
        self.requests: list[tuple[str, str]] = []   # (bucket, key)
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):   # noqa: N802 (http.server's name)
                bucket, _, key = unquote(self.path.split("?")[0]).lstrip("/").partition("/")
                sim.requests.append((bucket, key))
                path = None
                if bucket.startswith("jumpstart-cache-prod-") or (
                        bucket.startswith("jumpstart-private-cache-prod-") and sim.gated_readable):
                    path = _file(key)
                if path is None or not path.is_file():
                    self._reply(403, ACCESS_DENIED, "application/xml")
                else:
                    self._reply(200, path.read_bytes(), "application/json")

            def _reply(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):   # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{{bucket}}"
        # shutdown() waits up to one poll interval (0.5 s by default): the tests stop many servers
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> BucketServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
