"""The upstream side: connections (asyncio protocols) in a keep-alive pool, TLS, the outbound proxy.

A connection hands the bytes it reads to the exchange attached to it, which parses them
(`exchange`); between exchanges it idles in the pool, and a byte that arrives then means the
connection's state is unknown, so it is closed. Connections go through an outbound HTTP proxy
(CONNECT) where one is set.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from urllib.parse import urlsplit

from ccprompt.core import netproxy

CONNECT_TIMEOUT_S = 10.0
POOL_KEEPALIVE_S = 30.0

_STRICT = dict.fromkeys(("lenient_headers", "lenient_chunked_length", "lenient_keep_alive",
                         "lenient_transfer_encoding", "lenient_version", "lenient_data_after_close",
                         "lenient_optional_lf_after_cr", "lenient_optional_cr_before_lf",
                         "lenient_optional_crlf_after_chunk", "lenient_spaces_after_chunk_size"), False)


def strict(parser):
    """An httptools parser with every llhttp leniency off (they are off by default; this says so)."""
    parser.set_dangerous_leniencies(**_STRICT)
    return parser


# -- the upstream side -------------------------------------------------------------------------


class UpstreamError(Exception):
    """The upstream could not be reached; the message says why without any URL."""


class Connection(asyncio.Protocol):
    """One upstream connection. The exchange using it gets its bytes; between exchanges it idles in the pool."""

    def __init__(self) -> None:
        self.transport = None
        self.exchange = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def attach(self, exchange) -> None:
        """`exchange` gets this connection's bytes from now on (None: nobody; a byte then closes it)."""
        self.exchange = exchange

    def upgraded(self, transport) -> None:
        """TLS now runs inside the tunnel this connection opened: write through it."""
        self.transport = transport

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.exchange is not None:
            self.exchange.upstream_data(data)
        else:  # bytes while idle: the connection's state is unknown, so it is not reused
            self.close()

    def eof_received(self):
        return False

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.exchange is not None:
            self.exchange.upstream_lost(exc)

    def close(self) -> None:
        self.closed = True
        self.exchange = None
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Keep-alive connections to one upstream, newest first."""

    def __init__(self, upstream) -> None:
        parts = urlsplit(upstream.base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        host = self.host.encode("idna") if not self.host.isascii() else self.host.encode()
        self.host_header = (b"[%s]" % host if b":" in host else host) + (b":%d" % parts.port if parts.port else b"")
        self.prefix = parts.path.rstrip("/").encode("latin-1")
        self.ssl = upstream.ssl_context() if self.https else None
        proxy = upstream.outbound_proxy()
        self.proxy = urlsplit(proxy) if proxy else None
        if self.proxy is not None and not self.https:  # a plain-http upstream through a proxy: absolute form
            self.prefix = b"http://" + self.host_header + self.prefix
        auth = self.proxy_authorization() if self.proxy is not None and not self.https else None
        self.proxy_header = f"\r\nProxy-Authorization: {auth}".encode("latin-1") if auth else b""
        self.idle: list = []

    def target(self, origin_form: bytes) -> bytes:
        """The request target upstream: the base URL's path prefix, then the client's path and query."""
        return self.prefix + origin_form

    def proxy_authorization(self) -> str | None:
        return None if self.proxy is None else netproxy.basic_auth(self.proxy.username, self.proxy.password)

    def take(self):
        now = time.monotonic()
        while self.idle:
            connection, since = self.idle.pop()
            if not connection.closed and now - since < POOL_KEEPALIVE_S:
                return connection
            connection.close()
        return None

    def give_back(self, connection: Connection) -> None:
        connection.attach(None)
        if connection.closed:
            return
        self.idle.append((connection, time.monotonic()))

    def close(self) -> None:
        while self.idle:
            self.idle.pop()[0].close()

    async def connect(self):
        """(a new connection, its DNS and set-up times)."""
        loop = asyncio.get_running_loop()
        timings = {"new": True, "dns_ms": None}
        host, port = (self.proxy.hostname or "", self.proxy.port or 80) if self.proxy else (self.host, self.port)
        started = time.monotonic()
        try:
            infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), CONNECT_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise UpstreamError("timed out connecting") from None
        except OSError as exc:
            raise UpstreamError(self._cannot(exc)) from None
        resolved = time.monotonic()
        timings["dns_ms"] = round((resolved - started) * 1000, 1)
        family, kind, proto, _, address = infos[0]
        try:
            if self.proxy is None:
                _, connection = await asyncio.wait_for(loop.create_connection(
                    Connection, address[0], address[1], ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None), CONNECT_TIMEOUT_S)
            else:
                connection = await asyncio.wait_for(self._tunnel(loop, address), CONNECT_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise UpstreamError("timed out connecting") from None
        except ssl.SSLError:
            raise UpstreamError("TLS handshake with the upstream failed") from None
        except UpstreamError:
            raise
        except OSError as exc:
            if self.proxy is not None:
                raise UpstreamError("cannot connect to the outbound proxy") from None
            raise UpstreamError(self._cannot(exc)) from None
        timings["connect_ms"] = round((time.monotonic() - resolved) * 1000, 1)
        return connection, timings

    def _cannot(self, exc: OSError) -> str:
        if self.proxy is not None:
            return "cannot connect to the outbound proxy"
        return f"cannot connect to {self.host}:{self.port}: {exc.strerror or 'failed'}"

    async def _tunnel(self, loop, address) -> Connection:
        """Through the outbound proxy: plain http as is; https by CONNECT, then TLS inside the tunnel."""
        transport, connection = await loop.create_connection(Connection, address[0], address[1])
        if not self.https:
            return connection
        waiter = _HeadWaiter(loop)
        connection.attach(waiter)
        transport.write(netproxy.connect_request(self.host, self.port, self.proxy.username, self.proxy.password))
        status = await waiter.future
        connection.attach(None)
        if status != 200:
            transport.close()
            raise UpstreamError("the outbound proxy refused the tunnel")
        tls = await loop.start_tls(transport, connection, self.ssl, server_hostname=self.host)
        connection.upgraded(tls)
        return connection


class _HeadWaiter:
    """Reads the outbound proxy's answer to CONNECT: its status code."""

    def __init__(self, loop) -> None:
        self.future = loop.create_future()
        self.buffer = b""

    def upstream_data(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if not self.future.done():
            if end >= 0:
                self.future.set_result(netproxy.tunnel_status(self.buffer[:end])[0])
            elif len(self.buffer) > 16384:
                self.future.set_result(0)

    def upstream_lost(self, exc) -> None:
        if not self.future.done():
            self.future.set_exception(UpstreamError("cannot connect to the outbound proxy"))
