"""`ccprompt metrics --serve`: `/metrics` over HTTP for Prometheus, on loopback unless told otherwise.

A threaded standard-library server: each scrape builds the exposition afresh. SIGTERM and
SIGINT stop it cleanly (the listening socket closed, exit 0).
"""

from __future__ import annotations

import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ccprompt.core.paths import Paths

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def parse_addr(text: str) -> tuple[str, int]:
    """`127.0.0.1:9464`, `:9464` or `9464` (host 127.0.0.1), `[::1]:9464`; empty gives the default."""
    text = (text or "").strip()
    if not text:
        return DEFAULT_HOST, DEFAULT_PORT
    host, port = DEFAULT_HOST, text
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif ":" in text:
        host, _, port = text.rpartition(":")
        host = host or DEFAULT_HOST
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT, :PORT or PORT")
    return host, int(port)


def make_server(paths: Paths, host: str, port: int, by_session: bool = False) -> ThreadingHTTPServer:
    from ccprompt.ops import fleet

    class Handler(BaseHTTPRequestHandler):
        server_version = "ccprompt"

        def do_GET(self):  # noqa: N802 - the standard library's name
            if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                self.send_error(404, "only /metrics is served here")
                return
            body = fleet.exposition(paths, by_session).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - quiet: a scrape a second is not news
            pass

    server_class = ThreadingHTTPServer
    if ":" in host:
        import socket

        class V6Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        server_class = V6Server
    server = server_class((host, port), Handler)
    server.daemon_threads = True
    return server


def serve(paths: Paths, host: str, port: int, by_session: bool = False) -> int:
    """Serve until SIGTERM or SIGINT; exit 0 then."""
    server = make_server(paths, host, port, by_session)
    if host not in ("127.0.0.1", "::1", "localhost"):
        sys.stderr.write(f"ccprompt: warning: serving metrics on {host}, beyond this machine\n")
    bound = server.server_address
    sys.stderr.write(f"ccprompt: serving http://{host}:{bound[1]}/metrics\n")
    sys.stderr.flush()

    def stop(signum, frame):
        # shutdown() waits for serve_forever to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0
