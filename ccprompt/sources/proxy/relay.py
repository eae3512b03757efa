"""HTTP/1.1 on asyncio protocols: requests parsed from the client, bytes relayed from the upstream.

The response body travels from the upstream connection's `data_received` straight to the
client's transport, in the same callback, with the upstream's own framing (chunked, a
length, or until close): nothing is re-encoded, so the client gets the upstream's bytes at
once. A decoded copy of the body goes to the analyzer. Upstream connections are pooled
(keep-alive), made with TLS, and through an outbound HTTP proxy (CONNECT) where one is set.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time
from urllib.parse import unquote, urlsplit

from .heads import HTTPError, header, tokens

MAX_HEADER_BYTES = 64 * 1024
MAX_REQUEST_BODY = 64 * 1024 * 1024
CONNECT_TIMEOUT_S = 10.0
POOL_KEEPALIVE_S = 30.0


class Chunked:
    """Incremental decoder of a chunked body: `feed(data)` returns the payload in it; `done` at the end."""

    __slots__ = ("buffer", "left", "state", "done")

    def __init__(self) -> None:
        self.buffer = b""
        self.left = 0
        self.state = "size"  # size, data, crlf, trailer
        self.done = False

    def feed(self, data: bytes) -> bytes:
        out = []
        buffer = self.buffer + data if self.buffer else data
        position = 0
        while not self.done:
            if self.state == "data":
                take = min(self.left, len(buffer) - position)
                if take <= 0:
                    break
                out.append(buffer[position:position + take])
                position += take
                self.left -= take
                if self.left == 0:
                    self.state = "crlf"
                continue
            end = buffer.find(b"\r\n", position)
            if end < 0:
                if len(buffer) - position > MAX_HEADER_BYTES:
                    raise HTTPError("chunk line too long")
                break
            line = buffer[position:end]
            position = end + 2
            if self.state == "crlf":
                if line:
                    raise HTTPError("chunk not followed by CRLF")
                self.state = "size"
            elif self.state == "size":
                try:
                    self.left = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise HTTPError("bad chunk size") from None
                if self.left < 0:
                    raise HTTPError("bad chunk size")
                self.state = "data" if self.left else "trailer"
            elif not line:  # the empty line that ends the trailers
                self.done = True
        self.buffer = buffer[position:]
        return b"".join(out)

    def open_at_end(self, data: bytes) -> bool:
        """True when the body surely does not end within `data`: the last chunk's line and the
        empty line after it (or after its trailers) make a CRLF CRLF, which is not there."""
        return not self.buffer and self.state != "trailer" and b"\r\n\r\n" not in data


class Body:
    """Where one message's body ends: `feed` returns (payload, rest after the body); `done` at the end."""

    __slots__ = ("kind", "left", "chunked", "done")

    def __init__(self, kind: str, length: int = 0) -> None:
        self.kind = kind  # none, length, chunked, close
        self.left = length
        self.chunked = Chunked() if kind == "chunked" else None
        self.done = kind == "none" or (kind == "length" and length == 0)

    def feed(self, data: bytes):
        if self.kind == "none":
            return b"", data
        if self.kind == "length":
            take = data[:self.left]
            self.left -= len(take)
            self.done = self.left == 0
            return take, data[len(take):]
        if self.kind == "chunked":
            payload = self.chunked.feed(data)
            if self.chunked.done:  # what is left over belongs to the next message
                rest, self.chunked.buffer = self.chunked.buffer, b""
                self.done = True
                return payload, rest
            return payload, b""
        return data, b""


def framing(method: str, status: int, length: int | None, chunked: bool) -> Body:
    """Where a response's body ends, from its method, status, Content-Length and chunkedness."""
    if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return Body("none")
    if chunked:
        return Body("chunked")
    if length is not None:
        return Body("length", length)
    return Body("close")


def response_body(method: str, status: int, headers) -> Body:
    length = header(headers, "content-length")
    body = framing(method, status, None if length is None else 0, "chunked" in tokens(headers, "transfer-encoding"))
    if body.kind == "length":
        if not length.isdigit():
            raise HTTPError("bad content-length")
        body = Body("length", int(length))
    return body


