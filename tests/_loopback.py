"""A small HTTP server on 127.0.0.1 for exercising the real download code in tests.

It serves in-memory files by URL path and can misbehave per path: refuse, truncate the body
after sending the full ``Content-Length``, or corrupt the bytes.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class LoopbackServer:
    """Serve ``files`` (URL path -> bytes) on an ephemeral loopback port.

    Attributes
    ----------
    files : dict of str to bytes
        Content by URL path, e.g. ``"/mnist/t10k-labels-idx1-ubyte.gz"``.
    behaviour : dict of str to str
        Per-path misbehaviour: ``"refuse"`` (HTTP 403), ``"truncate"`` (half the body, then
        close), ``"corrupt"`` (one byte flipped).
    requests : list of str
        Paths requested so far, in order.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.behaviour: dict[str, str] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                path = urlsplit(self.path).path
                server.requests.append(path)
                mode = server.behaviour.get(path)
                body = server.files.get(path)
                if mode == "refuse":
                    self.send_error(403, "Forbidden")
                    return
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                if mode == "corrupt":
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackServer:
        """Start serving in a background thread and return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
