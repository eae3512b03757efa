"""Misbehaving or auxiliary network peers on 127.0.0.1 for failure-path and proxy tests."""

from __future__ import annotations

import base64
import selectors
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import trustme

from ._server import MAX_HOLD_S, BackgroundServer, LoopbackTCPServer, LOOPBACK, TLSHTTPServer
from .tls import LocalCA, as_trustme_ca, server_context
from .fakeapi import LOOKUP_HOST


class _StaticOKHandler(BaseHTTPRequestHandler):
    """Answers anything with a small 200, for clients that get past the TLS check anyway."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        body = f'{{"peer": "{type(self.server.owner).__name__}"}}'.encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_GET = do_PUT = do_DELETE = do_POST


class UntrustedTLSServer(BackgroundServer):
    """HTTPS for localhost/127.0.0.1 signed by its own CA, which no test client trusts."""

    def __init__(self) -> None:
        super().__init__()
        self.other_ca = trustme.CA(organization_name="untrusted test CA")

    def _make_server(self):
        context = server_context(self.other_ca, "localhost", "127.0.0.1")
        return TLSHTTPServer(_StaticOKHandler, self, context)


class WrongHostTLSServer(BackgroundServer):
    """HTTPS signed by the trusted CA but for ``wrong.example`` only: a hostname mismatch at localhost."""

    def __init__(self, ca: LocalCA | trustme.CA, hostname: str = "wrong.example") -> None:
        super().__init__()
        self.ca = as_trustme_ca(ca)
        self.hostname = hostname

    def _make_server(self):
        return TLSHTTPServer(_StaticOKHandler, self, server_context(self.ca, self.hostname))


PLAIN_REPLY = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 36\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"This is a plain HTTP port, not TLS.\n"
)


class _PlainReplyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            # Wait for the ClientHello so our text lands where a ServerHello is expected.
            self.request.recv(4096)
        except OSError:
            pass
        self.request.sendall(PLAIN_REPLY)


class PlainTCPServer(BackgroundServer):
    """Non-TLS peer answering a plain-text ``400 Bad Request``: TLS clients fail the handshake."""

    scheme = "http"

    def _make_server(self):
        return LoopbackTCPServer(_PlainReplyHandler, self)


class _SilentHandler(socketserver.BaseRequestHandler):
    def handle(self):
        # Hold the connection open, reading nothing and sending nothing, until stop().
        self.server.stop_event.wait(MAX_HOLD_S)


class SilentServer(BackgroundServer):
    """Accepts TCP connections and never sends a byte, so a TLS handshake hangs until timeout."""

    def _make_server(self):
        return LoopbackTCPServer(_SilentHandler, self)


def refused_port() -> int:
    """A 127.0.0.1 port with nothing listening on it (connections get RST)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ProxyRequest:
    """One request head the proxy received (CONNECT or otherwise)."""

    method: str
    target: str
    headers: dict[str, str]  # lower-cased names
    time: float

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


class _ConnectHandler(socketserver.BaseRequestHandler):
    MAX_HEADER_LINES = 100

    def handle(self):
        proxy: ConnectProxy = self.server.owner
        client = self.request
        # Unbuffered so reading the head never swallows tunnelled bytes that follow it.
        head = client.makefile("rb", buffering=0)
        request_line = head.readline(8192).decode("latin-1").strip()
        headers: dict[str, str] = {}
        for _ in range(self.MAX_HEADER_LINES):
            line = head.readline(8192).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

        parts = request_line.split()
        if len(parts) != 3:
            return self._reply(400, "Bad Request")
        method, target, _version = parts
        proxy._record(ProxyRequest(method, target, headers, time.time()))

        if method != "CONNECT":
            return self._reply(405, "Method Not Allowed")
        if proxy.auth is not None and headers.get("proxy-authorization") != proxy._expected_auth():
            return self._reply(407, "Proxy Authentication Required",
                               'Proxy-Authenticate: Basic realm="ccprompt-test"\r\n')
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        # The harness never lets traffic leave the machine.
        if host not in proxy.allowed_hosts or not port.isdigit():
            return self._reply(403, "Forbidden")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=5)
        except OSError:
            return self._reply(502, "Bad Gateway")
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(client, upstream, self.server.stop_event)

    def _reply(self, status: int, reason: str, extra_headers: str = "") -> None:
        self.request.sendall(
            f"HTTP/1.1 {status} {reason}\r\n{extra_headers}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )


def _relay(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    """Copy bytes both ways until either side closes or the proxy stops."""
    a.settimeout(5)
    b.settimeout(5)
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while not stop.is_set():
            for key, _ in selector.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return


class ConnectProxy(BackgroundServer):
    """Minimal HTTP proxy that only tunnels ``CONNECT host:port`` to loopback targets.

    Records every request head in ``requests`` and each CONNECT target in
    ``connects``. With ``auth=(user, password)`` it demands Basic
    Proxy-Authorization and answers 407 otherwise.
    """

    scheme = "http"

    def __init__(self, auth: tuple[str, str] | None = None,
                 allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", LOOKUP_HOST)) -> None:
        super().__init__()
        self.auth = auth
        self.allowed_hosts = allowed_hosts
        self._lock = threading.Lock()
        self._requests: list[ProxyRequest] = []

    def _make_server(self):
        return LoopbackTCPServer(_ConnectHandler, self)

    @property
    def url(self) -> str:
        # Proxies are addressed by IP so the proxy hop never depends on name resolution.
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def requests(self) -> list[ProxyRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def connects(self) -> list[str]:
        """Targets (``host:port``) of every CONNECT received, in order, allowed or not."""
        return [r.target for r in self.requests if r.method == "CONNECT"]

    def _record(self, request: ProxyRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _expected_auth(self) -> str:
        user, password = self.auth
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