def request_body(headers) -> Body:
    if "chunked" in tokens(headers, "transfer-encoding"):
        return Body("chunked")
    length = header(headers, "content-length")
    if length is None:
        return Body("none")
    if not length.strip().isdigit():
        raise HTTPError("bad content-length")
    return Body("length", int(length))


# -- the upstream side -------------------------------------------------------------------------


class UpstreamError(Exception):
    """The upstream could not be reached; the message says why without any URL."""


class Connection(asyncio.Protocol):
    """One upstream connection. The exchange using it gets its bytes; between exchanges it idles in the pool."""

    def __init__(self) -> None:
        self.transport = None
        self.exchange = None
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

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
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Keep-alive connections to one upstream, newest first."""

    def __init__(self, upstream) -> None:
        parts = urlsplit(upstream.base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.host_header = (f"[{self.host}]" if ":" in self.host else self.host) + (
            f":{parts.port}" if parts.port else "")
        self.prefix = parts.path.rstrip("/")
        self.ssl = upstream.ssl_context() if self.https else None
        proxy = upstream.outbound_proxy()
        self.proxy = urlsplit(proxy) if proxy else None
        self.idle: list = []

    def target(self, raw_path: str) -> str:
        path = self.prefix + (raw_path if raw_path.startswith("/") else "/" + raw_path)
        if self.proxy is not None and not self.https:  # a plain-http upstream through a proxy: absolute form
            return f"http://{self.host_header}{path}"
        return path

    def proxy_authorization(self) -> str | None:
        if self.proxy is None or self.proxy.username is None:
            return None
        pair = f"{unquote(self.proxy.username)}:{unquote(self.proxy.password or '')}"
        return "Basic " + base64.b64encode(pair.encode()).decode()

    def take(self):
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and now - connection.idle_since < POOL_KEEPALIVE_S:
                return connection
            connection.close()
        return None

    def give_back(self, connection: Connection) -> None:
        connection.exchange = None
        if connection.closed:
            return
        connection.idle_since = time.monotonic()
        self.idle.append(connection)

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()

    async def connect(self, attempt) -> Connection:
        """A new connection, its DNS and set-up times noted on the attempt."""
        loop = asyncio.get_running_loop()
        attempt.reused = False
        attempt.conn = {"new": True, "dns_ms": None}
        host, port = (self.proxy.hostname or "", self.proxy.port or 80) if self.proxy else (self.host, self.port)
        started = time.monotonic()
        try:
            infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), CONNECT_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise UpstreamError("timed out connecting") from None
        except OSError as exc:
            raise UpstreamError(self._cannot(exc)) from None
        resolved = time.monotonic()
        attempt.conn["dns_ms"] = round((resolved - started) * 1000, 1)
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
        attempt.conn["connect_ms"] = round((time.monotonic() - resolved) * 1000, 1)
        return connection

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
        connection.exchange = waiter
        lines = [f"CONNECT {self.host_header if ':' in self.host_header else f'{self.host_header}:{self.port}'} "
                 f"HTTP/1.1", f"Host: {self.host}:{self.port}"]
        auth = self.proxy_authorization()
        if auth:
            lines.append(f"Proxy-Authorization: {auth}")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        status = await waiter.future
        connection.exchange = None
        if status != 200:
            transport.close()
            raise UpstreamError("the outbound proxy refused the tunnel")
        tls = await loop.start_tls(transport, connection, self.ssl, server_hostname=self.host)
        connection.transport = tls
        return connection


class _HeadWaiter:
    """Reads the outbound proxy's answer to CONNECT: its status code."""

    def __init__(self, loop) -> None:
        self.future = loop.create_future()
        self.buffer = b""

    def upstream_data(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end >= 0 and not self.future.done():
            try:
                status = int(self.buffer.split(b" ", 2)[1])
            except (IndexError, ValueError):
                status = 0
            self.future.set_result(status)

    def upstream_lost(self, exc) -> None:
        if not self.future.done():
            self.future.set_exception(UpstreamError("cannot connect to the outbound proxy"))
