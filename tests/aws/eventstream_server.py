"""A local stand-in for SageMaker Runtime's InvokeEndpointWithResponseStream.

moto does not implement the streaming API. This stdlib HTTP server answers
POST /endpoints/<name>/invocations-response-stream with an AWS event stream
(application/vnd.amazon.eventstream) of PayloadPart events, sent as HTTP/1.1
chunks, so boto3 (and python -m deploy stream, test, bench) parse it like the real service.
It also answers POST /endpoints/<name>/invocations with a fixed chat completion.
"""
from __future__ import annotations

import json
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (struct.pack("B", len(raw_name)) + raw_name + b"\x07"
            + struct.pack(">H", len(raw_value)) + raw_value)


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, prelude CRC, headers, payload, message CRC."""
    raw_headers = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def payload_part(data: bytes) -> bytes:
    return event_message({":event-type": "PayloadPart", ":content-type": "application/octet-stream",
                          ":message-type": "event"}, data)


def model_stream_error(message: str, code: str = "ModelInvocationTimeExceeded") -> bytes:
    return event_message({":exception-type": "ModelStreamError", ":content-type": "application/json",
                          ":message-type": "exception"},
                         json.dumps({"Message": message, "ErrorCode": code}).encode())


class Script:
    """What the server sends: a list of items, each bytes (a frame) or a threading.Event to wait on."""

    def __init__(self) -> None:
        self.items: list = []
        self.requests: list[dict] = []
        self.content_type = "text/event-stream"
        self.invoke_answer = {"choices": [{"message": {"role": "assistant", "content": "plain answer"}}]}


class Server:
    def __init__(self) -> None:
        self.script = Script()
        script = self.script

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                script.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path.endswith("/invocations-response-stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/vnd.amazon.eventstream")
                    self.send_header("X-Amzn-SageMaker-Content-Type", script.content_type)
                    self.send_header("x-amzn-RequestId", "standin-1")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for item in script.items:
                        if isinstance(item, threading.Event):
                            item.wait(20)
                            continue
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(item), item))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if self.path.endswith("/invocations"):
                    data = json.dumps(script.invoke_answer).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # shutdown() waits up to one poll interval (0.5 s by default): the tests stop many servers
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
