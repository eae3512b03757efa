"""Plumbing shared by the harness servers: loopback binding, per-connection TLS, lifecycle."""

from __future__ import annotations

import socketserver
import ssl
import sys
import threading
from http.server import ThreadingHTTPServer

LOOPBACK = "127.0.0.1"

# Upper bound on how long a connection thread may block on a silent peer;
# every thread is a daemon, so this only limits how long idle threads linger.
IO_TIMEOUT_S = 10.0

# A "hang forever" handler still gives up eventually so no thread lives unbounded.
MAX_HOLD_S = 300.0


class _QuietErrors:
    """Mixin: connection-level failures are expected in these tests, so don't print them."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], OSError):  # includes ssl.SSLError, timeouts, resets
            return
        super().handle_error(request, client_address)


class LoopbackTCPServer(_QuietErrors, socketserver.ThreadingTCPServer):
    """Threaded TCP server on 127.0.0.1 with an ephemeral port and daemon connection threads."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default of 5 drops bursts of concurrent probes

    def __init__(self, handler_class, owner):
        self.owner = owner
        self.stop_event: threading.Event = owner._stop_event
        super().__init__((LOOPBACK, 0), handler_class)

    def finish_request(self, request, client_address):
        self.owner._note_connection()
        request.settimeout(IO_TIMEOUT_S)
        super().finish_request(request, client_address)


class TLSHTTPServer(_QuietErrors, ThreadingHTTPServer):
    """ThreadingHTTPServer on 127.0.0.1 that runs the TLS handshake in each connection's thread.

    Wrapping the listening socket instead would handshake inside accept(), so a
    single client that stalls mid-handshake would block every other connection.
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, handler_class, owner, ssl_context: ssl.SSLContext):
        self.owner = owner
        self.stop_event: threading.Event = owner._stop_event
        self.ssl_context = ssl_context
        super().__init__((LOOPBACK, 0), handler_class)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it,
        # it is slow or hangs on machines without a resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = self.server_address[1]

    def finish_request(self, request, client_address):
        self.owner._note_connection()
        request.settimeout(IO_TIMEOUT_S)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except OSError:
            # Client rejected our certificate or does not speak TLS: that is
            # exactly what several tests provoke, not a server fault.
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


class BackgroundServer:
    """start()/stop() and context-manager lifecycle for a server running in a daemon thread."""

    scheme = "https"

    def __init__(self) -> None:
        self._stop_event = threading.Event()
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None
        self._count_lock = threading.Lock()
        self._connections = 0
        self.port: int | None = None

    def _make_server(self) -> socketserver.BaseServer:
        raise NotImplementedError

    def start(self):
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._stop_event.clear()
        self._server = self._make_server()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # keeps stop() snappy
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        # Wake handlers parked in a delay or hang first, so they drop their
        # connections instead of outliving the server.
        self._stop_event.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _note_connection(self) -> None:
        with self._count_lock:
            self._connections += 1

    @property
    def connection_count(self) -> int:
        """TCP connections accepted so far (including ones that failed the TLS handshake)."""
        with self._count_lock:
            return self._connections

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{type(self).__name__} has not been started")
        return f"{self.scheme}://localhost:{self.port}"
