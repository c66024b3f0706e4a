"""The stand-ins' connection handling, in-process: it must be uvicorn's (which vLLM, SGLang and
trtllm-serve run on), or nginx in front of a stand-in meets races the real engines do not cause.

uvicorn 0.54 (protocols/http/httptools_impl.py): keep_alive = http_version != "1.0" and
should_keep_alive(); without keep-alive the answer carries `connection: close`; an idle
connection is closed after timeout_keep_alive (5 s, the value all three engines pass).
"""
from __future__ import annotations

import importlib.util
import socket
import threading
import time

import pytest

from container_helpers import ROOT

_spec = importlib.util.spec_from_file_location(
    "standin_common", ROOT / "tests" / "standins" / "common" / "standin_common.py")
sc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sc)


@pytest.fixture
def standin():
    routes = {("GET", "/ping"): lambda h: h.send_raw(200, b"", "text/plain")}
    sc._Server.address_family = socket.AF_INET
    httpd = sc._Server(("127.0.0.1", 0), sc.make_handler("t", routes))
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _ask(sock, version="HTTP/1.1"):
    sock.sendall(f"GET /ping {version}\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def _closed_within(sock, seconds):
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False


def test_http10_is_answered_with_connection_close_and_closed(standin):
    with socket.create_connection(("127.0.0.1", standin)) as s:
        head = _ask(s, "HTTP/1.0")
        assert head.startswith(b"HTTP/1.1 200")
        assert b"\r\nConnection: close\r\n" in head
        assert _closed_within(s, 2)


def test_http11_stays_open_until_idle_for_the_keepalive_timeout(standin, monkeypatch):
    monkeypatch.setenv("STANDIN_KEEPALIVE", "0.5")
    with socket.create_connection(("127.0.0.1", standin)) as s:
        assert _ask(s).startswith(b"HTTP/1.1 200")
        assert b"Connection: close" not in _ask(s)      # the same connection answers again
        t = time.time()
        assert not _closed_within(s, 0.2)
        assert _closed_within(s, 3)
        assert 0.4 < time.time() - t < 2


def test_keepalive_race_drops_the_request_that_crosses_the_idle_close(standin, monkeypatch, capsys):
    monkeypatch.setenv("STANDIN_KEEPALIVE", "0.3")
    monkeypatch.setenv("STANDIN_KEEPALIVE_RACE", "1")
    with socket.create_connection(("127.0.0.1", standin)) as s:
        assert _ask(s).startswith(b"HTTP/1.1 200")
        time.sleep(0.6)
        assert _ask(s) == b""                        # closed, nothing answered
    out, deadline = "", time.time() + 2
    while "dropped unanswered" not in out and time.time() < deadline:
        out += capsys.readouterr().out
        time.sleep(0.05)
    assert "[t] keep-alive: a request arrived after the 0.3s idle close and is dropped unanswered" in out
    with socket.create_connection(("127.0.0.1", standin)) as s:   # a new connection is served
        assert _ask(s).startswith(b"HTTP/1.1 200")
