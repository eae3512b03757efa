"""`ccprompt metrics --serve`: `/metrics` over HTTP for Prometheus, on loopback unless told otherwise.

A standard-library HTTP server; each scrape builds the exposition afresh. SIGTERM and SIGINT
stop it cleanly (the listening socket closed, exit 0). It lives next to browsers, so:

- **DNS rebinding**: a page on `rebind.attacker.example` whose name now resolves to 127.0.0.1
  sends that name as `Host`. Only a loopback name or address, an IP address, this machine's
  own names and the name it was bound to are answered; any other `Host`, or none, gets
  `421 Misdirected Request` and no data.
- **Slow clients**: a fixed pool of WORKERS threads serves connections from a queue of
  QUEUED; past that a new connection is closed at once. Each connection has TIMEOUT_S per
  read and write, and HEAD_S from its accept to the end of its headers, so 500 slow
  connections hold WORKERS threads, not 500, and clients that drip their headers a byte at
  a time hold them for HEAD_S at most.
"""

from __future__ import annotations

import queue
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from ccprompt.core.errors import CcpromptError
from ccprompt.core.paths import Paths

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WORKERS = 8
QUEUED = 32
TIMEOUT_S = 5.0
# A request's line and headers must all have come this long after its connection was accepted
# (nginx's client_header_timeout): one dripped a byte at a time holds a worker no longer.
HEAD_S = 2 * TIMEOUT_S
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


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


def host_of(header) -> str | None:
    """The name in a `Host` header, lower-cased, without its port or IPv6 brackets."""
    if not header:
        return None
    text = header.strip().lower().rstrip(".")
    if text.startswith("["):
        return text[1:].partition("]")[0]
    name, _, port = text.rpartition(":")
    return name if name and port.isdigit() else text


def allowed_hosts(bound: str) -> set:
    """Names a request may carry in `Host`: loopback, this machine's own, and the bound one."""
    import socket

    names = set(LOOPBACK_NAMES) | {bound.lower().strip("[]")}
    try:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    except OSError:
        pass
    return names


def host_allowed(header, names: set) -> bool:
    """An IP address (no rebinding without a name to rebind), loopback, or one of `names`."""
    import ipaddress

    host = host_of(header)
    if host is None:
        return False
    if host in names or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _cut(request) -> None:
    """A connection past its HEAD_S: its worker's blocked read returns at once."""
    try:
        request.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class PooledHTTPServer(HTTPServer):
    """HTTPServer whose connections are served by a fixed pool of threads from a bounded queue."""

    def __init__(self, address, handler, workers: int = WORKERS, queued: int = QUEUED):
        super().__init__(address, handler)
        self._heads, self._lock = {}, threading.Lock()  # a connection being read -> its HEAD_S deadline
        threading.Thread(target=self._reap, daemon=True, name="metrics-deadlines").start()
        self.connections: queue.Queue = queue.Queue(maxsize=queued)
        self.workers = [threading.Thread(target=self._work, daemon=True, name=f"metrics-{i}")
                        for i in range(workers)]
        for worker in self.workers:
            worker.start()

    def process_request(self, request, client_address):
        try:
            self.connections.put_nowait((request, client_address, time.monotonic()))
        except queue.Full:  # every worker busy and the queue full: no thread, no wait
            self.shutdown_request(request)

    def _work(self):
        while True:
            item = self.connections.get()
            if item is None:
                return
            request, client_address, accepted = item
            with self._lock:
                self._heads[request] = accepted + HEAD_S
            try:
                self.finish_request(request, client_address)
            except Exception:  # a broken client must not end the worker
                pass
            finally:
                self.head_done(request)
                self.shutdown_request(request)

    def head_done(self, request):
        """The request's headers are in (or it is over): its HEAD_S deadline no longer applies."""
        with self._lock:
            self._heads.pop(request, None)

    def _reap(self):
        """One thread for every worker's deadline: a connection past its HEAD_S is cut."""
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self._lock:
                late = [request for request, deadline in self._heads.items() if deadline <= now]
                for request in late:
                    del self._heads[request]
            for request in late:
                _cut(request)

    def server_close(self):
        super().server_close()
        for _ in self.workers:
            try:
                self.connections.put_nowait(None)
            except queue.Full:
                break


def make_server(paths: Paths, host: str, port: int, by_session: bool = False) -> HTTPServer:
    from ccprompt.ops import fleet

    names = allowed_hosts(host)

    class Handler(BaseHTTPRequestHandler):
        server_version = "ccprompt"
        timeout = TIMEOUT_S  # every read and write of the connection

        def parse_request(self):  # the request line was read before; this reads the headers
            parsed = super().parse_request()
            self.server.head_done(self.request)
            return parsed

        def do_GET(self):  # noqa: N802 - the standard library's name
            if not host_allowed(self.headers.get("Host"), names):
                self.close_connection = True
                self.send_error(421, "Misdirected Request", "this server answers only its own host name")
                return
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

    server_class = PooledHTTPServer
    if ":" in host:
        import socket

        class V6Server(PooledHTTPServer):
            address_family = socket.AF_INET6

        server_class = V6Server
    try:
        return server_class((host, port), Handler)
    except OSError as exc:
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise CcpromptError(f"cannot serve metrics on {shown}: {exc.strerror or exc}") from None


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
