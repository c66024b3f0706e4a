"""A threaded HTTP/1.1 server on 127.0.0.1 that hands each HEAD and GET to the subclass's
``answer(handler, body)``: the scaffold of the tests' small hub stand-ins (each subclass answers
as the Hub does for what it tests)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    def __init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):  # noqa: N802 (http.server's name)
                server.answer(self, body=False)

            def do_GET(self):  # noqa: N802
                server.answer(self, body=True)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # shutdown() waits up to one poll interval (0.5 s by default): the tests stop many servers
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @staticmethod
    def reply(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes,
              body: bool) -> None:
        """One answer with its Content-Length; the body only for a GET (``body``), as for HEAD the
        Hub sends the headers alone."""
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if body:
            handler.wfile.write(data)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
