"""A TLS peer that answers one byte at a time: every read succeeds, the answer never ends."""

from __future__ import annotations

import socketserver

import trustme

from ._server import MAX_HOLD_S, BackgroundServer, TLSHTTPServer
from .tls import LocalCA, as_trustme_ca, server_context

TRICKLE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + b"." * 4096


class _TrickleHandler(socketserver.BaseRequestHandler):
    def handle(self):
        server: TrickleTLSServer = self.server.owner
        try:
            self.request.recv(65536)  # the request head; what it asks does not matter
        except OSError:
            return
        sent = 0
        # No Date header ever arrives: it would come after the padding, which never ends.
        while sent < MAX_HOLD_S / server.interval_s:
            if self.server.stop_event.wait(server.interval_s):
                return
            try:
                self.request.sendall(TRICKLE_HEAD[sent % len(TRICKLE_HEAD):][:1])
            except OSError:
                return
            sent += 1


class TrickleTLSServer(BackgroundServer):
    """HTTPS for localhost/127.0.0.1, signed by `ca`, that sends its response head one byte per `interval_s`.

    A client that bounds each read, rather than the whole answer, never finishes reading it.
    """

    def __init__(self, ca: LocalCA | trustme.CA, interval_s: float = 0.5) -> None:
        super().__init__()
        self.ca = as_trustme_ca(ca)
        self.interval_s = interval_s

    def _make_server(self):
        return TLSHTTPServer(_TrickleHandler, self, server_context(self.ca, "localhost", "127.0.0.1"))
