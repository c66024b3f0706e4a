"""deploy/stream_client.py against a local stand-in that speaks AWS event streams."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aws import helpers  # noqa: E402
from aws.eventstream_server import Server, model_stream_error, payload_part  # noqa: E402

pytestmark = pytest.mark.aws
CLIENT = helpers.TEMPLATE_DEPLOY / "stream_client.py"


def client_cmd(url: str, *extra: str) -> list[str]:
    return [sys.executable, "-u", str(CLIENT), "--endpoint-name", "ep", "--region", "us-east-1",
            "--endpoint-url", url, *extra]


def env() -> dict:
    return helpers.clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")


def sse(*texts: str, done: bool = True) -> bytes:
    out = "".join(f'data: {json.dumps({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": t}}]})}\n\n'
                  for t in texts)
    return (out + ("data: [DONE]\n\n" if done else "")).encode()


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_sse_parts_that_split_lines():
    with Server() as server:
        # 7-byte parts: no part boundary lines up with a line.
        server.script.items = [payload_part(p) for p in split(sse("Hel", "lo, ", "wörld"), 7)]
        result = subprocess.run(client_cmd(server.url, "--prompt", "hi", "--model", "m"), env=env(),
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, wörld\n"
    (request,) = server.script.requests
    assert request["path"] == "/endpoints/ep/invocations-response-stream"
    assert request["headers"]["Content-Type"] == "application/json"
    body = json.loads(request["body"])
    assert body == {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 128, "stream": True,
                    "model": "m"}


def test_json_lines_like_lmi():
    lines = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
             {"choices": [{"index": 0, "delta": {"content": "JSON "}}]},
             {"choices": [{"index": 0, "delta": {"content": "lines"}, "finish_reason": "stop"}]}]
    data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    with Server() as server:
        server.script.content_type = "application/jsonlines"
        server.script.items = [payload_part(p) for p in split(data, 11)]
        result = subprocess.run(client_cmd(server.url), env=env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "JSON lines\n"


def test_tgi_style_tokens_and_last_line_without_newline():
    data = (b'data:{"token":{"text":"a","special":false}}\n\n'
            b'data:{"token":{"text":"</s>","special":true},"generated_text":"ab"}\n\n'
            b'{"token": {"text": "b", "special": false}}')
    with Server() as server:
        server.script.items = [payload_part(data)]
        result = subprocess.run(client_cmd(server.url), env=env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ab\n"


def test_prints_text_as_it_arrives():
    gate = threading.Event()
    with Server() as server:
        server.script.items = [payload_part(sse("first ", done=False)), gate,
                               payload_part(sse("second"))]
        proc = subprocess.Popen(client_cmd(server.url), env=env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            # The first piece must be readable while the server still holds the rest back.
            first = proc.stdout.read(len(b"first "))
            assert first == b"first "
            assert proc.poll() is None
            gate.set()
            rest, err = proc.communicate(timeout=60)
        finally:
            gate.set()
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert rest == b"second\n"


def test_stream_error_event():
    with Server() as server:
        server.script.items = [payload_part(sse("partial ", done=False)),
                               model_stream_error("model took too long")]
        result = subprocess.run(client_cmd(server.url), env=env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.startswith("partial ")
    assert "model took too long" in result.stderr
    assert "Traceback" not in result.stderr


def test_server_error_line():
    data = b'data: {"object": "error", "message": "This model\'s maximum context length is 32768 tokens", "code": 400}\n\n'
    with Server() as server:
        server.script.items = [payload_part(data)]
        result = subprocess.run(client_cmd(server.url), env=env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "maximum context length" in result.stderr


def test_empty_stream_is_an_error():
    with Server() as server:
        server.script.items = [payload_part(b"data: [DONE]\n\n")]
        result = subprocess.run(client_cmd(server.url), env=env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "without any text" in result.stderr
